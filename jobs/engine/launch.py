"""Deciding what to submit, submitting it, and recording it -- never twice.

``submit``, ``sweep`` and ``resubmit`` all come here. A run is submitted only
when it is neither completed (for the epochs asked) nor active (queued,
running, requeued, or owned by a live process); a sweep decides and submits
under its lock, so two identical sweep commands at once submit each run once.
Everything that can be refused is checked before anything is written. A
sweep's ``sweep.json`` names every run before any is created or submitted, so
a submission cut anywhere leaves a sweep whose ``status`` counts the runs not
yet submitted, and the same command submits just those. A run folder gets
its ``job.json`` only once the scheduler has accepted the job; folders
created for a submission that is refused are removed again.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs.engine.fanout import each
from jobs.engine.jobfn import RunSpec
from jobs.engine.options import ExecutorOptions
from jobs.engine.snapshot import for_new_runs
from jobs.engine.submission import submit_runs
from jobs.engine.sweep import SweepRequest
from jobs.monitor.status import statuses
from seqtasks.config import to_dict
from seqtasks.errors import UserError
from seqtasks.rundir import Claimed, Damaged, RunDir, SweepDir, owner_alive
from seqtasks.rundir.states import ACTIVE, RunState
from seqtasks.runner import is_done


@dataclass
class Launch:
    """What a submission did: jobs by run folder, and the runs it left alone."""

    jobs: dict[str, str]
    completed: list[str]
    active: list[str]

    def arrays(self) -> int:
        """Distinct jobs (arrays count once)."""
        return len({job_id.split("_")[0] for job_id in self.jobs.values()})


def launch(
    task: str, runs: list[tuple[Path, Any]], opts: ExecutorOptions, log_root: Path, snapshot: bool = True
) -> Launch:
    """Submit every run of ``runs`` (folder, config) that is not completed or active.

    ``snapshot``: new runs import a code snapshot taken now (else the installed code; ``--no-snapshot``).
    Call under the sweep's lock when the runs belong to a sweep.
    """
    check_runs(task, runs)
    return _launch_checked(task, runs, opts, log_root, snapshot=snapshot)


def check_runs(task: str, runs: list[tuple[Path, Any]]) -> None:
    """Refuse, before anything is written or submitted, a run folder that holds something else (one line)."""
    for folder, config in runs:
        RunDir(folder).check_compatible(task, config)


def _launch_checked(
    task: str,
    runs: list[tuple[Path, Any]],
    opts: ExecutorOptions,
    log_root: Path,
    snapshot: bool = True,
) -> Launch:
    """:func:`launch` of runs :func:`check_runs` has passed."""
    states = run_states([folder for folder, _ in runs])
    completed, active, todo = [], [], []
    for folder, config in runs:
        state = states.get(str(folder))
        if state == RunState.COMPLETED and is_done(RunDir(folder), config):
            completed.append(str(folder))
        elif state in ACTIVE:
            active.append(str(folder))
        else:
            todo.append((folder, config))
    code = for_new_runs(opts.resolved_executor(), log_root, wanted=snapshot, folders=[folder for folder, _ in todo])
    fresh = each(lambda run: initialise(RunDir(run[0]), task, run[1], code), todo)  # many runs: see jobs.engine.fanout
    created = [folder for (folder, _), new in zip(todo, fresh) if new]
    try:
        jobs = submit_runs([RunSpec(task, to_dict(c), str(f)) for f, c in todo], opts, log_root) if todo else {}
    except UserError:
        for folder in created:  # a refused submission leaves no trace (a kill may come after jobs started: not then)
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return Launch(jobs, completed, active)


def launch_sweep(request: SweepRequest) -> Launch:
    """:func:`launch` for a grid sweep, under its lock, recording the runs and jobs in ``sweep.json``."""
    sweep = SweepDir(request.folder)
    with sweep.locked():
        sweep.check_adding(request.task, halving=False)
        return launch_recorded(
            sweep, request.task, request.runs, request.opts, base=to_dict(request.base), sweep_options=request.options
        )


def launch_recorded(
    sweep: SweepDir,
    task: str,
    runs: list[tuple[str, Any]],
    opts: ExecutorOptions,
    base: dict[str, Any],
    sweep_options: dict[str, Any],
) -> Launch:
    """:func:`launch` of runs of ``sweep`` (by folder name), each named in ``sweep.json`` first (call under its lock).

    In this order: every check; the manifest lists every run (those new to
    it with no job); their folders and ``config.json``; the jobs; each run's
    ``job.json``; the manifest notes the jobs. A refusal puts the manifest
    back as it was.
    """
    folders = [(sweep.path / name, config) for name, config in runs]
    check_runs(task, folders)
    with sweep.restored_if_refused():
        sweep.record(
            task, {name: to_dict(c) for name, c in runs}, jobs={}, base=base, sweep_options=sweep_options, executor={}
        )
        done = _launch_checked(task, folders, opts, sweep.path, snapshot=not sweep_options.get("no_snapshot"))
    executor = {**opts.to_dict(), "executor": opts.resolved_executor()}
    sweep.record_jobs({Path(k).name: v for k, v in done.jobs.items()}, executor)
    return done


def run_states(folders: list[Path]) -> dict[str, str]:
    """State of each existing run folder (a folder owned by a process that may be alive counts as running)."""
    existing = [folder for folder in folders if folder.exists()]
    roots = existing if len(existing) == 1 else sorted({folder.parent for folder in existing})
    wanted = {str(folder) for folder in existing}
    out = {row.path: row.state for root in roots for row in statuses(root) if row.path in wanted}
    for folder in existing:
        if out.get(str(folder)) not in ACTIVE and _owned(RunDir(folder)):
            out[str(folder)] = RunState.RUNNING
    return out


def _owned(run: RunDir) -> bool:
    """Is the folder claimed by a process that is, or may be, alive? (read only)"""
    try:
        return owner_alive(run.claim_record()) is not False
    except Damaged:
        return True  # a torn claim: its writer may still be finishing it


def initialise(run: RunDir, task: str, config: Any, code: dict[str, Any] | None = None) -> bool:
    """Write ``config.json`` of a run about to be submitted, so ``status`` lists it before its job
    starts; True when the folder is new (and so may be removed again if the submission is refused)."""
    if run.prepare_new(task, config, code):
        return True
    try:
        with run.claim():
            run.prepare(task, config, code)
    except Claimed:
        pass  # its job has started and prepares it itself
    return False
