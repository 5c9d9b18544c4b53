"""Every run folder under some paths as one pandas table, plus a summary over seeds.

One row per completed run: every config parameter, every final figure of
``result.json``, and provenance (job id, host, duration, git commit, library
versions, data checksum). The runs are read once, by
:func:`jobs.monitor.status.survey`, so ``collect`` counts exactly what
``status`` shows: runs that did not complete are left out and listed, a damaged
run is ``unreadable`` (and a completed ``result.json`` without its task's main
figure counts as damaged) -- a half-finished or partly broken sweep still
collects. With every epoch (``--per-epoch``, ``report``) a completed run
whose ``metrics.csv`` holds NaN keeps its rows and gets a warning naming the
epochs (its status's ``error``, see :func:`not_a_number`).

The paths may also be tables ``collect`` wrote (:mod:`jobs.monitor.tables`),
mixed with folders: every source gives its rows, and :mod:`jobs.monitor.merge`
makes them one table, the same run met twice one row
(:mod:`jobs.monitor.identity`).

pandas is imported inside the functions: ``seqjobs collect`` checks its
options and output paths before paying for it.
"""

from __future__ import annotations

import importlib.util
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.monitor import identity, spend
from jobs.monitor.reading import RunFiles
from jobs.monitor.rungs import RungMark
from jobs.monitor.status import RunStatus, no_collector_passes, survey
from jobs.text import count, shown
from seqtasks import atomic
from seqtasks.config import fields_by_name, with_defaults
from seqtasks.rundir.states import RunState
from seqtasks.tasks import TASKS

if TYPE_CHECKING:
    import pandas as pd

    from jobs.monitor.merge import Part


@dataclass
class Collection:
    """What ``collect`` found under its paths."""

    runs: pd.DataFrame  # one row per completed run
    epochs: pd.DataFrame  # one row per metrics.csv row of those runs
    states: list[RunStatus]  # every run folder, completed or not
    #: each table among the paths that could be read (as given), and how many runs it held
    tables: dict[str, int] = field(default_factory=dict)
    #: the tables read without their per-epoch table (none beside them, or a damaged one)
    without_epochs: list[str] = field(default_factory=list)
    #: ``warning:`` lines: a damaged table, a run met twice with other figures
    notes: list[str] = field(default_factory=list)
    #: runs met in more than one source with the same figures, each kept once
    merged: int = 0


def _flat(value: Any) -> Any:
    return ",".join(map(str, value)) if isinstance(value, list) else value


#: what a ``metrics.csv`` column named as a parameter of its run is called in the per-epoch table (``lr``: the
#: rate each epoch trained with, which a schedule changes): the parameter keeps its name, and its value
EPOCH_PREFIX = "epoch_"


def _config(f: RunFiles) -> dict[str, Any]:
    """The run's parameters, those its ``config.json`` predates at their defaults."""
    spec = TASKS.get(f.task)
    return with_defaults(spec.config_cls, f.config) if spec else f.config


def run_row(f: RunFiles) -> dict[str, Any]:
    """The table row of a completed run: parameters, figures, provenance."""
    config = _config(f)
    figures = f.result.figures if f.result is not None else {}
    row: dict[str, Any] = {"run": f.path.name, "sweep": f.path.parent.name, "task": f.task}
    row.update({k: _flat(v) for k, v in config.items()})
    row.update({k: v for k, v in figures.items() if not isinstance(v, (dict, list))})
    run_id = f.record.run_id if f.record is not None else None
    row[identity.RUN_ID] = identity.run_identity(f.task, row["sweep"], row["run"], run_id, config)
    return row


def _halving(mark: RungMark | None) -> dict[str, Any]:
    """A halving sweep's run: the last rung it reached, and the epoch it stopped at (empty while it goes on);
    asynchronous halving adds how many competitors its last decision was made among."""
    if mark is None:
        return {}
    competitors = {} if mark.competitors is None else {"competitors": mark.competitors}
    return {"rung": mark.rung, "stopped_at_epoch": mark.stopped_at_epoch, **competitors}


def _spent(status: RunStatus) -> dict[str, Any]:
    """What the run spent over all its attempts (:mod:`jobs.monitor.spend`): seconds, CPU- and GPU-hours."""
    return dict(zip(spend.COLUMNS, (status.spent_s, status.cpu_hours, status.gpu_hours)))


def _provenance(f: RunFiles) -> dict[str, Any]:
    """Where the run's figures come from: job, host, code and library versions, data checksum."""
    record = f.record
    assert record is not None, "collect reads every run with its config"
    data = record.data or {}
    out: dict[str, Any] = {
        "state": RunState.COMPLETED.value,
        "job_id": f.job.job_id if f.job is not None else "",
        "executor": f.job.executor if f.job is not None else "run",
        "host": _host(f) or record.host,
        "git_commit": record.git_commit,
        "git_dirty": record.git_dirty,
        "seqjobs_version": record.seqjobs_version,
        "data_name": data.get("name"),
        "data_sha256": data.get("sha256"),
        "path": str(f.path),
    }
    out.update({f"version_{k}": v for k, v in record.libraries.items()})
    return out


def _host(f: RunFiles) -> str | None:
    """The host the run ended on: its result's, else its state's."""
    if f.result is not None and f.result.host:
        return f.result.host
    return f.state.host if f.state is not None else None


@no_collector_passes()  # the rows of 10,000 runs too: see there
def collect(paths: list[Path], per_epoch: bool = True, background_index: bool = False) -> Collection:
    """Read every run under ``paths``, folders and tables alike, into one table: each run once.

    A folder is read once, even when paths overlap; a run met again (in a
    table, or in a copy of its folder elsewhere) is one row
    (:func:`jobs.monitor.merge.merge`). The long table of every epoch
    (``per_epoch``) is built only when asked for: it has a row per epoch,
    not per run, and needs every file of every run (and the ``.epochs.csv``
    beside each table). A damaged table is one warning in :attr:`Collection.notes`.
    """
    from jobs.monitor import tables
    from jobs.monitor.merge import Part, merge

    parts: list[Part] = []
    states: list[RunStatus] = []
    found = Collection(_frame([]), _frame([]), states)
    seen: set[str] | None = set() if len(paths) > 1 else None
    for root in paths:
        if not tables.is_table(root):
            parts.append(_folder_part(root, per_epoch, background_index, seen, states))
    given = [root for root in paths if tables.is_table(root)]
    if given:
        read = tables.read(given, with_epochs=per_epoch)
        found.tables, found.notes = read.counts, read.notes
        found.without_epochs = [t for t in read.without_epochs if _has_epochs(read.runs, t)]
        parts.append(Part(read.runs, read.epochs))
    merged = merge(parts, rank=_ranks(paths))
    found.runs, found.epochs, found.merged = merged.runs, merged.epochs, merged.merged
    found.notes += merged.conflicts
    return found


def _ranks(paths: list[Path]) -> dict[str, int]:
    """Which source's row is kept when a run is met twice: a folder's over a table's, a later path's over an earlier's."""
    from jobs.monitor import tables

    order = sorted(range(len(paths)), key=lambda i: (not tables.is_table(paths[i]), i))
    return {str(paths[i]): rank for rank, i in enumerate(order)}


def _has_epochs(runs: pd.DataFrame, source: str) -> bool:
    """Does table ``source`` hold runs of a task with epochs (a Markov chain has none to miss)?"""
    tasks = set(runs.loc[runs[identity.SOURCE] == source, "task"])
    return any(TASKS[t].val_metrics for t in tasks)


def _folder_part(
    root: Path, per_epoch: bool, background_index: bool, seen: set[str] | None, states: list[RunStatus]
) -> Part:
    """The completed runs under folder ``root``, every run's status into ``states``.

    ``seen``: the folders read from earlier paths (``None``: the only path), each read once.
    """
    from jobs.monitor.merge import Part

    rows: list[dict[str, Any]] = []
    epochs: list[dict[str, Any]] = []
    for run in survey(root, "full" if per_epoch else "collect", background_index):
        if seen is not None:  # overlapping paths: each folder once
            key = os.path.realpath(run.status.path)
            if key in seen:
                continue
            seen.add(key)
        states.append(run.status)
        if run.status.state != RunState.COMPLETED or run.files is None:
            continue
        row = {**run_row(run.files), **_halving(run.rung), **_spent(run.status), **_provenance(run.files)}
        row.update({identity.SOURCE: str(root), identity.FORMAT: identity.TABLE_FORMAT})
        rows.append(row)
        if per_epoch:
            epochs.extend(_epoch_rows(run.files, row))
            run.status.error = not_a_number(run.files.metrics)
    return Part(_frame(rows), _frame(epochs) if per_epoch else None)


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows gathered as plain dicts, made into a frame once."""
    import pandas as pd

    return pd.DataFrame(rows)


def describe(found: Collection) -> str:
    """What was collected from tables, for the line after the runs' count (``""``: no table among the paths)."""
    if not found.tables:
        return ""
    counts = ", ".join(f"{shown(path)} ({n:,})" for path, n in found.tables.items())
    merged = f"; {count(found.merged, 'run')} met more than once, kept once" if found.merged else ""
    return f"{count(sum(found.tables.values()), 'run')} from {count(len(found.tables), 'table')}: {counts}{merged}"


def not_a_number(metrics: list[dict[str, str]]) -> str:
    """What a completed run's ``metrics.csv`` holds that is not a number (``""``: nothing), for a warning.

    A diverged epoch (``nan`` loss) is a fact of the run and its row is kept;
    a table that averages or plots it must not do so silently.
    """
    bad = [(row.get("epoch", "?"), [k for k, v in row.items() if math.isnan(float(v))]) for row in metrics]
    bad = [(epoch, names) for epoch, names in bad if names]
    if not bad:
        return ""
    columns = sorted({name for _, names in bad for name in names})
    return (
        f"metrics.csv has NaN in {', '.join(columns)} at epoch {', '.join(epoch for epoch, _ in bad)} "
        "(a diverged epoch: its rows are kept)"
    )


def _epoch_rows(f: RunFiles, row: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's metrics.csv rows (numbers: checked when read), its run columns beside them.

    A column named as one of the run's parameters gets :data:`EPOCH_PREFIX`:
    the per-epoch learning rate of a scheduled run once replaced the
    configured ``lr``, and a report then drew one curve per epoch's rate.
    """
    params = set(_config(f))
    out = []
    for metrics in f.metrics:
        figures = {(EPOCH_PREFIX + name if name in params else name): float(value) for name, value in metrics.items()}
        out.append({**figures, **{k: v for k, v in row.items() if k not in figures}})
    return out


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and count of each task's main figure per parameter combination, best first among comparable runs.

    Runs are ranked only against runs of the same task and the same values of
    its :attr:`~seqtasks.tasks.TaskSpec.ranked_apart` fields (a char-level
    chain's bits per character are not compared with a word-level one's bits
    per word): the table is one block per such group, each best first.
    """
    import pandas as pd

    parts = []
    for task, group in runs.groupby("task", sort=True):
        spec = TASKS.get(str(task))
        if spec is None or spec.main_metric not in group:
            continue
        params = [
            name
            for name in fields_by_name(spec.config_cls)
            if name != "seed" and name in group and group[name].astype(str).nunique() > 1
        ]
        apart = [name for name in spec.ranked_apart if name in params]
        blocks = [block for _, block in group.groupby(apart, sort=True)] if apart else [group]
        for block in blocks:
            agg = _aggregate(block, params, spec.main_metric)
            agg = agg.sort_values(f"{spec.main_metric}_mean", ascending=not spec.higher_is_better)
            agg.insert(0, "task", task)
            parts.append(agg.reset_index(drop=True))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _aggregate(runs: pd.DataFrame, params: list[str], metric: str) -> pd.DataFrame:
    """``metric``'s mean, std and count over seeds, one row per combination of ``params``; beside them what
    those runs spent, summed (``cpu_hours_sum``...: a table from an older seqjobs has no such column, and gets none)."""
    import pandas as pd

    values = pd.to_numeric(runs[metric], errors="coerce")
    spent = [c for c in spend.COLUMNS if c in runs]
    costs = {c: pd.to_numeric(runs[c], errors="coerce") for c in spent}
    if params:
        frame = runs[params].astype(str).assign(**{metric: values}, **costs)
        grouped = frame.groupby(params, sort=False)
        agg = grouped[metric].agg(["mean", "std", "count"])
        agg = agg.join(grouped[spent].sum(min_count=1).add_suffix("_sum")).reset_index() if spent else agg.reset_index()
    else:
        # one row of a float Series: its count would read 1.0, where a grouped count reads 1
        agg = values.agg(["mean", "std", "count"]).to_frame().T.astype({"count": int})
        for c in spent:
            agg[f"{c}_sum"] = costs[c].sum(min_count=1)
    return agg.rename(columns={c: f"{metric}_{c}" for c in ("mean", "std", "count")})


@dataclass
class Outputs:
    """The files ``collect -o RUNS`` writes, named up front so that all are checked before any is written."""

    runs: Path
    summary: Path
    epochs: Path | None  # with --per-epoch
    parquet: Path | None  # when pyarrow is installed

    @classmethod
    def beside(cls, out: Path, per_epoch: bool) -> Outputs:
        """``out`` and the files named after it."""
        parquet = importlib.util.find_spec("pyarrow") is not None
        return cls(
            out,
            out.with_name(out.stem + ".summary.csv"),
            out.with_name(out.stem + ".epochs.csv") if per_epoch else None,
            out.with_suffix(".parquet") if parquet and out.suffix != ".parquet" else None,
        )

    def paths(self) -> list[Path]:
        """Every file, in the order they are written."""
        return [p for p in (self.runs, self.summary, self.epochs, self.parquet) if p is not None]

    def write(self, found: Collection, table: pd.DataFrame) -> list[Path]:
        """Write the runs, the summary ``table`` and the optional files; return their paths.

        Each table carries its format as its last column (:data:`jobs.monitor.identity.FORMAT`).
        """
        write_csv(_format_last(found.runs), self.runs)
        write_csv(_format_last(table), self.summary)
        if self.epochs is not None:
            write_csv(_format_last(found.epochs), self.epochs)
        if self.parquet is not None:
            write_parquet(found.runs, self.parquet)
        return self.paths()


def _format_last(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the table format as its last column: a row cut short then lacks it, and is seen to."""
    if frame.empty and not len(frame.columns):
        return frame
    rest = [c for c in frame.columns if c != identity.FORMAT]
    return frame[rest].assign(**{identity.FORMAT: identity.TABLE_FORMAT})


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV atomically."""
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return atomic.write_text(path, buf.getvalue())


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as Parquet atomically (call only where pyarrow is installed: see :meth:`Outputs.beside`)."""
    buf = io.BytesIO()
    frame.astype({c: str for c in frame.columns if frame[c].dtype == object}).to_parquet(buf, index=False)
    return atomic.write_bytes(path, buf.getvalue())
