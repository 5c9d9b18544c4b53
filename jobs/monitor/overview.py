"""What ``seqjobs status`` shows of a large sweep: counts per group, then only the runs that need a look.

A table of 10,000 rows is not what a person reads. Past :data:`SMALL` runs
the view is a summary: one line per group -- per sweep folder when the runs
lie in several, else per grid point (the run name without its ``seed=``
part) when there are few enough of those -- and then the runs to look at:
every failed, stuck, unreadable, unknown or missing run (each is something
to fix or resubmit), and the first :data:`MAX_ACTIVE_ROWS` running or
requeued ones. ``status --all`` lists every run.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from jobs.monitor.rungs import Outcome
from jobs.monitor.status import RunStatus
from jobs.text import count
from seqtasks.rundir.states import AT_WORK, SHOWN, TROUBLE, RunState

#: up to this many runs, every run is listed
SMALL = 20
#: at most this many group lines; more grid points than this are shown as their sweep
MAX_GROUPS = 20
#: runs at work (:data:`~seqtasks.rundir.states.AT_WORK`) listed; every run in trouble is
MAX_ACTIVE_ROWS = 10


@dataclass
class Group:
    """The runs of one sweep folder or grid point, counted by state."""

    name: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """How many runs the group has."""
        return sum(self.counts.values())


def sweep_name(row: RunStatus, root: str) -> str:
    """The folder that holds the run, relative to the path ``status`` was given (``""``: that path itself)."""
    return _holder(os.path.dirname(row.path), root)


@functools.lru_cache(maxsize=1024)
def _holder(parent: str, root: str) -> str:
    """Once per sweep folder: ``relpath`` asks for the working directory each time (10,000 runs, 10,000 asks)."""
    holder = os.path.relpath(parent or ".", root)
    return "" if holder == "." or holder.startswith("..") else holder


def grid_point(run: str) -> str:
    """``order=2_level=word_seed=1`` -> ``order=2_level=word``: the run's name without its seed."""
    parts = [part for part in run.split("_") if not part.startswith("seed=")]
    return "_".join(parts) or run


def groups(rows: list[RunStatus], root: str) -> list[Group]:
    """One group per sweep folder when the runs lie in several; else per grid point, when that says more."""
    sweeps = [sweep_name(r, root) or Path(root).name for r in rows]
    keys = sweeps
    if len(set(sweeps)) == 1:
        points = [grid_point(r.run) for r in rows]
        if 1 < len(set(points)) <= MAX_GROUPS and len(set(points)) < len(rows):
            keys = points
    found: dict[str, Group] = {}
    for key, row in zip(keys, rows):
        group = found.setdefault(key, Group(key))
        group.counts[row.state] = group.counts.get(row.state, 0) + 1
    return sorted(found.values(), key=lambda g: g.name)


def rung_line(rows: list[RunStatus]) -> str:
    """A halving sweep's runs counted by rung and outcome (``rung 0: 32 stopped, 16 promoted; ...``); ``""``: none."""
    counts: dict[int, dict[str, int]] = {}
    for row in rows:
        if row.rung:
            rung, _, outcome = row.rung.partition(" ")
            by_outcome = counts.setdefault(int(rung), {})
            by_outcome[outcome] = by_outcome.get(outcome, 0) + 1
    return "; ".join(
        f"rung {rung}: " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts[rung].items()))
        for rung in sorted(counts)
    )


def halving_advice(rows: list[RunStatus]) -> str:
    """What to do about runs stuck in a rung not decided yet (``""``: none): its promotion job will not rank them."""
    stuck = sum(1 for row in rows if row.state == RunState.STUCK and row.rung.endswith(f" {Outcome.TRAINING.value}"))
    if not stuck:
        return ""
    return (
        f"{count(stuck, 'run')} of an undecided rung stopped unfinished: run the same `seqjobs sweep` command "
        "again; it resubmits them and the rung is decided once they end"
    )


def states_present(groups_: Iterable[Group]) -> list[str]:
    """The states any group has, in the order of the summary line: the columns of the group table."""
    seen = {state for g in groups_ for state in g.counts}
    return [state for state in SHOWN if state in seen]


def to_look_at(rows: list[RunStatus]) -> tuple[list[RunStatus], int]:
    """The runs to list (every one in trouble, the first few at work) and how many at work are left out."""
    trouble = [r for r in rows if r.state in TROUBLE]
    active = [r for r in rows if r.state in AT_WORK]
    return trouble + active[:MAX_ACTIVE_ROWS], max(0, len(active) - MAX_ACTIVE_ROWS)
