"""``--wait`` and ``status --watch``: one polling loop, one rule for when to stop.

A run has settled when it has ended (completed, failed, cancelled), or when
it has stayed in a state that nothing may change -- unknown, missing, stuck,
unreadable -- for :data:`PATIENCE` polls in a row. The patience is counted in
polls, not seconds, so both commands give a lagging scheduler (sacct writes
its record after sbatch returns) the same number of looks, and neither waits
forever on a run nothing will move.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

import typer

from jobs.monitor.status import RunStatus, statuses, summary, warnings
from jobs.text import say, shown
from seqtasks.rundir.states import ENDED, RunState

#: polls a run may stay in an UNSETTLED state before it counts as settled
PATIENCE = 15
UNSETTLED = (RunState.UNKNOWN, RunState.MISSING, RunState.STUCK, RunState.UNREADABLE)
#: seconds between polls of ``--wait``
WAIT_INTERVAL = 1.0

#: ``show(rows, settled)`` after each poll
Show = Callable[[list[RunStatus], int], None]


class Settling:
    """Counts, poll after poll, how long each run has been unsettled."""

    def __init__(self, patience: int | None = None) -> None:
        self.patience = PATIENCE if patience is None else patience
        self.polls: dict[str, int] = {}

    def settled(self, rows: list[RunStatus]) -> int:
        """Record this poll; return how many runs have settled."""
        self.polls = {r.path: self.polls.get(r.path, 0) + 1 for r in rows if r.state in UNSETTLED}
        return sum(r.state in ENDED or self.polls.get(r.path, 0) >= self.patience for r in rows)


def poll(root: Path, interval: float, show: Show) -> list[RunStatus]:
    """Read every run under ``root`` every ``interval`` seconds until all have settled; return the last rows."""
    settling = Settling()
    while True:
        rows = statuses(root)
        settled = settling.settled(rows)
        show(rows, settled)
        if settled == len(rows):
            return rows
        time.sleep(interval)


def wait_for(root: Path, interval: float | None = None) -> list[RunStatus]:
    """Block until every run under ``root`` has settled; return the last statuses.

    A progress bar on a terminal; otherwise one line whenever the counts change.
    """
    interval = WAIT_INTERVAL if interval is None else interval
    if not sys.stderr.isatty():
        last = [""]

        def changed(rows: list[RunStatus], settled: int) -> None:
            line = summary(rows)
            if line != last[0]:
                say(line, err=True)
                last[0] = line

        return poll(root, interval, changed)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[detail]}", markup=False),
        transient=False,
    ) as bar:
        task = bar.add_task(shown(Path(root).name), total=None, detail="")
        return poll(
            root,
            interval,
            lambda rows, settled: bar.update(task, total=len(rows), completed=settled, detail=summary(rows)),
        )


def report_end(root: Path) -> None:
    """Wait for every run under ``root``, print the count by state and each run that did not complete.

    Raises ``typer.Exit(1)`` unless every run completed: a script chaining
    ``--wait`` must not go on to collect a sweep that is not all there.
    """
    rows = wait_for(root)
    for line in warnings(rows):
        say(line, err=True)
    say(summary(rows))
    for r in rows:
        if r.state not in (RunState.COMPLETED, RunState.UNREADABLE):
            say(f"  {r.state} {r.run}" + (f": {r.error}" if r.error else ""), err=True)
    if not rows or any(r.state != RunState.COMPLETED for r in rows):
        raise typer.Exit(1)
