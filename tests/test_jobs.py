"""Jobs through the local and debug executors: sweeps, status, collect, resubmit, bad input.

Every sweep here runs real subprocesses through submitit's local executor, on
Markov runs (each takes well under a second), so the plumbing is what is
tested, fast.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from seqtasks.processes import pid_alive
from tests.helpers import assert_one_line_error, json_lines, seqjobs, wait_until

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


def test_local_sweep_status_collect_and_idempotent_resweep(tmp_path: Path, corpus: str) -> None:
    args = [
        "sweep",
        "markov",
        "--corpus",
        corpus,
        "--grid",
        "order=1,2",
        "--grid",
        "level=char,word",
        "--seeds",
        "2",
        "--executor",
        "local",
        "--name",
        "mk",
        "--array-parallelism",
        "2",
    ]
    first = seqjobs(*args, cwd=tmp_path, check=True)
    assert "submitted 8 of 8 runs" in first.stdout
    manifest = json.loads((tmp_path / "runs/mk/sweep.json").read_text())
    assert len(manifest["runs"]) == 8 and manifest["executor"]["executor"] == "local"
    assert len(manifest["submissions"][0]["job_ids"]) == 2  # two local workers, not eight processes
    # a new process, after the submitting one has exited, waits and reads the state
    seqjobs("status", "runs/mk", "--watch", "--interval", "0.5", cwd=tmp_path, check=True, timeout=300)
    status = json_lines(seqjobs("status", "runs/mk", "--json", cwd=tmp_path, check=True).stdout)
    assert [r["state"] for r in status] == ["completed"] * 8
    assert all(r["job_id"] and r["node"] for r in status)

    collected = seqjobs("collect", "runs/mk", "-o", "results/mk.csv", "--per-epoch", cwd=tmp_path, check=True)
    import pandas as pd

    runs = pd.read_csv(tmp_path / "results/mk.csv")
    summary = pd.read_csv(tmp_path / "results/mk.summary.csv")
    assert len(runs) == 8 and len(summary) == 4
    assert {
        "order",
        "level",
        "seed",
        "heldout_bits_per_symbol",
        "job_id",
        "host",
        "git_commit",
        "git_dirty",
        "duration_s",
    } <= set(runs.columns)
    assert (summary["heldout_bits_per_symbol_count"] == 2).all()
    means = summary["heldout_bits_per_symbol_mean"].tolist()
    assert means == sorted(means)  # best (lowest) first
    assert "heldout_bits_per_symbol_mean" in collected.stdout

    again = seqjobs(*args, cwd=tmp_path, check=True)
    assert "nothing to submit" in again.stdout and "8 completed" in again.stdout


def test_collect_leaves_out_failed_and_corrupt_runs_and_resubmit_fixes_failures(tmp_path: Path, corpus: str) -> None:
    broken = tmp_path / "broken.txt"
    broken.write_text("", encoding="utf-8")  # empty: the job fails inside, not at submission
    seqjobs(
        "sweep",
        "markov",
        "--grid",
        f"corpus={corpus},{broken}",
        "--grid",
        "order=1,2",
        "--executor",
        "local",
        "--name",
        "fc",
        "--wait",
        cwd=tmp_path,
        timeout=300,
    )
    rows = json_lines(seqjobs("status", "runs/fc", "--json", cwd=tmp_path, check=True).stdout)
    failed = [r for r in rows if r["state"] == "failed"]
    assert len(failed) == 2 and all("empty" in r["error"] for r in failed)
    table = seqjobs("status", "runs/fc", cwd=tmp_path, check=True).stdout
    assert "2 failed" in table and "empty" in table

    good = sorted(
        p
        for p in (tmp_path / "runs/fc").iterdir()
        if p.is_dir() and "broken" not in p.name and not p.name.startswith(".")
    )
    (good[0] / "result.json").write_text("{not json", encoding="utf-8")
    proc = seqjobs("collect", "runs/fc", "-o", "out.csv", cwd=tmp_path, check=True)
    assert (
        "4 runs: 1 completed, 2 failed, 1 unreadable" in proc.stderr and "result.json is not valid JSON" in proc.stderr
    )
    import pandas as pd

    assert len(pd.read_csv(tmp_path / "out.csv")) == 1

    broken.write_text("now there is text to fit, plenty of it. " * 50, encoding="utf-8")
    resubmitted = seqjobs("resubmit", "runs/fc", "--failed", "--wait", cwd=tmp_path, timeout=300)
    assert (
        resubmitted.returncode == 1 and "4 runs: 3 completed, 1 unreadable" in resubmitted.stdout
    )  # not all completed
    states = {r["run"]: r["state"] for r in json_lines(seqjobs("status", "runs/fc", "--json", cwd=tmp_path).stdout)}
    assert sum(s == "completed" for s in states.values()) == 3  # 2 fixed + 1 untouched good run
    assert list(states.values()).count("unreadable") + list(states.values()).count("completed") == 4


def test_debug_executor_runs_in_process(tmp_path: Path, corpus: str) -> None:
    proc = seqjobs(
        "submit", "markov", "--corpus", corpus, "--executor", "debug", "--out", "runs/dbg", cwd=tmp_path, check=True
    )
    assert "DEBUG" in proc.stdout
    record = json.loads((tmp_path / "runs/dbg/result.json").read_text())
    assert record["status"] == "completed"
    job = json.loads((tmp_path / "runs/dbg/job.json").read_text())
    assert job["executor"] == "debug"


def test_submit_single_local_job_and_wait(tmp_path: Path, corpus: str) -> None:
    proc = seqjobs(
        "submit",
        "markov",
        "--corpus",
        corpus,
        "--executor",
        "local",
        "--out",
        "runs/one",
        "--wait",
        cwd=tmp_path,
        check=True,
    )
    assert "1 run: 1 completed" in proc.stdout
    job = json.loads((tmp_path / "runs/one/job.json").read_text())
    assert Path(job["stdout"]).exists()
    again = seqjobs(
        "submit", "markov", "--corpus", corpus, "--executor", "local", "--out", "runs/one", cwd=tmp_path, check=True
    )
    assert "already completed" in again.stdout


def test_status_of_a_missing_path_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(seqjobs("status", "runs/none", cwd=tmp_path), "does not exist")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(seqjobs("collect", "empty", cwd=tmp_path), "no run folders")


def _state(run: Path) -> dict:
    try:
        return json.loads((run / "state.json").read_text())
    except (OSError, ValueError):
        return {}


def _job_logs(run: Path) -> str:
    """The tails of a run's job logs, for a failure message: what each attempt said of the signals it got."""
    return "\n".join(
        f"{log}:\n{log.read_text(errors='replace')[-3000:]}" for log in sorted(run.glob(".submitit/*/*_log.*"))
    )


def _preempt_each_attempt(run: Path, until: Callable[[dict], bool], commit_first: bool, limit_s: float = 600) -> int:
    """Send SIGUSR2 (what SLURM sends on preemption) to each new attempt of a local job.

    With ``commit_first`` an attempt is signalled once it has committed an
    epoch; otherwise as soon as it runs. Returns the number of signals sent.
    Nothing here depends on how fast the machine is: it waits for events.
    """
    signalled: set[int] = set()

    def ended_or_signal() -> bool:
        state = _state(run)
        if until(state):
            return True
        attempt = state.get("attempt", 0)
        ready = (
            state.get("state") == "running"
            and attempt not in signalled
            and (not commit_first or state.get("epochs_committed", 0) > state.get("start_epoch", 0))
        )
        if ready:
            os.kill(int(state["pid"]), signal.SIGUSR2)
            signalled.add(attempt)
        return False

    wait_until(ended_or_signal, limit_s, 0.05, lambda: f"the run to end; last state: {_state(run)}")
    return len(signalled)


def test_preempted_local_run_requeues_while_it_progresses(tmp_path: Path, moby_dick: Path) -> None:
    """Every attempt is preempted once it has committed an epoch, until the run ends with every epoch
    trained once. How many attempts that takes depends on the machine; each must progress."""
    text = tmp_path / "train.txt"
    text.write_text(moby_dick.read_text(encoding="utf-8")[:120_000], encoding="utf-8")
    epochs = 8
    seqjobs(
        "submit",
        "charlm",
        "--corpus",
        str(text),
        "--epochs",
        str(epochs),
        "--units",
        "8",
        "--maxlen",
        "10",
        "--sample-length",
        "10",
        "--temperatures",
        "0.5",
        "--batch-size",
        "64",
        "--executor",
        "local",
        "--out",
        "runs/pre",
        cwd=tmp_path,
        check=True,
    )
    run = tmp_path / "runs/pre"
    sent = _preempt_each_attempt(run, lambda s: s.get("state") in ("completed", "failed"), commit_first=True)
    state = _state(run)
    assert state["state"] == "completed", state
    assert sent >= 2
    attempts = [h for h in state["history"] if h["outcome"] == "requeued"]
    # a signal may land just as the last attempt finishes: it then ends without a requeue
    assert sent - 1 <= len(attempts) <= sent and all(h["end_epoch"] > h["start_epoch"] for h in attempts)
    epochs_seen = [int(line.split(",")[0]) for line in (run / "metrics.csv").read_text().splitlines()[1:]]
    assert epochs_seen == list(range(1, epochs + 1))
    result = json.loads((run / "result.json").read_text())
    # the last attempt may be requeued just after writing its result: the next one then only settles it
    assert result["epochs_done"] == epochs and result["attempt"] in (len(attempts), len(attempts) + 1)


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
    wait_until(lambda: _state(run).get("state") == "failed", 600, 0.5, lambda: f"the run to fail: {_state(run)}")
    result = json.loads((run / "result.json").read_text())
    assert result["status"] == "failed" and "no epoch committed in 2 attempts" in result["error"]
    assert result["attempt"] == 2 and _state(run)["stalled_attempts"] == 2
    rows = json_lines(seqjobs("status", "runs/st", "--json", cwd=tmp_path, check=True).stdout)
    assert rows[0]["state"] == "failed" and "no epoch committed" in rows[0]["error"]


def test_preemptions_before_the_first_commit_never_fail_a_run(tmp_path: Path, moby_dick: Path) -> None:
    """Three attempts in a row preempted before they commit (more than --max-stalled 2) are requeued all the
    same: a preemption is not the time limit; the fourth attempt trains the run to the end."""
    text = tmp_path / "train.txt"
    text.write_text(moby_dick.read_text(encoding="utf-8")[:60_000], encoding="utf-8")
    seqjobs(
        "submit",
        "charlm",
        "--corpus",
        str(text),
        "--epochs",
        "2",
        "--units",
        "8",
        "--maxlen",
        "10",
        "--sample-length",
        "10",
        "--temperatures",
        "0.5",
        "--executor",
        "local",
        "--max-stalled",
        "2",
        "--out",
        "runs/pre",
        cwd=tmp_path,
        check=True,
    )
    run = tmp_path / "runs/pre"
    sent = _preempt_each_attempt(
        run, lambda s: s.get("attempt", 0) > 3 or s.get("state") in ("completed", "failed"), commit_first=False
    )
    assert sent == 3, (_state(run), _job_logs(run))
    wait_until(lambda: _state(run).get("state") in ("completed", "failed"), 600, 0.5, "the run to end")
    result = json.loads((run / "result.json").read_text())
    assert result["status"] == "completed" and result["epochs_done"] == 2, result
    state = _state(run)
    assert state["requeues"] == 3 and state["stalled_attempts"] == 0


def test_cancel_stops_a_local_run(tmp_path: Path, moby_dick: Path) -> None:
    text = tmp_path / "train.txt"
    text.write_text(moby_dick.read_text(encoding="utf-8")[:60_000], encoding="utf-8")
    seqjobs(
        "submit",
        "charlm",
        "--corpus",
        str(text),
        "--epochs",
        "500",
        "--units",
        "16",
        "--maxlen",
        "10",
        "--sample-length",
        "10",
        "--executor",
        "local",
        "--out",
        "runs/c",
        cwd=tmp_path,
        check=True,
    )
    run = tmp_path / "runs/c"
    wait_until(lambda: (run / "state.json").exists(), 120, 0.5, "the job to start")
    assert "cancelled 1 run under" in seqjobs("cancel", "runs/c", cwd=tmp_path, check=True).stdout
    job = json.loads((run / "job.json").read_text())
    wait_until(lambda: not pid_alive(int(job["job_id"])), 120, 0.5, "the local job to end after cancel")
    status = json_lines(seqjobs("status", "runs/c", "--json", cwd=tmp_path, check=True).stdout)
    assert status[0]["state"] == "cancelled"


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
