"""From :class:`ExecutorOptions` to a configured submitit executor.

One function per backend, as submitit itself is organised. The local backend
gets a long default time limit: submitit's own default (2 minutes) would
requeue every real training run.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import submitit
import submitit.local.local

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


class DetachedLocalExecutor(submitit.LocalExecutor):
    """submitit's local executor, with each job's controller in a session of its own.

    submitit starts the controller with a plain ``Popen``: it shares the
    terminal's process group and output. A Ctrl-C on ``--wait`` would then
    kill every local job, and a caller capturing ``seqjobs sweep``'s output
    would block until the jobs end. Here the controller gets a new session
    and writes to ``.submitit/controllers.log`` instead.
    """

    def _submit_command(self, command: str) -> submitit.local.local.LocalJob[Any]:
        real_popen = subprocess.Popen
        log_path = Path(self.folder).parent / "controllers.log"  # folder is .submitit/%j
        log_path.parent.mkdir(parents=True, exist_ok=True)

        def detached(cmd: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
            with open(log_path, "ab") as log:
                return real_popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, **kwargs)

        submitit.local.local.subprocess.Popen = detached  # type: ignore[attr-defined]
        try:
            return super()._submit_command(command)
        finally:
            submitit.local.local.subprocess.Popen = real_popen  # type: ignore[attr-defined]


def local_executor(opts: ExecutorOptions, folder: Path) -> submitit.LocalExecutor:
    """A LocalExecutor (one process per job; the CPU threads follow --cpus-per-task)."""
    ex = DetachedLocalExecutor(folder=folder, max_num_timeout=opts.max_num_timeout)
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
