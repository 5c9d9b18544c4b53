"""``cancel`` and ``resubmit``: change what runs after submission, through the run-folder owner.

Both read every record they need first and refuse (one line, nothing
changed) when one is damaged; only then do they act. ``resubmit`` changes a
run folder only after the scheduler accepted its new job.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Annotated

import typer

from jobs import executor_opts, scheduler
from jobs.cli_manage import PathArg, _existing
from jobs.jobfn import RunSpec
from jobs.status import TERMINAL, RunStatus, local_job_alive, statuses
from seqtasks.errors import UserError
from seqtasks.rundir import Damaged, RunDir
from seqtasks.rundir.records import ConfigRecord, JobRecord


def _records(rows: list[RunStatus], need_config: bool = False) -> list[tuple[RunDir, JobRecord | None, ConfigRecord | None]]:
    """Each run's job (and config) record, read up front: a damaged one is one line before anything happens."""
    out = []
    for row in rows:
        run = RunDir(row.path)
        try:
            config = run.config_record() if need_config else None
            out.append((run, run.job_record(), config))
        except Damaged as err:
            raise UserError(f"{err}; repair or remove that run folder, then try again") from None
        if row.state == "unreadable":
            raise UserError(f"{run.path}: {row.error or 'unreadable'}; repair or remove that run folder, then try again")
        if need_config and config is None:
            raise UserError(f"{run.path} has no config.json; it cannot be resubmitted")
    return out


def cancel(path: PathArg) -> None:
    """Cancel every run under PATH that has not ended (scancel, or stop the local process)."""
    _existing(path)
    rows = [r for r in statuses(path) if r.state not in TERMINAL]
    records = _records(rows)  # an unreadable run stops the cancel before anything is done
    slurm_ids = sorted({job.job_id for _, job, _ in records if job and job.executor == "slurm"})
    local_pids = {job.job_id for _, job, _ in records if job and job.executor == "local"}
    scheduler.cancel(slurm_ids)
    for pid in local_pids:
        if local_job_alive(pid):
            os.kill(int(pid), signal.SIGINT)  # submitit's local controller stops its tasks on SIGINT
    for run, _, _ in records:
        run.mark_cancelled()
    typer.echo(f"cancelled {len(rows)} run(s) under {path}")


def resubmit(
    path: PathArg,
    failed: Annotated[bool, typer.Option("--failed", help="Resubmit failed runs.")] = False,
    missing: Annotated[bool, typer.Option("--missing", help="Resubmit runs never submitted, cancelled, stuck, or whose job vanished.")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Block until the resubmitted runs end.")] = False,
) -> None:
    """Submit again the failed and/or missing runs under PATH, with their original executor settings."""
    from jobs.submission import submit_runs
    from jobs.waiting import report_end

    _existing(path)
    if not failed and not missing:
        failed = missing = True
    wanted = ({"failed"} if failed else set()) | ({"missing", "unknown", "cancelled", "stuck"} if missing else set())
    rows = [r for r in statuses(path) if r.state in wanted]
    if not rows:
        typer.echo(f"nothing to resubmit under {path}")
        return
    groups: dict[str, list[RunSpec]] = {}
    for run, job, config in _records(rows, need_config=True):
        assert config is not None
        options = json.dumps((job.options if job else None) or {"executor": "auto"}, sort_keys=True)
        groups.setdefault(options, []).append(RunSpec(config.task, config.config, str(run.path)))
    total = 0
    for options, specs in groups.items():
        settings = {k: v for k, v in json.loads(options).items() if k in executor_opts.FIELDS}
        opts = executor_opts.build(settings, None)
        log_root = Path(path) if (Path(path) / "sweep.json").exists() else Path(specs[0].run_dir)
        total += len(submit_runs(specs, opts, log_root))  # job.json is written only once a job is accepted
    typer.echo(f"resubmitted {total} run(s) under {path}")
    if wait:
        report_end(path)
