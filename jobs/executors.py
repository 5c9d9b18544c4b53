"""From :class:`ExecutorOptions` to a configured submitit executor.

One function per backend, as submitit itself is organised. The local backend
gets a long default time limit: submitit's own default (2 minutes) would
requeue every real training run.
"""

from __future__ import annotations

from pathlib import Path

import submitit

from jobs.executor_opts import ExecutorOptions

LOCAL_DEFAULT_MINUTES = 7 * 24 * 60
SLURM_KEYS = ("partition", "gpus_per_node", "gres", "cpus_per_task", "mem", "qos", "account", "constraint", "exclude")


def slurm_executor(opts: ExecutorOptions, folder: Path) -> submitit.SlurmExecutor:
    """A SlurmExecutor whose sbatch lines are the options that are set."""
    ex = submitit.SlurmExecutor(folder=folder, max_num_timeout=opts.max_num_timeout)
    params = {k: getattr(opts, k) for k in SLURM_KEYS if getattr(opts, k) is not None}
    if opts.time is not None:
        params["time"] = opts.time
    if opts.array_parallelism is not None:
        params["array_parallelism"] = opts.array_parallelism
    if opts.signal_delay is not None:
        params["signal_delay_s"] = opts.signal_delay
    ex.update_parameters(job_name="seqjobs", **params)
    return ex


def local_executor(opts: ExecutorOptions, folder: Path) -> submitit.LocalExecutor:
    """A LocalExecutor (one process per job; the CPU threads follow --cpus-per-task)."""
    ex = submitit.LocalExecutor(folder=folder, max_num_timeout=opts.max_num_timeout)
    ex.update_parameters(
        timeout_min=opts.time or LOCAL_DEFAULT_MINUTES,
        signal_delay_s=opts.signal_delay if opts.signal_delay is not None else 30,
        gpus_per_node=opts.gpus_per_node or 0,
    )
    return ex


def make_executor(opts: ExecutorOptions, folder: Path) -> submitit.Executor:
    """The executor ``opts`` asks for, logging under ``folder`` (``%j`` per job)."""
    kind = opts.resolved_executor()
    folder = Path(folder) / "%j"
    if kind == "slurm":
        return slurm_executor(opts, folder)
    if kind == "local":
        return local_executor(opts, folder)
    return submitit.DebugExecutor(folder=folder)
