"""Time stamps of run records."""

from __future__ import annotations

import time
from datetime import datetime, timezone


def now_iso() -> str:
    """Current UTC time, ISO 8601, second precision."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def elapsed(since: float) -> float:
    """Seconds since ``since`` (a ``time.perf_counter()`` value), rounded to ms."""
    return round(time.perf_counter() - since, 3)
