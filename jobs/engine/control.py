"""Changing what runs after submission: cancel runs, submit failed or missing ones again.

``resubmit`` reads every record it needs first and refuses (a
:class:`UserError`, nothing changed) when one is damaged; only then does it
act. A run folder is changed by a resubmission only after the scheduler
accepted its new job. ``cancel`` stops every run it can: a run whose records
are damaged is named at the end (one line, after the others were cancelled),
for one bad folder must not keep a whole sweep running.
``seqjobs cancel`` and ``seqjobs resubmit`` are these functions; the
benchmark cancels its own sweeps with :func:`cancel_runs` too.
"""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path
from typing import Any

from jobs import scheduler
from jobs.engine import options as executor_opts
from jobs.engine.asha.workers import pause
from jobs.engine.jobfn import CANCEL_RUN_SIGNAL, RunSpec
from jobs.monitor.status import RunStatus, statuses
from jobs.monitor.sweeps import NO_FOLDER
from jobs.scheduler.local import local_job_alive, local_job_started
from jobs.text import count
from seqtasks.errors import UserError
from seqtasks.rundir import Claimed, Damaged, RunDir
from seqtasks.rundir.records import ConfigRecord, JobRecord
from seqtasks.rundir.states import ENDED, RunState

#: the states ``resubmit --failed`` and ``resubmit --missing`` take
FAILED = {RunState.FAILED}
MISSING = {RunState.MISSING, RunState.UNKNOWN, RunState.CANCELLED, RunState.STUCK}


def run_records(
    rows: list[RunStatus], need_config: bool = False
) -> list[tuple[RunDir, JobRecord | None, ConfigRecord | None]]:
    """Each run's job (and config) record, read up front: a damaged one is one line before anything happens."""
    out = []
    for row in rows:
        try:
            run, job, config = _records(row, need_config)
        except Damaged as err:
            raise UserError(f"{err}; repair or remove that run folder, then try again") from None
        if need_config and config is None:
            raise UserError(f"{run.path} has no config.json; it cannot be resubmitted")
        out.append((run, job, config))
    return out


def _records(row: RunStatus, need_config: bool) -> tuple[RunDir, JobRecord | None, ConfigRecord | None]:
    """The run's job (and config) record; :class:`Damaged` when one is damaged or ``status`` found the run unreadable."""
    run = RunDir(row.path)
    config = run.config_record() if need_config else None
    job = run.job_record()
    if row.state == RunState.UNREADABLE:
        raise Damaged(run.path, row.error or RunState.UNREADABLE.value)
    return run, job, config


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
    stopped = set(pause(path))  # an asynchronous halving sweep's workers: no more work, stopped (even between runs)
    # a run sweep.json lists whose folder is gone, or a file in its place, has nothing left to cancel
    rows = [r for r in statuses(path) if r.state not in ENDED and r.error != NO_FOLDER and os.path.isdir(r.path)]
    jobs: dict[tuple[str, str], tuple[JobRecord, list[RunDir], bool]] = {}
    damaged: list[str] = []
    for row in rows:
        try:
            run, job, _ = _records(row, need_config=False)
        except Damaged as err:
            damaged.append(str(err))
            continue
        run.mark_cancelled()
        if job and job.executor in ("local", "slurm") and job.job_id not in stopped:  # each job stopped once
            _, runs, running = jobs.get((job.executor, job.job_id), (job, [], False))
            jobs[(job.executor, job.job_id)] = (job, [*runs, run], running or row.state == RunState.RUNNING)
    _stop_jobs(path, jobs)
    if damaged:
        raise UserError(
            f"cancelled {count(len(rows) - len(damaged), 'run')} under {path}, but not {count(len(damaged), 'run')} "
            f"whose records are damaged ({'; '.join(damaged)}); repair them, or stop their jobs yourself "
            "(scancel, kill), then cancel again"
        )
    return len(rows)


def _stop_jobs(path: Path, jobs: dict[tuple[str, str], tuple[JobRecord, list[RunDir], bool]]) -> None:
    """Stop each job of the cancelled runs, or only its runs where it holds others too (see :func:`cancel_runs`)."""
    for (executor, job_id), (job, runs, running) in jobs.items():
        whole = all(_covers(Path(path), run) for run in runs)
        if executor == "local":
            _stop_local_job(job, runs, whole)
        elif whole or (job.options.get("runs_per_task") or 1) == 1:
            scheduler.cancel([job_id])
        elif running:  # one run of a packed task (--runs-per-task), now on it: stop that run only
            scheduler.cancel([job_id], CANCEL_RUN_SIGNAL.name.removeprefix("SIG"))


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


def resubmit_runs(path: Path, states: set[RunState], snapshot: bool = True) -> int:
    """Submit again the runs under ``path`` in one of ``states``, with their original executor settings; how many.

    Their jobs import the code snapshot each run was made with (refused when
    it is gone). Without ``snapshot`` (``--no-snapshot``) they import the
    installed code instead, and their ``config.json`` says so from now on.
    """
    from jobs.engine.submission import submit_runs  # submitit: only once there is something to submit

    rows = [r for r in statuses(path) if r.state in states and r.error != NO_FOLDER]  # no folder: the sweep makes it
    halving = sorted({os.path.dirname(r.path) for r in rows if r.rung})
    if halving:
        raise UserError(
            f"{halving[0]} is a halving sweep: its runs go on only through the search, which decides each rung "
            "(resubmitted alone, a run would train past its rung undecided); run the same `seqjobs sweep` command "
            "again to resume it"
        )
    groups: dict[str, list[RunSpec]] = {}
    for run, job, config in run_records(rows, need_config=True):
        assert config is not None
        if not snapshot:
            _opt_out(run, config.snapshot)
        options = json.dumps((job.options if job else None) or {"executor": "auto"}, sort_keys=True)
        groups.setdefault(options, []).append(RunSpec(config.task, config.config, str(run.path)))
    total = 0
    for options, specs in groups.items():
        # --after held back the first submission only: the job it waited for has ended by now (or never will)
        settings = {k: v for k, v in json.loads(options).items() if k in executor_opts.FIELDS and k != "after"}
        opts = executor_opts.build(settings, None)
        log_root = Path(path) if (Path(path) / "sweep.json").exists() else Path(specs[0].run_dir)
        total += len(submit_runs(specs, opts, log_root))  # job.json is written only once a job is accepted
    return total


def _opt_out(run: RunDir, recorded: dict[str, Any] | None) -> None:
    """Record that the run's next attempts import the installed code, keeping which snapshot that replaces."""
    from jobs.engine.snapshot import OPTED_OUT

    if recorded is not None and recorded.get("id") is None:
        return
    try:
        with run.claim():
            run.record_snapshot({**OPTED_OUT, "replaced": recorded})
    except Claimed as err:
        raise UserError(f"{err}; wait for it to end, then resubmit again") from None
