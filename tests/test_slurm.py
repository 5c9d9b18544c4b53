"""seqjobs against a real single-host SLURM cluster (``bash slurm/start-cluster.sh``).

Marked ``slurm``. Without a cluster these tests skip, unless
``SEQJOBS_REQUIRE_SLURM=1`` (set by tests/run.sh, which starts the cluster):
then a missing cluster is a failure, never a silent skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Callable

import pytest

from tests.helpers import REPO, seqjobs

pytestmark = pytest.mark.slurm

if not shutil.which("sbatch") and os.environ.get("SEQJOBS_REQUIRE_SLURM") != "1":
    pytest.skip("no SLURM cluster here (start one: bash slurm/start-cluster.sh)", allow_module_level=True)

TINY_CHARLM = ["--units", "16", "--maxlen", "10", "--sample-length", "20", "--temperatures", "0.5", "--batch-size", "64"]


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` every half second; fail with ``what`` after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def states(root: Path, cwd: Path) -> dict[str, dict]:
    proc = seqjobs("status", str(root), "--json", cwd=cwd, check=True, timeout=60)
    return {r["run"]: r for r in json.loads(proc.stdout)}


def epochs_of(run: Path) -> list[int]:
    path = run / "metrics.csv"
    if not path.exists():
        return []
    return [int(line.split(",")[0]) for line in path.read_text().splitlines()[1:] if line]


def sacct_times(job: str) -> list[tuple[str, datetime, datetime]]:
    out = subprocess.run(["sacct", "-X", "-n", "-P", "-o", "JobID,Start,End", "-j", job], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        jid, start, end = line.split("|")
        try:
            rows.append((jid, datetime.fromisoformat(start), datetime.fromisoformat(end)))
        except ValueError:  # "Unknown": not yet recorded by slurmdbd
            continue
    return rows


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
    seqjobs("submit", "markov", "--corpus", text, "--executor", "slurm", "--partition", "cpu", "--out", "runs/cpu", "--wait", cwd=tmp_path, check=True, timeout=120)
    seqjobs("submit", "markov", "--corpus", text, "--executor", "slurm", "--partition", "gpu", "--gpus-per-node", "1",
            "--out", "runs/gpu", "--wait", cwd=tmp_path, check=True, timeout=120)
    gpu_state = json.loads((tmp_path / "runs/gpu/state.json").read_text())
    assert gpu_state["cuda_visible_devices"] == "0" and gpu_state["slurm_job_id"]
    assert json.loads((tmp_path / "runs/cpu/state.json").read_text()).get("cuda_visible_devices") in (None, "")
    job = json.loads((tmp_path / "runs/gpu/job.json").read_text())
    partition = lambda: subprocess.run(["sacct", "-X", "-n", "-P", "-o", "Partition", "-j", job["job_id"]], capture_output=True, text=True).stdout.split()  # noqa: E731
    wait_until(lambda: partition() == ["gpu"], 30, "sacct to list the job on the gpu partition")
    seqjobs("collect", "runs", "-o", "all.csv", cwd=tmp_path, check=True)
    assert len((tmp_path / "all.csv").read_text().splitlines()) == 3  # header + 2 runs


def test_sweep_is_one_array_never_more_than_two_at_once(tmp_path: Path, text: str) -> None:
    # sampling 6M characters keeps each run busy for a few seconds, so overlaps are visible
    seqjobs("sweep", "markov", "--corpus", text, "--length", "6000000", "--grid", "order=1,2,3", "--seeds", "2",
            "--executor", "slurm", "--array-parallelism", "2", "--name", "ap", "--wait", cwd=tmp_path, check=True, timeout=300)
    manifest = json.loads((tmp_path / "runs/ap/sweep.json").read_text())
    bases = {r["job_id"].split("_")[0] for r in manifest["runs"]}
    assert len(bases) == 1, bases  # one job array
    base = bases.pop()
    elements = lambda: [r for r in sacct_times(base) if "_" in r[0] and "[" not in r[0]]  # noqa: E731
    wait_until(lambda: len(elements()) == 6, 60, "sacct to record all 6 array tasks")  # slurmdbd lags a little
    rows = elements()
    peak = max(sum(1 for _, s, e in rows if s <= t < e) for _, t, _ in rows)
    assert peak == 2, rows


def test_sweep_larger_than_max_array_size_is_split(tmp_path: Path, text: str) -> None:
    max_array = int(subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True).stdout.split("MaxArraySize")[1].split("=")[1].split()[0])
    orders = ",".join(str(i) for i in range(1, 11))
    seqjobs("sweep", "markov", "--corpus", text, "--grid", f"order={orders}", "--grid", "level=char,word",
            "--executor", "slurm", "--name", "big", "--wait", cwd=tmp_path, check=True, timeout=300)
    manifest = json.loads((tmp_path / "runs/big/sweep.json").read_text())
    assert len(manifest["runs"]) == 20 > max_array
    assert len({r["job_id"].split("_")[0] for r in manifest["runs"]}) == -(-20 // max_array)
    assert all(r["state"] == "completed" for r in states(tmp_path / "runs/big", tmp_path).values())


def test_failed_run_shows_its_error_and_resubmit_completes_it(tmp_path: Path) -> None:
    broken = tmp_path / "broken.txt"
    broken.write_text("", encoding="utf-8")
    seqjobs("submit", "markov", "--corpus", str(broken), "--executor", "slurm", "--out", "runs/f", "--wait", cwd=tmp_path, timeout=120)
    row = states(tmp_path / "runs/f", tmp_path)["f"]
    assert row["state"] == "failed" and "empty" in row["error"]
    broken.write_text("enough text to fit a chain on, really. " * 40, encoding="utf-8")
    seqjobs("resubmit", "runs/f", "--failed", "--wait", cwd=tmp_path, check=True, timeout=120)
    assert states(tmp_path / "runs/f", tmp_path)["f"]["state"] == "completed"


def test_preempted_run_checkpoints_requeues_and_finishes_every_epoch_once(tmp_path: Path, training_text: str) -> None:
    seqjobs("submit", "charlm", "--corpus", training_text, "--epochs", "8", *TINY_CHARLM, "--executor", "slurm",
            "--partition", "cpu", "--cpus-per-task", "1", "--mem", "1500M", "--out", "runs/pre", cwd=tmp_path, check=True)
    run = tmp_path / "runs/pre"
    wait_until(lambda: (run / "checkpoints/state.json").exists(), 180, "the first epoch checkpoint")
    # the urgent partition preempts: a job there wants every core of the node
    urgent = subprocess.run(["sbatch", "--parsable", "-p", "urgent", "-c", "2", "--mem", "500M", "-o", "/dev/null", "--wrap", "sleep 4"],
                            capture_output=True, text=True, check=True).stdout.strip()
    wait_until(lambda: json.loads((run / "state.json").read_text()).get("attempt", 1) >= 2, 180, "the requeued attempt")
    wait_until(lambda: states(run, tmp_path)["pre"]["state"] in ("completed", "failed"), 300, "the run to end")
    assert states(run, tmp_path)["pre"]["state"] == "completed"
    assert epochs_of(run) == list(range(1, 9))
    result = json.loads((run / "result.json").read_text())
    assert result["epochs_done"] == 8 and result["attempt"] >= 2
    assert subprocess.run(["sacct", "-X", "-n", "-o", "State", "-j", urgent], capture_output=True, text=True).stdout.split() == ["COMPLETED"]


def test_time_limit_requeues_and_resumes(tmp_path: Path, training_text: str) -> None:
    # --time 1 with --signal-delay 30: the job is told to checkpoint 30 s after it starts (~60 s of epochs in all)
    text = tmp_path / "long.txt"
    text.write_text(Path(training_text).read_text(encoding="utf-8") * 3, encoding="utf-8")  # ~3 s an epoch
    seqjobs("submit", "charlm", "--corpus", str(text), "--epochs", "20", *TINY_CHARLM, "--executor", "slurm",
            "--time", "1", "--signal-delay", "30", "--out", "runs/tl", "--wait", cwd=tmp_path, check=True, timeout=900)
    run = tmp_path / "runs/tl"
    result = json.loads((run / "result.json").read_text())
    assert result["status"] == "completed" and result["attempt"] >= 2
    assert epochs_of(run) == list(range(1, 21))


def test_scancel_is_reported_cancelled_promptly(tmp_path: Path, training_text: str) -> None:
    seqjobs("submit", "charlm", "--corpus", training_text, "--epochs", "200", *TINY_CHARLM, "--executor", "slurm",
            "--out", "runs/sc", cwd=tmp_path, check=True)
    run = tmp_path / "runs/sc"
    wait_until(lambda: (run / "state.json").exists(), 120, "the job to start")
    job = json.loads((run / "job.json").read_text())["job_id"]
    subprocess.run(["scancel", job], check=True)
    start = time.monotonic()
    wait_until(lambda: states(run, tmp_path)["sc"]["state"] == "cancelled", 60, "status to say cancelled")
    proc_start = time.monotonic()
    seqjobs("status", str(run), cwd=tmp_path, check=True, timeout=30)
    assert time.monotonic() - proc_start < 10 and time.monotonic() - start < 60


def test_status_without_sacct_uses_squeue_and_folders(tmp_path: Path, text: str, training_text: str) -> None:
    seqjobs("submit", "markov", "--corpus", text, "--executor", "slurm", "--out", "runs/done", "--wait", cwd=tmp_path, check=True, timeout=120)
    seqjobs("submit", "charlm", "--corpus", training_text, "--epochs", "200", *TINY_CHARLM, "--executor", "slurm",
            "--out", "runs/live", cwd=tmp_path, check=True)
    wait_until(lambda: (tmp_path / "runs/live/state.json").exists(), 120, "the job to start")
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
