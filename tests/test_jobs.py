"""Jobs through the local executor beyond the executor contract: bad input, a time limit no epoch fits,
two identical sweeps at once, a refused resubmission.

What every executor must do alike -- submit, wait and collect, failures and
resubmit, cancel, preemptions -- is tests/test_executor_contract.py, once
for debug, local and SLURM.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import assert_one_line_error, json_lines, read_state, seqjobs, wait_until

#: every test here starts the CLI, and most start real local jobs, as processes
pytestmark = pytest.mark.slow


@pytest.fixture
def corpus(small_text: Path) -> str:
    return str(small_text)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--grid", "colour=red"], "unknown parameter 'colour'"),
        (["--grid", "order=one,two"], "expected int"),
        (["--grid", "order="], "has no values"),
        (["--grid", "order=0,1"], "--order must be >= 1"),
        (["--profile", "nope"], "unknown profile 'nope'"),
        (["--executor", "cloud"], "--executor: unknown value 'cloud'"),
        (["--time", "0"], "--time must be an integer >= 1"),
    ],
)
def test_bad_sweep_input_submits_nothing(tmp_path: Path, corpus: str, extra: list[str], fragment: str) -> None:
    proc = seqjobs("sweep", "markov", "--corpus", corpus, "--executor", "local", "--name", "bad", *extra, cwd=tmp_path)
    assert_one_line_error(proc, fragment)
    assert not (tmp_path / "runs").exists()


def test_status_of_a_missing_path_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(seqjobs("status", "runs/none", cwd=tmp_path), "does not exist")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(seqjobs("collect", "empty", cwd=tmp_path), "no run folders")


def test_a_run_whose_time_limit_is_shorter_than_an_epoch_fails_after_max_stalled_attempts(
    tmp_path: Path, moby_dick: Path
) -> None:
    """A real time limit (1 minute, told to checkpoint 50 s before: 10 s into each attempt) that no epoch fits."""
    text = tmp_path / "train.txt"
    text.write_text(moby_dick.read_text(encoding="utf-8")[:300_000], encoding="utf-8")  # ~6,000 steps an epoch
    seqjobs(
        "submit",
        "charlm",
        "--corpus",
        str(text),
        "--epochs",
        "3",
        "--units",
        "32",
        "--batch-size",
        "16",
        "--executor",
        "local",
        "--time",
        "1",
        "--signal-delay",
        "50",
        "--max-stalled",
        "2",
        "--out",
        "runs/st",
        cwd=tmp_path,
        check=True,
    )
    run = tmp_path / "runs/st"
    wait_until(
        lambda: read_state(run).get("state") == "failed", 600, 0.5, lambda: f"the run to fail: {read_state(run)}"
    )
    result = json.loads((run / "result.json").read_text())
    assert result["status"] == "failed" and "no epoch committed in 2 attempts" in result["error"]
    assert result["attempt"] == 2 and read_state(run)["stalled_attempts"] == 2
    rows = json_lines(seqjobs("status", "runs/st", "--json", cwd=tmp_path, check=True).stdout)
    assert rows[0]["state"] == "failed" and "no epoch committed" in rows[0]["error"]


def test_two_identical_sweeps_at_once_train_each_run_once(tmp_path: Path, small_text: Path) -> None:
    """The same sweep command started twice at once (two terminals, a retried script): one submits, the other
    finds nothing to submit, so each run is submitted and trained exactly once."""
    args = [
        "sweep",
        "charlm",
        "--corpus",
        str(small_text),
        "--max-chars",
        "4000",
        "--maxlen",
        "10",
        "--grid",
        "units=8,16",
        "--epochs",
        "3",
        "--sample-length",
        "10",
        "--executor",
        "local",
        "--name",
        "twice",
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "jobs", *args],
            cwd=tmp_path,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    said = " | ".join(out for out, _ in outs)
    assert said.count("submitted 2 of 2 runs") == 1 and "nothing to submit" in said, said
    sweep = tmp_path / "runs/twice"
    seqjobs("status", "runs/twice", "--watch", "--interval", "0.5", cwd=tmp_path, check=True, timeout=600)
    for run in ("units=8", "units=16"):
        rows = (sweep / run / "metrics.csv").read_text().splitlines()
        assert [r.split(",")[0] for r in rows] == ["epoch", "1", "2", "3"]
        result = json.loads((sweep / run / "result.json").read_text())
        assert result["epochs_done"] == 3 and result["attempt"] == 1
    manifest = json.loads((sweep / "sweep.json").read_text())
    assert len(manifest["submissions"]) == 1 and len(manifest["runs"]) == 2
    status = json_lines(seqjobs("status", "runs/twice", "--json", cwd=tmp_path, check=True).stdout)
    assert [(r["state"], r["epoch"]) for r in status] == [("completed", 3), ("completed", 3)]


def test_a_refused_resubmission_changes_nothing(tmp_path: Path, corpus: str) -> None:
    """Failed runs keep their result and reason when the new submission is refused: the user must still see
    why they failed, and can resubmit once the refusal is fixed."""
    broken = tmp_path / "broken.txt"
    broken.write_text("", encoding="utf-8")
    seqjobs(
        "sweep",
        "markov",
        "--grid",
        f"corpus={corpus},{broken}",
        "--executor",
        "local",
        "--name",
        "rs",
        "--wait",
        cwd=tmp_path,
        timeout=300,
    )
    sweep = tmp_path / "runs/rs"
    before = {p: p.read_bytes() for p in sweep.rglob("*") if p.is_file() and ".submitit" not in p.parts}
    failed = [p.parent for p in before if p.name == "result.json" and b'"failed"' in before[p]]
    assert len(failed) == 1
    job = json.loads((failed[0] / "job.json").read_text())
    job["options"] = {"executor": "slurm", "partition": "nowhere"}  # a submission the machine must refuse
    (failed[0] / "job.json").write_text(json.dumps(job))
    before[failed[0] / "job.json"] = (failed[0] / "job.json").read_bytes()
    proc = seqjobs("resubmit", "runs/rs", "--failed", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("error:") == 1, proc.stderr
    after = {p: p.read_bytes() for p in sweep.rglob("*") if p.is_file() and ".submitit" not in p.parts}
    assert after == before
    rows = json_lines(seqjobs("status", "runs/rs", "--json", cwd=tmp_path, check=True).stdout)
    assert sorted(r["state"] for r in rows) == ["completed", "failed"]
