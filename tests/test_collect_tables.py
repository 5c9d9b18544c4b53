"""``collect`` and ``report`` from tables as well as folders: two sweeps, their tables, the folders gone.

The Markov sweep is real (run in this process: a Markov run takes
milliseconds) and its runs carry a ``run_id``; the char-LSTM sweep is written
by hand in the run-folder format of an older seqjobs (no ``run_id``), with
epochs and samples, so both ways of matching a run are exercised. Reports
are compared by the data each figure is drawn from, not by pixels.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from jobs.monitor.identity import FORMAT, RUN_ID, SOURCE, TABLE_FORMAT
from tests.helpers import assert_one_line_error
from tests.test_report import fake_charlm_sweep

#: columns that say where a row was read, not what the run is
WHERE = [SOURCE, "path"]


def markov_sweep(root: Path, text: Path) -> Path:
    """Orders 1 and 2 x seeds 0 and 1 of char-level chains on ``text``: real runs, each with its run_id."""
    from seqtasks.markov.config import MarkovConfig
    from seqtasks.runner import execute

    for order in (1, 2):
        for seed in (0, 1):
            config = MarkovConfig(corpus=str(text), order=order, seed=seed, length=20)
            execute("markov", config, root / f"order={order}_seed={seed}")
    return root


@pytest.fixture
def sweeps(tmp_path: Path, small_text: Path) -> Path:
    """``runs/mk`` (Markov, with run ids) and ``runs/lm`` (char-LSTM folders of an older seqjobs) under tmp_path."""
    markov_sweep(tmp_path / "runs/mk", small_text)
    fake_charlm_sweep(tmp_path / "runs/lm", small_text)
    return tmp_path / "runs"


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


def warnings_of(result: Any) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning:")]


def frame(path: Path) -> pd.DataFrame:
    """A written table, rows and columns in a fixed order (its columns come in the order of its sources), without
    the columns that say where they were read."""
    table = pd.read_csv(path).drop(columns=WHERE, errors="ignore")
    keys = [c for c in ("sweep", "run", "epoch") if c in table]
    return table.sort_values(keys).reset_index(drop=True).sort_index(axis=1)


def plotted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[pd.DataFrame]]]:
    """Record the tables every figure of a report is drawn from (and draw none)."""
    from jobs.report import plots

    calls: list[tuple[str, list[pd.DataFrame]]] = []

    def recorder(name: str) -> Callable[..., Path]:
        def record(*args: Any, **kwargs: Any) -> Path:
            calls.append((name, [a for a in [*args, *kwargs.values()] if isinstance(a, pd.DataFrame)]))
            return Path(kwargs.get("path") or args[-1])

        return record

    for name in ("learning_curves", "bits_with_references", "metric_against", "heatmap", "halving_curves"):
        monkeypatch.setattr(plots, name, recorder(name))
    return calls


def drawn(calls: list[tuple[str, list[pd.DataFrame]]]) -> list[tuple[str, list[pd.DataFrame]]]:
    """What each figure shows: the numbers and parameters of its tables, in a fixed order."""
    out = []
    for name, frames in calls:
        shown = []
        for f in frames:
            keep = sorted(c for c in f.columns if c not in (*WHERE, RUN_ID, FORMAT))
            keep = [c for c in keep if pd.api.types.is_numeric_dtype(f[c]) or pd.api.types.is_bool_dtype(f[c])]
            shown.append(f[keep].sort_values(keep).reset_index(drop=True) if keep else f)
        out.append((name, shown))
    return out


def test_tables_merged_without_their_folders_give_the_summary_and_figures_of_the_folders(
    sweeps: Path, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from jobs.report.build import write_report

    res = tmp_path / "results"
    ok(cli("collect", str(sweeps / "mk"), str(sweeps / "lm"), "--per-epoch", "-o", str(res / "folders.csv")))
    ok(cli("collect", str(sweeps / "mk"), "--per-epoch", "-o", str(res / "mk.csv")))  # cluster one
    ok(cli("collect", str(sweeps / "lm"), "--per-epoch", "-o", str(res / "lm.csv")))  # cluster two
    ok(cli("collect", str(sweeps / "mk/order=1_seed=0"), "-o", str(res / "one.csv")))  # a run collected twice
    copy = pd.read_csv(res / "lm.csv", dtype=str, keep_default_na=False)
    copy.loc[0, "best_val_bits_per_char"] = "9.5"  # an older copy of one run, with other figures
    copy.to_csv(res / "stale.csv", index=False)
    calls = plotted(monkeypatch)
    write_report([sweeps / "mk", sweeps / "lm"], tmp_path / "from-folders")
    from_folders = drawn(calls)
    calls.clear()
    shutil.rmtree(sweeps)

    tables = [str(res / name) for name in ("stale.csv", "mk.csv", "lm.csv", "one.csv")]
    merged = ok(cli("collect", *tables, "--per-epoch", "-o", str(res / "all.csv")))
    [conflict] = warnings_of(merged)
    assert "stale.csv" in conflict and "lm.csv" in conflict and "best_val_bits_per_char: 9.5 vs" in conflict
    assert "kept the row of " + str(res / "lm.csv") in conflict
    assert "13 runs from 4 tables" in merged.stderr  # the conflict aside, 4 runs were met twice
    assert "4 runs met more than once, kept once" in merged.stderr
    assert "collected 8 runs in 4 groups" in merged.stderr

    summary = pd.read_csv(res / "all.summary.csv")
    pd.testing.assert_frame_equal(summary, pd.read_csv(res / "folders.summary.csv"))  # same means, same ranking
    pd.testing.assert_frame_equal(frame(res / "all.csv"), frame(res / "folders.csv"))
    pd.testing.assert_frame_equal(frame(res / "all.epochs.csv"), frame(res / "folders.epochs.csv"))
    sources = pd.read_csv(res / "all.csv").set_index("run")[SOURCE]
    assert sources["order=1_seed=0"] == str(res / "one.csv")  # the later of two copies with the same figures
    assert set(sources) == {str(res / name) for name in ("mk.csv", "lm.csv", "one.csv")}

    page = write_report([res / "all.csv"], tmp_path / "from-tables")
    names = [name for name, _ in calls]
    assert names == [name for name, _ in from_folders] and {"learning_curves", "bits_with_references"} <= set(names)
    for (name, ours), (_, theirs) in zip(drawn(calls), from_folders):
        assert len(ours) == len(theirs), name
        for a, b in zip(ours, theirs):
            pd.testing.assert_frame_equal(a, b, check_dtype=False, obj=name)
    text = page.read_text(encoding="utf-8")
    assert "samples of text and their models stay in their run folders" in text
    assert "### Samples" not in text and "8 runs from 1 table" in text


def test_a_table_of_an_older_seqjobs_is_matched_to_the_folders_of_its_runs(
    sweeps: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """No run_id, no format, an int parameter written as a float (an old mixed table): the same runs still."""
    ok(cli("collect", str(sweeps / "lm"), "-o", str(tmp_path / "new.csv")))
    old = pd.read_csv(tmp_path / "new.csv").drop(columns=[RUN_ID, SOURCE, FORMAT, "vocab_size"], errors="ignore")
    old.astype({"layers": float}).to_csv(tmp_path / "old.csv", index=False)
    assert "1.0" in (tmp_path / "old.csv").read_text()

    merged = ok(cli("collect", str(tmp_path / "old.csv"), str(sweeps / "lm"), "-o", str(tmp_path / "all.csv")))
    assert warnings_of(merged) == []
    assert "4 runs met more than once, kept once; collected 4 runs" in merged.stderr
    ids = pd.read_csv(tmp_path / "all.csv")[RUN_ID]
    assert all(i.startswith("derived-") for i in ids) and ids.nunique() == 4
    assert not (sweeps / "lm/layers=1_seed=0/config.json").read_text().count("run_id")  # nothing written into it


def test_a_new_run_records_its_identity_and_every_table_carries_it(
    sweeps: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    from seqtasks.rundir import RunDir

    record = RunDir(sweeps / "mk/order=1_seed=0").config_record()
    assert record is not None and re.fullmatch(r"[0-9a-f]{32}", record.run_id or "")
    ok(cli("collect", str(sweeps / "mk"), "-o", str(tmp_path / "mk.csv")))
    header = (tmp_path / "mk.csv").read_text().splitlines()[0].split(",")
    assert header[-1] == FORMAT and RUN_ID in header and SOURCE in header
    assert record.run_id in set(pd.read_csv(tmp_path / "mk.csv")[RUN_ID])


def test_tables_of_other_versions_merge_a_missing_column_empty(
    sweeps: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    ok(cli("collect", str(sweeps / "mk"), "-o", str(tmp_path / "mk.csv")))
    ok(cli("collect", str(sweeps / "lm"), "-o", str(tmp_path / "lm.csv")))
    pd.read_csv(tmp_path / "lm.csv").drop(columns=["host"]).to_csv(tmp_path / "lm-old.csv", index=False)
    ok(cli("collect", str(tmp_path / "mk.csv"), str(tmp_path / "lm-old.csv"), "-o", str(tmp_path / "all.csv")))
    table = pd.read_csv(tmp_path / "all.csv")
    assert (
        table[table["task"] == "charlm"]["host"].isna().all() and table[table["task"] == "markov"]["host"].notna().all()
    )


def damage(kind: str, good: Path, bad: Path) -> str:
    """Make ``bad`` a damaged (or foreign) copy of table ``good``; return what the warning must say."""
    text = good.read_text(encoding="utf-8")
    lines = text.splitlines()
    if kind == "truncated":
        bad.write_text(text[:-25], encoding="utf-8")
        return "cut short"
    if kind == "short-row":
        lines[2] = lines[2].rsplit(",", 1)[0]
        bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return "row 2 is cut short"
    if kind == "foreign":
        bad.write_text("item,title,seconds\nx,y,1.0\n", encoding="utf-8")
        return "not a table seqjobs collect wrote"
    if kind == "nan-figure":
        table = pd.read_csv(good, dtype=str, keep_default_na=False)
        table.loc[1, "heldout_bits_per_symbol"] = "nan"
        table.to_csv(bad, index=False)
        return "row 2: heldout_bits_per_symbol is 'nan', not a finite number"
    if kind == "pasted-twice":
        bad.write_text(text + text, encoding="utf-8")
        return "repeats its header"
    if kind == "newer":
        bad.write_text(text.replace(f",{TABLE_FORMAT}\n", f",{TABLE_FORMAT + 1}\n"), encoding="utf-8")
        return f"newer seqjobs (table format {TABLE_FORMAT + 1})"
    if kind == "huge":
        with bad.open("wb") as fh:
            fh.truncate(300 << 20)  # sparse: no disk
        return "more than the"
    if kind == "fifo":
        os.mkfifo(bad)
        return "not a regular file"
    if kind == "binary":
        bad.write_bytes(b"\x00\x01" * 100)
        return "binary"
    raise AssertionError(kind)


KINDS = ["truncated", "short-row", "foreign", "nan-figure", "pasted-twice", "newer", "huge", "fifo", "binary"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_damaged_table_is_one_warning_and_the_others_are_merged(
    kind: str, sweeps: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    ok(cli("collect", str(sweeps / "mk"), "-o", str(tmp_path / "mk.csv")))
    ok(cli("collect", str(sweeps / "lm"), "-o", str(tmp_path / "lm.csv")))
    bad = tmp_path / "bad.csv"
    why = damage(kind, tmp_path / "mk.csv", bad)
    merged = ok(cli("collect", str(bad), str(tmp_path / "lm.csv"), "-o", str(tmp_path / "all.csv")))
    [warning] = warnings_of(merged)
    assert warning.startswith(f"warning: {bad}: ") and why in warning and warning.endswith("left out"), warning
    assert len(pd.read_csv(tmp_path / "all.csv")) == 4 and "Traceback" not in merged.output

    alone = cli("collect", str(bad), "-o", str(tmp_path / "none.csv"))
    assert_one_line_error(alone, "no completed runs under", str(bad))
    assert not (tmp_path / "none.csv").exists()


def test_a_summary_or_an_epochs_table_given_by_mistake_says_which_to_give(
    sweeps: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    ok(cli("collect", str(sweeps / "lm"), "--per-epoch", "-o", str(tmp_path / "lm.csv")))
    for given, said in (
        ("lm.summary.csv", "give the table of runs beside it (lm.csv)"),
        ("lm.epochs.csv", "is a table of epochs"),
    ):
        result = cli("collect", str(tmp_path / given), "-o", str(tmp_path / "x.csv"))
        assert_one_line_error(result)
        assert said in result.stderr


def test_a_missing_table_is_one_error_before_anything_is_read(tmp_path: Path, cli: Callable[..., Any]) -> None:
    assert_one_line_error(cli("collect", str(tmp_path / "nowhere.csv")), "does not exist")
    assert_one_line_error(cli("report", str(tmp_path / "nowhere.csv")), "does not exist")


def test_a_derived_identity_holds_when_a_task_gains_an_option() -> None:
    """An older table lacks an option added since; the folder read now has it at its default: one identity."""
    from jobs.monitor.identity import run_identity

    older = run_identity("markov", "s", "order=2", None, {"order": 2})
    assert older == run_identity("markov", "s", "order=2", None, {"order": 2, "test_fraction": 0.0})
    assert older != run_identity("markov", "s", "order=2", None, {"order": 2, "test_fraction": 0.1})


def test_the_rate_each_epoch_trained_with_stands_beside_the_configured_one(
    tmp_path: Path, small_text: Path, cli: Callable[..., Any]
) -> None:
    """``metrics.csv``'s ``lr`` (a schedule's rate, epoch by epoch) is ``epoch_lr`` in the per-epoch table and
    ``lr`` stays the run's parameter -- also in a per-epoch table of the older format, where it had taken the
    parameter's place, read again (the parameter from the table of runs beside it)."""
    from jobs.monitor.collect import EPOCH_PREFIX

    sweep = fake_charlm_sweep(tmp_path / "runs/lm", small_text)
    rates = [0.01, 0.0075, 0.005, 0.0025, 0.0]
    for metrics in sweep.glob("*/metrics.csv"):
        pd.read_csv(metrics).assign(lr=rates).to_csv(metrics, index=False)
    ok(cli("collect", str(sweep), "-o", str(tmp_path / "new.csv"), "--per-epoch"))
    configured = set(pd.read_csv(tmp_path / "new.csv")["lr"])
    epochs = pd.read_csv(tmp_path / "new.epochs.csv")
    assert set(epochs["lr"]) == configured and len(configured) == 1, epochs["lr"]
    assert sorted(epochs[EPOCH_PREFIX + "lr"]) == sorted(rates * 4)

    old = epochs.assign(lr=epochs[EPOCH_PREFIX + "lr"], **{FORMAT: 2}).drop(columns=[EPOCH_PREFIX + "lr"])
    old.to_csv(tmp_path / "old.epochs.csv", index=False)
    pd.read_csv(tmp_path / "new.csv").assign(**{FORMAT: 2}).to_csv(tmp_path / "old.csv", index=False)
    ok(cli("collect", str(tmp_path / "old.csv"), "-o", str(tmp_path / "again.csv"), "--per-epoch"))
    again = pd.read_csv(tmp_path / "again.epochs.csv")
    assert set(again["lr"]) == configured and EPOCH_PREFIX + "lr" not in again, again
    assert set(again[FORMAT]) == {TABLE_FORMAT}
