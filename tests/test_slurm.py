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

from tests.helpers import REPO, assert_one_line_error, json_lines, seqjobs, wait_until

pytestmark = pytest.mark.slurm

TINY_CHARLM = [
    "--units",
    "16",
    "--maxlen",
    "10",
    "--sample-length",
    "20",
    "--temperatures",
    "0.5",
    "--batch-size",
    "64",
]
#: DefaultTime of the test cluster's partitions (slurm/start-cluster.sh), as sacct prints it
DEFAULT_TIME = {"cpu": "01:00:00", "gpu": "02:00:00"}


def states(root: Path, cwd: Path) -> dict[str, dict]:
    proc = seqjobs("status", str(root), "--json", cwd=cwd, check=True, timeout=120)
    return {r["run"]: r for r in json_lines(proc.stdout)}


def epochs_of(run: Path) -> list[int]:
    path = run / "metrics.csv"
    if not path.exists():
        return []
    return [int(line.split(",")[0]) for line in path.read_text().splitlines()[1:] if line]


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


def read_state(run: Path) -> dict:
    """``state.json`` of a run, ``{}`` before it exists."""
    path = run / "state.json"
    return json.loads(path.read_text()) if path.exists() else {}


def preempt() -> str:
    """Submit a job to the 'urgent' partition that wants every core: it preempts (requeues) cpu jobs."""
    cores = subprocess.run(
        ["sinfo", "-h", "-N", "-o", "%c"], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    cmd = ["sbatch", "--parsable", "-p", "urgent", "-c", cores, "--mem", "500M", "-o", "/dev/null", "--wrap", "sleep 4"]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def job_report(run: Path) -> str:
    """What the run and SLURM say of the run's job, for a failure message."""
    job = json.loads((run / "job.json").read_text())["job_id"]
    scontrol = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True).stdout
    fields = [
        f for f in scontrol.split() if f.split("=")[0] in ("JobState", "Reason", "Restarts", "BatchFlag", "Requeue")
    ]
    return f"state.json: {read_state(run)}; scontrol: {' '.join(fields)}; squeue: {squeue_lines()}"


def squeue_lines() -> str:
    return (
        subprocess.run(["squeue", "-h", "-o", "%i %P %T %r"], capture_output=True, text=True)
        .stdout.strip()
        .replace("\n", " | ")
    )


class Attempts:
    """The attempts of a run, as its ``state.json`` shows them while it runs.

    Each attempt records how many epochs were committed when it started
    (``start_epoch``); the next attempt starts where it ended. Attempts last
    tens of seconds and the tests poll every half second, so none goes unseen.
    """

    def __init__(self, run: Path) -> None:
        self.run = run
        self.starts: dict[int, int] = {}

    def poll(self) -> dict:
        state = read_state(self.run)
        if state.get("attempt"):
            self.starts.setdefault(int(state["attempt"]), int(state.get("start_epoch", 0)))
        return state

    def ended(self) -> bool:
        """``result.json`` says the run ended, and no newer attempt is running."""
        state = self.poll()
        return (self.run / "result.json").exists() and state.get("state") in ("completed", "failed")

    def committed_per_attempt(self, epochs: int) -> list[int]:
        """Epochs each attempt committed, the last one running to ``epochs``."""
        last = max(self.starts)
        assert sorted(self.starts) == list(range(1, last + 1)), f"attempts seen: {self.starts}"
        ends = [self.starts[a + 1] for a in range(1, last)] + [epochs]
        return [end - self.starts[a] for a, end in zip(range(1, last + 1), ends)]


def assert_progress_in_every_attempt(run: Path, attempts: Attempts, epochs: int) -> None:
    """Completed after two attempts or more; each stopped attempt committed an epoch; one row per epoch.

    The last attempt completed the run: it may have had no epoch left to train
    (the one before it committed the last epoch and was stopped while finishing).
    """
    result = json.loads((run / "result.json").read_text())
    assert result["status"] == "completed", result
    assert result["attempt"] == max(attempts.starts) >= 2, (result, attempts.starts)
    progress = attempts.committed_per_attempt(epochs)
    assert all(n >= 1 for n in progress[:-1]), f"epochs committed per attempt: {progress}"
    assert epochs_of(run) == list(range(1, epochs + 1))
    assert read_state(run).get("stalled_attempts", 0) == 0


@pytest.fixture
def text(small_text: Path) -> str:
    return str(small_text)


@pytest.fixture
def training_text(moby_dick: Path, tmp_path: Path) -> str:
    """Enough text that a tiny char-LSTM epoch takes about a second here."""
    path = tmp_path / "train.txt"
    path.write_text(moby_dick.read_text(encoding="utf-8")[:60_000], encoding="utf-8")
    return str(path)


def test_single_jobs_on_cpu_and_gpu_partitions(tmp_path: Path, text: str) -> None:
    seqjobs(
        "submit",
        "markov",
        "--corpus",
        text,
        "--executor",
        "slurm",
        "--partition",
        "cpu",
        "--out",
        "runs/cpu",
        "--wait",
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    seqjobs(
        "submit",
        "markov",
        "--corpus",
        text,
        "--executor",
        "slurm",
        "--partition",
        "gpu",
        "--gpus-per-node",
        "1",
        "--out",
        "runs/gpu",
        "--wait",
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    gpu_state = json.loads((tmp_path / "runs/gpu/state.json").read_text())
    assert gpu_state["cuda_visible_devices"] == "0" and gpu_state["job_id"]
    assert json.loads((tmp_path / "runs/cpu/state.json").read_text()).get("cuda_visible_devices") in (None, "")
    job = json.loads((tmp_path / "runs/gpu/job.json").read_text())
    wait_until(
        lambda: sacct_field(job["job_id"], "Partition") == ["gpu"],
        120,
        what="sacct to list the job on the gpu partition",
    )
    seqjobs("collect", "runs", "-o", "all.csv", cwd=tmp_path, check=True)
    assert len((tmp_path / "all.csv").read_text().splitlines()) == 3  # header + 2 runs


def test_job_without_time_gets_the_partitions_default_time(tmp_path: Path, text: str) -> None:
    """No --time means the partition's DefaultTime: submitit always writes ``#SBATCH --time`` (5 minutes
    unless told), so a job left to it would be stopped after 5 minutes whatever the partition allows."""
    seqjobs(
        "submit",
        "markov",
        "--corpus",
        text,
        "--executor",
        "slurm",
        "--out",
        "runs/dflt",
        "--wait",
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    seqjobs(
        "submit",
        "markov",
        "--corpus",
        text,
        "--executor",
        "slurm",
        "--partition",
        "gpu",
        "--out",
        "runs/gpu",
        "--wait",
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    for run, partition, minutes in (("dflt", "cpu", 60), ("gpu", "gpu", 120)):
        job = json.loads((tmp_path / "runs" / run / "job.json").read_text())
        assert (job["time_limit_min"], job["time_limit_source"]) == (minutes, f"partition {partition} DefaultTime"), job
        wait_until(
            lambda: sacct_field(job["job_id"], "Timelimit") == [DEFAULT_TIME[partition]],
            60,
            what=f"sacct to show the {partition} job's time limit as {DEFAULT_TIME[partition]}",
        )
    with_time = tmp_path / "runs/own"
    seqjobs(
        "submit",
        "markov",
        "--corpus",
        text,
        "--executor",
        "slurm",
        "--time",
        "7",
        "--out",
        str(with_time),
        "--wait",
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    job = json.loads((with_time / "job.json").read_text())
    assert (job["time_limit_min"], job["time_limit_source"]) == (7, "--time")
    wait_until(
        lambda: sacct_field(job["job_id"], "Timelimit") == ["00:07:00"], 60, what="sacct to show the 7-minute limit"
    )


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
        seen.append(sorted(r["state"] for r in states(sweep, tmp_path).values()))
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
    assert all(r["state"] == "completed" for r in states(tmp_path / "runs/big", tmp_path).values())


def test_failed_run_shows_its_error_and_resubmit_completes_it(tmp_path: Path) -> None:
    broken = tmp_path / "broken.txt"
    broken.write_text("", encoding="utf-8")
    seqjobs(
        "submit",
        "markov",
        "--corpus",
        str(broken),
        "--executor",
        "slurm",
        "--out",
        "runs/f",
        "--wait",
        cwd=tmp_path,
        timeout=120,
    )
    row = states(tmp_path / "runs/f", tmp_path)["f"]
    assert row["state"] == "failed" and "empty" in row["error"]
    broken.write_text("enough text to fit a chain on, really. " * 40, encoding="utf-8")
    seqjobs("resubmit", "runs/f", "--failed", "--wait", cwd=tmp_path, check=True, timeout=120)
    assert states(tmp_path / "runs/f", tmp_path)["f"]["state"] == "completed"


def test_preempted_run_checkpoints_requeues_and_finishes_every_epoch_once(tmp_path: Path, training_text: str) -> None:
    """The run is preempted after its first epoch and must finish in a later attempt, each epoch once.

    The preemption has to reach the job before the run ends by itself, and
    how long SLURM takes to preempt is not ours to set: 40 epochs (about a
    second each here) leave it far more time than the few seconds it needs,
    and a run that still ends first says so instead of timing out.
    """
    epochs = 40
    seqjobs(
        "submit",
        "charlm",
        "--corpus",
        training_text,
        "--epochs",
        str(epochs),
        *TINY_CHARLM,
        "--executor",
        "slurm",
        "--partition",
        "cpu",
        "--cpus-per-task",
        "1",
        "--mem",
        "1500M",
        "--out",
        "runs/pre",
        cwd=tmp_path,
        check=True,
    )
    run = tmp_path / "runs/pre"
    attempts = Attempts(run)
    wait_until(lambda: attempts.poll().get("epochs_committed", 0) >= 1, 300, what="the first committed epoch")
    urgent = preempt()

    def requeued() -> bool:
        state = attempts.poll()
        assert state.get("state") != "completed", f"the run completed before the preemption reached it: {state}"
        return state.get("attempt", 1) >= 2

    wait_until(requeued, 300, what=lambda: f"the requeued attempt; {job_report(run)}")
    wait_until(attempts.ended, 600, what="the run to end")
    assert_progress_in_every_attempt(run, attempts, epochs)
    assert states(run, tmp_path)["pre"]["state"] == "completed"
    wait_until(
        lambda: sacct_field(urgent, "State") == ["COMPLETED"], 60, what="sacct to record the urgent job completed"
    )


def test_time_limit_requeues_and_resumes(tmp_path: Path, training_text: str) -> None:
    """A run stopped by its time limit resumes where it was, every attempt committing an epoch: a training
    longer than the time limit completes as long as one epoch fits in it.

    With ``--time 2 --signal-delay 20`` SLURM signals each attempt 70 to 100 s
    after it starts (it sends ``--signal`` up to 30 s early): time for any
    machine to start TensorFlow and commit an epoch, and the 80 epochs (about
    2 s each on this project's 2-core machines) need two attempts or more.
    Nothing is timed: a slower machine only makes more attempts.
    """
    text = tmp_path / "long.txt"
    text.write_text(Path(training_text).read_text(encoding="utf-8") * 3, encoding="utf-8")
    seqjobs(
        "submit",
        "charlm",
        "--corpus",
        str(text),
        "--epochs",
        "80",
        *TINY_CHARLM,
        "--executor",
        "slurm",
        "--time",
        "2",
        "--signal-delay",
        "20",
        "--out",
        "runs/tl",
        cwd=tmp_path,
        check=True,
    )
    run = tmp_path / "runs/tl"
    attempts = Attempts(run)
    wait_until(attempts.ended, 3600, what="the run to end")
    assert_progress_in_every_attempt(run, attempts, 80)


def test_three_preemptions_before_the_first_commit_do_not_fail_the_run(tmp_path: Path, moby_dick: Path) -> None:
    """Three preemptions in a row, each long before the first epoch (all of Moby-Dick) ends, with the default
    --max-stalled of 3: a preemption is not the time limit, so the run is requeued each time and completes.
    (Time limits that no epoch fits still fail a run: tests/test_jobs.py, with a real local time limit.)"""
    seqjobs(
        "submit",
        "charlm",
        "--corpus",
        str(moby_dick),
        "--epochs",
        "1",
        *TINY_CHARLM,
        "--executor",
        "slurm",
        "--partition",
        "cpu",
        "--cpus-per-task",
        "1",
        "--mem",
        "1500M",
        "--out",
        "runs/st",
        cwd=tmp_path,
        check=True,
    )
    run = tmp_path / "runs/st"
    for attempt in (1, 2, 3):
        wait_until(
            lambda: read_state(run).get("attempt") == attempt and read_state(run).get("state") == "running",
            300,
            what=f"attempt {attempt} to run",
        )
        preempt()
        wait_until(lambda: read_state(run).get("state") != "running", 120, what=f"attempt {attempt} to stop")
        assert read_state(run).get("epochs_committed", 0) == 0
    wait_until(lambda: (run / "result.json").exists(), 900, what="the run's result")
    result = json.loads((run / "result.json").read_text())
    assert result["status"] == "completed" and result["attempt"] == 4, result
    assert epochs_of(run) == [1]
    state = read_state(run)
    assert state["requeues"] == 3 and state["stalled_attempts"] == 0
    assert states(run, tmp_path)["st"]["state"] == "completed"


def test_scancel_is_reported_cancelled_and_its_clock_stops(tmp_path: Path, training_text: str) -> None:
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
        "runs/sc",
        cwd=tmp_path,
        check=True,
    )
    run = tmp_path / "runs/sc"
    wait_until(lambda: (run / "state.json").exists(), 300, what="the job to start")
    job = json.loads((run / "job.json").read_text())["job_id"]
    subprocess.run(["scancel", job], check=True)
    # status must learn it from the scheduler without hanging (submitit alone waits forever)
    wait_until(lambda: states(run, tmp_path)["sc"]["state"] == "cancelled", 120, what="status to say cancelled")
    first = states(run, tmp_path)["sc"]["elapsed_s"]
    time.sleep(2)
    assert states(run, tmp_path)["sc"]["elapsed_s"] == first  # the clock stopped at the cancel


def test_status_without_sacct_uses_squeue_and_folders(tmp_path: Path, text: str, training_text: str) -> None:
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
        rows = states(tmp_path / "runs", tmp_path)
        assert rows["done"]["state"] == "completed"  # from the run folder
        assert rows["live"]["state"] == "running"  # from squeue
    finally:
        subprocess.run(["bash", str(REPO / "slurm/start-slurmdbd.sh")], check=True)
        seqjobs("cancel", "runs/live", cwd=tmp_path)
    assert states(tmp_path / "runs", tmp_path)["live"]["state"] == "cancelled"
