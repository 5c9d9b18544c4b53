"""The schedulers, as seqjobs itself asks them: the one seam between seqjobs and SLURM's tools (and the local
executor's controllers).

Every ``sbatch``, ``scontrol``, ``sacct``, ``squeue``, ``sinfo``,
``sacctmgr`` and ``scancel`` that seqjobs' own code runs goes through
:func:`jobs.scheduler.commands.run`, so there is one place with the timeout and
the error handling, and unit tests answer the tools from recorded output by
replacing that one function. Submitting and watching jobs stays submitit's:
it runs ``sbatch``, ``sacct`` and ``scontrol requeue`` itself, and those
calls do not pass here.

- :mod:`~jobs.scheduler.commands`: runs a tool; text, or ``None`` when it fails or is missing;
- :mod:`~jobs.scheduler.states`: what state jobs are in (sacct, else squeue);
- :mod:`~jobs.scheduler.usage`: what jobs spent (sacct's elapsed time and allocated CPUs and GPUs);
- :mod:`~jobs.scheduler.limits`: what the cluster allows a submission (time limits,
  submit limits, array size);
- :mod:`~jobs.scheduler.cancel`: scancel;
- :mod:`~jobs.scheduler.local`: the local executor's counterpart of squeue: is a job's controller alive.

Both the engine and the monitor use it; it imports neither (nor TensorFlow),
so commands that only read stay fast. The names below are the ones callers use.
"""

from jobs.scheduler.cancel import cancel
from jobs.scheduler.limits import (
    SubmitLimit,
    TimeLimit,
    queued_jobs,
    slurm_max_array_size,
    slurm_submit_limit,
    slurm_time_limit,
)
from jobs.scheduler.states import JobInfo, array_base, job_states
from jobs.scheduler.usage import Allocation, job_usage

__all__ = [
    "Allocation",
    "JobInfo",
    "SubmitLimit",
    "TimeLimit",
    "array_base",
    "cancel",
    "job_states",
    "job_usage",
    "queued_jobs",
    "slurm_max_array_size",
    "slurm_submit_limit",
    "slurm_time_limit",
]
