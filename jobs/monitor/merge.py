"""The rows of every source of one ``collect`` as one table: the same run met twice is one row, never silently.

A source is a folder given to ``collect`` (its runs read from their
folders) or a table ``collect`` wrote earlier. Two rows with the same
:data:`~jobs.monitor.identity.KEY` are the same run: with the same figures
it is one row (counted in :attr:`Merged.merged`); with other figures it is a
conflict, one ``warning:`` line naming the sources and the first figure that
differs, and the row of the stronger source is kept: a run folder outranks
a table (the folder is the truth, and at least as new), and among folders
or among tables a later path on the command line outranks an earlier one
(as a later file in ``cat a b`` has the last word).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobs.monitor.identity import FORMAT, KEY, RUN_ID, SOURCE
from jobs.monitor.spend import COLUMNS
from jobs.text import count, shown
from seqtasks.config import fields_by_name
from seqtasks.tasks import TASKS

if TYPE_CHECKING:
    import pandas as pd

#: conflicts named one a line; past these, one line counts the rest
MAX_CONFLICT_LINES = 20
#: the column of each row's rank while merging (higher: kept)
_RANK = "_rank"


@dataclass
class Part:
    """Rows of one or more sources (a folder's runs; every table's): runs, and their epochs (``None``: none given)."""

    runs: pd.DataFrame
    epochs: pd.DataFrame | None


@dataclass
class Merged:
    """One row per run, their epochs, and what merging had to say."""

    runs: pd.DataFrame
    epochs: pd.DataFrame
    conflicts: list[str] = field(default_factory=list)
    #: runs met more than once with the same figures
    merged: int = 0


def merge(parts: list[Part], rank: dict[str, int]) -> Merged:
    """The rows of ``parts`` as one table, each run once; see the module's docstring.

    ``rank``: each source's rank (higher: its row is kept); rows keep the
    order of ``parts``, and a column one source lacks is empty in its rows.
    """
    import pandas as pd

    runs = _ranked([p.runs for p in parts], rank)
    epochs = _ranked([p.epochs for p in parts if p.epochs is not None], rank)
    if runs.empty:
        return Merged(runs, pd.DataFrame())
    twice = runs.duplicated(KEY, keep=False)
    if not twice.any():
        return Merged(runs.drop(columns=_RANK), epochs.drop(columns=_RANK, errors="ignore"))
    kept = runs.sort_values(_RANK, kind="stable").drop_duplicates(KEY, keep="last").sort_index()
    lines, conflicting = _conflicts(runs[twice])
    met = runs[twice].drop_duplicates(KEY).shape[0]
    if not epochs.empty:
        epochs = epochs.merge(kept[[*KEY, _RANK]], on=[*KEY, _RANK], how="inner")
    return Merged(
        kept.drop(columns=_RANK).reset_index(drop=True),
        epochs.drop(columns=_RANK, errors="ignore"),
        lines,
        met - conflicting,
    )


def _ranked(frames: list[pd.DataFrame], rank: dict[str, int]) -> pd.DataFrame:
    """``frames`` as one, each row with its source's rank."""
    import pandas as pd

    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame()
    joined = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True, sort=False)
    return joined.assign(**{_RANK: joined[SOURCE].map(rank)})


def _figures(rows: pd.DataFrame) -> list[str]:
    """The columns two copies of one run must agree on: its numbers, parameters aside (they make its identity)."""
    import pandas as pd

    params = {name for spec in TASKS.values() for name in fields_by_name(spec.config_cls)}
    # what a run spent is accounting, not a figure: sacct may learn of a job after one of the tables was written
    return [
        c
        for c in rows.columns
        if c not in params and c not in (FORMAT, _RANK, *COLUMNS) and pd.api.types.is_numeric_dtype(rows[c])
    ]


def _conflicts(rows: pd.DataFrame) -> tuple[list[str], int]:
    """One warning line per run whose copies in ``rows`` differ in a figure, and how many such runs there are."""
    figures = _figures(rows)
    differ = rows.groupby(KEY, sort=False)[figures].nunique().gt(1).any(axis=1) if figures else None
    if differ is None or not differ.any():
        return [], 0
    keys = list(differ[differ].index)
    lines = [_conflict_line(rows, key, figures) for key in keys[:MAX_CONFLICT_LINES]]
    if len(keys) > MAX_CONFLICT_LINES:
        lines.append(f"warning: ... and {count(len(keys) - MAX_CONFLICT_LINES, 'more conflicting run')}")
    return lines, len(keys)


def _conflict_line(rows: pd.DataFrame, key: tuple[Any, ...], figures: list[str]) -> str:
    """``warning: run S/R (ID) has other figures in A than in B (F: x vs y); kept B's row``."""
    copies = rows[(rows[KEY] == list(key)).all(axis=1)].sort_values(_RANK, kind="stable")
    winner, losers = copies.iloc[-1], copies.iloc[:-1]
    name = next(c for c in figures if copies[c].nunique() > 1)
    ours = winner[name]
    theirs = next((v for v in losers[name] if v == v and v != ours), losers[name].iloc[0])
    others = ", ".join(dict.fromkeys(shown(str(s)) for s in losers[SOURCE]))
    where = shown(str(winner[SOURCE]))
    return (
        f"warning: run {shown(str(winner['sweep']))}/{shown(str(winner['run']))} ({winner[RUN_ID]}) has other "
        f"figures in {others} than in {where} ({name}: {_number(theirs)} vs {_number(ours)}); kept the row of "
        f"{where} (a run folder outranks a table, a later path an earlier one)"
    )


def _number(value: Any) -> str:
    return "empty" if value != value else f"{value:g}"
