"""The tables a report draws from: completed runs, their epochs, and who did not complete.

Everything comes from one :func:`jobs.monitor.collect.collect` pass (which
reads each run folder once, through :func:`jobs.monitor.status.survey`), so a
report shows exactly what ``seqjobs collect`` and ``seqjobs status`` would,
damaged runs included as ``unreadable``. Runs of several tasks land in one
collected table; :meth:`ReportData.task` cuts out one task's rows with its own
columns and types back (an ``int`` parameter must not print as ``4.0`` just
because another task's rows lack it).

A path may be a table ``collect`` wrote instead of a folder: its runs, and
their epochs from the ``.epochs.csv`` beside it, are drawn like a folder's;
what only a folder has (samples of text) is left out for them, and the page says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from jobs.monitor import tables as tbl
from jobs.monitor.collect import Collection, collect
from jobs.monitor.finding import find_runs
from jobs.monitor.identity import SOURCE
from jobs.monitor.status import RunStatus
from seqtasks.config import cli_name, fields
from seqtasks.errors import UserError
from seqtasks.rundir import safe
from seqtasks.rundir.states import RunState
from seqtasks.tasks import TASKS


@dataclass
class ReportData:
    """What one report shows."""

    paths: list[Path]
    runs: pd.DataFrame  # one row per completed run (collect)
    epochs: pd.DataFrame  # one row per metrics.csv row of those runs (per_epoch)
    states: list[RunStatus]  # every run folder, completed or not
    #: what collect said of the tables among the paths (their runs, those without epochs, warnings)
    found: Collection

    def tasks(self) -> list[str]:
        """Tasks with completed runs, in the order of :data:`seqtasks.tasks.TASKS`."""
        present = set(self.runs["task"]) if not self.runs.empty else set()
        return [t for t in TASKS if t in present]

    def task(self, name: str) -> pd.DataFrame:
        """Completed runs of ``name``, with only its columns and its parameters' types."""
        return typed(self.runs[self.runs["task"] == name], name)

    def task_epochs(self, name: str) -> pd.DataFrame:
        """Per-epoch rows of ``name``'s runs, typed like :meth:`task`."""
        if self.epochs.empty:
            return self.epochs
        return typed(self.epochs[self.epochs["task"] == name], name)

    def from_tables(self, runs: pd.DataFrame) -> pd.Series:
        """Which of ``runs`` came from a table (no run folder to read samples from)."""
        return runs[SOURCE].isin(list(self.found.tables)) if SOURCE in runs else pd.Series(False, index=runs.index)

    def not_completed(self) -> list[RunStatus]:
        """Runs left out of the plots: failed, running, cancelled, missing..."""
        return [s for s in self.states if s.state != RunState.COMPLETED]


def load(paths: list[Path]) -> ReportData:
    """Collect every run under ``paths`` (folders or tables); :class:`UserError` when a path holds none."""
    for path in paths:
        if not os.path.lexists(path):
            raise UserError(f"{path} does not exist; give a sweep folder (e.g. runs/NAME) or a table collect wrote")
        if not tbl.is_table(Path(path)) and not find_runs(Path(path)):
            raise UserError(f"no run folders under {path} (a run folder holds config.json); give a sweep folder")
    found = collect(list(paths))
    return ReportData(list(paths), found.runs, found.epochs, found.states, found)


def typed(frame: pd.DataFrame, task: str) -> pd.DataFrame:
    """``frame`` without all-empty columns, integer/bool parameters cast back from float."""
    frame = frame.dropna(axis=1, how="all").copy()
    for name, fld in fields(TASKS[task].config_cls).items():
        if name in frame and fld.type in (int, bool) and frame[name].notna().all():
            frame[name] = frame[name].astype(fld.type)
    return frame


def varied(frame: pd.DataFrame, task: str, exclude: tuple[str, ...] = ()) -> list[str]:
    """Config parameters (seed and ``exclude`` aside) that take more than one value in ``frame``."""
    return [
        name
        for name in fields(TASKS[task].config_cls)
        if name != "seed" and name not in exclude and name in frame and frame[name].astype(str).nunique() > 1
    ]


def show(value: Any) -> str:
    """A parameter value as the command line spells it (``4`` not ``4.0``), a drawn one to 4 digits (``0.001467``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def label(params: list[str], values: Any) -> str:
    """``embedding-dim=8, layers=2`` for one parameter combination; ``all runs`` when none varies."""
    if not params:
        return "all runs"
    values = values if isinstance(values, tuple) else (values,)
    return ", ".join(f"{cli_name(p)}={show(v)}" for p, v in zip(params, values))


def groups(frame: pd.DataFrame, params: list[str]) -> list[tuple[str, pd.DataFrame]]:
    """``(label, rows)`` for each parameter combination, in sorted parameter order."""
    if not params:
        return [(label([], ()), frame)]
    return [(label(params, key), rows) for key, rows in frame.groupby(params, sort=True)]


def spread(frame: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Mean, min, max and count of ``y`` at each ``x`` (over seeds), sorted by ``x``."""
    values = pd.to_numeric(frame[y], errors="coerce")
    table = values.groupby(frame[x]).agg(["mean", "min", "max", "count"])
    return table.dropna(subset=["mean"]).sort_index()


def markov_references(runs: pd.DataFrame, charlm: pd.DataFrame) -> pd.DataFrame:
    """The best order of each char-level Markov chain variant fitted on the charlm runs' text.

    Same text means the same file checksum and the same case handling. A
    variant is one value of every Markov parameter that varies besides order
    and seed (e.g. ``smoothing-method``): averaging Dirichlet and Kneser-Ney
    chains of one order into one line would draw a chain nobody fitted. One
    row per (corpus, variant): its ``variant`` label, the ``order`` with the
    lowest mean held-out bits over seeds, and those ``bits``.
    """
    keys = ["data_sha256", "keep_case"]
    if charlm.empty or not (runs["task"] == "markov").any() or not set(keys) <= set(charlm.columns):
        return pd.DataFrame()
    markov = typed(runs[runs["task"] == "markov"], "markov")
    if not set(keys) <= set(markov.columns):
        return pd.DataFrame()
    chosen = markov[markov["level"] == "char"].merge(charlm[keys].drop_duplicates(), on=keys)
    if chosen.empty:
        return chosen
    variants = varied(chosen, "markov", exclude=("order",))
    means = (
        chosen.assign(bits=pd.to_numeric(chosen["heldout_bits_per_symbol"], errors="coerce"))
        .groupby(["data_name", *variants, "order"], as_index=False)["bits"]
        .mean()
        .dropna(subset=["bits"])
    )
    best = means.loc[means.groupby(["data_name", *variants])["bits"].idxmin()]
    labels = [label(variants, tuple(row)) if variants else "" for row in best[variants].itertuples(index=False)]
    return best.assign(variant=labels)[["data_name", "variant", "order", "bits"]].sort_values("bits")


def samples(run_path: str | Path) -> list[dict[str, Any]]:
    """The run's ``samples.jsonl`` records (bad lines skipped: a report never fails on one).

    Read like every file of a run folder (no symlink followed out of it);
    :class:`~seqtasks.rundir.Damaged` when the file cannot be read at all.
    """
    run = Path(run_path)
    text = safe.read_text(run / "samples.jsonl", run, safe.MAX_TABLE_BYTES)
    records = []
    for line in (text or "").splitlines():
        try:
            record = safe.decode(line, run / "samples.jsonl")  # a line nested 100,000 deep is a bad line too
        except safe.Damaged:
            continue
        if _sample(record):
            records.append(record)
    return records


def _sample(record: Any) -> bool:
    """Is ``record`` a sample line as the task writes it (an int epoch, a number temperature, text)?"""
    if not isinstance(record, dict) or not {"epoch", "temperature", "text"} <= record.keys():
        return False
    epoch, temperature = record["epoch"], record["temperature"]
    return (
        isinstance(epoch, int)
        and not isinstance(epoch, bool)
        and isinstance(temperature, (int, float))
        and not isinstance(temperature, bool)
    )


def pick_epochs(epochs: list[int]) -> list[int]:
    """First, middle and last epoch (fewer when there are fewer)."""
    ordered = sorted(set(epochs))
    if not ordered:
        return []
    return list(dict.fromkeys([ordered[0], ordered[len(ordered) // 2], ordered[-1]]))
