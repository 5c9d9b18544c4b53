"""Packed runs on the real test cluster: ``--runs-per-task K`` puts K runs into one array task.

Marked ``slurm`` (skipped without a cluster unless ``SEQJOBS_REQUIRE_SLURM=1``: tests/conftest.py).
The runs of a task run one after another in one process; each keeps its own
folder, state and result, a failure stops only its own run, ``status`` reads
the runs the task has not reached as pending, and a preempted task resumes
its unfinished runs only. Nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import preempt_cpu_jobs, read_state, seqjobs, status_rows, wait_until
from tests.test_slurm import sacct_field

pytestmark = pytest.mark.slurm


def job_ids(sweep: Path) -> dict[str, str]:
    """Run name -> the job id its ``job.json`` names."""
    return {
        run.name: json.loads((run / "job.json").read_text())["job_id"]
        for run in sweep.iterdir()
        if (run / "job.json").exists()
    }


def test_a_packed_task_runs_each_run_in_its_own_folder_and_keeps_going_past_a_failure(
    tmp_path: Path, small_text: Path
) -> None:
    """Six runs, three per task: two array tasks; the empty corpus fails its own run only."""
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    seqjobs(
        "sweep",
        "markov",
        "--grid",
        f"corpus={small_text},{empty}",
        "--grid",
        "order=1,2,3",
        "--executor",
        "slurm",
        "--runs-per-task",
        "3",
        "--name",
        "pk",
        "--wait",
        cwd=tmp_path,
        timeout=300,
    )
    sweep = tmp_path / "runs/pk"
    ids = job_ids(sweep)
    assert len(ids) == 6 and len(set(ids.values())) == 2, ids  # two tasks of one array
    rows = status_rows(sweep, tmp_path)
    for name, row in rows.items():
        result = json.loads((sweep / name / "result.json").read_text())
        if "empty.txt" in name:
            assert row["state"] == "failed" and "empty" in row["error"], row
            assert result["status"] == "failed"
        else:
            assert row["state"] == "completed" and result["status"] == "completed", row
        assert read_state(sweep / name)["job_id"] == ids[name]
    for job in set(ids.values()):  # a packed task records its runs' failures, it does not fail itself
        wait_until(lambda: sacct_field(job, "State") == ["COMPLETED"], 60, what=f"sacct to say task {job} COMPLETED")
    seqjobs("collect", str(sweep), "-o", "pk.csv", cwd=tmp_path, check=True)
    assert len((tmp_path / "pk.csv").read_text().splitlines()) == 1 + 3


def test_runs_a_packed_task_has_not_reached_read_pending(tmp_path: Path, small_text: Path) -> None:
    """One task of three slow runs: while it works on one, the others are pending (or completed), never anything else."""
    seqjobs(
        "sweep",
        "markov",
        "--corpus",
        str(small_text),
        "--length",
        "6000000",
        "--grid",
        "order=1,2,3",
        "--executor",
        "slurm",
        "--runs-per-task",
        "3",
        "--name",
        "slow",
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    sweep = tmp_path / "runs/slow"
    seen: list[list[str]] = []

    def all_completed() -> bool:
        seen.append(sorted(r["state"] for r in status_rows(sweep, tmp_path).values()))
        assert set(seen[-1]) <= {"pending", "running", "completed"} and seen[-1].count("running") <= 1, seen
        return seen[-1] == ["completed"] * 3

    wait_until(all_completed, 300, interval=0.2, what=lambda: f"the task's three runs to complete (seen: {seen})")
    assert ["completed", "pending", "running"] in seen or ["completed", "completed", "running"] in seen, seen


def test_a_preempted_packed_task_resumes_its_unfinished_runs_only(tmp_path: Path, small_text: Path) -> None:
    """Preempted once its second run has started: the first stays as it ended, the run it was on runs again, any other once."""
    seqjobs(
        "sweep",
        "markov",
        "--corpus",
        str(small_text),
        "--length",
        "10000000",
        "--grid",
        "order=1,2,3",
        "--executor",
        "slurm",
        "--partition",
        "cpu",
        "--runs-per-task",
        "3",
        "--name",
        "pre",
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    runs = [tmp_path / f"runs/pre/order={n}" for n in (1, 2, 3)]
    wait_until(lambda: read_state(runs[1]).get("state") == "running", 300, interval=0.2, what="the second run to start")
    ended = (runs[0] / "result.json").read_text()
    preempt_cpu_jobs()
    wait_until(
        lambda: all(read_state(run).get("state") == "completed" for run in runs),
        300,
        interval=0.2,
        what=lambda: f"every run to complete (states: {[read_state(run) for run in runs]})",
    )
    assert (runs[0] / "result.json").read_text() == ended and read_state(runs[0])["attempt"] == 1  # not run again
    attempts = [read_state(run)["attempt"] for run in runs[1:]]
    assert sorted(attempts) == [1, 2], attempts  # the run it was on (the second, or the third) ran again
    assert {row["state"] for row in status_rows(tmp_path / "runs/pre", tmp_path).values()} == {"completed"}


def test_cancelling_runs_of_a_packed_task_stops_only_those_runs(tmp_path: Path, small_text: Path) -> None:
    """Three slow runs in one task: cancel the run it is on and one it has not reached. The task goes on with
    the third, skips the cancelled one, and is not cancelled itself; the cancelled runs stay resumable."""
    seqjobs(
        "sweep",
        "markov",
        "--corpus",
        str(small_text),
        "--length",
        "6000000",
        "--grid",
        "order=1,2,3",
        "--executor",
        "slurm",
        "--runs-per-task",
        "3",
        "--name",
        "cx",
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    sweep = tmp_path / "runs/cx"
    runs = {n: sweep / f"order={n}" for n in (1, 2, 3)}
    wait_until(lambda: read_state(runs[1]).get("state") == "running", 300, interval=0.2, what="the first run to start")
    for n in (1, 3):
        assert "cancelled 1 run under" in seqjobs("cancel", str(runs[n]), cwd=tmp_path, check=True).stdout
    wait_until(
        lambda: read_state(runs[2]).get("state") == "completed",
        300,
        interval=0.2,
        what=lambda: f"the second run to complete (states: {[read_state(run) for run in runs.values()]})",
    )
    rows = status_rows(sweep, tmp_path)
    assert {name: row["state"] for name, row in rows.items()} == {
        "order=1": "cancelled",
        "order=2": "completed",
        "order=3": "cancelled",
    }
    [task] = set(job_ids(sweep).values())
    wait_until(lambda: sacct_field(task, "State") == ["COMPLETED"], 60, what=f"sacct to say task {task} COMPLETED")
    assert not (runs[1] / "result.json").exists() and not (runs[1] / "claim.json").exists()  # stopped, resumable
    assert sorted(p.name for p in runs[3].iterdir()) == ["cancel.json", "config.json", "job.json"]  # never started


def test_a_packed_task_on_two_gpus_runs_two_at_a_time_each_on_one_gpu(tmp_path: Path, small_text: Path) -> None:
    """Four runs in one task with the test cluster's two (stand-in) GPUs: two workers, one device each."""
    seqjobs(
        "sweep",
        "markov",
        "--corpus",
        str(small_text),
        "--length",
        "6000000",
        "--grid",
        "order=1,2,3,4",
        "--executor",
        "slurm",
        "--partition",
        "gpu",
        "--gpus-per-node",
        "2",
        "--runs-per-task",
        "4",
        "--name",
        "gp",
        "--wait",
        cwd=tmp_path,
        check=True,
        timeout=300,
    )
    sweep = tmp_path / "runs/gp"
    assert len(set(job_ids(sweep).values())) == 1
    seen = {n: read_state(sweep / f"order={n}") for n in (1, 2, 3, 4)}
    assert {n: s["cuda_visible_devices"] for n, s in seen.items()} == {1: "0", 2: "1", 3: "0", 4: "1"}, seen
    assert seen[1]["started_at"] < seen[2]["ended_at"] and seen[2]["started_at"] < seen[1]["ended_at"], (
        seen
    )  # side by side
    assert {row["state"] for row in status_rows(sweep, tmp_path).values()} == {"completed"}


def test_a_preempted_task_on_two_gpus_resumes_the_runs_it_was_on(tmp_path: Path, small_text: Path) -> None:
    """Preempted while its workers run: the runs they were on run again, the others once."""
    seqjobs(
        "sweep",
        "markov",
        "--corpus",
        str(small_text),
        "--length",
        "10000000",
        "--grid",
        "order=1,2,3,4",
        "--executor",
        "slurm",
        "--partition",
        "gpu",
        "--gpus-per-node",
        "2",
        "--runs-per-task",
        "4",
        "--name",
        "gpre",
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    runs = [tmp_path / f"runs/gpre/order={n}" for n in (1, 2, 3, 4)]
    wait_until(
        lambda: all(read_state(run).get("state") == "running" for run in runs[:2]),
        300,
        interval=0.2,
        what="both workers to start their first run",
    )
    preempt_cpu_jobs()
    wait_until(
        lambda: all(read_state(run).get("state") == "completed" for run in runs),
        600,
        interval=0.5,
        what=lambda: f"every run to complete (states: {[read_state(run).get('state') for run in runs]})",
    )
    attempts = [read_state(run)["attempt"] for run in runs]
    assert set(attempts) == {1, 2} and attempts.count(2) <= 2, attempts  # at most one run per worker ran again
    assert {row["state"] for row in status_rows(tmp_path / "runs/gpre", tmp_path).values()} == {"completed"}
