"""Submitting runs: array tasks on SLURM, striped workers locally.

SLURM: each array task holds ``--runs-per-task`` runs (default 1), run one
after another in one process. A sweep goes in as job arrays of at most MaxArraySize elements (read
from ``scontrol show config``). With ``--array-parallelism`` the arrays are
chained (``afterany``) so the limit holds for the whole sweep, not per array.
Every job has a time limit chosen here (``--time``, else the partition's
own), recorded in each run's ``job.json`` with where it came from.

Local: submitit's local executor starts every job at once, so a sweep of fifty
runs would start fifty TensorFlow processes. Instead ``parallelism`` worker
jobs each run a stripe of the sweep one after the other.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path
from typing import Any, Callable, Optional, Protocol, TypeVar

import submitit
from submitit.core.utils import FailedJobError, FailedSubmissionError

from jobs.engine.executors import LOCAL_DEFAULT_MINUTES, make_executor
from jobs.engine.jobfn import RunJob, RunSpec, write_job_record
from jobs.engine.options import ExecutorOptions
from jobs.monitor import scheduler
from jobs.monitor.scheduler import TimeLimit
from seqtasks.errors import UserError

DEFAULT_MAX_ARRAY = 1001  # SLURM's own default


class HasJobId(Protocol):
    """What chaining needs of a submitted job: its id."""

    job_id: str


JobT = TypeVar("JobT", bound=HasJobId)
ItemT = TypeVar("ItemT")


def slurm_max_array_size() -> int:
    """The cluster's MaxArraySize (array indices must stay below it)."""
    try:
        out = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return DEFAULT_MAX_ARRAY
    match = re.search(r"^MaxArraySize\s*=\s*(\d+)", out, re.MULTILINE)
    return int(match.group(1)) if match else DEFAULT_MAX_ARRAY


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    """``items`` cut into lists of at most ``size``."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def submit_arrays(
    items: list[ItemT],
    max_array: int,
    chained: bool,
    submit_array: Callable[[list[ItemT], Optional[str]], list[JobT]],
) -> list[tuple[ItemT, JobT]]:
    """Submit ``items`` (one array task each) as arrays of at most ``max_array``; ``chained``: each after the previous one.

    ``submit_array(chunk, dependency)`` submits one array (``dependency`` is
    an sbatch ``--dependency`` value or ``None``) and returns its jobs, one
    per item. Kept free of submitit so the plan can be tested without a cluster.
    """
    placed: list[tuple[ItemT, JobT]] = []
    dependency: Optional[str] = None
    for chunk in chunks(items, max_array):
        jobs = submit_array(chunk, dependency)
        placed += zip(chunk, jobs)
        if chained:
            dependency = "afterany:" + scheduler.array_base(str(jobs[0].job_id))
    return placed


def time_limit(opts: ExecutorOptions) -> TimeLimit | None:
    """The time limit jobs get and where it comes from; ``None`` for debug (it runs in this process).

    Raises :class:`UserError` where SLURM cannot give one (a partition without
    DefaultTime or MaxTime): call it before writing anything.
    """
    kind = opts.resolved_executor()
    if kind == "debug":
        return None
    if opts.time is not None:
        return TimeLimit(opts.time, "--time")
    if kind == "slurm":
        return scheduler.slurm_time_limit(opts.partition)
    return TimeLimit(LOCAL_DEFAULT_MINUTES, "seqjobs local default")


def submit_runs(specs: list[RunSpec], opts: ExecutorOptions, log_root: Path) -> dict[str, str]:
    """Submit ``specs``; record the job in each run folder; return ``{run_dir: job_id}``.

    A scheduler that refuses the submission (unknown partition, too much
    memory...) becomes one :class:`UserError` line with sbatch's own reason.
    """
    if not specs:
        return {}
    limit = time_limit(opts)
    options: dict[str, Any] = {**opts.to_dict(), "executor": opts.resolved_executor()}
    if limit is not None:
        options.update(time_limit_min=limit.minutes, time_limit_source=limit.source)
        opts = dataclasses.replace(opts, time=limit.minutes)
    try:
        placed = _submit(specs, opts, log_root)
    except (FailedJobError, FailedSubmissionError) as err:
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        reason = lines[-1] if lines else type(err).__name__
        raise UserError(f"the scheduler refused the submission: {reason}; check the executor options (or --profile)") from None
    out = {}
    for stripe, job in placed:
        for spec in stripe:
            write_job_record(Path(spec.run_dir), job, options)
            out[spec.run_dir] = str(job.job_id)
    return out


def _submit(specs: list[RunSpec], opts: ExecutorOptions, log_root: Path) -> list[tuple[list[RunSpec], submitit.Job[Any]]]:
    """Submit; ``opts.time`` is already the limit to use. Returns each job with the runs it holds."""
    kind = opts.resolved_executor()
    executor = make_executor(opts, Path(log_root) / ".submitit")
    if kind == "slurm":  # a task of one run raises when it fails (SLURM marks it FAILED); a packed one goes on

        def submit_array(chunk: list[list[RunSpec]], dependency: Optional[str]) -> list[submitit.Job[Any]]:
            if dependency:
                executor.update_parameters(dependency=dependency)
            with executor.batch():  # the ids are set when the batch is submitted, on leaving the block
                jobs = [executor.submit(RunJob(group, len(group) == 1, opts.max_stalled)) for group in chunk]
            return jobs

        groups = chunks(specs, opts.runs_per_task or 1)
        return submit_arrays(groups, slurm_max_array_size(), bool(opts.array_parallelism), submit_array)
    width = 1 if kind == "debug" else min(opts.parallelism(), len(specs))
    stripes = [specs[i::width] for i in range(width)]
    raise_errors = all(len(s) == 1 for s in stripes)
    if kind == "debug":  # runs here and now, in this process (pdb on errors)
        jobs = [executor.submit(RunJob(stripe, raise_errors, opts.max_stalled)) for stripe in stripes]
        for job in jobs:
            job.result()
    else:
        with executor.batch():
            jobs = [executor.submit(RunJob(stripe, raise_errors, opts.max_stalled)) for stripe in stripes]
    return list(zip(stripes, jobs))
