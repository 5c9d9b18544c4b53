"""``status`` and ``collect``: what the run folders say, as a table.

Both only read (through :mod:`jobs.monitor.status`, which never follows a symlink out
of a run folder nor unpickles anything) and ask the scheduler; neither
imports TensorFlow, and pandas and rich are imported only by the command that
needs them, so they answer at once on a login node. A damaged run is one
``warning:`` line and a count in the summary, never a crash; output paths and
options are checked before any run is read. What a folder says (names, errors,
log lines) is printed as plain text: control characters escaped
(:func:`jobs.text.shown`), never read as rich markup; ``--json`` keeps it as it is.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from jobs.cli.common import PathArg, check_output_file, check_runs, output_path
from jobs.monitor.overview import (
    SMALL,
    groups,
    halving_advice,
    rung_line,
    rung_spending,
    states_present,
    sweep_name,
    to_look_at,
)
from jobs.monitor.spend import spent_line
from jobs.monitor.status import RunStatus, as_dicts, check_readable, statuses, summary, warnings
from jobs.text import count, say, shown
from seqtasks.errors import UserError
from seqtasks.rundir.states import RunState

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from jobs.monitor.collect import Collection

#: the longest ``--interval`` (an hour): anything longer is a typo, and sleep() refuses some of it
MAX_INTERVAL_S = 3600.0


def _warn(rows: list[RunStatus], seen: set[str] | None = None) -> None:
    """One ``warning:`` line on stderr per unreadable run (once per run when ``seen`` is kept across polls)."""
    for line in warnings(rows):
        if seen is None or line not in seen:
            say(line, err=True)
            if seen is not None:
                seen.add(line)


def _fmt_elapsed(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def status_table(rows: list[RunStatus], title: str) -> Table:
    """The rich table of runs ``seqjobs status`` prints; a ``sweep`` column first when the runs lie in several folders.

    ``status runs/`` reads every sweep under ``runs/``, and run names repeat
    from one sweep to the next (``order=1_seed=0``): the folder that holds each
    run tells them apart.
    """
    from rich.table import Table

    sweeps = [sweep_name(r, title) for r in rows]
    several = len(set(sweeps)) > 1
    halving = any(r.rung for r in rows)  # a halving sweep: each run's rung, and whether it went on
    table = Table(title=_cell(title), title_justify="left")
    for col in (
        ("sweep",) * several
        + ("run", "state")
        + ("rung",) * halving
        + ("epoch", "last metric", "job", "node", "elapsed")
    ):
        table.add_column(col, overflow="fold")
    for r, sweep in zip(rows, sweeps):
        cells = (r.epoch or "", r.last_metric, r.job_id, r.node, _fmt_elapsed(r.elapsed_s))
        table.add_row(
            *(_cell(sweep),) * several,
            _cell(r.run),
            _coloured(r.state),
            *(_cell(r.rung),) * halving,
            *(_cell(c) for c in cells),
        )
    return table


def group_table(rows: list[RunStatus], title: str) -> Table:
    """One line per sweep folder or grid point: how many of its runs are in each state."""
    from rich.table import Table

    found = groups(rows, title)
    states = states_present(found)
    table = Table(title=_cell(title), title_justify="left")
    table.add_column("group", overflow="fold")
    table.add_column("runs", justify="right")
    for state in states:
        table.add_column(_coloured(state), justify="right")
    for group in found:
        table.add_row(_cell(group.name), f"{group.total:,}", *(f"{group.counts.get(s, 0):,}" for s in states))
    return table


def _cell(value: object) -> Text:
    """A table cell (or title) as plain text: control characters escaped, brackets never read as rich markup."""
    from rich.text import Text

    return Text(shown(str(value)))


def _print(console: Console, line: str, style: str = "") -> None:
    """Print one line as plain text (see :func:`_cell`)."""
    from rich.text import Text

    console.print(Text(shown(line), style=style), soft_wrap=True)


def _coloured(state: str) -> str:
    colour: dict[str, str] = {
        RunState.COMPLETED: "green",
        RunState.FAILED: "red",
        RunState.CANCELLED: "magenta",
        RunState.RUNNING: "cyan",
        RunState.REQUEUED: "yellow",
        RunState.STUCK: "red",
        RunState.UNREADABLE: "red",
    }
    return f"[{colour[state]}]{state}[/]" if state in colour else state


def _check_interval(interval: float) -> None:
    if not (math.isfinite(interval) and 0 < interval <= MAX_INTERVAL_S):
        raise UserError(
            f"--interval must be a number of seconds above 0 and at most {MAX_INTERVAL_S:g} (got {interval})"
        )


def status(
    path: PathArg,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object a run, a line each.")] = False,
    all_runs: Annotated[
        bool, typer.Option("--all", help=f"List every run, not only those that need a look (past {SMALL} runs).")
    ] = False,
    watch: Annotated[
        bool, typer.Option("--watch", help="Refresh until every run has settled (Ctrl-C to stop).")
    ] = False,
    interval: Annotated[float, typer.Option(help="Seconds between refreshes with --watch.")] = 2.0,
) -> None:
    """First the count of runs in each state. Up to 20 runs, every run is
    listed; past that, one line per sweep (or grid point) and then the runs
    that need a look: failed, stuck, unreadable, unknown and missing ones
    (every one) and the first running ones; --all lists every run.

    States: pending (queued), running, requeued (preempted or timed out,
    waiting to resume), completed, failed (with the error's line), cancelled,
    stuck (it stopped before the end and no job or process will resume it:
    `seqjobs resubmit --missing PATH` does), unknown (no word from the
    scheduler), missing (never submitted, or listed in sweep.json with no run
    folder), unreadable (a damaged file in the run folder, or something else
    in its place, named in a warning). --watch stops once every run has ended,
    or has stayed unknown, missing, stuck or unreadable for 15 refreshes.
    """
    _check_interval(interval)
    check_runs(path)
    from rich.console import Console

    console = Console() if sys.stdout.isatty() else Console(width=200)
    seen: set[str] = set()

    def show(rows: list[RunStatus], settled: int = 0) -> None:
        _warn(rows, seen)
        check_readable(rows, str(path))
        if json_out:
            for row in as_dicts(rows):
                sys.stdout.write(json.dumps(row) + "\n")
            sys.stdout.flush()
            return
        if watch:
            console.clear()
        _print(console, "; ".join(filter(None, [summary(rows), spent_line(rows)])))
        if rungs := rung_line(rows):
            _print(console, "halving: " + rungs)
        if spending := rung_spending(rows):
            _print(console, "halving " + spending)
        if advice := halving_advice(rows):
            _print(console, advice, style="red")
        if all_runs or len(rows) <= SMALL:
            console.print(status_table(rows, str(path)))
            listed, hidden = rows, 0
        else:
            console.print(group_table(rows, str(path)))
            listed, hidden = to_look_at(rows)
            if listed:
                console.print(status_table(listed, "runs that need a look"))
        for r in listed:
            if r.state in (RunState.FAILED, RunState.STUCK) and r.error:
                _print(console, f"{r.state} {r.run}: {r.error}" + (f"  (log: {r.log})" if r.log else ""), style="red")
        if hidden:
            _print(console, f"... and {count(hidden, 'more run')} at work; --all lists every run")

    if watch:
        from jobs.monitor.waiting import poll

        poll(path, interval, show)
    else:
        show(statuses(path, background_index=True))  # the index of ended runs is written while this answers


def read_statuses(path: Path) -> list[RunStatus]:
    """Every run under ``path`` and its state, each damaged run warned about, as ``status`` reads them for
    ``seqjobs.open(path).status()``. Refused (one line) when no run there can be read."""
    check_runs(path)
    rows = statuses(path, background_index=True)
    _warn(rows)
    check_readable(rows, str(path))
    return rows


def collect(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Run, sweep or runs/ folders, and tables collect wrote (results/NAME.csv), mixed."),
    ],
    output: Annotated[
        Optional[Path],
        typer.Option(
            "-o",
            "--output",
            help="CSV to write (a file there is replaced). Default: results/<name of the first path>.csv.",
            parser=output_path,
        ),
    ] = None,
    per_epoch: Annotated[
        bool,
        typer.Option(
            "--per-epoch",
            help="Also write the long table of every metrics.csv row (OUTPUT.epochs.csv; "
            "rewritten anyway where one is there already).",
        ),
    ] = False,
) -> None:
    """Runs that did not complete are listed and left out; a damaged run is one
    warning and counted as unreadable. A table given is merged with the rest:
    the same run met twice is one row, and one with other figures is named in
    a warning (docs/collect.md); a damaged table is one warning and left out.
    """
    from jobs.monitor import collect as coll
    from jobs.monitor import tables

    out = output or Path("results") / f"{_default_name(paths[0])}.csv"
    check_output_file("-o", out)  # first: the other files are named after it
    # an epochs table already beside the output is rewritten with it, so the two never disagree
    targets = coll.Outputs.beside(out, per_epoch or tables.epochs_beside(out).is_file())
    for target in targets.paths():
        check_output_file("-o", target)
    found = gather(paths, per_epoch=targets.epochs is not None)
    table = coll.summarise(found.runs)
    try:
        written = targets.write(found, table)
    except OSError as err:
        raise UserError(f"cannot write {err.filename or out}: {err.strerror}; choose another -o") from None
    print_frame(table)
    folders = [summary(found.states)] if found.states else []
    done = f"collected {count(len(found.runs), 'run')} in {count(len(table), 'group')}"
    say("; ".join([*folders, *filter(None, [coll.describe(found)]), done]), err=True)
    say("wrote " + ", ".join(map(str, written)), err=True)


def gather(paths: list[Path], *, per_epoch: bool) -> Collection:
    """The completed runs under ``paths`` (folders and tables), every run left out said on stderr; what ``collect``
    and ``seqjobs.collect`` both read. Refused (one line) when there is none."""
    from jobs.monitor import collect as coll
    from jobs.monitor import tables

    for p in paths:
        if not tables.is_table(p):
            check_runs(p)
        elif not os.path.lexists(p):
            raise UserError(f"{p} does not exist; give a run or sweep folder, or a table collect wrote")
    found = coll.collect(paths, per_epoch=per_epoch, background_index=True)
    _warn(found.states)
    for line in found.notes:
        say(line, err=True)
    if not found.tables:
        check_readable(found.states, ", ".join(map(str, paths)))
    for r in found.states:
        if r.state not in (RunState.COMPLETED, RunState.UNREADABLE):
            say(f"left out {r.path}: {r.state}" + (f": {r.error}" if r.error else ""), err=True)
    if found.runs.empty:
        where = ", ".join(map(str, paths))
        see = "see the warnings above" if found.tables or found.notes else f"see `seqjobs status {paths[0]}`"
        raise UserError(f"no completed runs under {where}; {see}")
    return found


def _default_name(path: Path) -> str:
    """The name ``collect`` writes under ``results/`` when no ``-o`` is given: a folder's, or a table's plus -merged."""
    if path.suffix == ".csv" and not path.is_dir():
        return path.stem + "-merged"
    return path.resolve().name or "runs"


def print_frame(frame: pd.DataFrame) -> None:
    """Print a wide table without pandas wrapping it, every text in it (and its column names) :func:`shown`."""
    import pandas as pd

    plain = frame.rename(columns=lambda c: shown(str(c))).map(lambda v: shown(v) if isinstance(v, str) else v)
    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.float_format", "{:.4f}".format):
        typer.echo(plain.to_string(index=False))
