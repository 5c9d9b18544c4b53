"""Each run under a path as what an experiment tracker shows: parameters, numbered series, its times and state.

Read with :func:`jobs.monitor.status.survey` (every file, checked), the same
reading ``report`` and ``collect --per-epoch`` make, so an export shows what
they show: one point per committed epoch of ``metrics.csv`` (every column,
NaN included: a diverged epoch is a fact), and, for a completed run, its
result's figures. A run that has not completed is exported with the epochs
it has committed; an unreadable one is left out, with the views' warning.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobs.monitor.reading import RunFiles, when
from jobs.monitor.status import RunStatus, survey
from seqtasks.rundir.states import RunState

#: the tag prefix of a result's figures, apart from the per-epoch columns of the same name
RESULT = "result/"


@dataclass(frozen=True)
class Point:
    """One value of a series: at an epoch (``step``), at a time (seconds since the epoch of the clock)."""

    step: int
    wall_time: float
    value: float


@dataclass
class ExportedRun:
    """What an export shows of one run."""

    #: the run folder relative to the exported path, ``/`` between parts (the run folder's own name for a run)
    name: str
    task: str
    #: its state, as ``status`` shows it
    state: str
    #: every parameter of its config, plus ``task``
    params: dict[str, Any]
    #: ``tag -> points``: each ``metrics.csv`` column by epoch, and each figure of a completed run's result
    series: dict[str, list[Point]] = field(default_factory=dict)
    #: when it was created and, once ended, when it ended (seconds since the epoch)
    started: float = 0.0
    ended: float | None = None


def exported_runs(root: Path) -> tuple[list[ExportedRun], list[RunStatus]]:
    """Every readable run under ``root``, and the status of every run found (for the warnings and the count)."""
    runs = survey(root, "full")
    exported = [_exported(run.files, run.status, root) for run in runs if run.files is not None]
    return exported, [run.status for run in runs]


def _exported(f: RunFiles, status: RunStatus, root: Path) -> ExportedRun:
    started = _seconds(f.record.created_at if f.record is not None else None) or 0.0
    ended = _seconds(f.result.ended_at) if f.result is not None else None
    run = ExportedRun(
        name=_name(f.path, root),
        task=f.task,
        state=status.state,
        params={"task": f.task, **f.config},
        started=started,
        ended=ended,
    )
    elapsed = 0.0
    last = 0
    for number, row in enumerate(f.metrics, start=1):
        epoch = _number(row.get("epoch"))
        last = int(epoch) if epoch is not None else number
        elapsed += _number(row.get("seconds")) or 0.0
        for tag, value in row.items():
            if tag != "epoch":
                run.series.setdefault(tag, []).append(Point(last, started + elapsed, float(value)))
    if f.result is not None and status.state == RunState.COMPLETED:
        at = ended if ended is not None else started + elapsed
        for name, value in f.result.figures.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                run.series[RESULT + name] = [Point(last, at, float(value))]
    return run


def _name(path: Path, root: Path) -> str:
    """The run's name in an export: its folder relative to ``root``, or its own name when it is ``root``."""
    relative = os.path.relpath(path, root)
    return Path(path).resolve().name if relative == "." else Path(relative).as_posix()


def _seconds(stamp: Any) -> float | None:
    moment = when(stamp)
    return moment.timestamp() if moment is not None else None


def _number(cell: str | None) -> float | None:
    """A ``metrics.csv`` cell (checked numeric when read) as a finite number; ``None`` when absent or NaN."""
    value = float(cell) if cell is not None else math.nan
    return value if math.isfinite(value) else None
