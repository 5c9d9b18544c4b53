"""Time stamps of run records."""

from __future__ import annotations

import time
from datetime import datetime, timezone


def now_iso() -> str:
    """Current UTC time, ISO 8601, to the millisecond.

    Not to the second: ``status`` orders a resubmission (``job.json``'s
    ``submitted_at``) against the result it supersedes (``ended_at``), and a
    halving rung is submitted within the very second its previous rung's runs
    ended -- equal stamps made a resubmitted run look completed.
    """
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def elapsed(since: float) -> float:
    """Seconds since ``since`` (a ``time.perf_counter()`` value), rounded to ms."""
    return round(time.perf_counter() - since, 3)
