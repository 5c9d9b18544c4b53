"""Where each run of a halving sweep stands: its rung, and whether it went on or stopped there.

Derived from the sweep's manifest (``sweep.json``'s ``halving``), which the
promotion steps write (:mod:`jobs.engine.promotion`); for an asynchronous
sweep from its ``.asha/`` folder's results and decisions
(:mod:`seqtasks.rundir.ashadir`), read as a worker reads them. Read only, for
``status``, ``collect`` and ``report``. A damaged manifest or ``.asha/`` file
gives no marks (the runs still show, and the views name a damaged manifest:
:mod:`jobs.monitor.sweeps`).
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from jobs.monitor.sweeps import SweepRecord
from seqtasks.rundir import Damaged
from seqtasks.rundir.ashadir import PROMOTED, STOPPED, AshaDir, RungView
from seqtasks.rundir.states import RunState
from seqtasks.rundir.sweepdir import is_async


class Outcome(str, enum.Enum):
    """What became of a run at its rung: a rung's own words, beside (not among) the run's states."""

    TRAINING = "training"
    #: its rung is not decided, and the run was cancelled (the run's state, said of the rung)
    CANCELLED = RunState.CANCELLED.value
    #: asynchronous halving: it finished the rung, and no decision was made on it yet
    FINISHED = "finished"
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
    Asynchronous halving also has ``finished`` (the rung is finished, not
    decided yet), and ``competitors``: how many configurations had finished
    the rung when its last decision (stopped there, or promoted into it) was made.
    """

    rung: int
    outcome: Outcome
    stopped_at_epoch: Optional[int]
    failed: bool = False
    competitors: Optional[int] = None
    #: the sweep's plan: the epochs each rung trains to (what a rung's spending is split by)
    plan: tuple[int, ...] = ()

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
        if is_async(sweep.manifest):
            marks.update(_async_marks(sweep))
            continue
        last_planned = len(record.epochs) - 1
        plan = _plan(record.epochs)
        for rung in record.rungs:
            for run in rung.runs:
                marks[str(sweep.folder / run)] = dataclasses.replace(
                    _mark(
                        rung.rung,
                        rung.epochs,
                        rung.decided_at is not None,
                        run in rung.promoted,
                        run in rung.failed,
                        rung.rung == last_planned,
                    ),
                    plan=plan,
                )
    return marks


def _plan(epochs: list[Any]) -> tuple[int, ...]:
    """The plan's epochs per rung; empty when the manifest holds anything but whole numbers there (no split)."""
    ok = all(isinstance(e, int) and not isinstance(e, bool) for e in epochs)
    return tuple(epochs) if ok else ()


def _async_marks(sweep: SweepRecord) -> dict[str, RungMark]:
    """The marks of an asynchronous halving sweep's runs, from its rung results and decisions."""
    from jobs.engine.asha.search import configurations  # the views of other sweeps need none of it

    assert sweep.halving is not None and sweep.manifest is not None
    epochs = [int(e) for e in sweep.halving.epochs]
    folder = AshaDir(sweep.folder)
    try:
        views = [folder.view(level) for level in range(len(epochs))]
    except Damaged:
        return {}
    marks = {}
    for config, runs in configurations(sweep.manifest.runs).items():
        mark = dataclasses.replace(_async_mark(config, views, epochs), plan=_plan(epochs))
        marks.update({str(sweep.folder / run): mark for run in runs})
    return marks


def _async_mark(config: str, views: list[RungView], epochs: list[int]) -> RungMark:
    """A configuration's mark: the highest rung it entered (rung 0, then each it was promoted into)."""
    rung = 0
    while rung + 1 < len(views) and views[rung].outcomes.get(config) == PROMOTED:
        rung += 1
    view = views[rung]
    promoted_by = views[rung - 1].competitors.get(config) if rung else None
    if config not in view.scores:
        return RungMark(rung, Outcome.TRAINING, None, competitors=promoted_by)
    failed = view.scores[config] is None
    if view.outcomes.get(config) == STOPPED:
        return RungMark(rung, Outcome.STOPPED, epochs[rung], failed, view.competitors.get(config))
    if rung == len(views) - 1:
        return RungMark(rung, Outcome.FINAL, epochs[rung], failed, promoted_by)
    return RungMark(rung, Outcome.FINISHED, None, failed, promoted_by)


def settled(mark: RungMark, state: str) -> RungMark:
    """The mark of a run in ``state``: a cancelled run of an undecided rung is no longer ``training``."""
    if mark.outcome is Outcome.TRAINING and state == RunState.CANCELLED:
        return RungMark(mark.rung, Outcome.CANCELLED, None, competitors=mark.competitors, plan=mark.plan)
    return mark


def _mark(rung: int, epochs: int, decided: bool, promoted: bool, failed: bool, last: bool) -> RungMark:
    if not decided:
        return RungMark(rung, Outcome.TRAINING, None)
    if promoted:
        return RungMark(rung, Outcome.PROMOTED, None)
    return RungMark(rung, Outcome.FINAL if last and not failed else Outcome.STOPPED, epochs, failed)
