"""The readers: a run that sweep.json lists never vanishes, and small reader and parser defects.

Sweeps here are copies of one real completed Markov run (files written, not
trained), with a real manifest written by :class:`SweepDir`; every view runs
through the real CLI (Typer's CliRunner keeps stderr apart). The table of
damaged and non-regular files, command by command, is
``tests/test_bad_input_readers.py``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jobs.monitor import index
from jobs.monitor.status import statuses
from seqtasks.charlm.config import CharLMConfig
from seqtasks.config import to_dict
from seqtasks.imdb.config import ImdbConfig
from seqtasks.rundir import RunDir, SweepDir
from seqtasks.rundir.records import HalvingRecord, RungRecord
from seqtasks.tasks import TASKS
from tests.helpers import assert_one_line_error, completed_markov_run, json_lines
from tests.test_bad_input import config_record, snapshot, write_json

STAMP = "2026-01-01T00:00:00+00:00"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, moby_dick: Path) -> Path:
    """One real completed Markov run, copied into every sweep below."""
    return completed_markov_run(tmp_path_factory.mktemp("readers"), moby_dick)


def markov_sweep(folder: Path, template: Path, runs: int) -> list[str]:
    """A sweep of ``runs`` completed runs (copies of ``template``) whose ``sweep.json`` lists them; their names."""
    names = [f"seed={i}" for i in range(runs)]
    for name in names:
        shutil.copytree(template, folder / name)
    sweep = SweepDir(folder)
    with sweep.locked():
        sweep.record("markov", {name: {"seed": i} for i, name in enumerate(names)}, {}, {}, {}, {})
    return names


@pytest.mark.parametrize(
    "runs", [pytest.param(6, id="small"), pytest.param(600, id="600-runs-through-the-index", marks=pytest.mark.slow)]
)
def test_a_run_folder_deleted_or_replaced_by_a_file_is_shown_and_counted(
    runs: int, template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    monkeypatch.setenv("SEQJOBS_CACHE_DIR", str(tmp_path / "cache"))
    sweep = tmp_path / "sw"
    names = markov_sweep(sweep, template, runs)
    assert [r.state for r in statuses(sweep)] == ["completed"] * runs  # the index of 600 runs is written now
    gone, replaced = names[1], names[2]
    shutil.rmtree(sweep / gone)
    shutil.rmtree(sweep / replaced)
    (sweep / replaced).write_text("not a run\n", encoding="utf-8")

    for _ in range(2):  # the second look takes the other runs from the index (600 runs) all the same
        shown = cli("status", str(sweep))
        assert shown.exit_code == 0, shown.output
        assert f"{runs} runs: {runs - 2} completed, 1 missing, 1 unreadable" in shown.stdout
        assert f"{sweep / replaced}: is a file where sweep.json lists a run folder" in shown.stderr
        assert "without a run folder, counted as missing" in shown.stderr and str(sweep / gone) in shown.stderr
    rows = {row["run"]: row for row in json_lines(cli("status", str(sweep), "--json").stdout)}
    assert (rows[gone]["state"], rows[replaced]["state"]) == ("missing", "unreadable")
    assert len(rows) == runs

    collected = cli("collect", str(sweep), "-o", str(tmp_path / "out.csv"))
    assert collected.exit_code == 0, collected.output
    warning = [line for line in collected.stderr.splitlines() if "without a run folder" in line]
    assert len(warning) == 1 and str(sweep / gone) in warning[0]
    assert f"{runs} runs: {runs - 2} completed, 1 missing, 1 unreadable; collected {runs - 2} runs" in collected.stderr
    assert len((tmp_path / "out.csv").read_text().splitlines()) == runs - 2 + 1


def test_an_oversized_index_is_discarded_and_written_anew(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index bigger than its runs can need is not read (let alone whole): its entries are not trusted."""
    monkeypatch.setenv("SEQJOBS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(index, "MIN_RUNS", 5)
    sweep = tmp_path / "sw"
    markov_sweep(sweep, template, 6)
    statuses(sweep)  # writes the index
    kept = index.EndedIndex.for_root(sweep, 6, "status")
    assert kept is not None and kept.entries
    record = json.loads(kept.file.read_text())
    for entry in record["runs"].values():
        entry["status"]["state"] = "failed"  # what the index says, were it read: signatures still match
    kept.file.write_text(json.dumps(record) + " " * (1 << 20), encoding="utf-8")  # 1 MB for 6 runs

    assert [r.state for r in statuses(sweep)] == ["completed"] * 6
    assert kept.file.stat().st_size < 100_000  # rebuilt from the folders


def test_nan_epochs_are_kept_and_named_by_collect_and_report(tmp_path: Path, cli: Callable[..., Any]) -> None:
    run = tmp_path / "sw" / "diverged"
    write_json(run / "config.json", config_record("imdb", to_dict(ImdbConfig())))
    main = TASKS["imdb"].main_metric
    write_json(
        run / "result.json",
        {"status": "completed", "task": "imdb", main: 0.5, "epochs_done": 3, "host": "here", "ended_at": STAMP},
    )
    (run / "metrics.csv").write_text(
        "epoch,loss,val_loss,val_accuracy\n1,0.7,0.69,0.5\n2,nan,nan,0.5\n3,nan,0.7,0.5\n", encoding="utf-8"
    )

    collected = cli("collect", str(tmp_path / "sw"), "--per-epoch", "-o", str(tmp_path / "out.csv"))
    assert collected.exit_code == 0, collected.output
    [warning] = [line for line in collected.stderr.splitlines() if line.startswith("warning:")]
    assert str(run) in warning and "NaN" in warning and "loss, val_loss" in warning and "epoch 2, 3" in warning
    assert len((tmp_path / "out.epochs.csv").read_text().splitlines()) == 4  # the rows are kept

    reported = cli("report", str(tmp_path / "sw"), "-o", str(tmp_path / "report"))
    assert reported.exit_code == 0, reported.output
    assert warning in reported.stderr.splitlines()


UNDERSCORES = [
    ("run", "markov", "--order", "1_0"),
    ("sweep", "markov", "--grid", "order=1_0,2"),
    ("sweep", "markov", "--zip", "order=1,2", "--zip", "smoothing=1,2_0"),
    ("sweep", "markov", "--sample", "smoothing=uniform(1_0,2_0)", "--trials", "2"),
    ("sweep", "markov", "--sample", "order=int(1_0,2_0)", "--trials", "2"),
    ("sweep", "markov", "--seeds", "1_0"),
    ("sweep", "markov", "--sample", "order=int(1,20)", "--trials", "1_0"),
    ("sweep", "markov", "--grid", "order=1,2", "--halving", "--min-epochs", "1", "--max-epochs", "1_0"),
]


@pytest.mark.parametrize(
    "args", UNDERSCORES, ids=["option", "grid", "zip", "sample-uniform", "sample-int", "seeds", "trials", "max-epochs"]
)
def test_numbers_with_underscores_are_refused(
    args: tuple[str, ...], small_text: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """Python reads ``1_0`` as 10; a user who typed it is told, not given 10."""
    monkeypatch.chdir(tmp_path)
    extra = ("--executor", "debug", "--name", "u") if args[0] == "sweep" else ("--out", "u")
    before = snapshot(tmp_path)
    result = cli(*args, "--corpus", str(small_text), "--length", "20", *extra)
    assert_one_line_error(result, "_")
    assert snapshot(tmp_path) == before


def test_halving_max_epochs_is_bounded_by_what_a_run_may_train(
    small_text: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    result = cli(
        "sweep",
        "charlm",
        "--corpus",
        str(small_text),
        "--units",
        "4",
        "--halving",
        "--min-epochs",
        "1",
        "--max-epochs",
        "100000000000",
        "--executor",
        "local",
        "--name",
        "hv",
    )
    assert_one_line_error(result, "--max-epochs 100000000000", "1000000")
    assert snapshot(tmp_path) == before


def dead_pid() -> int:
    """The pid of a process that has ended (a local job that is gone)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def submitted_charlm_runs(sweep: Path, corpus: Path, names: list[str]) -> None:
    """Run folders of ``names`` as a submission leaves them (config.json, job.json of a local job now gone)."""
    config = to_dict(CharLMConfig(corpus=str(corpus), maxlen=10, units=4))
    for name in names:
        write_json(sweep / name / "config.json", config_record("charlm", config))
        write_json(
            sweep / name / "job.json",
            {"job_id": str(dead_pid()), "executor": "local", "submitted_at": STAMP, "options": {"executor": "local"}},
        )


def test_cancel_goes_on_past_a_damaged_job_json_and_names_it(
    small_text: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    sweep = tmp_path / "sw"
    submitted_charlm_runs(sweep, small_text, ["a", "b", "c"])
    (sweep / "b" / "job.json").write_text('{"job_id": ', encoding="utf-8")

    result = cli("cancel", str(sweep))

    line = assert_one_line_error(result, "cancelled 2 runs", str(sweep / "b"), "job.json")
    assert "scancel" in line
    states = {name: getattr(RunDir(sweep / name).state_record(), "state", None) for name in "abc"}
    assert states == {"a": "cancelled", "b": None, "c": "cancelled"}


def test_a_cancelled_halving_rung_no_longer_reads_training(
    small_text: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    sweep = tmp_path / "hv"
    names = ["units=4", "units=5", "units=6"]
    submitted_charlm_runs(sweep, small_text, names)
    plan = HalvingRecord(
        metric="val_bits_per_char",
        higher_is_better=False,
        min_epochs=1,
        max_epochs=3,
        eta=3,
        epochs=[1, 3],
        rungs=[RungRecord(rung=0, epochs=1, runs=names, submitted_at=STAMP)],
    )
    manifest = SweepDir(sweep)
    with manifest.locked():
        manifest.record("charlm", {name: {"units": 4} for name in names}, {}, {}, {}, {}, plan)
    assert "rung 0: 3 training" in cli("status", str(sweep)).stdout

    assert cli("cancel", str(sweep)).exit_code == 0
    shown = cli("status", str(sweep))

    assert "3 runs: 3 cancelled" in shown.stdout and "halving: rung 0: 3 cancelled" in shown.stdout, shown.stdout
    assert "training" not in shown.stdout


@pytest.mark.slow
@pytest.mark.parametrize("bucket", [True, False], ids=["bucket", "no-bucket"])
def test_predict_scores_many_texts_in_few_model_calls_with_the_figures_of_one_at_a_time(bucket: bool) -> None:
    """2,000 reviews of every length: a model call per batch of reviews, not per review; the same probabilities."""
    import numpy as np

    from seqtasks import tfsetup
    from seqtasks.imdb.infer import TrainedRun, predict_texts
    from seqtasks.imdb.train import EVAL_BATCH
    from seqtasks.imdb.vocab import Vocabulary

    tfsetup.setup(0)
    from seqtasks.imdb.model import build_model

    config = ImdbConfig(top_words=60, embedding_dim=4, units=5, maxlen=40, bucket=bucket)
    words = [f"w{i}" for i in range(80)]
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(words, int(rng.integers(1, 60)))) for _ in range(2000)]
    model = build_model(config)
    calls = []

    def counted(x: Any, training: bool = False) -> Any:
        calls.append(len(x))
        return model(x, training=training)

    run = TrainedRun(Path("."), config, {}, Vocabulary({w: i + 1 for i, w in enumerate(words)}, True), counted)
    together = predict_texts(run, texts)

    assert len(calls) <= math.ceil(len(texts) / EVAL_BATCH) and sum(calls) == len(texts)
    alone = [predict_texts(run, [text])[0] for text in texts[:40]]
    np.testing.assert_allclose(together[:40], alone, rtol=1e-5, atol=1e-6)
    assert all(0.0 < p < 1.0 for p in together) and len(together) == len(texts)


def test_index_module_reads_through_the_safe_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A FIFO in the index's place is an empty index, never a blocked view (run apart: a hang fails, not waits)."""
    monkeypatch.setenv("SEQJOBS_CACHE_DIR", str(tmp_path / "cache"))
    kept = index.EndedIndex.for_root(tmp_path, index.MIN_RUNS, "status")
    assert kept is not None
    kept.file.parent.mkdir(parents=True)
    os.mkfifo(kept.file)
    code = (
        f"from pathlib import Path; from jobs.monitor import index; "
        f"print(len(index.EndedIndex.for_root(Path({str(tmp_path)!r}), index.MIN_RUNS, 'status').entries))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (0, "0"), done.stderr
