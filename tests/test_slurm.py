"""seqjobs against a real single-host SLURM cluster (``bash slurm/start-cluster.sh``).

Marked ``slurm``. Without a cluster these tests skip (tests/conftest.py), unless
``SEQJOBS_REQUIRE_SLURM=1`` (set by tests/run.sh, which starts the cluster):
then a missing cluster is a failure, never a silent skip.

Nothing here depends on how fast the machine is: waits are generous upper
bounds for hangs, and the requeue tests check what each attempt achieved
(at least one committed epoch), never how long it took.
"""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.helpers import (
    REPO,
    TINY_CHARLM,
    assert_one_line_error,
    epochs_of,
    read_state,
    seqjobs,
    status_rows,
    wait_until,
)

pytestmark = pytest.mark.slurm

#: DefaultTime of the test cluster's partitions (slurm/start-cluster.sh), as sacct prints it
DEFAULT_TIME = {"cpu": "01:00:00", "gpu": "02:00:00"}


def sacct_times(job: str) -> list[tuple[str, datetime, datetime]]:
    out = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-o", "JobID,Start,End", "-j", job], capture_output=True, text=True, check=True
    ).stdout
    rows = []
    for line in out.splitlines():
        jid, start, end = line.split("|")
        try:
            rows.append((jid, datetime.fromisoformat(start), datetime.fromisoformat(end)))
        except ValueError:  # "Unknown": not yet recorded by slurmdbd
            continue
    return rows


def sacct_field(job: str, field: str) -> list[str]:
    """One sacct column of a job (array elements included), as slurmdbd has it now."""
    out = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-o", field, "-j", job], capture_output=True, text=True, check=True
    ).stdout
    return out.split()


@pytest.fixture
def text(small_text: Path) -> str:
    return str(small_text)


@pytest.fixture
def training_text(moby_dick: Path, tmp_path: Path) -> str:
    """Enough text that a tiny char-LSTM epoch takes about a second here."""
    path = tmp_path / "train.txt"
    path.write_text(moby_dick.read_text(encoding="utf-8")[:60_000], encoding="utf-8")
    return str(path)


def test_jobs_get_their_partitions_default_time_and_gpu_jobs_see_their_gpu(tmp_path: Path, text: str) -> None:
    """No --time means the partition's DefaultTime: submitit always writes ``#SBATCH --time`` (5 minutes
    unless told), so a job left to it would be stopped after 5 minutes whatever the partition allows. A job
    on the gpu partition with --gpus-per-node 1 sees its GPU; one on cpu sees none; all are collected."""
    submit = ["submit", "markov", "--corpus", text, "--executor", "slurm", "--wait"]
    seqjobs(*submit, "--out", "runs/dflt", cwd=tmp_path, check=True, timeout=120)
    seqjobs(
        *submit,
        "--partition",
        "gpu",
        "--gpus-per-node",
        "1",
        "--out",
        "runs/gpu",
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    seqjobs(*submit, "--time", "7", "--out", "runs/own", cwd=tmp_path, check=True, timeout=120)
    gpu_state = read_state(tmp_path / "runs/gpu")
    assert gpu_state["cuda_visible_devices"] == "0" and gpu_state["job_id"]
    assert read_state(tmp_path / "runs/dflt").get("cuda_visible_devices") in (None, "")
    expected = {
        "dflt": ("cpu", 60, "partition cpu DefaultTime", DEFAULT_TIME["cpu"]),
        "gpu": ("gpu", 120, "partition gpu DefaultTime", DEFAULT_TIME["gpu"]),
        "own": ("cpu", 7, "--time", "00:07:00"),
    }
    for run, (partition, minutes, source, timelimit) in expected.items():
        job = json.loads((tmp_path / "runs" / run / "job.json").read_text())
        assert (job["time_limit_min"], job["time_limit_source"]) == (minutes, source), job
        wait_until(
            lambda: (
                (sacct_field(job["job_id"], "Partition"), sacct_field(job["job_id"], "Timelimit"))
                == ([partition], [timelimit])
            ),
            120,
            what=f"sacct to list job {job['job_id']} on {partition} with the time limit {timelimit}",
        )
    seqjobs("collect", "runs", "-o", "all.csv", cwd=tmp_path, check=True)
    assert len((tmp_path / "all.csv").read_text().splitlines()) == 4  # header + 3 runs


def test_partition_without_time_limits_is_one_error_and_submits_nothing(tmp_path: Path, text: str) -> None:
    """The 'nolimit' partition has neither DefaultTime nor MaxTime: ask for --time, change nothing."""
    work = tmp_path / "work"
    work.mkdir()
    since = datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
    proc = seqjobs(
        "submit",
        "markov",
        "--corpus",
        text,
        "--executor",
        "slurm",
        "--partition",
        "nolimit",
        "--out",
        "runs/nl",
        cwd=work,
    )
    assert_one_line_error(proc, "nolimit", "--time")
    proc = seqjobs(
        "sweep",
        "markov",
        "--corpus",
        text,
        "--grid",
        "order=1,2",
        "--executor",
        "slurm",
        "--partition",
        "nolimit",
        "--name",
        "nl",
        cwd=work,
    )
    assert_one_line_error(proc, "nolimit", "--time")
    assert list(work.iterdir()) == []
    time.sleep(1)  # anything submitted would be in squeue by now
    assert subprocess.run(["squeue", "-h", "-p", "nolimit"], capture_output=True, text=True, check=True).stdout == ""
    sacct = ["sacct", "-X", "-n", "-P", "-o", "JobID", "-r", "nolimit", "-S", since]
    assert subprocess.run(sacct, capture_output=True, text=True, check=True).stdout == ""
    seqjobs(
        "submit",
        "markov",
        "--corpus",
        text,
        "--executor",
        "slurm",
        "--partition",
        "nolimit",
        "--time",
        "5",
        "--out",
        "runs/nl",
        "--wait",
        cwd=work,
        check=True,
        timeout=120,
    )


def test_pending_array_tasks_read_pending(tmp_path: Path, text: str) -> None:
    """With --array-parallelism 1 the waiting elements are pending, never unknown: a sweep that is only
    throttled must not look as if its runs were lost."""
    seqjobs(
        "sweep",
        "markov",
        "--corpus",
        text,
        "--length",
        "8000000",
        "--grid",
        "order=1,2,3,4",
        "--executor",
        "slurm",
        "--array-parallelism",
        "1",
        "--name",
        "pa",
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    sweep = tmp_path / "runs/pa"
    seen: list[list[str]] = []

    def all_completed() -> bool:
        seen.append(sorted(r["state"] for r in status_rows(sweep, tmp_path).values()))
        return seen[-1] == ["completed"] * 4

    wait_until(all_completed, 900, what="every run of the sweep to complete")
    assert not any("unknown" in polled for polled in seen), seen
    # one element at a time: the first look, within seconds of submitting, finds at most one ended and one running
    assert seen[0].count("pending") >= 2, seen
    assert any(polled.count("running") == 1 and polled.count("pending") >= 1 for polled in seen), seen
    assert max(polled.count("running") for polled in seen) == 1, seen


def test_sweep_is_one_array_never_more_than_two_at_once(tmp_path: Path, text: str) -> None:
    # sampling 6M characters keeps each run busy for a few seconds, so overlaps are visible
    seqjobs(
        "sweep",
        "markov",
        "--corpus",
        text,
        "--length",
        "6000000",
        "--grid",
        "order=1,2,3",
        "--seeds",
        "2",
        "--executor",
        "slurm",
        "--array-parallelism",
        "2",
        "--name",
        "ap",
        "--wait",
        cwd=tmp_path,
        check=True,
        timeout=300,
    )
    manifest = json.loads((tmp_path / "runs/ap/sweep.json").read_text())
    bases = {r["job_id"].split("_")[0] for r in manifest["runs"]}
    assert len(bases) == 1, bases  # one job array
    base = bases.pop()
    elements = lambda: [r for r in sacct_times(base) if "_" in r[0] and "[" not in r[0]]  # noqa: E731
    wait_until(lambda: len(elements()) == 6, 60, what="sacct to record all 6 array tasks")  # slurmdbd lags a little
    rows = elements()
    peak = max(sum(1 for _, s, e in rows if s <= t < e) for _, t, _ in rows)
    assert 1 <= peak <= 2, rows  # never more than two at once (whether two overlap depends on the machine's pace)


def test_sweep_larger_than_max_array_size_is_split(tmp_path: Path, text: str) -> None:
    max_array = int(
        subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True)
        .stdout.split("MaxArraySize")[1]
        .split("=")[1]
        .split()[0]
    )
    orders = ",".join(str(i) for i in range(1, 11))
    seqjobs(
        "sweep",
        "markov",
        "--corpus",
        text,
        "--grid",
        f"order={orders}",
        "--grid",
        "level=char,word",
        "--executor",
        "slurm",
        "--name",
        "big",
        "--wait",
        cwd=tmp_path,
        check=True,
        timeout=300,
    )
    manifest = json.loads((tmp_path / "runs/big/sweep.json").read_text())
    assert len(manifest["runs"]) == 20 > max_array
    assert len({r["job_id"].split("_")[0] for r in manifest["runs"]}) == -(-20 // max_array)
    assert all(r["state"] == "completed" for r in status_rows(tmp_path / "runs/big", tmp_path).values())


def test_time_limit_requeues_and_resumes(tmp_path: Path, training_text: str) -> None:
    """A run stopped by its time limit is requeued and resumes where it was: its first attempt commits
    epochs until SLURM signals it ahead of the limit, the next one starts from that commit and commits more,
    and no epoch is trained twice.

    With ``--time 2 --signal-delay 50`` SLURM signals each attempt 40 to 70 s
    after it starts (it sends ``--signal`` up to 30 s early): time for any
    machine to start TensorFlow and commit an epoch. The training asked for
    is longer than any machine trains in one attempt, so nothing depends on
    the machine's speed: once the second attempt has committed an epoch the
    run is cancelled. (That a requeued run goes on to complete is the
    preemption tests' business: a time limit and a preemption requeue the
    same way, and only the timed-out attempt's stalled count differs.)
    """
    text = tmp_path / "long.txt"
    text.write_text(Path(training_text).read_text(encoding="utf-8") * 3, encoding="utf-8")
    seqjobs(
        "submit",
        "charlm",
        "--corpus",
        str(text),
        "--epochs",
        "100000",
        *TINY_CHARLM,
        "--executor",
        "slurm",
        "--time",
        "2",
        "--signal-delay",
        "50",
        "--out",
        "runs/tl",
        cwd=tmp_path,
        check=True,
    )
    run = tmp_path / "runs/tl"

    def second_attempt_committed() -> bool:
        state = read_state(run)
        return state.get("attempt") == 2 and state.get("epochs_committed", 0) > state.get("start_epoch", 0)

    wait_until(second_attempt_committed, 900, what="the second attempt to commit an epoch")
    seqjobs("cancel", "runs/tl", cwd=tmp_path, check=True)
    wait_until(lambda: read_state(run).get("state") == "cancelled", 120, what="the cancel to reach the run")
    state = read_state(run)
    first, second = state["history"]
    assert (first["attempt"], first["outcome"], first["start_epoch"]) == (1, "requeued", 0), first
    assert first["end_epoch"] >= 1, f"the first attempt committed no epoch: {first}"
    assert second["attempt"] == 2 and second["start_epoch"] == first["end_epoch"] < second["end_epoch"], second
    assert second["outcome"] == "cancelled", second
    assert epochs_of(run) == list(range(1, second["end_epoch"] + 1))
    assert state.get("stalled_attempts", 0) == 0
    logs = "".join(p.read_text(errors="replace") for p in run.rglob("*.err"))  # submitit says why it was signalled
    assert "this job is timed-out" in logs, "the first attempt was stopped, but not by its time limit"


def test_status_without_sacct_uses_squeue_and_folders_and_learns_of_a_scancel(
    tmp_path: Path, text: str, training_text: str
) -> None:
    """With slurmdbd down, status reads an ended run from its folder and a live one from squeue; once the live
    one is stopped by ``scancel`` (not ``seqjobs cancel``: its folder still says running), status learns it from
    the scheduler, without hanging, and its clock stops at the cancel."""
    seqjobs(
        "submit",
        "markov",
        "--corpus",
        text,
        "--executor",
        "slurm",
        "--out",
        "runs/done",
        "--wait",
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    seqjobs(
        "submit",
        "charlm",
        "--corpus",
        training_text,
        "--epochs",
        "200",
        *TINY_CHARLM,
        "--executor",
        "slurm",
        "--out",
        "runs/live",
        cwd=tmp_path,
        check=True,
    )
    wait_until(lambda: (tmp_path / "runs/live/state.json").exists(), 300, what="the job to start")
    subprocess.run(["bash", str(REPO / "slurm/stop-slurmdbd.sh")], check=True)
    try:
        assert subprocess.run(["sacct", "-n", "-X"], capture_output=True, text=True).returncode != 0
        rows = status_rows(tmp_path / "runs", tmp_path)
        assert rows["done"]["state"] == "completed"  # from the run folder
        assert rows["live"]["state"] == "running"  # from squeue
    finally:
        subprocess.run(["bash", str(REPO / "slurm/start-slurmdbd.sh")], check=True)
    live = tmp_path / "runs/live"
    subprocess.run(["scancel", json.loads((live / "job.json").read_text())["job_id"]], check=True)
    # status must learn it from the scheduler without hanging (submitit alone waits forever)
    wait_until(lambda: status_rows(live, tmp_path)["live"]["state"] == "cancelled", 120, what="status to say cancelled")
    first = status_rows(live, tmp_path)["live"]["elapsed_s"]
    time.sleep(2)  # the clock must not move: only time passing can show it
    assert status_rows(live, tmp_path)["live"]["elapsed_s"] == first  # the clock stopped at the cancel
