"""``cancel`` and ``resubmit``: change what runs after submission, through the run-folder owner.

The work is :mod:`jobs.engine.control`'s: it reads every record first and
refuses (one line, nothing changed) when one is damaged; only then does it
act. ``resubmit`` changes a run folder only after the scheduler accepted its
new job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jobs.cli.common import PathArg, check_runs
from jobs.cli.options import NO_SNAPSHOT_HELP
from jobs.engine.control import FAILED, MISSING, cancel_runs, resubmit_runs
from jobs.text import count


def cancel(path: PathArg) -> None:
    typer.echo(f"cancelled {count(cancel_under(path), 'run')} under {path}")


def cancel_under(path: Path) -> int:
    """Cancel every run under ``path`` that has not ended; how many (``cancel`` and ``Sweep.cancel``)."""
    check_runs(path)
    return cancel_runs(path)


def resubmit(
    path: PathArg,
    failed: Annotated[bool, typer.Option("--failed", help="Resubmit failed runs.")] = False,
    missing: Annotated[
        bool, typer.Option("--missing", help="Resubmit runs never submitted, cancelled, stuck, or whose job vanished.")
    ] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Block until the resubmitted runs end.")] = False,
    no_snapshot: Annotated[bool, typer.Option("--no-snapshot", help=NO_SNAPSHOT_HELP)] = False,
) -> None:
    from jobs.monitor.waiting import report_end

    check_runs(path)
    if not failed and not missing:
        failed = missing = True
    states = (FAILED if failed else set()) | (MISSING if missing else set())
    total = resubmit_runs(path, states, snapshot=not no_snapshot)
    if not total:
        typer.echo(f"nothing to resubmit under {path}")
        return
    typer.echo(f"resubmitted {count(total, 'run')} under {path}")
    if wait:
        report_end(path)
