"""One run's row of ``seqjobs status``: its state, from its files and its job's answer, and the columns beside it.

The rules that decide the state are :func:`seqtasks.rundir.states.classify`'s;
this module gathers what they take -- the files read (:mod:`jobs.monitor.reading`),
whether the run's owner and its job are alive (the claim, the scheduler's
answer, a local controller) -- and words the row: the error line of a failed
or stuck run, its epoch, last figure, node and elapsed time.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jobs import scheduler
from jobs.monitor.logs import job_log_line, last_line
from jobs.monitor.reading import RunFiles, superseded, when
from jobs.scheduler.local import local_job_alive, local_job_started
from jobs.text import count
from seqtasks.rundir.claim import owner_alive
from seqtasks.rundir.records import ClaimRecord, JobInResult, JobRecord, ResultRecord
from seqtasks.rundir.states import ACTIVE, JOB_ALIVE, JOB_GONE, Basis, Facts, RunState, classify, settled_by_files
from seqtasks.tasks import TASKS


@dataclasses.dataclass
class RunStatus:
    """One row of ``seqjobs status``."""

    run: str
    path: str
    task: str
    state: str
    epoch: int
    last_metric: str
    job_id: str
    node: str
    elapsed_s: float | None
    error: str
    log: str
    #: a halving sweep's run: its rung and what became of it there (``1 promoted``); empty otherwise
    rung: str = ""
    #: a halving sweep's run: the epochs each rung of its plan trains to (``[1, 3, 9]``); empty otherwise
    rung_epochs: list[Any] = dataclasses.field(default_factory=list)
    #: what the run spent over all its attempts (:mod:`jobs.monitor.spend`); ``None``: not known (not started)
    spent_s: float | None = None
    cpu_hours: float | None = None
    gpu_hours: float | None = None


def unreadable_row(path: Path, why: str, state: str = RunState.UNREADABLE, task: str = "?") -> RunStatus:
    """The row of a run that could not be read (or is not there: ``state`` missing)."""
    return RunStatus(
        run=path.name,
        path=str(path),
        task=task,
        state=state,
        epoch=0,
        last_metric="",
        job_id="",
        node="",
        elapsed_s=None,
        error=why,
        log="",
    )


def status_row(f: RunFiles, sched: dict[str, scheduler.JobInfo], here: str) -> RunStatus:
    """The row of a readable run; ``sched``: the scheduler's answers, ``here``: this host."""
    job = f.job
    info = sched.get(job.job_id, {}) if job is not None and job.executor == "slurm" else {}
    facts = Facts(
        result=f.result.status if f.result is not None else None,
        superseded=f.result is not None and superseded(f.result, job),
        recorded=f.state.state if f.state is not None else None,
        submitted=job is not None,
    )
    if not settled_by_files(facts):
        facts = dataclasses.replace(facts, owner=_owner(f.claim, sched), job=_job_state(job, info, here))
    name, basis = classify(facts)
    return RunStatus(
        run=f.path.name,
        path=str(f.path),
        task=f.task,
        state=name,
        epoch=f.epochs,
        last_metric=_metric(f.metrics, f.result, TASKS[f.task].main_metric),
        job_id=job.job_id if job is not None else "",
        node=info.get("node") or _host(f) or "",
        elapsed_s=_elapsed(f, name),
        error=_error(f, name, basis, facts.recorded),
        log=(job.stderr or "") if job is not None and name == RunState.FAILED else "",
    )


def _host(f: RunFiles) -> str | None:
    """The host the run's last attempt ran on: its state's, else its result's."""
    if f.state is not None and f.state.host:
        return f.state.host
    return f.result.host if f.result is not None else None


def _owner(claim: ClaimRecord | None, sched: dict[str, scheduler.JobInfo]) -> bool | None:
    """Is a live process writing the run? True / False (no owner, or a dead one) / None (cannot tell)."""

    def job_alive(job_id: str) -> bool | None:
        known = sched.get(job_id)
        if known is None or known["state"] == RunState.UNKNOWN:
            return None
        return known["state"] in ACTIVE

    return owner_alive(claim, job_alive)


def _job_state(job: JobInResult | None, info: scheduler.JobInfo, here: str) -> str | None:
    """What the run's job says now.

    A scheduler state (pending, running, requeued, completed, failed, cancelled),
    :data:`~seqtasks.rundir.states.JOB_ALIVE` (a local controller runs),
    :data:`~seqtasks.rundir.states.JOB_GONE` (provably no job will run it:
    none was submitted, or its local controller has exited), or ``None``
    (cannot tell from here).
    """
    if job is None:
        return JOB_GONE  # `seqjobs run`: only its own process ever runs it
    if job.executor == "slurm":
        return info["state"] if info and info["state"] != RunState.UNKNOWN else None
    # the copy a result keeps has no host nor options: only a run that has not ended needs them, and it has the file
    host, options = (job.host, job.options) if isinstance(job, JobRecord) else (None, None)
    if host not in (None, here):
        return None
    if job.executor == "local":
        return JOB_ALIVE if local_job_alive(job.job_id, local_job_started(options)) else JOB_GONE
    if job.executor == "debug":
        return JOB_GONE  # it ran inside the submitting process
    return None


def _error(f: RunFiles, name: RunState, basis: Basis, recorded: str | None) -> str:
    """The row's error line: what the evidence that decided the state says went wrong."""
    if basis is Basis.RESULT:
        return last_line(_result_error(f))
    if basis is Basis.JOB and name is RunState.FAILED:
        return job_log_line(f) or last_line(_result_error(f))
    if basis is Basis.NO_RESULT:
        return f"state.json says {recorded} but there is no result.json"
    if basis is Basis.ABANDONED:
        return _stuck_line(f, recorded)
    return ""


def _result_error(f: RunFiles) -> str | None:
    return f.result.error if f.result is not None else None


#: the fix a stuck run's error line names, before the run's path
RESUBMIT_FIX = "run: seqjobs resubmit --missing "


def _stuck_line(f: RunFiles, recorded: str | None) -> str:
    """Why nothing will run this run any more, and the command that will."""
    job = f"its job {f.job.job_id}" if f.job is not None else "the process that ran it"
    if recorded is None:
        what = f"{job} ended without starting it"
    else:
        attempt = f.state.attempt if f.state is not None else None
        what = f"{recorded} at attempt {attempt} with {count(f.epochs, 'epoch')} done, but {job} has ended"
    return f"{what} and no process owns the run: nothing will resume it; {RESUBMIT_FIX}{shlex.quote(str(f.path))}"


def resumed_by_its_sweep(row: RunStatus) -> None:
    """A stuck run of a halving sweep's undecided rung goes on only through the search: the fix its error line
    names is the sweep command, not ``resubmit`` (which refuses such runs)."""
    head, fix, _ = row.error.partition(RESUBMIT_FIX)
    if fix:
        row.error = head + "run the same `seqjobs sweep` command again: the search resumes it"


def _metric(rows: list[dict[str, str]], result: ResultRecord | None, main: str) -> str:
    figure = result.figures.get(main) if result is not None else None
    if isinstance(figure, (int, float)):
        return f"{main}={figure:.4f}"
    if rows:
        last = rows[-1]
        for key in ("val_loss", "val_accuracy", "loss"):
            if last.get(key):
                return f"{key}={float(last[key]):.4f}"
    return ""


def _elapsed(f: RunFiles, name: str) -> float | None:
    """Seconds the run's last attempt ran; the clock stops when the run stopped, not when it is looked at."""
    result = f.result
    duration = result.figures.get("duration_s") if result is not None and result.status == name else None
    if isinstance(duration, (int, float)):
        return float(duration)
    if f.state is None:
        return None
    start, end = when(f.state.started_at), when(f.state.ended_at)
    if start is None:
        return None
    if end is None:
        end = datetime.now(timezone.utc) if name == RunState.RUNNING else last_write(f.path)
    return None if end is None else max(0.0, round((end - start).total_seconds(), 1))


def last_write(run: Path) -> datetime | None:
    """When the run last wrote its progress: the end of a run that stopped without saying so (scancel, kill)."""
    times = []
    for name in ("state.json", "metrics.csv", "checkpoints/state.json"):
        try:
            times.append(os.lstat(run / name).st_mtime)
        except OSError:
            continue
    return datetime.fromtimestamp(max(times), timezone.utc) if times else None
