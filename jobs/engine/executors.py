"""From :class:`ExecutorOptions` to a configured submitit executor.

One function per backend, as submitit itself is organised. Neither backend ever
runs with submitit's default time limit (5 minutes on SLURM, 2 locally): it
would requeue every real training run. SLURM jobs get ``--time`` or the
partition's own limit (:func:`jobs.scheduler.slurm_time_limit`), local
jobs a week.

submitit gives up on a job after ``max_num_timeout`` time-outs, and counts
every preemption of a job with a limit under 10 minutes as one. Requeues are
limited by progress instead (:class:`jobs.engine.jobfn.RunJob` fails a run
after ``max_stalled`` attempts in a row without a committed epoch), so
submitit's count is set out of reach here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import submitit
import submitit.local.local

from jobs import scheduler
from jobs.engine import boot
from jobs.engine.options import SLURM_PARAMETERS, ExecutorOptions
from jobs.engine.snapshot import Snapshot
from jobs.scheduler.local import LOCAL_CONTROLLER

LOCAL_DEFAULT_MINUTES = 7 * 24 * 60
#: submitit's time-out count, out of reach: progress decides requeues (see the module doc)
UNCOUNTED_TIMEOUTS = 1_000_000


def slurm_parameters(opts: ExecutorOptions) -> dict[str, Any]:
    """The SlurmExecutor parameters for ``opts``: the options that are set, and a time limit.

    Without ``--time`` the limit is the partition's own (asked from sinfo);
    submitit would otherwise write its 5-minute default.
    """
    params: dict[str, Any] = {
        theirs: getattr(opts, ours) for ours, theirs in SLURM_PARAMETERS.items() if getattr(opts, ours) is not None
    }
    if opts.time is None:
        params["time"] = scheduler.slurm_time_limit(opts.partition).minutes
    if opts.after is not None:  # chained arrays and promotion jobs set their own dependency, after these
        params["dependency"] = f"afterok:{opts.after}"
    return {"job_name": "seqjobs", **params}


def slurm_executor(opts: ExecutorOptions, folder: Path, code: Snapshot | None = None) -> submitit.SlurmExecutor:
    """A SlurmExecutor whose sbatch lines are the options that are set; its jobs import ``code`` (setup lines)."""
    ex = submitit.SlurmExecutor(folder=folder, max_num_timeout=UNCOUNTED_TIMEOUTS, python=boot.command())
    ex.update_parameters(**slurm_parameters(opts), **({"setup": code.setup_lines()} if code else {}))
    return ex


class DetachedLocalExecutor(submitit.LocalExecutor):
    """submitit's local executor, with each job's controller in a session of its own.

    submitit starts the controller (``start_controller``) with a plain
    ``Popen``: it shares the terminal's process group and output. A Ctrl-C on
    ``--wait`` would then kill every local job, and a caller capturing
    ``seqjobs sweep``'s output would block until the jobs end. Here the
    controller gets a new session, reads nothing from the terminal, writes to
    ``.submitit/controllers.log``, and is :mod:`jobs.engine.local_controller`
    (submitit's, without its limit of six restarts: the job's own stall rule
    decides). The job id is the controller's pid, as in submitit.

    ``threads`` (``--cpus-per-task``) reaches the job as ``SEQJOBS_THREADS``,
    which :mod:`seqtasks.tfsetup` sizes TensorFlow's thread pools by, as
    ``SLURM_CPUS_PER_TASK`` does on a cluster.
    """

    def __init__(
        self, folder: Path, max_num_timeout: int, threads: int | None = None, code: Snapshot | None = None
    ) -> None:
        super().__init__(folder=folder, max_num_timeout=max_num_timeout, python=boot.command())
        self.threads = threads
        self.code = code

    def _submit_command(self, command: str) -> submitit.local.local.LocalJob[Any]:
        """submitit's own start step (its environment variables), detached."""
        env = {**os.environ, **controller_environment(command, self.parameters)}
        if self.threads:
            env["SEQJOBS_THREADS"] = str(self.threads)
        if self.code:  # the controller and every attempt it starts import the snapshot
            env = self.code.environment(env)
        log_path = Path(self.folder).parent / "controllers.log"  # folder is .submitit/%j
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", LOCAL_CONTROLLER, str(self.folder)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        return submitit.local.local.LocalJob(folder=self.folder, job_id=str(process.pid), process=process, tasks=[0])


def controller_environment(command: str, parameters: dict[str, Any]) -> dict[str, str]:
    """The variables submitit's ``start_controller`` gives its controller, which it reads, for ``parameters``.

    ``tasks_per_node``, ``visible_gpus``, ``stderr_to_stdout`` and ``setup``
    are never set by seqjobs: one task per job, the first ``gpus_per_node``
    devices. The names are checked against submitit's by
    ``tests/test_submitit_internals.py``.
    """
    gpus = range(parameters.get("gpus_per_node", 0))
    return {
        "SUBMITIT_LOCAL_NTASKS": "1",
        "SUBMITIT_LOCAL_COMMAND": command,
        "SUBMITIT_LOCAL_TIMEOUT_S": str(int(60 * parameters["timeout_min"])),
        "SUBMITIT_LOCAL_SIGNAL_DELAY_S": str(int(parameters["signal_delay_s"])),
        "SUBMITIT_LOCAL_NODEID": "0",
        "SUBMITIT_LOCAL_JOB_NUM_NODES": "1",
        "SUBMITIT_STDERR_TO_STDOUT": "",
        "SUBMITIT_EXECUTOR": "local",
        "CUDA_VISIBLE_DEVICES": ",".join(map(str, gpus)),
        "SUBMITIT_LOCAL_WITH_SHELL": "",
    }


def local_executor(opts: ExecutorOptions, folder: Path, code: Snapshot | None = None) -> submitit.LocalExecutor:
    """A LocalExecutor (one process per job; TensorFlow's CPU threads follow :meth:`ExecutorOptions.threads`),
    importing ``code``."""
    ex = DetachedLocalExecutor(folder=folder, max_num_timeout=UNCOUNTED_TIMEOUTS, threads=opts.threads(), code=code)
    ex.update_parameters(
        timeout_min=opts.time or LOCAL_DEFAULT_MINUTES,
        signal_delay_s=opts.signal_delay if opts.signal_delay is not None else 30,
        gpus_per_node=opts.gpus_per_node or 0,
    )
    return ex


#: submitit's SLURM signal delay when none is set
SLURM_DEFAULT_SIGNAL_DELAY_S = 90


def time_limit_signal_s(executor: submitit.Executor) -> float | None:
    """Seconds after a job's start at which its time limit's checkpoint signal is due (``None``: no limit, debug).

    A job's runs are told it (:class:`jobs.engine.jobfn.RunJob`), so that a
    signal well before it is known for a preemption, which does not count
    towards ``--max-stalled``.
    """
    params = executor.parameters
    minutes = params.get("time", params.get("timeout_min"))
    if minutes is None:
        return None
    return 60.0 * float(minutes) - float(params.get("signal_delay_s", SLURM_DEFAULT_SIGNAL_DELAY_S))


def make_executor(opts: ExecutorOptions, folder: Path, code: Snapshot | None = None) -> submitit.Executor:
    """The executor ``opts`` asks for, logging under ``folder`` (``%j`` per job); its jobs import ``code``
    (``None``: the installed code; the debug executor runs in this process, on the code it has loaded)."""
    kind = opts.resolved_executor()
    folder = Path(folder) / "%j"
    if kind == "slurm":
        return slurm_executor(opts, folder, code)
    if kind == "local":
        return local_executor(opts, folder, code)
    return submitit.DebugExecutor(folder=folder)
