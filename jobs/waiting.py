"""``--wait`` and ``status --watch``: poll the run folders until every run has ended."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from jobs.status import TERMINAL, RunStatus, statuses, summary

#: polls a run may stay "unknown"/"missing" before it counts as ended (sacct lags behind sbatch)
UNKNOWN_PATIENCE = 15


def wait_for(root: Path, interval: float = 1.0) -> list[RunStatus]:
    """Block until every run under ``root`` is completed, failed or cancelled; return the last statuses.

    A progress bar on a terminal; otherwise one line whenever the counts change.
    """
    unknown_polls: dict[str, int] = {}
    last_line = ""
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[detail]}"), transient=False, disable=not sys.stderr.isatty(),
    ) as bar:
        task = bar.add_task(f"{Path(root).name}", total=None, detail="")
        while True:
            rows = statuses(root)
            for r in rows:
                unknown_polls[r.path] = unknown_polls.get(r.path, 0) + 1 if r.state in ("unknown", "missing") else 0
            ended = [r for r in rows if r.state in TERMINAL or unknown_polls[r.path] >= UNKNOWN_PATIENCE]
            line = summary(rows)
            bar.update(task, total=len(rows), completed=len(ended), detail=line)
            if not sys.stderr.isatty() and line != last_line:
                print(line, file=sys.stderr, flush=True)
                last_line = line
            if rows and len(ended) == len(rows):
                return rows
            time.sleep(interval)
