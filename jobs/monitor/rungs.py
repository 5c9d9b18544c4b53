"""Where each run of a halving sweep stands: its rung, and whether it went on or stopped there.

Derived from the sweep's manifest (``sweep.json``'s ``halving``), which the
promotion steps write (:mod:`jobs.engine.promotion`); read only, for
``status``, ``collect`` and ``report``. A damaged manifest gives no marks
(the runs still show; ``seqjobs sweep`` names the damage).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from seqtasks.rundir import Damaged, SweepDir
from seqtasks.rundir.sweepdir import MANIFEST

#: how much of a manifest's end tells whether it may hold a halving record
TAIL_BYTES = 128


@dataclass(frozen=True)
class RungMark:
    """A run's place in a halving sweep.

    ``outcome``: ``training`` (its rung is not decided yet), ``promoted``
    (it goes on to the next rung), ``stopped`` (it stops here; failed runs
    too, listed in ``failed``), ``final`` (it reached the last rung and ended
    there). ``stopped_at_epoch``: where it stopped (``None`` while it goes on).
    """

    rung: int
    outcome: str
    stopped_at_epoch: Optional[int]
    failed: bool = False

    def label(self) -> str:
        """What ``status`` shows: ``1 promoted``, ``0 stopped (failed)``..."""
        return f"{self.rung} {self.outcome}" + (" (failed)" if self.failed else "")


def halving_marks(sweep_dirs: Iterable[str]) -> dict[str, RungMark]:
    """Run folder path -> its mark, for every halving sweep among the folders ``sweep_dirs``."""
    marks: dict[str, RungMark] = {}
    for name in sweep_dirs:
        folder = Path(name)
        if not _may_be_halving(folder / MANIFEST):
            continue
        try:
            record = SweepDir(folder).halving()
        except Damaged:
            continue
        if record is None:
            continue
        last_planned = len(record.epochs) - 1
        for rung in record.rungs:
            for run in rung.runs:
                marks[str(folder / run)] = _mark(rung.rung, rung.epochs, run, rung.decided_at is not None,
                                                 run in rung.promoted, run in rung.failed, rung.rung == last_planned)
    return marks


def _may_be_halving(manifest: Path) -> bool:
    """Could ``manifest`` hold a halving record? Read from its last bytes only.

    ``halving`` is the manifest's last field, so a grid sweep's ends in
    ``"halving": null}`` (one written before halving existed, in its
    ``updated_at``): ``status`` on a sweep of 10,000 runs then does not parse
    its megabytes of manifest on every look.
    """
    try:
        with open(manifest, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - TAIL_BYTES))
            tail = re.sub(rb"\s", b"", f.read())
    except OSError:
        return False
    return not (tail.endswith(b'"halving":null}') or re.search(rb'"updated_at":("[^"]*"|null)}$', tail))


def _mark(rung: int, epochs: int, run: str, decided: bool, promoted: bool, failed: bool, last: bool) -> RungMark:
    if not decided:
        return RungMark(rung, "training", None)
    if promoted:
        return RungMark(rung, "promoted", None)
    return RungMark(rung, "final" if last and not failed else "stopped", epochs, failed)
