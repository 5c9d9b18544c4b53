"""Run folders written before records carried a ``format`` still read, the same way, and a newer format is refused.

``tests/fixtures/runfolders-v1/`` holds the record files (no model weights)
of real runs made by seqjobs before formats existed: a markov sweep of two
runs (debug executor), a one-epoch charlm run, a markov run that failed at
run time (its corpus went away after submission), and the views' index of
them (written with its threshold lowered to these few runs). Paths inside
point at the ``/tmp`` folder they were made in; nothing here needs them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from jobs.monitor import index
from seqtasks.rundir import Damaged, RunDir, SweepDir
from seqtasks.rundir.epochs import Progress, committed
from seqtasks.rundir.records import (
    ConfigRecord,
    JobRecord,
    Manifest,
    ResultRecord,
    StateRecord,
    dump,
    load,
)
from seqtasks.rundir.states import RunState

FIXTURE = Path(__file__).parent / "fixtures" / "runfolders-v1"
CHARLM, FAILED, SWEEP = "charlm1", "failed", "runs/msweep"


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """A copy of the fixture's run folders (the views must not need to write them, but a test must not risk it)."""
    return Path(shutil.copytree(FIXTURE / "runs", tmp_path / "runs"))


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_every_record_of_the_fixture_reads_as_a_typed_record(runs: Path) -> None:
    charlm, failed, order1 = RunDir(runs / CHARLM), RunDir(runs / FAILED), RunDir(runs / SWEEP / "order=1")

    config = charlm.config_record()
    assert isinstance(config, ConfigRecord) and config.task == "charlm" and config.config["units"] == 8
    assert config.data is not None and config.data["name"] == "tiny" and config.seed == 0
    state = charlm.state_record()
    assert isinstance(state, StateRecord) and state.state == RunState.COMPLETED and state.epochs_committed == 1
    assert [h["outcome"] for h in state.history] == ["completed"]
    result = charlm.result("best_val_bits_per_char")
    assert isinstance(result, ResultRecord) and result.status == RunState.COMPLETED and result.task == "charlm"
    assert result.figures["best_val_bits_per_char"] == 3.825622 and result.figures["epochs_done"] == 1
    assert result.figures["duration_s"] == 5.624 and "status" not in result.figures and "host" not in result.figures
    assert (result.attempt, result.epochs_requested, result.host, result.job_id) == (1, 1, "vm", None)
    assert charlm.job_record() is None  # `seqjobs run`: no job
    progress = committed(charlm)
    assert isinstance(progress, Progress) and (progress.epoch, progress.best_epoch) == (1, 1) and progress.rng

    failure = failed.result()
    assert failure is not None and failure.status == RunState.FAILED and failure.error_type == "UserError"
    assert failure.error is not None and failure.error.startswith("unknown corpus")
    assert failure.figures == {} and failure.job is not None and failure.job["job_id"] == "29998"
    job = failed.job_record()
    assert isinstance(job, JobRecord) and (job.job_id, job.executor) == ("29998", "local")
    failed_state = failed.state_record()
    assert failed_state is not None and failed_state.state == RunState.FAILED

    sweep_result = order1.result("heldout_bits_per_symbol")
    assert sweep_result is not None and sweep_result.figures["heldout_bits_per_symbol"] == 1.819978
    sweep_job = order1.job_record()
    assert sweep_job is not None and sweep_job.executor == "debug"
    manifest = SweepDir(runs / SWEEP).manifest()
    assert isinstance(manifest, Manifest) and manifest.task == "markov"
    assert [r["dir"] for r in manifest.runs] == ["order=1", "order=2"]


def test_a_record_round_trips_in_the_current_format(runs: Path) -> None:
    """Read an old file, write it as now: reading that again and writing it gives the very same dict."""
    for cls, name in ((ConfigRecord, "config.json"), (StateRecord, "state.json"), (JobRecord, "job.json")):
        old = json.loads((runs / FAILED / name).read_text())
        now = dump(load(cls, old))
        assert now["format"] == cls.FORMAT and "format" not in old
        added = {"format", "run_id"} if cls is ConfigRecord else {"format"}  # run_id: none recorded in an old run
        assert {k: v for k, v in now.items() if k not in added} == old  # format 1 -> 2: the same fields
        assert now.get("run_id") is None and dump(load(cls, now)) == now
    for run in (CHARLM, FAILED):
        old = json.loads((runs / run / "result.json").read_text())
        now = ResultRecord.from_dict(old).to_dict()
        assert {k: v for k, v in now.items() if k != "format"} == old
        assert ResultRecord.from_dict(now).to_dict() == now
    manifest = json.loads((runs / SWEEP / "sweep.json").read_text())
    assert dump(load(Manifest, dump(load(Manifest, manifest)))) == dump(load(Manifest, manifest))
    commit = json.loads((runs / CHARLM / "checkpoints/state.json").read_text())
    assert dump(load(Progress, commit)) == {**commit, "format": Progress.FORMAT}


def expected_rows(runs: Path) -> list[dict[str, Any]]:
    return [
        {
            "run": "charlm1",
            "path": str(runs / CHARLM),
            "task": "charlm",
            "state": "completed",
            "epoch": 1,
            "last_metric": "best_val_bits_per_char=3.8256",
            "job_id": "",
            "node": "vm",
            "elapsed_s": 5.624,
            "error": "",
            "log": "",
            "rung": "",
        },
        {
            "run": "failed",
            "path": str(runs / FAILED),
            "task": "markov",
            "state": "failed",
            "epoch": 0,
            "last_metric": "",
            "job_id": "29998",
            "node": "vm",
            "elapsed_s": None,
            "error": "unknown corpus '/tmp/fixgen/gone.txt': neither a text data set (nietzsche, moby-dick) nor an "
            "existing file; see: seqjobs data list",
            "log": "/tmp/fixgen/runs/failed/.submitit/29998/29998_0_log.err",
            "rung": "",
        },
        {
            "run": "order=1",
            "path": str(runs / SWEEP / "order=1"),
            "task": "markov",
            "state": "completed",
            "epoch": 0,
            "last_metric": "heldout_bits_per_symbol=1.8200",
            "job_id": "DEBUG_139918914287440",
            "node": "vm",
            "elapsed_s": 0.123,
            "error": "",
            "log": "",
            "rung": "",
        },
        {
            "run": "order=2",
            "path": str(runs / SWEEP / "order=2"),
            "task": "markov",
            "state": "completed",
            "epoch": 0,
            "last_metric": "heldout_bits_per_symbol=1.0542",
            "job_id": "DEBUG_139918914287440",
            "node": "vm",
            "elapsed_s": 0.003,
            "error": "",
            "log": "",
            "rung": "",
        },
    ]


def test_status_and_collect_of_old_folders_give_the_rows_and_leave_them_untouched(
    runs: Path,
    tmp_path: Path,
    cli,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001 - the cli fixture
) -> None:
    monkeypatch.setenv("SEQJOBS_CACHE_DIR", str(tmp_path / "cache"))
    before = snapshot(runs)
    done = cli("status", str(runs), "--json")
    assert done.exit_code == 0, done.output
    rows, expected = [json.loads(line) for line in done.stdout.splitlines()], expected_rows(runs)
    assert [{key: row[key] for key in want} for row, want in zip(rows, expected)] == expected
    for row in rows:  # what a run cost is measured from its attempts, which old folders record too
        assert row["cpu_hours"] >= 0 and row["gpu_hours"] == 0, row

    out = tmp_path / "table.csv"
    done = cli("collect", str(runs), "-o", str(out))
    assert done.exit_code == 0, done.output
    import pandas as pd

    table = pd.read_csv(out).set_index("run")
    assert sorted(table.index) == ["charlm1", "order=1", "order=2"]  # the failed run is left out
    assert table.loc["charlm1", "best_val_bits_per_char"] == 3.825622 and table.loc["charlm1", "epochs_done"] == 1
    assert table.loc["order=2", "heldout_bits_per_symbol"] == 1.054231
    assert table.loc["order=1", "executor"] == "debug" and table.loc["charlm1", "executor"] == "run"
    assert "format" not in table.columns and "status" not in table.columns
    assert snapshot(runs) == before  # read-only commands wrote nothing into the folders


@pytest.mark.parametrize("view", ["status", "collect"])
def test_an_index_of_the_old_positional_format_is_discarded_and_rebuilt(
    runs: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    view: str,
) -> None:
    """The index is a cache: one written by the seqjobs before named entries is not read, and is written anew."""
    from jobs.monitor.status import survey

    monkeypatch.setenv("SEQJOBS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(index, "MIN_RUNS", 1)
    kept = index.EndedIndex.for_root(runs, 4, view)
    assert kept is not None
    old = json.loads((FIXTURE / "index" / f"{view}.json").read_text())
    assert old["format"] == 1 and all(isinstance(entry, list) for entry in old["runs"].values())
    kept.file.parent.mkdir(parents=True)
    kept.file.write_text(json.dumps({**old, "root": kept.root}))  # as if written for this folder
    assert index.EndedIndex.for_root(runs, 4, view).entries == {}  # type: ignore[union-attr]

    first = [(r.status.run, r.status.state) for r in survey(runs, view)]  # type: ignore[arg-type]
    rebuilt = json.loads(kept.file.read_text())
    assert rebuilt["format"] == index.IndexFile.FORMAT and set(rebuilt["runs"]) == {
        CHARLM,
        FAILED,
        f"{SWEEP}/order=1",
        f"{SWEEP}/order=2",
    }
    entry = rebuilt["runs"][CHARLM]
    assert entry["status"]["state"] == "completed" and len(entry["signature"]) == 12
    assert (entry["files"] is None) == (view == "status")
    again = survey(runs, view)  # type: ignore[arg-type]
    assert [(r.status.run, r.status.state) for r in again] == first
    if view == "collect":
        charlm = next(r for r in again if r.status.run == CHARLM)
        assert charlm.files is not None and charlm.files.result is not None  # taken from the index, typed
        assert charlm.files.result.figures["best_val_bits_per_char"] == 3.825622


def newer(path: Path) -> None:
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "format": 99}))


@pytest.mark.parametrize("name", ["config.json", "result.json", "job.json", "state.json"])
def test_a_record_of_a_newer_format_is_refused_in_one_line(runs: Path, name: str) -> None:
    newer(runs / FAILED / name)
    reader = {
        "config.json": RunDir.config_record,
        "result.json": RunDir.result,
        "job.json": RunDir.job_record,
        "state.json": RunDir.state_record,
    }[name]
    with pytest.raises(Damaged) as err:
        reader(RunDir(runs / FAILED))
    assert str(err.value) == f"{runs / FAILED / name}: written by a newer seqjobs (format 99); upgrade seqjobs"


def test_a_run_with_a_newer_record_is_unreadable_in_status_like_any_damaged_run(
    runs: Path,
    tmp_path: Path,
    cli,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001 - the cli fixture
) -> None:
    monkeypatch.setenv("SEQJOBS_CACHE_DIR", str(tmp_path / "cache"))
    newer(runs / FAILED / "result.json")
    done = cli("status", str(runs), "--json")
    assert done.exit_code == 0, done.output
    rows = {row["run"]: row for row in map(json.loads, done.stdout.splitlines())}
    assert rows["failed"]["state"] == "unreadable"
    assert rows["failed"]["error"] == "result.json written by a newer seqjobs (format 99); upgrade seqjobs"
    assert [rows[r]["state"] for r in ("charlm1", "order=1", "order=2")] == ["completed"] * 3
    assert done.stderr.count("newer seqjobs") == 1

    done = cli("status", str(runs / FAILED))  # nothing else to show: one line, exit 2
    assert done.exit_code == 2 and "nothing readable" in done.stderr, done.output


def test_a_format_that_is_not_a_number_is_damage(runs: Path) -> None:
    path = runs / FAILED / "state.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "format": "2"}))
    with pytest.raises(Damaged, match="'format' is '2', not a format number"):
        RunDir(runs / FAILED).state_record()
