"""What each run spent: its elapsed time and its CPU- and GPU-hours, summed over every attempt.

On SLURM the cluster's own accounting is the truth -- what was allocated,
for as long as it was held, start-up and requeued attempts included -- so
each run's jobs are asked about in one ``sacct`` query for the whole view
(:func:`jobs.scheduler.job_usage`). A job's allocations are shared by the
runs it ran (one, unless packed with ``--runs-per-task`` or an ASHA worker),
in proportion to the time each measured in it, so a sweep's sum is exactly
what sacct says its jobs held. A job sacct does not know (yet: slurmdbd
records a start a little later; or no more: purged accounting) contributes
what the run folder measured, times the CPUs and GPUs the job asked for.

Locally there is no accounting: a run's elapsed time is what its folder
measured, each attempt from its start to its end (``state.json``'s history;
a run that completed in one attempt: its result's ``duration_s``, so that a
view of 10,000 ended runs reads no more files than before), and its
CPU-hours that times the job's ``--cpus-per-task`` (else its worker's share
of the cores); GPU-hours only where the job was given GPUs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from jobs import scheduler
from jobs.monitor.reading import RunFiles, when
from jobs.monitor.rows import last_write
from jobs.scheduler.states import array_base
from seqtasks.rundir import Damaged, RunDir
from seqtasks.rundir.records import JobRecord, StateRecord
from seqtasks.rundir.states import RunState

if TYPE_CHECKING:
    from jobs.monitor.status import Run

#: the ``collect`` columns of what a run spent (sums over its attempts); not figures a copy must agree on
COLUMNS = ("elapsed_s", "cpu_hours", "gpu_hours")
#: the most CPUs or GPUs a job.json may claim before it is taken for damage (a folder is data)
MAX_UNITS = 1 << 20


@dataclass
class Measured:
    """What a run folder says of its cost: its executor, the CPUs and GPUs its job had, and its attempts.

    ``attempts``: ``[job id, seconds]`` per attempt, the job ``""`` for a run
    made in-process. A SLURM run's current job is listed even before an
    attempt began in it (0 seconds): its allocation was spent all the same.
    Kept in the index of ended runs (:mod:`jobs.monitor.index`) as :meth:`to_dict`.
    """

    executor: str
    cpus: int
    gpus: int
    attempts: list[Any]

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {"executor": self.executor, "cpus": self.cpus, "gpus": self.gpus, "attempts": self.attempts}

    @classmethod
    def from_dict(cls, obj: Any) -> Measured:
        """:class:`ValueError` unless ``obj`` is what :meth:`to_dict` writes."""
        fields = (obj.get(k) for k in ("executor", "cpus", "gpus", "attempts")) if isinstance(obj, dict) else ()
        executor, cpus, gpus, attempts = (*fields, None, None, None, None)[:4]
        if not (isinstance(executor, str) and _count(cpus) is not None and _count(gpus) is not None):
            raise ValueError("not a run's measured cost")
        if not isinstance(attempts, list) or not all(_attempt(a) for a in attempts):
            raise ValueError("not a run's attempts")
        return cls(executor=executor, cpus=cpus, gpus=gpus, attempts=attempts)


def _attempt(item: Any) -> bool:
    return (
        isinstance(item, list)
        and len(item) == 2
        and isinstance(item[0], str)
        and isinstance(item[1], (int, float))
        and not isinstance(item[1], bool)
        and item[1] >= 0
    )


def _count(value: Any) -> int | None:
    """A count of CPUs or GPUs from a file: a non-negative int, within reason; ``None`` for anything else."""
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_UNITS
    return value if ok else None


class JobOptions:
    """The settings each job was submitted with, read from ``job.json`` once per job for a whole view.

    An ended run is read from its result, which carries no settings; the
    runs of one job (a local worker, a SLURM array: settings are per
    submission) share them, so one ``job.json`` is read for all of them.
    """

    def __init__(self) -> None:
        self.known: dict[tuple[str, str, str], dict[str, Any]] = {}

    def of(self, f: RunFiles) -> dict[str, Any]:
        """The options of ``f``'s job (``{}``: none recorded, or ``job.json`` damaged)."""
        job = f.job
        if job is None:
            return {}
        if isinstance(job, JobRecord):
            return job.options
        key = (job.executor, array_base(job.job_id) if job.executor == "slurm" else job.job_id, job.submitted_at)
        if key not in self.known:
            try:
                record = RunDir(f.path).job_record()
            except Damaged:
                record = None
            self.known[key] = record.options if record is not None else {}
        return self.known[key]


def measure(f: RunFiles, state: str, options: JobOptions) -> Measured:
    """What run ``f`` (in ``state``, as its status row says) measured of its cost."""
    executor = f.job.executor if f.job is not None else "run"
    cpus, gpus = resources(executor, options.of(f) if executor != "run" else {})
    attempts = _attempts(f, state)
    if executor == "slurm" and f.job is not None and f.job.job_id not in {job for job, _ in attempts}:
        attempts.append([f.job.job_id, 0.0])
    return Measured(executor=executor, cpus=cpus, gpus=gpus, attempts=attempts)


def resources(executor: str, options: dict[str, Any]) -> tuple[int, int]:
    """(CPUs, GPUs) a job of ``executor`` had, by the options it was submitted with (``job.json``).

    CPUs: ``--cpus-per-task``; else a local worker's share of this machine's
    cores (``--array-parallelism`` workers share them, as
    :meth:`~jobs.engine.options.ExecutorOptions.threads` gives their threads;
    by default a worker per core), a run made in-process (``run``, ``debug``)
    every core, a SLURM job one (SLURM's default). GPUs: ``--gpus-per-node``, else a ``--gres gpu[:TYPE]:N``.
    """
    cpus, gpus = _count(options.get("cpus_per_task")), _count(options.get("gpus_per_node"))
    if gpus is None and isinstance(options.get("gres"), str):
        kind, _, number = options["gres"].rpartition(":")
        gpus = int(number) if kind.split(":")[0] == "gpu" and number.isdigit() else None
    cores = os.cpu_count() or 1
    if not cpus and executor == "local":  # the engine's rule: --array-parallelism workers share the cores
        cpus = max(1, cores // (_count(options.get("array_parallelism")) or cores))
    elif not cpus:
        cpus = 1 if executor == "slurm" else cores
    return cpus, (gpus or 0) if executor in ("slurm", "local") else 0


def _attempts(f: RunFiles, state: str) -> list[Any]:
    """``[job id, seconds]`` of each attempt of run ``f`` (see :class:`Measured`)."""
    record = f.state
    ended = f.result is not None and f.result.status == state  # not superseded by a newer submission
    if ended and f.result is not None:
        duration = f.result.figures.get("duration_s")
        if (f.result.attempt or 1) == 1 and isinstance(duration, (int, float)) and not isinstance(duration, bool):
            return [[f.result.job_id or "", max(0.0, float(duration))]]  # however much of the folder was read
    if record is None and f.result is not None:
        try:
            record = RunDir(f.path).state_record()
        except Damaged:
            record = None
    if record is None:
        return []
    return [*_history(record), *_current(f, record, state)]


def _history(record: StateRecord) -> list[Any]:
    """The ended attempts ``state.json`` lists; an entry that is not what a writer writes counts for nothing."""
    out = []
    for item in record.history:
        if isinstance(item, dict):
            seconds = _seconds(when(item.get("started_at")), when(item.get("ended_at")))
            job = item.get("job_id")
            if seconds is not None:
                out.append([job if isinstance(job, str) else "", seconds])
    return out


def _current(f: RunFiles, record: StateRecord, state: str) -> list[Any]:
    """The attempt ``state.json`` still says is running: to now while it runs, else to its end or last write.

    Once a run has ended, its last attempt is in the history -- unless the
    view read ``state.json`` in the moment between its result and its
    final state: then the result's end is the attempt's.
    """
    if record.state != RunState.RUNNING:
        return []
    start = when(record.started_at)
    if state == RunState.RUNNING:
        end: datetime | None = datetime.now(timezone.utc)
    elif f.result is not None and when(f.result.ended_at) is not None:
        end = when(f.result.ended_at)
    else:
        end = last_write(f.path)
    seconds = _seconds(start, end)
    return [] if seconds is None else [[record.job_id or "", seconds]]


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else max(0.0, round((end - start).total_seconds(), 1))


def charge(runs: list[Run]) -> None:
    """Set each run's ``spent_s``, ``cpu_hours`` and ``gpu_hours`` (status row) from its measured attempts, its
    SLURM jobs' allocations as one sacct query gives them, shared by the runs of each job."""
    jobs: dict[str, list[tuple[Run, float]]] = {}
    for run in runs:
        if run.measured is not None and run.measured.executor == "slurm":
            for job, seconds in run.measured.attempts:
                jobs.setdefault(job, []).append((run, seconds))
    usage = scheduler.job_usage(sorted(j for j in jobs if j)) or {}
    for run in runs:
        if run.measured is None:
            continue
        totals = [0.0, 0.0, 0.0]  # seconds, CPU-hours, GPU-hours
        for job, seconds in run.measured.attempts:
            allocations = usage.get(job) if run.measured.executor == "slurm" else None
            if allocations is None:
                hours = seconds / 3600
                part = (seconds, hours * run.measured.cpus, hours * run.measured.gpus)
            else:
                share = _share(jobs[job], run, seconds)
                part = (
                    share * sum(a.elapsed_s for a in allocations),
                    share * sum(a.cpu_hours for a in allocations),
                    share * sum(a.gpu_hours for a in allocations),
                )
            totals = [t + p for t, p in zip(totals, part)]
        run.status.spent_s, run.status.cpu_hours, run.status.gpu_hours = totals


def _share(members: list[tuple[Run, float]], run: Run, seconds: float) -> float:
    """The part of a job's allocations an attempt of ``run`` gets: its measured time over that of every attempt
    of the job in this view (all alike when none measured any); a run listed twice gets each part."""
    total = sum(s for _, s in members)
    return seconds / total if total > 0 else 1 / len(members)


def spent_line(rows: list[Any]) -> str:
    """``1.2 GPU-h, 8.4 CPU-h spent`` over ``rows`` (status rows); ``""`` when none has spent anything yet."""
    costed = [r for r in rows if r.cpu_hours is not None]
    if not costed:
        return ""
    gpu = sum(r.gpu_hours for r in costed)
    cpu = sum(r.cpu_hours for r in costed)
    return ", ".join([*([f"{hours(gpu)} GPU-h"] if gpu > 0 else []), f"{hours(cpu)} CPU-h"]) + " spent"


def hours(value: float) -> str:
    """Hours as a person reads them: three significant digits (``0.00417``, ``1.2``, ``38.5``), whole past 100."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
