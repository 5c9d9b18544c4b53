"""Submitting runs: one job per run on SLURM (as arrays), striped workers locally.

SLURM: a sweep goes in as job arrays of at most MaxArraySize elements (read
from ``scontrol show config``). With ``--array-parallelism`` the arrays are
chained (``afterany``) so the limit holds for the whole sweep, not per array.

Local: submitit's local executor starts every job at once, so a sweep of fifty
runs would start fifty TensorFlow processes. Instead ``parallelism`` worker
jobs each run a stripe of the sweep one after the other.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import submitit
from submitit.core.utils import FailedJobError, FailedSubmissionError

from jobs.executor_opts import ExecutorOptions
from jobs.executors import make_executor
from jobs.jobfn import RunJob, RunSpec, write_job_record
from seqtasks.errors import UserError

DEFAULT_MAX_ARRAY = 1001  # SLURM's own default


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


def submit_runs(specs: list[RunSpec], opts: ExecutorOptions, log_root: Path) -> dict[str, str]:
    """Submit ``specs``; record the job in each run folder; return ``{run_dir: job_id}``.

    A scheduler that refuses the submission (unknown partition, too much
    memory...) becomes one :class:`UserError` line with sbatch's own reason.
    """
    if not specs:
        return {}
    try:
        return _submit(specs, opts, log_root)
    except (FailedJobError, FailedSubmissionError) as err:
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        reason = lines[-1] if lines else type(err).__name__
        raise UserError(f"the scheduler refused the submission: {reason}; check the executor options (or --profile)") from None


def _submit(specs: list[RunSpec], opts: ExecutorOptions, log_root: Path) -> dict[str, str]:
    kind = opts.resolved_executor()
    executor = make_executor(opts, Path(log_root) / ".submitit")
    placed: list[tuple[list[RunSpec], submitit.Job[Any]]] = []
    if kind == "slurm":
        previous: list[submitit.Job[Any]] = []
        for chunk in chunks(specs, slurm_max_array_size()):
            if previous and opts.array_parallelism:
                executor.update_parameters(dependency="afterany:" + previous[0].job_id.split("_")[0])
            with executor.batch():
                jobs = [executor.submit(RunJob([s], raise_errors=True)) for s in chunk]
            placed += [([s], j) for s, j in zip(chunk, jobs)]
            previous = jobs
    else:
        width = 1 if kind == "debug" else min(opts.parallelism(), len(specs))
        stripes = [specs[i::width] for i in range(width)]
        raise_errors = all(len(s) == 1 for s in stripes)
        if kind == "debug":  # runs here and now, in this process (pdb on errors)
            jobs = [executor.submit(RunJob(stripe, raise_errors)) for stripe in stripes]
            for job in jobs:
                job.result()
        else:
            with executor.batch():
                jobs = [executor.submit(RunJob(stripe, raise_errors)) for stripe in stripes]
        placed = list(zip(stripes, jobs))
    options = {**opts.to_dict(), "executor": kind}
    out = {}
    for stripe, job in placed:
        for spec in stripe:
            write_job_record(Path(spec.run_dir), job, options)
            out[spec.run_dir] = str(job.job_id)
    return out
