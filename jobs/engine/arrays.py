"""SLURM job arrays: how large one may be, and a list of tasks cut into arrays (chained or not).

Kept free of submitit (the caller passes the function that submits one
array), so the plan can be tested without a cluster.
"""

from __future__ import annotations

import re
import subprocess
from typing import Any, Callable, Optional, Protocol, TypeVar

from jobs.monitor import scheduler

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
    per item. Chaining (``afterany``) makes ``--array-parallelism`` hold for
    the whole list, not per array.
    """
    placed: list[tuple[ItemT, JobT]] = []
    dependency: Optional[str] = None
    for chunk in chunks(items, max_array):
        jobs = submit_array(chunk, dependency)
        placed += zip(chunk, jobs)
        if chained:
            dependency = "afterany:" + scheduler.array_base(str(jobs[0].job_id))
    return placed
