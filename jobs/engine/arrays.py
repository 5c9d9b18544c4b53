"""SLURM job arrays: a list of tasks cut into arrays (chained or not).

Kept free of submitit (the caller passes the function that submits one
array) and of the cluster (the caller passes the largest array size,
:func:`jobs.scheduler.slurm_max_array_size`), so the plan can be tested
without one.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Protocol, TypeVar

from jobs import scheduler


class HasJobId(Protocol):
    """What chaining needs of a submitted job: its id."""

    @property
    def job_id(self) -> str: ...


JobT = TypeVar("JobT", bound=HasJobId)
ItemT = TypeVar("ItemT")


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    """``items`` cut into lists of at most ``size``."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def submit_arrays(
    items: list[ItemT],
    max_array: int,
    chained: bool,
    submit_array: Callable[[list[ItemT], Optional[str], bool], list[JobT]],
) -> list[tuple[ItemT, JobT]]:
    """Submit ``items`` (one array task each) as arrays of at most ``max_array``; ``chained``: each after the last.

    ``submit_array(chunk, dependency, ends)`` submits one array
    (``dependency`` is an sbatch ``--dependency`` value or ``None``) and
    returns its jobs, one per item. ``ends`` says whether the list may end
    with this array, which is where a mail at the end goes: only the last
    one when chained, every one otherwise (they run side by side). Chaining
    (``afterany``) makes ``--array-parallelism`` hold for the whole list, not
    per array.
    """
    placed: list[tuple[ItemT, JobT]] = []
    dependency: Optional[str] = None
    cut = chunks(items, max_array)
    for index, chunk in enumerate(cut):
        jobs = submit_array(chunk, dependency, not chained or index == len(cut) - 1)
        placed += zip(chunk, jobs)
        if chained:
            dependency = "afterany:" + scheduler.array_base(str(jobs[0].job_id))
    return placed
