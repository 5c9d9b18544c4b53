"""The state ``seqjobs status`` gives a run folder, as a table: which evidence wins over which.

The rules themselves are :func:`seqtasks.rundir.states.classify`'s (their own table is
``tests/test_run_states.py``); these cases check that ``status`` gathers the evidence
from real files, the scheduler's recorded answers and the process table. The order: ``result.json`` (unless a newer
submission superseded it), then ``state.json`` cancelled, then a live owner in
``claim.json``, then the job (the scheduler's answer for SLURM, the process
table for local jobs), and last ``stuck`` for a run that stopped where nothing
will resume it. Each case writes a small run folder by hand; the scheduler
answers with recorded sacct / squeue lines and a local job's liveness is given,
so no process is started and no SLURM is needed.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

import pytest

from jobs.monitor import reading, status
from jobs.monitor import rows as status_rows
from jobs.scheduler import commands
from seqtasks.config import to_dict
from seqtasks.rundir import RunDir
from seqtasks.rundir.states import ENDED, SHOWN, RunState
from seqtasks.tasks import TASKS

HERE = socket.gethostname()
ELSEWHERE = HERE + "-not-this-host"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
SLURM_JOB = "8_3"


def at(minute: int) -> str:
    """A fixed time stamp ``minute`` minutes after the run was created."""
    return (T0 + timedelta(minutes=minute)).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Case:
    """One run folder, what the scheduler / process table says about its job, and the state shown."""

    name: str
    expected: str
    #: result.json: "completed" / "failed" (ended at minute 10)
    result: Optional[str] = None
    #: state.json's state
    recorded: Optional[str] = None
    #: claim.json: "live" (this process), "dead" (a pid since reused), "remote" (another host, the SLURM job)
    claim: Optional[str] = None
    #: job.json: "slurm", "local", "debug", "local-elsewhere" (a local job of another host); None: `seqjobs run`
    job: Optional[str] = None
    #: minute job.json was submitted (after 10: a resubmission newer than the result)
    submitted: int = 0
    #: sacct's State for the SLURM job ("" : sacct knows nothing); None: no sacct at all
    sacct: Optional[str] = None
    #: squeue's State for it; None: squeue knows nothing
    squeue: Optional[str] = None
    #: a local job's controller runs
    local_alive: bool = False
    #: a fragment the error column must hold
    error: str = ""


CASES = [
    # 1. result.json: how the run ended, whatever else the folder or the job says
    Case("completed", "completed", result="completed", recorded="completed", job="local"),
    Case("failed-with-its-error", "failed", result="failed", recorded="failed", job="local", error="ValueError: boom"),
    Case(
        "result-beats-cancelled", "completed", result="completed", recorded="cancelled", job="slurm", sacct="CANCELLED"
    ),
    Case(
        "result-beats-a-live-claim",
        "failed",
        result="failed",
        claim="live",
        job="slurm",
        sacct="RUNNING",
        error="ValueError: boom",
    ),
    Case("result-beats-the-scheduler", "completed", result="completed", job="slurm", sacct="FAILED"),
    # ... unless a resubmission newer than it decides
    Case(
        "resubmitted-and-running",
        "running",
        result="failed",
        recorded="running",
        job="slurm",
        submitted=20,
        sacct="RUNNING",
    ),
    Case(
        "resubmitted-and-pending",
        "pending",
        result="failed",
        recorded="failed",
        job="slurm",
        submitted=20,
        sacct="PENDING",
    ),
    Case(
        "resubmitted-job-gone-last-end-stands",
        "failed",
        result="failed",
        recorded="failed",
        job="local",
        submitted=20,
        error="ValueError: boom",
    ),
    Case(
        "older-submission-does-not-supersede",
        "completed",
        result="completed",
        job="slurm",
        submitted=5,
        sacct="RUNNING",
    ),
    # 2. cancelled by seqjobs cancel
    Case(
        "cancelled-beats-a-live-claim", "cancelled", recorded="cancelled", claim="live", job="local", local_alive=True
    ),
    Case("cancelled-beats-the-scheduler", "cancelled", recorded="cancelled", job="slurm", sacct="RUNNING"),
    # 3. a live owner
    Case("live-claim-beats-the-scheduler", "running", recorded="running", claim="live", job="slurm", sacct="FAILED"),
    Case("live-claim-without-a-job", "running", recorded="running", claim="live"),
    Case("live-claim-of-a-dead-local-job", "running", recorded="running", claim="live", job="local"),
    Case("remote-claim-whose-job-runs", "running", recorded="running", claim="remote", job="slurm", sacct="PENDING"),
    # 4. the job: the scheduler, sacct first, squeue for what sacct does not know
    Case("slurm-running", "running", recorded="running", job="slurm", sacct="RUNNING"),
    Case("slurm-pending", "pending", job="slurm", sacct="PENDING"),
    Case("slurm-pending-element-only-squeue-knows", "pending", job="slurm", sacct="", squeue="PENDING"),
    Case("squeue-when-sacct-is-missing", "running", recorded="running", job="slurm", squeue="RUNNING"),
    Case("slurm-pending-again-after-running-is-requeued", "requeued", recorded="running", job="slurm", sacct="PENDING"),
    Case("slurm-requeued", "requeued", recorded="requeued", job="slurm", sacct="REQUEUED"),
    Case("slurm-failed", "failed", recorded="running", job="slurm", sacct="TIMEOUT"),
    Case("slurm-cancelled", "cancelled", recorded="running", job="slurm", sacct="CANCELLED by 0"),
    Case("slurm-packed-task-not-yet-on-it", "pending", job="slurm", sacct="RUNNING"),
    Case("local-worker-not-yet-on-it", "pending", job="local", local_alive=True),
    Case("local-worker-between-attempts", "requeued", recorded="requeued", job="local", local_alive=True),
    Case("local-worker-alive-but-no-owner", "requeued", recorded="running", job="local", local_alive=True),
    # 5. stopped where nothing will resume it
    Case(
        "local-job-gone-owner-dead", "stuck", recorded="running", claim="dead", job="local", error="resubmit --missing"
    ),
    Case("local-job-gone-no-owner", "stuck", recorded="requeued", job="local", error="resubmit --missing"),
    Case("local-job-gone-before-it-started", "stuck", job="local", error="ended without starting it"),
    Case(
        "slurm-completed-yet-running-recorded",
        "stuck",
        recorded="running",
        job="slurm",
        sacct="COMPLETED",
        error="resubmit --missing",
    ),
    Case("debug-job-ended", "stuck", recorded="running", job="debug", error="resubmit --missing"),
    Case("seqjobs-run-killed", "stuck", recorded="running", claim="dead", error="the process that ran it"),
    # what cannot be told
    Case("never-submitted", "missing"),
    Case("ended-without-result", "unknown", recorded="completed", job="local", error="no result.json"),
    Case("no-scheduler-answer", "unknown", recorded="running", job="slurm"),
    Case("local-job-of-another-host", "unknown", recorded="running", job="local-elsewhere"),
    Case("remote-claim-nobody-can-check", "unknown", recorded="running", claim="remote", job="slurm"),
]


def write(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj), encoding="utf-8")


def make_run(folder: Path, case: Case) -> None:
    """The run folder ``case`` describes, as the run-folder contract spells its files."""
    folder.mkdir(parents=True)
    write(
        folder / "config.json", {"task": "markov", "config": to_dict(TASKS["markov"].config_cls()), "created_at": at(0)}
    )
    if case.recorded is not None:
        write(
            folder / "state.json",
            {
                "state": case.recorded,
                "attempt": 1,
                "host": HERE,
                "started_at": at(1),
                "ended_at": at(10) if case.recorded in ENDED else None,
            },
        )
    if case.result == "completed":
        write(
            folder / "result.json",
            {
                "status": "completed",
                "task": "markov",
                "heldout_bits_per_symbol": 2.5,
                "ended_at": at(10),
                "duration_s": 540.0,
            },
        )
    elif case.result == "failed":
        write(
            folder / "result.json",
            {
                "status": "failed",
                "task": "markov",
                "ended_at": at(10),
                "error": "Traceback (most recent call last):\n  ...\nValueError: boom",
            },
        )
    if case.job is not None:
        kind, _, where = case.job.partition("-")
        write(
            folder / "job.json",
            {
                "job_id": SLURM_JOB if kind == "slurm" else "4242",
                "executor": kind,
                "submitted_at": at(case.submitted),
                "host": ELSEWHERE if where else HERE,
            },
        )
    if case.claim == "live":  # this very process: alive, and its pid is not reused
        write(folder / "claim.json", {"host": HERE, "pid": os.getpid(), "token": "t", "claimed_at": at(1)})
    elif case.claim == "dead":  # the pid now belongs to another process (its start differs): the owner is gone
        write(
            folder / "claim.json",
            {"host": HERE, "pid": os.getpid(), "token": "t", "claimed_at": at(1), "pid_start": "not-this-process"},
        )
    elif case.claim == "remote":
        write(
            folder / "claim.json", {"host": ELSEWHERE, "pid": 1, "token": "t", "claimed_at": at(1), "job_id": SLURM_JOB}
        )


def recorded_scheduler(case: Case):  # noqa: ANN201 - a stand-in for commands.run
    """sacct / squeue as the case has them: ``None`` is a command that failed or is not installed."""

    def query(cmd: list[str]) -> Optional[str]:
        if cmd[0] == "sacct":
            return None if case.sacct is None else (f"{SLURM_JOB}|{case.sacct}|vm\n" if case.sacct else "")
        if cmd[0] == "squeue":
            return None if case.squeue is None else f"{SLURM_JOB}|{case.squeue}|vm\n"
        raise AssertionError(f"status ran {cmd}")

    return query


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_state_follows_the_order_of_evidence(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands, "run", recorded_scheduler(case))
    monkeypatch.setattr(status_rows, "local_job_alive", lambda *args, **kwargs: case.local_alive)
    make_run(tmp_path / case.name, case)
    [row] = status.statuses(tmp_path)
    assert (row.run, row.state) == (case.name, case.expected), row
    assert case.error in row.error, row
    if not case.error:
        assert row.error == "", row


def test_the_table_shows_every_state_a_readable_run_can_have() -> None:
    assert {c.expected for c in CASES} == set(SHOWN) - {RunState.UNREADABLE}


def test_a_damaged_folder_is_unreadable_and_the_others_still_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commands, "run", lambda cmd: None)
    make_run(tmp_path / "good", CASES[0])
    (tmp_path / "lost-config").mkdir()
    write(tmp_path / "lost-config" / "state.json", {"state": "running", "attempt": 1})
    make_run(tmp_path / "bad-result", CASES[0])
    write(tmp_path / "bad-result" / "result.json", {"status": "completed"})  # no main figure
    rows = {r.run: r for r in status.statuses(tmp_path)}
    assert {name: r.state for name, r in rows.items()} == {
        "good": "completed",
        "lost-config": "unreadable",
        "bad-result": "unreadable",
    }
    assert "config.json" in rows["lost-config"].error and "state.json" in rows["lost-config"].error
    assert "result.json" in rows["bad-result"].error and "heldout_bits_per_symbol" in rows["bad-result"].error
    assert status.summary(rows.values()) == "3 runs: 1 completed, 2 unreadable"


def test_a_cancelled_or_ended_runs_clock_stops_when_it_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands, "run", lambda cmd: None)
    make_run(tmp_path / "ended", CASES[0])
    make_run(tmp_path / "cancelled", Case("cancelled", "cancelled", recorded="cancelled"))
    rows = {r.run: r for r in status.statuses(tmp_path)}
    assert rows["ended"].elapsed_s == 540.0  # result.json's duration
    assert rows["cancelled"].elapsed_s == 540.0  # started at minute 1, ended at minute 10


def test_a_run_resubmitted_the_moment_it_ended_is_not_shown_completed(
    tmp_path: Path, small_text: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A halving rung resubmits a run within the second its last rung ended: its old result must not stand.

    A real run completes, is submitted again at once (to more epochs), and its
    job is pending: the new submission decides, however close the two stamps.
    """
    from seqtasks.markov.config import MarkovConfig
    from seqtasks.rundir import now_iso
    from seqtasks.runner import execute

    monkeypatch.setattr(commands, "run", recorded_scheduler(Case("pending", "pending", sacct="PENDING")))
    folder = tmp_path / "run"
    execute("markov", MarkovConfig(corpus=str(small_text), length=20), folder)
    RunDir(folder).record_job(job_id=SLURM_JOB, executor="slurm", options={}, paths={}, submitted_at=now_iso())
    [row] = status.statuses(tmp_path)
    assert row.state == "pending", row


def test_a_job_that_ended_before_its_record_was_written_did_not_supersede_its_own_result(
    tmp_path: Path,
    small_text: Path,
    cli,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001 - the cli fixture
) -> None:
    """The debug executor runs the job inside the submission, before ``job.json`` is written (a fast local job
    can too): the submission's time is taken before, so the run's own result is read as its end."""
    monkeypatch.chdir(tmp_path)
    done = cli(
        "sweep",
        "markov",
        "--corpus",
        str(small_text),
        "--length",
        "20",
        "--grid",
        "order=1,2",
        "--executor",
        "debug",
        "--name",
        "d",
    )
    assert done.exit_code == 0, done.output
    runs = sorted((tmp_path / "runs/d").glob("order=*"))
    assert [r.name for r in runs] == ["order=1", "order=2"]
    for run in runs:
        files = reading.read_ended(RunDir(run), with_config=False)  # None: read whole, as a superseded result is
        assert files is not None and files.result is not None and files.result.status == "completed", run


@pytest.mark.slow
def test_an_ended_run_is_read_from_its_result_alone_until_its_job_record_changes(
    tmp_path: Path,
    small_text: Path,
    cli,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001 - the cli fixture
) -> None:
    """A run ending copies what views need of ``job.json`` into its result, with that file's signature: ``status``
    then reads one file per ended run, and one ``job.json`` per job for the CPUs it had (what its runs spent). A
    resubmission rewrites ``job.json``, and the copy no longer counts."""
    from seqtasks.rundir import now_iso

    monkeypatch.chdir(tmp_path)
    done = cli(
        "sweep", "markov", "--corpus", str(small_text), "--length", "20", "--executor", "local", "--name", "l", "--wait"
    )
    assert done.exit_code == 0, done.output
    run = tmp_path / "runs/l/run"  # a sweep of one run
    job, result = (json.loads((run / name).read_text()) for name in ("job.json", "result.json"))
    assert {k: result["job"][k] for k in ("job_id", "executor", "submitted_at")} == {
        k: job[k] for k in ("job_id", "executor", "submitted_at")
    }
    reads: list[Path] = []
    real = RunDir.job_record
    with monkeypatch.context() as m:
        m.setattr(RunDir, "job_record", lambda self: reads.append(self.path) or real(self))
        [row] = status.statuses(run.parent)
    assert (row.state, row.job_id) == ("completed", job["job_id"])
    assert reads == [run]  # its job's, once: not to tell its state
    monkeypatch.setattr(commands, "run", recorded_scheduler(Case("pending", "pending", sacct="PENDING")))
    RunDir(run).record_job(
        job_id=SLURM_JOB, executor="slurm", options={}, paths={}, submitted_at=now_iso()
    )  # submitted again: job.json is another file
    [row] = status.statuses(run.parent)
    assert (row.state, row.job_id) == ("pending", SLURM_JOB)


def test_a_garbled_job_copy_in_a_result_makes_the_run_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copy is checked like the file it stands for: a wrong type is named, never trusted."""
    from seqtasks.rundir.folder import job_signature

    monkeypatch.setattr(commands, "run", lambda cmd: None)
    make_run(tmp_path / "run", CASES[0])
    result = json.loads((tmp_path / "run/result.json").read_text())
    result["host"], result["job"] = (
        HERE,
        {"signature": job_signature(str(tmp_path / "run")), "job_id": 7, "executor": "local", "submitted_at": at(0)},
    )
    write(tmp_path / "run/result.json", result)
    [row] = status.statuses(tmp_path)
    assert row.state == "unreadable" and "'job_id'" in row.error, row


def test_an_array_task_that_ran_between_the_read_and_the_scheduler_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read while pending, the task starts and ends before the scheduler is asked: squeue no longer lists it and
    sacct has no record of it yet (its array's pending record no longer names it). Read once, the run would
    show as ``unknown`` though it completed; status reads it once more and finds its result."""
    folder = tmp_path / "run"
    make_run(folder, Case("fast", "completed", job="slurm"))
    job = json.loads((folder / "job.json").read_text())
    job["job_id"] = "77_0"
    write(folder / "job.json", job)

    def query(cmd: list[str]) -> Optional[str]:
        if cmd[0] == "sacct":  # the array's record lists only the elements still waiting
            write(
                folder / "result.json",
                {
                    "status": "completed",
                    "task": "markov",
                    "heldout_bits_per_symbol": 2.5,
                    "ended_at": at(10),
                    "duration_s": 1.0,
                },
            )
            return "77_[1-3%2]|PENDING|None assigned\n"
        return None  # squeue: none of the ids is queued any more

    monkeypatch.setattr(commands, "run", query)
    real, reads = status._read_one, []

    def counted(path: Path, *args: Any) -> Any:
        reads.append(path.name)
        return real(path, *args)

    monkeypatch.setattr(status, "_read_one", counted)
    [row] = status.statuses(tmp_path)
    assert (row.state, reads) == ("completed", ["run", "run"]), (row, reads)


def test_a_run_that_ended_while_it_was_read_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read between its end and its result (state.json still running, the claim gone) a run looks requeued;
    status reads such a run once more, and shows how it ended."""
    monkeypatch.setattr(commands, "run", recorded_scheduler(Case("pending", "pending", sacct="PENDING")))
    folder = tmp_path / "run"
    make_run(folder, Case("mid-end", "requeued", recorded="running", job="slurm", sacct="PENDING"))
    real = status._read_one
    reads: list[str] = []

    def read_then_end(path: Path, *args: Any) -> Any:
        files = real(path, *args)
        if not reads:  # the run ends right after its first read
            write(
                folder / "result.json",
                {
                    "status": "completed",
                    "task": "markov",
                    "heldout_bits_per_symbol": 2.5,
                    "ended_at": at(10),
                    "duration_s": 540.0,
                },
            )
        reads.append(path.name)
        return files

    monkeypatch.setattr(status, "_read_one", read_then_end)
    [row] = status.statuses(tmp_path)
    assert (row.state, reads) == ("completed", ["run", "run"]), (row, reads)
