"""Reading a table ``collect`` wrote, from wherever it was copied: checked like any file seqjobs did not just write.

A table travels (from a cluster's scratch space to a laptop, from an older
seqjobs to a newer one), so nothing in it is trusted: it is read with a size
cap through :func:`seqtasks.rundir.safe.read_text` (a regular file, UTF-8,
no FIFO that blocks), parsed as CSV text and never evaluated, its header
checked, and every value it must hold checked before a row is used: a
table that fails is :class:`BadTable`, one line naming it and why.

What is read comes back typed as ``collect`` makes rows from folders: each
parameter by its config field's type (so ``order`` is ``2`` whether an older
table wrote ``2`` or ``2.0``), figures as numbers, the rest as text; a table
of an older seqjobs lacks some columns, which are then empty in its rows.
Each row gets its identity (:func:`jobs.monitor.identity.run_identity`;
derived for a table written before runs had one) and its source: its table.

The tables of one command are checked one by one as text, then typed
together, once (typing is a few pandas operations a column: 100 tables of
1,000 runs cost what one of 100,000 does); a value found wrong then names
its table, which is left out, and the others are typed again.
"""

from __future__ import annotations

import csv
import io
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.monitor.identity import EPOCHS_KEEP_PARAMETERS, FORMAT, RUN_ID, SOURCE, TABLE_FORMAT, run_identity
from jobs.text import shown
from seqtasks.config import choices, fields_by_name
from seqtasks.rundir import safe
from seqtasks.rundir.states import RunState
from seqtasks.tasks import TASKS

if TYPE_CHECKING:
    import pandas as pd

#: a table of runs: about 1 KB a run, so 250,000 runs; anything bigger is not one of ours
MAX_RUNS_BYTES = 256 << 20
#: a table of epochs: a row per epoch of every run
MAX_EPOCHS_BYTES = 1 << 30
#: the columns every table of runs (and of epochs) has
NAMES = ("run", "sweep", "task")
#: the column of each row's number in its own table, while tables are typed together
_ROW = "_row"
#: columns that are text whatever they look like: a job id or a commit of digits only stays as it was written
TEXT = {"run", "sweep", "task", "state", "job_id", "executor", "host", "git_commit", "git_dirty", "seqjobs_version"}
TEXT |= {"data_name", "data_sha256", "path", RUN_ID, SOURCE}


class BadTable(Exception):
    """A table that is not one ``collect`` wrote, or is damaged: its rows cannot be trusted."""

    def __init__(self, path: Path | str, reason: str, source: str | None = None) -> None:
        super().__init__(f"{shown(str(path))}: {reason}")
        #: the table of runs to leave out (for a damaged epochs table: the one it is beside)
        self.source = source if source is not None else str(path)


@dataclass
class Tables:
    """The runs of every readable table, typed, and their epochs (``None``: not asked for)."""

    runs: pd.DataFrame
    epochs: pd.DataFrame | None
    #: each table read (as given) and how many runs it held
    counts: dict[str, int] = field(default_factory=dict)
    #: the tables whose runs have no epochs: no ``.epochs.csv`` beside them, or a damaged one
    without_epochs: list[str] = field(default_factory=list)
    #: ``warning:`` lines: a table left out, an epochs table left out
    notes: list[str] = field(default_factory=list)


def is_table(path: Path) -> bool:
    """Is ``path`` given to ``collect`` or ``report`` a table (anything but a folder: a FIFO is refused when read)?"""
    return not os.path.isdir(path)


def epochs_beside(path: Path) -> Path:
    """``results/a.csv`` -> ``results/a.epochs.csv``: where ``collect --per-epoch`` wrote the table's epochs."""
    return path.with_name(path.stem + ".epochs.csv")


def read(paths: list[Path], with_epochs: bool) -> Tables:
    """The tables of runs at ``paths`` (and, ``with_epochs``, the epochs beside each).

    A table that cannot be used is one note and left out. A per-epoch table
    that is missing or damaged leaves its runs without epochs (a note says so
    when damaged): their figures are still good.
    """
    notes: list[str] = []
    cells: dict[str, pd.DataFrame] = {}
    for path in paths:
        try:
            cells[str(path)] = _checked(path, path, MAX_RUNS_BYTES, epochs=False)
        except BadTable as err:
            notes.append(f"warning: {err}; left out")
    runs = _typed_together(list(cells.values()), epochs=False, notes=notes)
    counts = runs[SOURCE].value_counts(sort=False).to_dict() if not runs.empty else {}
    read_ = [str(path) for path in paths if str(path) in counts]
    tables = Tables(runs, None, {source: int(counts[source]) for source in read_}, [], notes)
    if with_epochs:
        beside = []
        for source in read_:
            try:
                if os.path.lexists(epochs_beside(Path(source))):
                    epochs = _checked(epochs_beside(Path(source)), Path(source), MAX_EPOCHS_BYTES, epochs=True)
                    beside.append(_with_their_parameters(epochs, cells[source]))
            except BadTable as err:
                notes.append(f"warning: {err}; the runs of {shown(source)} are merged without their epochs")
        tables.epochs = _typed_together(beside, epochs=True, notes=notes)
        having = set(tables.epochs[SOURCE]) if not tables.epochs.empty else set()
        tables.without_epochs = [source for source in read_ if source not in having]
    return tables


def _checked(path: Path, source: Path, limit: int, epochs: bool) -> pd.DataFrame:
    """The cells of the table at ``path`` (of runs, or of epochs beside the table of runs ``source``), checked as
    text, each row with its source and its row number in its table."""
    cells = _cells(path, limit, epochs)
    if not cells.empty:
        _check_format(cells, path)
        unknown = cells.index[~cells["task"].isin(list(TASKS))]
        if len(unknown):
            raise BadTable(path, f"row {unknown[0] + 1}: unknown task {shown(cells['task'].iat[unknown[0]][:40])!r}")
        if not epochs and "state" in cells:
            other = cells.index[cells["state"] != RunState.COMPLETED]
            if len(other):
                state = shown(cells["state"].iat[other[0]][:20])
                raise BadTable(path, f"row {other[0] + 1} is a {state!r} run, not completed")
    return cells.assign(**{SOURCE: str(source), _ROW: range(1, len(cells) + 1)})


def _with_their_parameters(epochs: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """The cells of a per-epoch table with every parameter as its table of runs has it, in rows of a format
    before :data:`~jobs.monitor.identity.EPOCHS_KEEP_PARAMETERS` (where a metrics column named as a parameter
    had taken its place). The per-epoch values so lost are not made up: collect the run folders again."""
    import pandas as pd

    if epochs.empty or runs.empty:
        return epochs
    if FORMAT in epochs:
        old = ~epochs[FORMAT].map(lambda v: v.isdigit() and int(v) >= EPOCHS_KEEP_PARAMETERS)
    else:
        old = pd.Series(True, index=epochs.index)
    if not old.any():
        return epochs
    with_ids = RUN_ID in runs and RUN_ID in epochs and (runs[RUN_ID] != "").all() and (epochs[RUN_ID] != "").all()
    key = [RUN_ID] if with_ids else ["sweep", "run"]
    owners = runs.drop_duplicates(key).set_index(key)
    at = pd.MultiIndex.from_frame(epochs.loc[old, key]) if len(key) > 1 else pd.Index(epochs.loc[old, key[0]])
    epochs = epochs.copy()
    for name in {n for task in epochs.loc[old, "task"].unique() for n in fields_by_name(TASKS[task].config_cls)}:
        if name in epochs and name in owners:
            theirs = owners[name].reindex(at).to_numpy()
            known = ~pd.isna(theirs)
            kept = epochs.loc[old, name].to_numpy()
            kept[known] = theirs[known]
            epochs.loc[old, name] = kept
    return epochs


def _typed_together(cells: list[pd.DataFrame], epochs: bool, notes: list[str]) -> pd.DataFrame:
    """The rows of every table in ``cells``, typed at once; a table with a wrong value is a note, and left out."""
    import pandas as pd

    while cells:
        joined = cells[0] if len(cells) == 1 else pd.concat(cells, ignore_index=True, sort=False)
        try:
            return _typed(joined, epochs)
        except BadTable as err:
            what = f"the runs of {shown(err.source)} are merged without their epochs" if epochs else "left out"
            notes.append(f"warning: {err}; {what}")
            cells = [c for c in cells if c.empty or c[SOURCE].iat[0] != err.source]
    return pd.DataFrame()


def _cells(path: Path, limit: int, epochs: bool) -> pd.DataFrame:
    """Every cell of the CSV at ``path`` as the text it holds, after the checks a whole file allows."""
    import pandas as pd

    try:
        text = safe.read_text(os.path.realpath(path), None, limit)
    except safe.Damaged as err:
        raise BadTable(path, err.reason) from None
    if text is None:
        raise BadTable(path, "does not exist")
    if not text.strip():
        if epochs:  # collect writes an empty one when no run had epochs (Markov chains)
            return pd.DataFrame(columns=[*NAMES, "epoch"])
        raise BadTable(path, "is empty: not a table seqjobs collect wrote")
    if not text.endswith("\n"):
        raise BadTable(path, "is cut short (its last line has no end): copy it again")
    _check_header(next(csv.reader([text.split("\n", 1)[0].rstrip("\r")])), path, epochs)
    try:
        cells = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False)
    except (ValueError, csv.Error) as err:  # pandas' ParserError is a ValueError
        raise BadTable(path, f"is not a CSV table ({str(err).strip().splitlines()[-1][:200]})") from None
    again = cells.index[(cells["run"] == "run") & (cells["task"] == "task")]
    if len(again):
        raise BadTable(path, f"repeats its header at row {again[0] + 1} (two tables pasted together?)")
    return cells


def _check_header(header: list[str], path: Path, epochs: bool) -> None:
    """A header ``collect`` could have written: its names, once each; a summary or an epochs table named as such."""
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        raise BadTable(path, f"names column {twice[0]!r} twice: not a table seqjobs collect wrote")
    if "run" not in header and "task" in header and any(name.endswith("_mean") for name in header):
        raise BadTable(path, f"is a summary over seeds; give the table of runs beside it ({path.name[:-12]}.csv)")
    if not epochs and "epoch" in header:
        raise BadTable(path, "is a table of epochs; give the table of runs (its .epochs.csv beside it is read with it)")
    lacking = [name for name in (*NAMES, *(["epoch"] if epochs else [])) if name not in header]
    if lacking:
        raise BadTable(path, f"has no {', '.join(lacking)} column: not a table seqjobs collect wrote")


def _typed(cells: pd.DataFrame, epochs: bool) -> pd.DataFrame:
    """The rows of ``cells`` typed as ``collect`` types rows read from folders, each with its identity.

    :class:`BadTable` names the table of the first wrong value found.
    """
    import pandas as pd

    if cells.empty:
        return cells.assign(**{RUN_ID: ""})
    parts = [_task_rows(rows, str(task), epochs) for task, rows in cells.groupby("task", sort=False)]
    frame = parts[0] if len(parts) == 1 else pd.concat(parts, sort=False).sort_index()
    frame[RUN_ID] = _identities(frame)
    return frame.drop(columns=[FORMAT, _ROW], errors="ignore")


def _fail(rows: pd.DataFrame, label: Any, reason: str, epochs: bool) -> BadTable:
    """The error for the value of row ``label`` of ``rows``: naming its table (its epochs table) and its row there."""
    source = str(rows.at[label, SOURCE])
    where = epochs_beside(Path(source)) if epochs else source
    return BadTable(where, f"row {rows.at[label, _ROW]}: {reason}", source)


def _check_format(cells: pd.DataFrame, where: Path) -> None:
    """Every row of a table with a format carries it (a row cut short lacks it) and it is one this seqjobs reads."""
    if FORMAT not in cells:
        return  # format 1: written before tables carried one
    values = set(cells[FORMAT].unique())
    if "" in values:
        row = int(cells.index[cells[FORMAT] == ""][0]) + 1
        raise BadTable(where, f"row {row} is cut short (no {FORMAT}, its last column)")
    if not all(v.isdigit() for v in values):
        raise BadTable(where, f"{FORMAT} is {sorted(values)[0][:20]!r}, not a format number")
    newest = max(int(v) for v in values)
    if newest > TABLE_FORMAT:
        raise BadTable(where, f"written by a newer seqjobs (table format {newest}); upgrade seqjobs")


def _task_rows(rows: pd.DataFrame, task: str, epochs: bool) -> pd.DataFrame:
    """``task``'s rows, typed: its parameters by their fields, then figures as numbers where every cell is one."""
    spec = TASKS[task]
    params = fields_by_name(spec.config_cls)
    out = {}
    for name in rows.columns:
        column = rows[name]
        if name in params:
            out[name] = _parameter(rows, name, params[name].type, epochs)
        elif name in (SOURCE, _ROW):
            continue
        elif name in TEXT or name.startswith("version_"):
            out[name] = column.where(_given(column))
        else:
            out[name] = _maybe_numbers(column)
    typed = rows.assign(**out)
    needed = "epoch" if epochs else spec.main_metric
    if needed not in typed or typed[needed].isna().all():
        raise _fail(rows, rows.index[0], f"has no {needed}, which every {task} row has", epochs)
    _check_finite(typed, needed, epochs)
    return typed


def _given(column: pd.Series) -> pd.Series:
    """Which cells hold something: not empty, and not missing (a column another table lacks)."""
    return column.notna() & (column != "")


def _parameter(rows: pd.DataFrame, name: str, tp: Any, epochs: bool) -> pd.Series:
    """A parameter column typed as its field: a bool, int or float read back; text (a choice, a list) as it is."""
    import pandas as pd

    column = rows[name]
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    base = args[0] if typing.get_origin(tp) is typing.Union and len(args) == 1 else tp
    if choices(base) is not None or base not in (bool, int, float):
        return column
    if base is bool:
        flags = column.map({"True": True, "False": False})
        _check_parsed(rows, name, flags, "True or False", epochs)
        return flags
    numbers = pd.to_numeric(column.where(_given(column)), errors="coerce")
    _check_parsed(rows, name, numbers, "a number", epochs)
    if base is not int:
        return numbers
    _check_parsed(rows, name, numbers.where(numbers == numbers.round()), "a whole number", epochs)
    return numbers.astype("int64") if numbers.notna().all() else numbers


def _check_parsed(rows: pd.DataFrame, name: str, parsed: pd.Series, want: str, epochs: bool) -> None:
    bad = rows.index[parsed.isna() & _given(rows[name])]
    if len(bad):
        raise _fail(rows, bad[0], f"{name} is {shown(str(rows.at[bad[0], name]))[:40]!r}, not {want}", epochs)


def _maybe_numbers(column: pd.Series) -> pd.Series:
    """A figure column as numbers when every non-empty cell is one; else the text, an empty cell as missing."""
    import pandas as pd

    given = _given(column)
    numbers = pd.to_numeric(column.where(given), errors="coerce")
    return numbers if numbers.notna().sum() == given.sum() else column.where(given)


def _check_finite(typed: pd.DataFrame, name: str, epochs: bool) -> None:
    """Every row has ``name`` as a finite number (a completed run's main figure; an epoch's number)."""
    import numpy as np
    import pandas as pd

    values = pd.to_numeric(typed[name], errors="coerce")
    bad = typed.index[~np.isfinite(values.to_numpy(dtype=float))]
    if len(bad):
        value = typed.at[bad[0], name]
        said = "empty" if value != value else repr(shown(str(value))[:40])
        raise _fail(typed, bad[0], f"{name} is {said}, not a finite number", epochs)


def _identities(frame: pd.DataFrame) -> list[str]:
    """Each row's identity: its ``run_id``, else derived from its names and parameters (an older table)."""
    recorded = frame[RUN_ID] if RUN_ID in frame else None
    ids = list(recorded.fillna("")) if recorded is not None else [""] * len(frame)
    if all(ids):
        return ids
    for position, row in enumerate(frame.to_dict("records")):
        if not ids[position]:
            ids[position] = run_identity(row["task"], str(row["sweep"]), str(row["run"]), None, row)
    return ids
