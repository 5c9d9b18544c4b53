"""Changing what runs after submission: cancel runs, submit failed or missing ones again.

Both read every record they need first and refuse (a :class:`UserError`,
nothing changed) when one is damaged; only then do they act. A run folder is
changed by a resubmission only after the scheduler accepted its new job.
``seqjobs cancel`` and ``seqjobs resubmit`` are these functions; the
benchmark cancels its own sweeps with :func:`cancel_runs` too.
"""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path

from jobs.engine import options as executor_opts
from jobs.engine.jobfn import CANCEL_RUN_SIGNAL, RunSpec
from jobs.monitor import scheduler
from jobs.monitor.status import TERMINAL, RunStatus, local_job_alive, local_job_started, statuses
from seqtasks.errors import UserError
from seqtasks.rundir import Damaged, RunDir
from seqtasks.rundir.records import ConfigRecord, JobRecord

#: the states ``resubmit --failed`` and ``resubmit --missing`` take
FAILED = {"failed"}
MISSING = {"missing", "unknown", "cancelled", "stuck"}


def run_records(rows: list[RunStatus], need_config: bool = False) -> list[tuple[RunDir, JobRecord | None, ConfigRecord | None]]:
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


def cancel_runs(path: Path) -> int:
    """Cancel every run under ``path`` that has not ended (scancel, or stop the local process); how many.

    The runs are marked cancelled first: a worker reads that mark to know
    which of its runs to stop and which to skip. A job holding runs the
    cancel does not cover -- a local worker's stripe (:func:`_stop_local_job`),
    a packed SLURM array task (``--runs-per-task``) -- goes on with those:
    a packed task's step gets :data:`~jobs.engine.jobfn.CANCEL_RUN_SIGNAL`
    only while a cancelled run of it is running (the worker then handles
    it), and otherwise skips the marked runs when it reaches them.
    """
    rows = [r for r in statuses(path) if r.state not in TERMINAL]
    records = run_records(rows)  # an unreadable run stops the cancel before anything is done
    jobs: dict[tuple[str, str], tuple[JobRecord, list[RunDir], bool]] = {}
    for row, (run, job, _) in zip(rows, records):
        run.mark_cancelled()
        if job and job.executor in ("local", "slurm"):
            _, runs, running = jobs.get((job.executor, job.job_id), (job, [], False))
            jobs[(job.executor, job.job_id)] = (job, [*runs, run], running or row.state == "running")
    for (executor, job_id), (job, runs, running) in jobs.items():
        whole = all(_covers(Path(path), run) for run in runs)
        if executor == "local":
            _stop_local_job(job, runs, whole)
        elif whole or (job.options.get("runs_per_task") or 1) == 1:
            scheduler.cancel([job_id])
        elif running:  # one run of a packed task (--runs-per-task), now on it: stop that run only
            scheduler.cancel([job_id], CANCEL_RUN_SIGNAL.name.removeprefix("SIG"))
    return len(rows)


def _covers(path: Path, run: RunDir) -> bool:
    """Does cancelling ``path`` cancel every run of ``run``'s job?

    A job holds one run, or runs of one sweep folder (a local worker's
    stripe, a packed array task); a path at or above that folder covers them all.
    """
    sweep = run.path.parent if (run.path.parent / "sweep.json").is_file() else run.path
    target = path.resolve()
    return target == sweep.resolve() or target in sweep.resolve().parents


def _stop_local_job(job: JobRecord, runs: list[RunDir], whole: bool) -> None:
    """Stop a local job (``whole``), or only ``runs`` in the worker that runs them.

    The whole job: submitit's controller stops its task on SIGINT. One run of
    a stripe: its owner -- a worker of this very job, from ``claim.json`` --
    gets :data:`~jobs.engine.jobfn.CANCEL_RUN_SIGNAL`, stops that run and goes
    on with the next; a run it has not reached yet it will skip. A job on
    another host cannot be signalled from here: the marks alone stop its runs,
    each when the worker reaches it.
    """
    if job.host not in (None, socket.gethostname()) or not local_job_alive(job.job_id, local_job_started(job.options)):
        return
    if whole:
        os.kill(int(job.job_id), signal.SIGINT)
        return
    import psutil

    try:
        workers = {child.pid for child in psutil.Process(int(job.job_id)).children(recursive=True)}
    except psutil.Error:
        return  # it ended meanwhile
    for run in runs:
        try:
            claim = run.claim_record()
        except Damaged:
            continue
        if claim is not None and claim.pid in workers:
            os.kill(claim.pid, CANCEL_RUN_SIGNAL)


def resubmit_runs(path: Path, states: set[str]) -> int:
    """Submit again the runs under ``path`` in one of ``states``, with their original executor settings; how many."""
    from jobs.engine.submission import submit_runs  # submitit: only once there is something to submit

    rows = [r for r in statuses(path) if r.state in states]
    groups: dict[str, list[RunSpec]] = {}
    for run, job, config in run_records(rows, need_config=True):
        assert config is not None
        options = json.dumps((job.options if job else None) or {"executor": "auto"}, sort_keys=True)
        groups.setdefault(options, []).append(RunSpec(config.task, config.config, str(run.path)))
    total = 0
    for options, specs in groups.items():
        settings = {k: v for k, v in json.loads(options).items() if k in executor_opts.FIELDS}
        opts = executor_opts.build(settings, None)
        log_root = Path(path) if (Path(path) / "sweep.json").exists() else Path(specs[0].run_dir)
        total += len(submit_runs(specs, opts, log_root))  # job.json is written only once a job is accepted
    return total
