"""Submitting runs: array tasks on SLURM, striped workers locally.

SLURM: each array task holds ``--runs-per-task`` runs (default 1), run one
after another in one process; the tasks go in as job arrays within the
cluster's limits (:mod:`jobs.engine.progressive`). Every job has a time limit chosen here (``--time``, else the partition's
own), recorded in each run's ``job.json`` with where it came from.

Local: submitit's local executor starts every job at once, so a sweep of fifty
runs would start fifty TensorFlow processes. Instead ``parallelism`` worker
jobs each run a stripe of the sweep one after the other.

Either way a job imports the code its runs were made with: the snapshot each
run's ``config.json`` records (:mod:`jobs.engine.snapshot`), not the checkout
as it is when the job starts.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import submitit
from submitit.core.utils import FailedJobError, FailedSubmissionError

from jobs import scheduler
from jobs.engine.arrays import chunks
from jobs.engine.executors import LOCAL_DEFAULT_MINUTES, make_executor, time_limit_signal_s
from jobs.engine.jobfn import RunJob, RunSpec, record_jobs
from jobs.engine.options import ExecutorOptions
from jobs.engine.progressive import submit_slurm
from jobs.engine.snapshot import Snapshot, recorded_code, store_for, take
from jobs.scheduler import TimeLimit
from seqtasks.errors import UserError
from seqtasks.rundir import Damaged, RunDir, now_iso


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
    groups = code_groups(specs, Path(log_root)) if opts.resolved_executor() != "debug" else [(None, specs)]
    submitted_at = now_iso()  # before: a job may end before its record is written
    try:
        placed = [job for code, group in groups for job in _submit(group, opts, log_root, options, code)]
    except (FailedJobError, FailedSubmissionError) as err:
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        reason = lines[-1] if lines else type(err).__name__
        raise UserError(
            f"the scheduler refused the submission: {reason}; check the executor options (or --profile)"
        ) from None
    return record_jobs(placed, options, submitted_at)


def code_groups(specs: list[RunSpec], log_root: Path) -> list[tuple[Snapshot | None, list[RunSpec]]]:
    """The runs by the code their jobs must import: the snapshot each ``config.json`` records (see
    :func:`jobs.engine.snapshot.recorded_code`); every record is read, and a missing snapshot refused,
    before anything is submitted. Usually one group: a sweep's runs share their code."""
    groups: dict[Snapshot | None, list[RunSpec]] = {}
    now = functools.cache(lambda: take(store_for(log_root)))
    for spec in specs:
        try:
            config = RunDir(spec.run_dir).config_record()
        except Damaged as err:
            raise UserError(f"{err}; repair or remove that run folder, then try again") from None
        code = recorded_code(config.snapshot if config else None, Path(spec.run_dir), now)
        groups.setdefault(code, []).append(spec)
    return list(groups.items())


def _submit(
    specs: list[RunSpec],
    opts: ExecutorOptions,
    log_root: Path,
    options: dict[str, Any],
    code: Snapshot | None,
) -> list[tuple[list[RunSpec], submitit.Job[Any]]]:
    """Submit; ``opts.time`` is already the limit to use; the jobs import ``code``. Returns each job with its runs."""
    kind = opts.resolved_executor()
    if kind == "slurm":
        return submit_slurm(chunks(specs, opts.runs_per_task or 1), opts, Path(log_root), options, code)
    executor = make_executor(opts, Path(log_root) / ".submitit", code)
    width = 1 if kind == "debug" else min(opts.parallelism(), len(specs))
    stripes = [specs[i::width] for i in range(width)]
    raise_errors = all(len(s) == 1 for s in stripes)
    limit = time_limit_signal_s(executor)
    if kind == "debug":  # runs here and now, in this process (pdb on errors)
        jobs = [executor.submit(RunJob(stripe, raise_errors, opts.max_stalled, limit)) for stripe in stripes]
        for job in jobs:
            job.result()
    else:
        with executor.batch():
            jobs = [executor.submit(RunJob(stripe, raise_errors, opts.max_stalled, limit)) for stripe in stripes]
    return list(zip(stripes, jobs))
