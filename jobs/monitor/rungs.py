"""Where each run of a halving sweep stands: its rung, and whether it went on or stopped there.

Derived from the sweep's manifest (``sweep.json``'s ``halving``), which the
promotion steps write (:mod:`jobs.engine.promotion`); read only, for
``status``, ``collect`` and ``report``. A damaged manifest gives no marks
(the runs still show, and the views name the damage: :mod:`jobs.monitor.sweeps`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Iterable, Optional

from jobs.monitor.sweeps import SweepRecord
from seqtasks.rundir.states import RunState


class Outcome(str, enum.Enum):
    """What became of a run at its rung: a rung's own words, beside (not among) the run's states."""

    TRAINING = "training"
    #: its rung is not decided, and the run was cancelled (the run's state, said of the rung)
    CANCELLED = RunState.CANCELLED.value
    PROMOTED = "promoted"
    STOPPED = "stopped"
    FINAL = "final"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class RungMark:
    """A run's place in a halving sweep.

    ``outcome``: ``training`` (its rung is not decided yet), ``cancelled``
    (its rung is not decided, and the run was cancelled), ``promoted``
    (it goes on to the next rung), ``stopped`` (it stops here; failed runs
    too, listed in ``failed``), ``final`` (it reached the last rung and ended
    there). ``stopped_at_epoch``: where it stopped (``None`` while it goes on).
    """

    rung: int
    outcome: Outcome
    stopped_at_epoch: Optional[int]
    failed: bool = False

    def label(self) -> str:
        """What ``status`` shows: ``1 promoted``, ``0 stopped (failed)``..."""
        return f"{self.rung} {self.outcome.value}" + (" (failed)" if self.failed else "")


def halving_marks(sweeps: Iterable[SweepRecord]) -> dict[str, RungMark]:
    """Run folder path -> its mark, for every halving sweep among ``sweeps`` (read by :func:`read_sweeps`)."""
    marks: dict[str, RungMark] = {}
    for sweep in sweeps:
        record = sweep.halving
        if record is None:
            continue
        last_planned = len(record.epochs) - 1
        for rung in record.rungs:
            for run in rung.runs:
                marks[str(sweep.folder / run)] = _mark(
                    rung.rung,
                    rung.epochs,
                    rung.decided_at is not None,
                    run in rung.promoted,
                    run in rung.failed,
                    rung.rung == last_planned,
                )
    return marks


def settled(mark: RungMark, state: str) -> RungMark:
    """The mark of a run in ``state``: a cancelled run of an undecided rung is no longer ``training``."""
    if mark.outcome is Outcome.TRAINING and state == RunState.CANCELLED:
        return RungMark(mark.rung, Outcome.CANCELLED, None)
    return mark


def _mark(rung: int, epochs: int, decided: bool, promoted: bool, failed: bool, last: bool) -> RungMark:
    if not decided:
        return RungMark(rung, Outcome.TRAINING, None)
    if promoted:
        return RungMark(rung, Outcome.PROMOTED, None)
    return RungMark(rung, Outcome.FINAL if last and not failed else Outcome.STOPPED, epochs, failed)
