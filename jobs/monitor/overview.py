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
from jobs.monitor.spend import hours
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
    """A halving sweep's runs counted by rung and outcome (``rung 0: 16 promoted, 32 stopped; ...``); ``""``: none.

    A run's mark names the last rung it reached; it was promoted at every rung below.
    """
    counts: dict[int, dict[str, int]] = {}
    for row in rows:
        if row.rung:
            rung, _, outcome = row.rung.partition(" ")
            for level, said in [*((below, Outcome.PROMOTED.value) for below in range(int(rung))), (int(rung), outcome)]:
                by_outcome = counts.setdefault(level, {})
                by_outcome[said] = by_outcome.get(said, 0) + 1
    return "; ".join(
        f"rung {rung}: " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts[rung].items()))
        for rung in sorted(counts)
    )


def rung_spending(rows: list[RunStatus]) -> str:
    """What a halving sweep spent at each rung, and what its full grid would have: ``""`` for no halving run.

    GPU-hours where any run had a GPU, else CPU-hours. A run's hours are
    split over the rungs by the epochs it trained in each (rung k trains
    from the previous rung's epochs to its own); a run that has committed no
    epoch yet counts at the rung it is in. The full grid is every run
    trained to the last rung at its own measured cost per epoch (a run with
    none yet: the mean of the others).
    """
    halving = [r for r in rows if r.rung_epochs and r.cpu_hours is not None]
    if not halving:
        return ""
    gpu = any(r.gpu_hours for r in halving)
    unit = "GPU-h" if gpu else "CPU-h"
    by_rung: dict[int, float] = {}
    per_epoch: list[tuple[float | None, int]] = []  # (hours an epoch, the last rung's epochs) a run
    for row in halving:
        spent = (row.gpu_hours if gpu else row.cpu_hours) or 0.0
        plan = [int(e) for e in row.rung_epochs]
        if row.epoch <= 0:
            rung = int(row.rung.split(" ")[0]) if row.rung else 0
            by_rung[rung] = by_rung.get(rung, 0.0) + spent
            per_epoch.append((None, plan[-1]))
            continue
        for rung, (low, high) in enumerate(zip([0, *plan], plan)):
            trained = max(0, min(row.epoch, high) - low)
            if trained:
                by_rung[rung] = by_rung.get(rung, 0.0) + spent * trained / row.epoch
        per_epoch.append((spent / row.epoch, plan[-1]))
    known = [rate for rate, _ in per_epoch if rate is not None]
    parts = [f"rung {rung} {hours(by_rung[rung])} {unit}" for rung in sorted(by_rung)]
    line = "spent: " + ", ".join(parts) + f"; {hours(sum(by_rung.values()))} {unit} in all"
    if not known:
        return line
    mean = sum(known) / len(known)
    grid = sum((mean if rate is None else rate) * last for rate, last in per_epoch)
    return line + f", against ~{hours(grid)} {unit} for the full grid (every run to its last rung)"


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
