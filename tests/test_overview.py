"""``status`` of a large sweep: a summary first, then only the runs that need a look; ``collect`` read lightly.

The grouping rules are tested on plain rows; the command on a sweep of 30
copies of one real completed Markov run, two of them then failed through the
run-folder module itself.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jobs.cli import app
from jobs.monitor.collect import collect
from jobs.monitor.overview import MAX_ACTIVE_ROWS, grid_point, groups, to_look_at
from jobs.monitor.status import RunStatus
from seqtasks.markov.config import MarkovConfig
from seqtasks.rundir import RunDir
from seqtasks.runner import execute
from tests.helpers import json_lines, small_text, streams

FAILED = ("order=1_seed=3", "order=2_seed=11")


def row(path: str, state: str) -> RunStatus:
    return RunStatus(
        run=Path(path).name,
        path=path,
        task="markov",
        state=state,
        epoch=0,
        last_metric="",
        job_id="",
        node="",
        elapsed_s=None,
        error="",
        log="",
    )


@pytest.mark.parametrize(
    "name, point",
    [
        ("order=2_level=word_seed=1", "order=2_level=word"),
        ("seed=4", "seed=4"),  # nothing but a seed: the run is its own point
        ("order=3", "order=3"),
    ],
)
def test_grid_point_drops_the_seed(name: str, point: str) -> None:
    assert grid_point(name) == point


def test_one_sweep_is_grouped_by_grid_point() -> None:
    rows = [row(f"runs/s/order={o}_seed={s}", "completed" if s else "failed") for o in (1, 2) for s in range(3)]
    found = {g.name: g.counts for g in groups(rows, "runs/s")}
    assert found == {"order=1": {"failed": 1, "completed": 2}, "order=2": {"failed": 1, "completed": 2}}


def test_several_sweeps_are_grouped_by_sweep() -> None:
    rows = [row(f"runs/{sweep}/order={o}", "completed") for sweep in ("a", "b") for o in range(5)]
    assert [(g.name, g.total) for g in groups(rows, "runs")] == [("a", 5), ("b", 5)]


def test_a_grid_without_seeds_is_one_line() -> None:
    rows = [row(f"runs/s/order={o}", "completed") for o in range(50)]
    assert [(g.name, g.total) for g in groups(rows, "runs/s")] == [("s", 50)]


def test_every_run_in_trouble_is_listed_and_the_first_at_work() -> None:
    rows = [row(f"runs/s/r{i}", "running") for i in range(MAX_ACTIVE_ROWS + 5)] + [
        row("runs/s/bad", "failed"),
        row("runs/s/gone", "stuck"),
        row("runs/s/ok", "completed"),
    ]
    listed, hidden = to_look_at(rows)
    assert [r.run for r in listed[:2]] == ["bad", "gone"] and len(listed) == 2 + MAX_ACTIVE_ROWS and hidden == 5


@pytest.fixture(scope="module")
def big_sweep(tmp_path_factory: pytest.TempPathFactory, moby_dick: Path) -> Path:
    """30 runs (two grid points x 15 seeds), copies of one real completed Markov run; two failed."""
    base = tmp_path_factory.mktemp("big")
    text = small_text(base, moby_dick)
    template = base / "template"
    execute("markov", MarkovConfig(corpus=str(text), length=50), template)
    sweep = base / "runs/big"
    for order in (1, 2):
        for seed in range(15):
            shutil.copytree(template, sweep / f"order={order}_seed={seed}")
    for name in FAILED:
        RunDir(sweep / name).fail("markov", f"ValueError: {name} broke", "ValueError", "", {"attempt": 1})
    return sweep


def test_status_of_a_big_sweep_fits_a_screen_and_names_every_failed_run(big_sweep: Path) -> None:
    result = CliRunner().invoke(app, ["status", str(big_sweep)])
    stdout, _ = streams(result)
    assert result.exit_code == 0, stdout
    lines = stdout.splitlines()
    assert lines[0].startswith("30 runs: 28 completed, 2 failed; ") and lines[0].endswith(" CPU-h spent"), lines[0]
    assert all(f"{name} broke" in stdout for name in FAILED)
    assert "order=1 " in stdout and "order=2 " in stdout  # one line per grid point
    assert "order=1_seed=0" not in stdout  # completed runs are counted, not listed
    assert len(lines) < 40


def test_status_all_and_json_list_every_run(big_sweep: Path) -> None:
    every = CliRunner().invoke(app, ["status", str(big_sweep), "--all"])
    assert every.exit_code == 0 and all(f"order=1_seed={s} " in every.stdout for s in range(15))
    rows = json_lines(CliRunner().invoke(app, ["status", str(big_sweep), "--json"]).stdout)
    assert len(rows) == 30 and {r["run"] for r in rows if r["state"] == "failed"} == set(FAILED)


def test_collect_reading_ended_runs_lightly_gives_the_table_of_reading_every_file(big_sweep: Path) -> None:
    light, whole = collect([big_sweep], per_epoch=False), collect([big_sweep], per_epoch=True)
    assert len(light.runs) == 28
    assert light.runs.equals(whole.runs)
    assert [s.state for s in light.states] == [s.state for s in whole.states]
