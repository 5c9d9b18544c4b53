"""An asynchronous halving sweep's worker jobs, as ``.asha/workers.json`` records them: alive, or stopped.

The sweep command submits nothing while one of them is alive (it takes over
what dead ones left); ``seqjobs cancel SWEEP`` pauses the search and stops
them all, including those waiting for work, whose own runs have all ended.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from jobs import scheduler
from jobs.scheduler.local import local_job_alive
from seqtasks.rundir import Damaged, SweepDir
from seqtasks.rundir.ashadir import AshaDir
from seqtasks.rundir.states import ACTIVE
from seqtasks.rundir.sweepdir import is_async


def worker_alive(job: dict[str, Any]) -> bool:
    """Is a recorded worker job queued or running?"""
    job_id = str(job.get("job_id"))
    if job.get("executor") == "slurm":
        return scheduler.job_states([job_id]).get(job_id, {}).get("state") in ACTIVE
    started = job.get("started")
    return local_job_alive(job_id, started if isinstance(started, (int, float)) else None)


def live_workers(sweep_dir: Path) -> list[str]:
    """The ids of the sweep's workers that are queued or running."""
    return [str(job["job_id"]) for job in AshaDir(sweep_dir).workers() if worker_alive(job)]


def pause(path: Path) -> list[str]:
    """If ``path`` is an asynchronous halving sweep: pause it (workers take no more work) and stop its workers.

    Returns the workers stopped. The sweep command given again resumes it.
    """
    try:
        manifest = SweepDir(path).manifest()
    except Damaged:
        return []
    if not is_async(manifest):
        return []
    folder = AshaDir(path)
    folder.pause()
    stopped = [job for job in folder.workers() if worker_alive(job)]
    for job in stopped:
        if job.get("executor") == "slurm":
            scheduler.cancel([str(job["job_id"])])
        else:  # submitit's controller stops its task on SIGINT
            os.kill(int(job["job_id"]), signal.SIGINT)
    return [str(job["job_id"]) for job in stopped]
