"""Measure a baseline and seqjobs' own path the same way, and judge the result.

Both sides run in the same process, alternating (baseline, ours, baseline,
ours...), so a machine that slows down mid-benchmark (another job, thermal
throttling) hits both sides alike. Each row keeps every measurement's median
and min-max spread; the ratio is always ``baseline / seqjobs`` of the medians,
so for times and bytes "bigger is better for seqjobs".
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Stat:
    """Median and min-max of one side's repeated measurements."""

    median: float
    lo: float
    hi: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> "Stat":
        """Summarise ``values`` (at least one)."""
        return cls(statistics.median(values), min(values), max(values), len(values))

    @classmethod
    def once(cls, value: float) -> "Stat":
        """A quantity that does not vary between repeats (bytes of an array)."""
        return cls(value, value, value, 1)


@dataclass(frozen=True)
class Target:
    """What counts as met: a minimum ``baseline / seqjobs`` ratio, or a maximum seqjobs median."""

    text: str
    min_ratio: float | None = None
    max_value: float | None = None


@dataclass
class Row:
    """One benchmark item: both sides, the target, and what the numbers mean."""

    item: str
    title: str
    unit: str
    baseline: Stat | None
    seqjobs: Stat | None
    target: Target | None
    checks: dict[str, bool] = field(default_factory=dict)  # further conditions of "met" (identical counts...)
    note: str = ""
    skipped: str = ""  # why the item could not run here ("no cluster")

    @property
    def ratio(self) -> float | None:
        """``baseline / seqjobs`` of the medians, when both sides exist."""
        if self.baseline is None or self.seqjobs is None or self.seqjobs.median <= 0:
            return None
        return self.baseline.median / self.seqjobs.median

    @property
    def met(self) -> str:
        """``yes``, ``no``, ``n/a`` (reported only) or ``skipped``."""
        if self.skipped:
            return "skipped"
        if self.target is None or self.seqjobs is None:
            return "n/a"
        ok = all(self.checks.values())
        if self.target.min_ratio is not None:
            ok = ok and self.ratio is not None and self.ratio >= self.target.min_ratio
        if self.target.max_value is not None:
            ok = ok and self.seqjobs.median <= self.target.max_value
        return "yes" if ok else "no"


def alternate(baseline: Callable[[], float], ours: Callable[[], float], repeats: int) -> tuple[Stat, Stat]:
    """Call ``baseline`` then ``ours``, ``repeats`` times; each returns its own measurement."""
    base, mine = [], []
    for _ in range(repeats):
        base.append(baseline())
        mine.append(ours())
    return Stat.of(base), Stat.of(mine)


def timed(fn: Callable[[], object]) -> Callable[[], float]:
    """A measurement that is ``fn``'s wall time in seconds."""

    def measure() -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    return measure


def repeat(measure: Callable[[], float], repeats: int) -> Stat:
    """One side only (items with an absolute target and no baseline)."""
    return Stat.of([measure() for _ in range(repeats)])
