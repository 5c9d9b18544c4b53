"""Per-run file work of a large submission, on a few threads.

Each file a submission writes into a run folder is flushed to disk before it
is renamed into place (see :mod:`seqtasks.atomic`); for a sweep of ten
thousand runs that is tens of seconds one after another, almost all of it
waiting on the disk. The runs' folders are independent, so a few threads
wait at once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: threads writing run folders at once
WORKERS = 8
#: fewer items than this are done in the calling thread
SMALL = 16


def each(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``[fn(item) for item in items]``, in order, on :data:`WORKERS` threads; the first exception propagates."""
    items = list(items)
    if len(items) < SMALL:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(fn, items))
