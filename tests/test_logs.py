"""``seqjobs logs``: a run's job output, job by job; ``--follow`` to the run's end; hostile folders.

The runs are real local jobs (a Markov run in a sweep, a tiny char-LSTM run
long enough to be followed while it trains); what a hostile folder would
hold -- a log that is a symbolic link out of the sweep, a log full of
escape sequences, a second job's attempt -- is then written into them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.helpers import REPO, assert_one_line_error, seqjobs

#: every test here starts real jobs and CLI processes
pytestmark = pytest.mark.slow

PATTERN = "the cat sat on the mat; the dog dug in the fog.\n"


@pytest.fixture
def markov_run(tmp_path: Path) -> Path:
    """``runs/mk/order=1``: a completed Markov run of a local sweep (its job's logs in ``runs/mk/.submitit``)."""
    corpus = tmp_path / "pattern.txt"
    corpus.write_text(PATTERN * 50, encoding="utf-8")
    seqjobs(
        *("sweep", "markov", "--corpus", str(corpus), "--grid", "order=1", "--executor", "local"),
        *("--name", "mk", "--root", "runs", "--wait"),
        cwd=tmp_path,
        timeout=300,
        check=True,
    )
    return tmp_path / "runs/mk/order=1"


def job_id(run: Path) -> str:
    return str(json.loads((run / "job.json").read_text())["job_id"])


def log_of(run: Path, job: str, stream: str = "out") -> Path:
    return run.parent / ".submitit" / job / f"{job}_0_log.{stream}"


def test_prints_the_job_output_under_a_header(markov_run: Path) -> None:
    proc = seqjobs("logs", str(markov_run), cwd=markov_run, check=True)
    lines = proc.stdout.splitlines()
    assert lines[0] == f"==> attempt 1 (job {job_id(markov_run)}): {log_of(markov_run, job_id(markov_run))} <=="
    assert "Job completed successfully" in proc.stdout
    assert proc.stdout.count("==>") == 1


def test_each_job_its_attempts_and_attempt_past_the_last(markov_run: Path) -> None:
    """A second job (a resubmission) ran attempt 2: each job's log under its own header, --attempt picks one."""
    state_file = markov_run / "state.json"
    state = json.loads(state_file.read_text())
    first = {**state["history"][0], "attempt": 1, "job_id": "100", "outcome": "failed"}
    state["history"] = [first] + [{**entry, "attempt": 2} for entry in state["history"]]
    state["attempt"] = 2
    state_file.write_text(json.dumps(state))
    old = log_of(markov_run, "100")
    old.parent.mkdir()
    old.write_text("output of the first job\n")
    current = job_id(markov_run)

    both = seqjobs("logs", "runs/mk/order=1", cwd=markov_run.parent.parent.parent, check=True).stdout
    assert (
        both.index("==> attempt 1 (job 100)")
        < both.index("output of the first job")
        < both.index(f"==> attempt 2 (job {current})")
    )
    one = seqjobs("logs", str(markov_run), "--attempt", "1", check=True).stdout
    assert one.splitlines() == [f"==> attempt 1 (job 100): {old} <==", "output of the first job"]
    two = seqjobs("logs", str(markov_run), "--attempt", "2", check=True).stdout
    assert "first job" not in two and "Job completed successfully" in two

    past = seqjobs("logs", str(markov_run), "--attempt", "3")
    assert_one_line_error(past, "has 2 attempts", "--attempt 3 is past the last", only=True)
    assert past.stdout == ""


def test_control_characters_are_escaped(markov_run: Path) -> None:
    log_of(markov_run, job_id(markov_run)).write_bytes(
        b"\x1b]0;pwned\x07\x1b[2Jcleared\r\nnext\tcolumn \xff\xfe\n\xe2\x80\xaeevil\n"
    )
    out = seqjobs("logs", str(markov_run), check=True).stdout
    body = out.split("<==\n", 1)[1]
    assert body == "\\x1b]0;pwned\\x07\\x1b[2Jcleared\\r\nnext\tcolumn \ufffd\ufffd\n\\u202eevil\n"


def test_no_log_is_read_through_a_link_or_a_path_out_of_the_sweep(markov_run: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("the password is hunter2\n")
    err = log_of(markov_run, job_id(markov_run), "err")
    err.unlink()
    err.symlink_to(secret)  # the log itself, a link out of the sweep
    proc = seqjobs("logs", str(markov_run), "--stderr", check=True)
    assert "hunter2" not in proc.stdout + proc.stderr
    assert "not followed" in proc.stderr and proc.stderr.startswith("warning: attempt 1")

    outside = tmp_path / "elsewhere"  # the job's whole folder, a link out of the sweep
    folder = log_of(markov_run, job_id(markov_run)).parent
    folder.rename(outside)
    folder.symlink_to(outside)
    (outside / f"{job_id(markov_run)}_0_log.out").write_text("the password is hunter2\n")
    proc = seqjobs("logs", str(markov_run), check=True)
    assert "hunter2" not in proc.stdout + proc.stderr and "not followed" in proc.stderr

    job = json.loads((markov_run / "job.json").read_text())
    (markov_run / "job.json").write_text(json.dumps({**job, "stdout": str(secret)}))  # a record naming a file outside
    proc = seqjobs("logs", str(markov_run), check=True)
    assert "hunter2" not in proc.stdout + proc.stderr and "lies outside" in proc.stderr


def test_a_path_that_is_not_a_run_is_one_line(markov_run: Path, tmp_path: Path) -> None:
    assert_one_line_error(seqjobs("logs", str(markov_run.parent)), "is a sweep folder", only=True)
    assert_one_line_error(seqjobs("logs", str(tmp_path / "nothing")), "does not exist", only=True)
    assert_one_line_error(seqjobs("logs", str(tmp_path)), "is not a run folder", only=True)


def test_follow_prints_a_live_run_until_it_ends(tmp_path: Path) -> None:
    corpus = tmp_path / "pattern.txt"
    corpus.write_text(PATTERN * 200, encoding="utf-8")
    run = tmp_path / "runs/live"
    seqjobs(
        *("submit", "charlm", "--corpus", str(corpus), "--maxlen", "12", "--step", "1", "--units", "16"),
        *("--sample-length", "20", "--epochs", "3", "--executor", "local", "--out", str(run)),
        cwd=tmp_path,
        timeout=300,
        check=True,
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    follow = subprocess.Popen(
        [sys.executable, "-m", "jobs", "logs", str(run), "--follow"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(600, follow.kill)
    watchdog.start()
    seen_live = False
    lines = []
    assert follow.stdout is not None
    for line in follow.stdout:
        lines.append(line)
        if line.startswith("Epoch 1/3"):
            seen_live = not (run / "result.json").exists()  # printed while the run was still training
    follow.wait()
    watchdog.cancel()
    out = "".join(lines)
    assert follow.returncode == 0, out + (follow.stderr.read() if follow.stderr else "")
    assert seen_live, out
    assert "Epoch 3/3" in out and "Job completed successfully" in out  # the job's last line: written after the result
    assert json.loads((run / "result.json").read_text())["status"] == "completed"
