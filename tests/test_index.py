"""The views' index of ended runs: the same answers as reading every folder, and every change between calls seen.

A sweep of 12 copies of one real completed Markov run; the index's size
threshold is lowered to 5 runs so that it is used. Each test compares a view
with the index against the same view without it (``SEQJOBS_NO_INDEX``),
after changing the folders through the run-folder module or by hand.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator

import pytest

from jobs.monitor import index
from jobs.monitor.collect import collect
from jobs.monitor.status import statuses
from seqtasks.rundir import RunDir
from tests.helpers import completed_markov_run, wait_until


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, moby_dick: Path) -> Path:
    """One real completed Markov run, copied into every sweep below."""
    return completed_markov_run(tmp_path_factory.mktemp("index"), moby_dick)


@pytest.fixture
def sweep(tmp_path: Path, template: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """12 completed runs; the index used from 5 runs on, in a cache folder of this test's own."""
    monkeypatch.setattr(index, "MIN_RUNS", 5)
    monkeypatch.setenv("SEQJOBS_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "sweep"
    for i in range(12):
        shutil.copytree(template, folder / f"seed={i}")
    yield folder


def plain(monkeypatch: pytest.MonkeyPatch, view: Any, *args: Any) -> Any:
    """``view(*args)`` reading every folder, without the index."""
    with monkeypatch.context() as m:
        m.setenv("SEQJOBS_NO_INDEX", "1")
        return view(*args)


def rows(folder: Path) -> list[dict[str, Any]]:
    return [asdict(r) for r in statuses(folder)]


def same_views(folder: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Status and collect agree with and without the index; returns the status rows."""
    expected = plain(monkeypatch, rows, folder)
    assert rows(folder) == expected
    light, whole = collect([folder], per_epoch=False), plain(monkeypatch, collect, [folder], False)
    assert light.runs.equals(whole.runs)
    assert [asdict(s) for s in light.states] == [asdict(s) for s in whole.states]
    return expected


def index_files(sweep: Path) -> list[Path]:
    return sorted((sweep.parent / "cache" / "index").glob("*.json"))


def test_the_index_is_kept_in_the_cache_folder_and_gives_the_same_views(
    sweep: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = sorted(p.name for p in sweep.rglob("*"))
    first = same_views(sweep, monkeypatch)  # writes the index
    assert [p.name.rsplit("-", 1)[1] for p in index_files(sweep)] == ["collect.json", "status.json"]
    assert sorted(p.name for p in sweep.rglob("*")) == before  # nothing written into the sweep
    entries = json.loads(index_files(sweep)[1].read_text())["runs"]
    assert sorted(entries) == sorted(f"seed={i}" for i in range(12))
    assert same_views(sweep, monkeypatch) == first  # read from the index this time
    assert [r["state"] for r in first] == ["completed"] * 12


def test_a_result_rewritten_between_calls_is_seen(sweep: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    same_views(sweep, monkeypatch)
    RunDir(sweep / "seed=3").fail("markov", "ValueError: broke after all", "ValueError", "", {"attempt": 2})
    found = {r["run"]: r for r in same_views(sweep, monkeypatch)}
    assert found["seed=3"]["state"] == "failed" and "broke after all" in found["seed=3"]["error"]


def test_a_file_changed_in_place_with_the_same_size_is_seen(sweep: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    same_views(sweep, monkeypatch)
    result = sweep / "seed=5" / "result.json"
    text = result.read_text()
    assert '"completed"' in text
    with open(result, "r+") as fh:  # same inode, same size: only the times tell
        fh.write(text.replace('"completed"', '"completed"'.upper()))
    found = {r["run"]: r for r in same_views(sweep, monkeypatch)}
    assert found["seed=5"]["state"] == "unreadable" and "result.json" in found["seed=5"]["error"]


def test_damage_and_links_are_reported_as_without_the_index(sweep: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    same_views(sweep, monkeypatch)
    (sweep / "seed=1" / "config.json").write_text("{not json")
    os.remove(sweep / "seed=2" / "result.json")
    os.symlink(sweep / "seed=4" / "result.json", sweep / "seed=6" / "result.tmp")
    os.replace(sweep / "seed=6" / "result.tmp", sweep / "seed=6" / "result.json")
    found = {r["run"]: r for r in same_views(sweep, monkeypatch)}
    assert found["seed=1"]["state"] == "completed"  # status does not read the config ...
    assert found["seed=2"]["state"] == "unknown" and "no result.json" in found["seed=2"]["error"]
    assert found["seed=6"]["state"] == "unreadable" and "symbolic link" in found["seed=6"]["error"]
    light = collect([sweep], per_epoch=False)  # ... collect does, and says so
    assert {s.run: s.state for s in light.states}["seed=1"] == "unreadable"
    assert len(light.runs) == 9


def test_runs_added_and_removed_between_calls_are_counted(
    sweep: Path, template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    same_views(sweep, monkeypatch)
    shutil.rmtree(sweep / "seed=0")
    shutil.copytree(template, sweep / "seed=20")
    found = [r["run"] for r in same_views(sweep, monkeypatch)]
    assert "seed=0" not in found and "seed=20" in found and len(found) == 12
    assert "seed=0" not in json.loads(index_files(sweep)[1].read_text())["runs"]


def test_a_damaged_or_foreign_index_is_ignored(sweep: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = same_views(sweep, monkeypatch)
    status_index = index_files(sweep)[1]
    status_index.write_text("garbage")
    assert rows(sweep) == expected
    moved = sweep.parent / "moved"
    shutil.copytree(sweep, moved)  # same names, other root: the index of `sweep` is not the index of `moved`
    RunDir(moved / "seed=7").fail("markov", "ValueError: only here", "ValueError", "", {"attempt": 2})
    assert {r.run: r.state for r in statuses(moved)}["seed=7"] == "failed"


def test_small_sweeps_keep_no_index(sweep: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index, "MIN_RUNS", 13)
    same_views(sweep, monkeypatch)
    assert index_files(sweep) == []


def test_a_command_leaves_the_index_to_a_detached_writer_and_leaves_no_process_behind(
    sweep: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``status`` and ``collect`` answer without waiting for the index: a detached process writes it, the same
    index a look in the foreground writes, and the command is left with no child (no zombie either)."""
    import psutil

    me = psutil.Process()
    children = {child.pid for child in me.children()}
    background = [asdict(r) for r in statuses(sweep, background_index=True)]
    assert {child.pid for child in me.children()} == children  # forked twice: the writer is not this one's child
    assert background == plain(monkeypatch, rows, sweep)
    wait_until(lambda: len(index_files(sweep)) == 1, 60, 0.05, "the detached writer to write the status index")
    written = json.loads(index_files(sweep)[0].read_text())["runs"]
    index_files(sweep)[0].unlink()
    rows(sweep)  # the same look, in the foreground
    assert json.loads(index_files(sweep)[0].read_text())["runs"] == written
    collect([sweep], per_epoch=False, background_index=True)
    wait_until(lambda: len(index_files(sweep)) == 2, 60, 0.05, "the detached writer to write the collect index")
