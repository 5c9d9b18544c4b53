"""Successive halving: rung arithmetic and ranking, the sweep manifest's record, and a real local halving sweep.

The SLURM halving sweeps (submitting process gone, a rung job preempted)
are in tests/test_halving_slurm.py.
"""

from __future__ import annotations

import csv
import json
import os
import signal
from pathlib import Path
from typing import Any, Callable

import pytest

from jobs.engine.halving import (
    decide,
    kept,
    rank,
    run_score,
    rung_epochs,
    standings,
    validation_metric,
)
from seqtasks.errors import UserError
from seqtasks.imdb.synthetic import write_csv
from seqtasks.rundir import Damaged, SweepDir
from seqtasks.rundir.records import HalvingRecord, RungRecord
from seqtasks.tasks import TASKS
from tests.helpers import assert_one_line_error, seqjobs, wait_until

#: a sentiment model that trains an epoch of a few hundred reviews in about a second
TINY_IMDB = ["--top-words", "200", "--embedding-dim", "8", "--units", "8", "--batch-size", "32", "--maxlen", "20"]


# -- rung arithmetic ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "eta", "epochs"),
    [
        (1, 9, 3, [1, 3, 9]),
        (1, 4, 2, [1, 2, 4]),
        (1, 10, 3, [1, 3, 9, 10]),
        (2, 5, 3, [2, 5]),
        (3, 3, 3, [3]),
    ],
)
def test_rung_epochs_grow_eta_times_and_end_at_max_epochs(low: int, high: int, eta: int, epochs: list[int]) -> None:
    assert rung_epochs(low, high, eta) == epochs


@pytest.mark.parametrize(
    ("low", "high", "eta", "flag"), [(0, 3, 2, "--min-epochs"), (4, 3, 2, "--max-epochs"), (1, 3, 1, "--eta")]
)
def test_impossible_plans_are_refused_naming_the_option(low: int, high: int, eta: int, flag: str) -> None:
    with pytest.raises(UserError, match=flag):
        rung_epochs(low, high, eta)


@pytest.mark.parametrize(
    ("configurations", "eta", "going_on"), [(9, 3, 3), (4, 2, 2), (10, 3, 3), (2, 3, 1), (1, 2, 1)]
)
def test_the_best_one_eta_go_on_at_least_one(configurations: int, eta: int, going_on: int) -> None:
    assert kept(configurations, eta) == going_on


def test_each_task_ranks_by_its_own_validation_figure_and_direction() -> None:
    assert validation_metric(TASKS["imdb"], None) == ("val_accuracy", True)
    assert validation_metric(TASKS["charlm"], None) == ("val_bits_per_char", False)
    assert validation_metric(TASKS["imdb"], "val_loss") == ("val_loss", False)
    with pytest.raises(UserError, match="'test_accuracy' is not a validation figure"):
        validation_metric(TASKS["imdb"], "test_accuracy")
    with pytest.raises(UserError, match="markov"):
        validation_metric(TASKS["markov"], None)


# -- ranking -----------------------------------------------------------------------------------


def sweep_of(
    scores: dict[tuple[float, int], float | None],
) -> tuple[dict[str, dict[str, Any]], dict[str, float | None]]:
    """Runs named like a sweep's, ``{(lr, seed): figure}`` -> (params by run, figure by run)."""
    params = {f"lr={lr}_seed={seed}": {"lr": lr, "seed": seed, "epochs": 1} for lr, seed in scores}
    return params, {f"lr={lr}_seed={seed}": figure for (lr, seed), figure in scores.items()}


def test_accuracy_goes_up_and_bits_go_down() -> None:
    params, scores = sweep_of({(0.1, 0): 0.6, (0.2, 0): 0.9, (0.3, 0): 0.7, (0.4, 0): 0.8})
    assert decide(params, scores, higher=True, eta=2).promoted == ["lr=0.2_seed=0", "lr=0.4_seed=0"]
    assert decide(params, scores, higher=False, eta=2).promoted == ["lr=0.1_seed=0", "lr=0.3_seed=0"]


def test_a_configuration_is_ranked_by_the_mean_over_its_seeds() -> None:
    """0.95 and 0.15 (mean 0.55) lose to 0.6 and 0.6: the best single run does not decide."""
    params, scores = sweep_of({(0.1, 0): 0.95, (0.1, 1): 0.15, (0.2, 0): 0.6, (0.2, 1): 0.6})
    decision = decide(params, scores, higher=True, eta=2)
    assert decision.promoted == ["lr=0.2_seed=0", "lr=0.2_seed=1"]
    assert decision.stopped == ["lr=0.1_seed=0", "lr=0.1_seed=1"]
    assert [s.score for s in decision.ranking] == [0.6, pytest.approx(0.55)]


def test_failed_runs_rank_last_are_reported_and_never_promoted() -> None:
    params, scores = sweep_of(
        {(0.1, 0): None, (0.1, 1): 0.99, (0.2, 0): 0.5, (0.2, 1): 0.5, (0.3, 0): 0.4, (0.3, 1): 0.4}
    )
    decision = decide(params, scores, higher=True, eta=2)
    assert [s.runs[0] for s in decision.ranking] == ["lr=0.2_seed=0", "lr=0.3_seed=0", "lr=0.1_seed=0"]
    assert decision.promoted == ["lr=0.2_seed=0", "lr=0.2_seed=1"]
    assert decision.failed == ["lr=0.1_seed=0"]
    nothing = decide(*sweep_of({(0.1, 0): None, (0.2, 0): None}), higher=True, eta=2)
    assert nothing.promoted == [] and nothing.stopped == ["lr=0.1_seed=0", "lr=0.2_seed=0"]


def test_ties_are_broken_by_the_parameters_whatever_the_order_read() -> None:
    params, scores = sweep_of({(0.3, 0): 0.5, (0.1, 0): 0.5, (0.2, 0): 0.5})
    first = rank(standings(params, scores), higher=True)
    again = rank(list(reversed(standings(dict(reversed(params.items())), scores))), higher=True)
    assert first == again
    assert [s.runs for s in first] == [("lr=0.1_seed=0",), ("lr=0.2_seed=0",), ("lr=0.3_seed=0",)]


def test_a_runs_figure_is_its_best_over_the_rungs_epochs() -> None:
    rows = [
        {"epoch": "1", "val_accuracy": "0.6"},
        {"epoch": "2", "val_accuracy": "0.8"},
        {"epoch": "3", "val_accuracy": "0.9"},
        {"epoch": "4", "val_accuracy": "nan"},
    ]
    assert run_score(rows, "val_accuracy", True, 2) == 0.8
    assert run_score(rows, "val_accuracy", False, 4) == 0.6
    assert run_score(rows, "val_loss", False, 4) is None


# -- the manifest record -----------------------------------------------------------------------


def test_the_halving_record_round_trips_and_a_damaged_one_is_named(tmp_path: Path) -> None:
    sweep = SweepDir(tmp_path / "hv")
    plan = HalvingRecord(
        metric="val_accuracy",
        higher_is_better=True,
        min_epochs=1,
        max_epochs=4,
        eta=2,
        epochs=[1, 2, 4],
        rungs=[RungRecord(rung=0, epochs=1, runs=["a", "b"])],
    )
    with sweep.locked():
        sweep.record("imdb", {"a": {"lr": 0.1}, "b": {"lr": 0.2}}, {}, {}, {}, {}, plan)
    read = sweep.halving()
    assert read is not None and read.rungs == [RungRecord(rung=0, epochs=1, runs=["a", "b"])]
    manifest = json.loads((sweep.path / "sweep.json").read_text())
    manifest["halving"]["rungs"][0]["epochs"] = "one"
    (sweep.path / "sweep.json").write_text(json.dumps(manifest))
    with pytest.raises(Damaged, match="halving: 'epochs' is 'one'"):
        sweep.halving()


# -- the command line --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (
            ["markov", "--halving", "--min-epochs", "1", "--max-epochs", "3"],
            ["--halving needs a task trained in epochs", "markov"],
        ),
        (["imdb", "--min-epochs", "1"], ["--min-epochs belongs to a halving sweep", "--halving"]),
        (["imdb", "--halving", "--max-epochs", "3"], ["--halving needs --min-epochs and --max-epochs"]),
        (["imdb", "--halving", "--min-epochs", "1", "--max-epochs", "3", "--eta", "1"], ["--eta must be >= 2"]),
        (
            ["imdb", "--halving", "--min-epochs", "1", "--max-epochs", "3", "--metric", "test_accuracy"],
            ["val_accuracy"],
        ),
        (
            ["imdb", "--halving", "--min-epochs", "1", "--max-epochs", "3", "--grid", "epochs=1,2"],
            ["do not vary epochs"],
        ),
    ],
)
def test_bad_halving_options_are_one_line(
    cli: Callable[..., Any], tmp_path: Path, args: list[str], fragments: list[str]
) -> None:
    result = cli("sweep", *args, "--executor", "local", "--root", str(tmp_path))
    assert_one_line_error(result, *fragments)
    assert not any(tmp_path.iterdir())


# -- a real local halving sweep ----------------------------------------------------------------


def epochs_in(run: Path) -> list[int]:
    with open(run / "metrics.csv", newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def halving_of(sweep: Path) -> dict[str, Any]:
    return json.loads((sweep / "sweep.json").read_text())["halving"]


@pytest.mark.slow
def test_a_local_halving_sweep_completes_resumes_only_new_epochs_and_continues_after_its_promotion_job_died(
    tmp_path: Path,
) -> None:
    """4 configurations, eta 2, epochs 1 -> 2 -> 4: 4 runs, then the best 2, then the best 1.

    The first promotion job is killed before it decides: the same command
    run again decides rung 0 itself and goes on; a third run of the command
    once the sweep has completed submits nothing.
    """
    data = write_csv(tmp_path / "reviews.csv", 300, median_len=12, seed=1, signal=0.4)
    command = [
        "sweep",
        "imdb",
        "--dataset",
        str(data),
        *TINY_IMDB,
        "--limit",
        "200",
        "--grid",
        "lr=0.001,0.003,0.01,0.03",
        "--halving",
        "--min-epochs",
        "1",
        "--max-epochs",
        "4",
        "--eta",
        "2",
        "--executor",
        "local",
        "--array-parallelism",
        "2",
        "--name",
        "hv",
    ]
    first = seqjobs(*command, cwd=tmp_path, check=True, timeout=300)
    assert "submitted rung 0 (4 runs)" in first.stdout, first.stdout
    sweep = tmp_path / "runs/hv"
    promotion = halving_of(sweep)["rungs"][0]["promotion_job"]
    os.killpg(int(promotion["job_id"]), signal.SIGKILL)  # its controller leads a session of its own

    def rung_zero_ended() -> bool:
        rows = {
            r["run"]: r["state"]
            for r in map(
                json.loads, seqjobs("status", str(sweep), "--json", cwd=tmp_path, check=True).stdout.splitlines()
            )
        }
        return set(rows.values()) == {"completed"}

    wait_until(rung_zero_ended, 600, interval=2, what="rung 0's runs to end")
    assert halving_of(sweep)["rungs"][0]["decided_at"] is None  # nobody decided: its promotion job is gone
    again = seqjobs(*command, cwd=tmp_path, check=True, timeout=300)
    assert "decided rung(s) 0 here" in again.stderr and "submitted rung 1 (2 runs)" in again.stdout, again

    wait_until(lambda: halving_of(sweep)["completed_at"], 600, interval=2, what="the halving sweep to complete")
    record = halving_of(sweep)
    assert [(r["rung"], r["epochs"], len(r["runs"])) for r in record["rungs"]] == [(0, 1, 4), (1, 2, 2), (2, 4, 1)]
    for before, after in zip(record["rungs"], record["rungs"][1:]):
        assert after["runs"] == before["promoted"]
        assert sorted(before["promoted"] + before["stopped"]) == sorted(before["runs"])
        scores = before["scores"]  # imdb: val_accuracy, higher is better
        assert min(scores[run] for run in before["promoted"]) >= max(scores[run] for run in before["stopped"])
    assert record["best"] == record["rungs"][2]["runs"]

    stopped_at = {run: r["epochs"] for r in record["rungs"] for run in r["stopped"]}
    for run, epochs in stopped_at.items():  # each trained its epochs once: resumed, never restarted
        assert epochs_in(sweep / run) == list(range(1, epochs + 1)), run
    collect = seqjobs("collect", str(sweep), "-o", "hv.csv", cwd=tmp_path, check=True)
    with open(tmp_path / "hv.csv", newline="") as f:
        rows = {row["run"]: row for row in csv.DictReader(f)}
    assert {run: int(row["stopped_at_epoch"]) for run, row in rows.items()} == stopped_at, collect
    assert {run: int(row["rung"]) for run, row in rows.items()} == {
        run: r["rung"] for r in record["rungs"] for run in r["runs"]
    }
    status = seqjobs("status", str(sweep), cwd=tmp_path, check=True).stdout
    assert "halving: rung 0: 2 promoted, 2 stopped; rung 1: 1 promoted, 1 stopped; rung 2: 1 final" in status, status
    seqjobs("report", str(sweep), "-o", "report", cwd=tmp_path, check=True)
    assert "(imdb_halving.png)" in (tmp_path / "report/report.md").read_text()
    assert (tmp_path / "report/imdb_halving.png").read_bytes().startswith(b"\x89PNG")

    manifest = (sweep / "sweep.json").read_text()
    third = seqjobs(*command, "--wait", cwd=tmp_path, check=True, timeout=300)
    assert "nothing to submit: the halving sweep" in third.stdout and "4 runs: 4 completed" in third.stdout, third
    assert (sweep / "sweep.json").read_text() == manifest  # nothing submitted, nothing recorded
    grid = seqjobs(*command[: command.index("--halving")], "--executor", "local", "--name", "hv", cwd=tmp_path)
    assert_one_line_error(grid, "is a halving sweep")


def test_rung_marks_are_read_from_halving_manifests_only(tmp_path: Path) -> None:
    """A decided rung marks its runs promoted or stopped (at the rung's epochs); a grid sweep's manifest gives none."""
    from jobs.monitor.rungs import RungMark, halving_marks
    from jobs.monitor.sweeps import read_sweeps

    plan = HalvingRecord(
        metric="val_accuracy",
        higher_is_better=True,
        min_epochs=1,
        max_epochs=2,
        eta=2,
        epochs=[1, 2],
        rungs=[
            RungRecord(
                rung=0,
                epochs=1,
                runs=["a", "b", "c"],
                decided_at="2026-01-01T00:00:00+00:00",
                promoted=["a"],
                stopped=["b", "c"],
                failed=["c"],
            ),
            RungRecord(rung=1, epochs=2, runs=["a"]),
        ],
    )
    halving, grid = SweepDir(tmp_path / "hv"), SweepDir(tmp_path / "grid")
    with halving.locked():
        halving.record("imdb", {n: {"lr": i} for i, n in enumerate("abc")}, {}, {}, {}, {}, plan)
    with grid.locked():
        grid.record("imdb", {"a": {"lr": 0.1}}, {}, {}, {}, {})
    marks = halving_marks(read_sweeps([str(halving.path), str(grid.path)]).values())
    assert marks == {
        str(halving.path / "a"): RungMark(1, "training", None, plan=(1, 2)),
        str(halving.path / "b"): RungMark(0, "stopped", 1, plan=(1, 2)),
        str(halving.path / "c"): RungMark(0, "stopped", 1, failed=True, plan=(1, 2)),
    }
    assert marks[str(halving.path / "c")].label() == "0 stopped (failed)"


def rung_zero_sweep(tmp_path: Path) -> SweepDir:
    """A halving sweep of runs ``a`` and ``b`` whose rung 0 was submitted, with promotion job 41 behind it."""
    plan = HalvingRecord(
        metric="val_accuracy",
        higher_is_better=True,
        min_epochs=1,
        max_epochs=2,
        eta=2,
        epochs=[1, 2],
        rungs=[
            RungRecord(
                rung=0,
                epochs=1,
                runs=["a", "b"],
                submitted_at="2026-01-01T00:00:00+00:00",
                promotion_job={"job_id": "41", "executor": "slurm"},
            )
        ],
    )
    sweep = SweepDir(tmp_path / "hv")
    with sweep.locked():
        sweep.record("imdb", {"a": {"lr": 0.1}, "b": {"lr": 0.2}}, {}, {}, {}, {}, plan)
    return sweep


def test_a_promotion_job_that_finds_its_rung_still_active_re_arms_instead_of_deciding(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A requeued run can still be active when the promotion job starts: it submits a new one behind it, and
    the sweep command does the same when the recorded promotion job is gone; a live one is left to do its work."""
    from jobs.engine import promotion
    from jobs.engine.options import ExecutorOptions

    sweep = rung_zero_sweep(tmp_path)
    monkeypatch.setattr(promotion, "run_states", lambda paths: {str(p): "requeued" for p in paths})
    armed: list[list[str]] = []

    def submit(sweep_: SweepDir, task: str, opts: ExecutorOptions, record: HalvingRecord, waiting: list[Path]) -> dict:
        armed.append(sorted(p.name for p in waiting))
        return {"job_id": str(42 + len(armed)), "executor": "slurm"}

    monkeypatch.setattr(promotion, "_submit_promotion", submit)
    monkeypatch.setattr(
        promotion, "_alive", lambda job, me: job is not None and job["job_id"] != me and job["job_id"] != "41"
    )
    with sweep.locked():
        step = promotion.advance(sweep, ExecutorOptions(executor="slurm"), me="41")  # job 41 itself, as it ends
    assert armed == [["a", "b"]] and step.promotion_job == "43" and step.decided == []
    rung = sweep.halving().rungs[0]
    assert rung.decided_at is None and rung.promotion_job == {"job_id": "43", "executor": "slurm"}
    with sweep.locked():
        again = promotion.advance(sweep, ExecutorOptions(executor="slurm"), me=None)  # 43 is alive: nothing to do
    assert armed == [["a", "b"]] and again.promotion_job == "43"


def stuck_rung(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, states: dict[str, str]) -> tuple[SweepDir, list]:
    """A two-run rung 0 whose runs are in ``states``; what the steps submit is recorded, nothing is started."""
    from jobs.engine import promotion

    sweep = rung_zero_sweep(tmp_path)
    calls: list = []
    monkeypatch.setattr(promotion, "run_states", lambda paths: {str(p): states[p.name] for p in paths})
    monkeypatch.setattr(promotion, "_reached", lambda run, epochs: True)
    monkeypatch.setattr(
        promotion,
        "_submit_runs",
        lambda sweep_, manifest, rung, params, opts, names: (
            calls.append(("runs", sorted(names))) or {name: "7" for name in names}
        ),
    )
    monkeypatch.setattr(
        promotion,
        "_submit_promotion",
        lambda sweep_, task, opts, record, waiting: (
            calls.append(("promotion", sorted(p.name for p in waiting))) or {"job_id": "43", "executor": "slurm"}
        ),
    )
    monkeypatch.setattr(promotion, "_alive", lambda job, me: False)
    return sweep, calls


@pytest.mark.parametrize("left", ["stuck", "missing"])
def test_runs_left_unfinished_are_never_ranked_as_failed_and_the_command_resubmits_them(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    left: str,
) -> None:
    """Local workers die with the session: their runs are stuck, not failed. The promotion job leaves the rung
    undecided (it never resubmits, so nothing loops); the sweep command resubmits them, with a promotion job behind."""
    from jobs.engine import promotion
    from jobs.engine.options import ExecutorOptions

    sweep, calls = stuck_rung(tmp_path, monkeypatch, {"a": "completed", "b": left})
    with sweep.locked():
        step = promotion.advance(sweep, ExecutorOptions(executor="slurm"), me="41")
    assert (step.unfinished, step.decided, calls) == (["b"], [], [])
    assert sweep.halving().rungs[0].decided_at is None
    with sweep.locked():
        step = promotion.advance(sweep, ExecutorOptions(executor="slurm"), me=None)
    assert step.submitted == {"b": "7"} and step.decided == []
    assert calls == [("runs", ["b"]), ("promotion", ["b"])]
    rung = sweep.halving().rungs[0]
    assert rung.decided_at is None and rung.promotion_job == {"job_id": "43", "executor": "slurm"}


def test_a_cancelled_run_pauses_the_sweep_until_the_command_is_given_again(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After ``seqjobs cancel``, the promotion job (and a command waiting with --wait) decides and submits
    nothing, so no next rung starts behind the user's back; the sweep command resubmits the cancelled runs.
    (A rung with cancelled runs has no score for them: ranking it would promote by what happened to finish.)"""
    from jobs.engine import promotion
    from jobs.engine.options import ExecutorOptions

    sweep, calls = stuck_rung(tmp_path, monkeypatch, {"a": "completed", "b": "cancelled"})
    with sweep.locked():
        by_job = promotion.advance(sweep, ExecutorOptions(executor="slurm"), me="41")
    assert (by_job.decided, calls) == ([], []) and by_job.cancelled == ["b"]
    assert promotion.resume(sweep.path, ExecutorOptions(executor="slurm")).cancelled == ["b"] and calls == []
    assert sweep.halving().rungs[0].decided_at is None
    with sweep.locked():
        step = promotion.advance(sweep, ExecutorOptions(executor="slurm"), me=None)
    assert step.submitted == {"b": "7"} and step.decided == []
    assert calls == [("runs", ["b"]), ("promotion", ["b"])]


def test_a_rung_whose_runs_cannot_be_told_waits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``unknown`` (the scheduler did not answer) is neither resubmitted (it may be running) nor ranked."""
    from jobs.engine import promotion
    from jobs.engine.options import ExecutorOptions

    sweep, calls = stuck_rung(tmp_path, monkeypatch, {"a": "completed", "b": "unknown"})
    with sweep.locked():
        step = promotion.advance(sweep, ExecutorOptions(executor="slurm"), me=None)
    assert (step.unknown, step.decided, calls) == (["b"], [], [])
    assert sweep.halving().rungs[0].decided_at is None


def test_an_early_stopped_run_keeps_its_figure_at_the_next_rung(tmp_path: Path) -> None:
    """A run stopped early by --patience is done for any epochs: it is not trained again, and the next rung
    ranks it by the figures it has, not as failed; a run whose new job ended before training is unfinished."""
    from jobs.engine import promotion

    def run(name: str, requested: int, early: bool) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "result.json").write_text(
            json.dumps(
                {
                    "status": "completed",
                    "task": "imdb",
                    "test_accuracy": 0.7,
                    "epochs_requested": requested,
                    "early_stopped": early,
                }
            )
        )
        (folder / "metrics.csv").write_text("epoch,val_accuracy\n1,0.6\n2,0.8\n", encoding="utf-8")
        return folder

    record = HalvingRecord(
        metric="val_accuracy", higher_is_better=True, min_epochs=2, max_epochs=8, eta=2, epochs=[2, 4, 8]
    )
    stopped, short = run("stopped", 2, True), run("short", 2, False)
    assert promotion.rung_score(stopped, "completed", record, 4) == 0.8
    assert not promotion._unfinished(stopped, "completed", 4)
    assert promotion.rung_score(short, "completed", record, 4) is None
    assert promotion._unfinished(short, "completed", 4)


def test_a_stuck_run_of_an_undecided_rung_is_resumed_by_the_sweep_command_not_resubmitted_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``status`` names the sweep command as the fix for a halving run left stuck in an undecided rung, and
    ``resubmit`` refuses such runs in one line: resubmitted alone, a run would train past its rung with no
    decision, outside the search that ranks it."""
    from jobs.engine.control import MISSING, resubmit_runs
    from jobs.monitor import rows as status_rows
    from jobs.monitor import status
    from tests.test_status_rules import Case, make_run

    sweep = rung_zero_sweep(tmp_path)
    make_run(sweep.path / "a", Case("a", "completed", result="completed", recorded="completed", job="local"))
    make_run(sweep.path / "b", Case("b", "stuck", recorded="running", claim="dead", job="local"))
    monkeypatch.setattr(status_rows, "local_job_alive", lambda *args, **kwargs: False)
    rows = {row.run: row for row in status.statuses(sweep.path)}
    assert (rows["b"].state, rows["b"].rung) == ("stuck", "0 training"), rows["b"]
    assert rows["b"].error.endswith(
        "nothing will resume it; run the same `seqjobs sweep` command again: the search resumes it"
    ), rows["b"]
    job = (sweep.path / "b" / "job.json").read_bytes()
    with pytest.raises(UserError, match="is a halving sweep: its runs go on only through the search"):
        resubmit_runs(sweep.path, MISSING)
    assert (sweep.path / "b" / "job.json").read_bytes() == job  # nothing submitted
