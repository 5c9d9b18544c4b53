"""Cancelling SLURM jobs: the only thing seqjobs asks the scheduler to change by itself."""

from __future__ import annotations

from typing import Optional

from jobs.scheduler import commands

#: seconds scancel may take: it only hands the request to slurmctld
CANCEL_TIMEOUT_S = 30


def cancel(job_ids: list[str], signal_name: Optional[str] = None) -> None:
    """scancel the given SLURM jobs (array elements included); ``signal_name`` (``USR1``): only signal their steps.

    scancel's own failure (a job that has already left the controller's
    memory) is not an error here: the caller has marked its runs cancelled
    either way, and ``status`` shows what the scheduler says.
    """
    if job_ids:
        flags = [f"--signal={signal_name}"] if signal_name else []
        commands.run(["scancel", *flags, *job_ids], timeout_s=CANCEL_TIMEOUT_S)
