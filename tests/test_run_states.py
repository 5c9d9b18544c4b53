"""The rules of run states, as tables: what a view shows for given evidence, and which changes a run folder may make.

:func:`~seqtasks.rundir.states.classify` is pure: each case below is what the
run folder's files say (``result.json``'s status and whether a newer
submission superseded it, ``state.json``'s state, whether ``job.json`` exists)
and what the liveness checks answered (the claim's owner, the job: a
scheduler word, ``alive``/``gone`` for a local or in-process job, ``None``
when nothing can tell). ``tests/test_status_rules.py`` checks that ``status``
gathers that evidence from real folders.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import pytest

from seqtasks import atomic
from seqtasks.rundir import AttemptClosed, RunDir
from seqtasks.rundir.records import StateRecord
from seqtasks.rundir.states import (
    JOB_ALIVE,
    JOB_GONE,
    RECORDED,
    SHOWN,
    TRANSITIONS,
    Facts,
    IllegalTransition,
    RunState,
    check_transition,
    classify,
    settled_by_files,
)

S = RunState

#: (name, facts, state shown)
CASES: list[tuple[str, Facts, RunState]] = [
    # 1. result.json: how the run ended, whatever else the folder or the job says
    ("completed", Facts(result="completed", recorded="completed", submitted=True, job=JOB_GONE), S.COMPLETED),
    ("failed", Facts(result="failed", recorded="failed", submitted=True, job=JOB_GONE), S.FAILED),
    (
        "result-beats-cancelled",
        Facts(result="completed", recorded="cancelled", submitted=True, job="cancelled"),
        S.COMPLETED,
    ),
    ("result-beats-a-live-owner", Facts(result="failed", owner=True, submitted=True, job="running"), S.FAILED),
    ("result-beats-the-scheduler", Facts(result="completed", submitted=True, job="failed"), S.COMPLETED),
    # ... unless a resubmission newer than it decides
    (
        "resubmitted-and-running",
        Facts(result="failed", superseded=True, recorded="running", submitted=True, job="running"),
        S.RUNNING,
    ),
    (
        "resubmitted-and-pending",
        Facts(result="failed", superseded=True, recorded="failed", submitted=True, job="pending"),
        S.PENDING,
    ),
    (
        "resubmitted-job-failed",
        Facts(result="completed", superseded=True, recorded="completed", submitted=True, job="failed"),
        S.FAILED,
    ),
    (
        "resubmitted-job-gone-last-end-stands",
        Facts(result="failed", superseded=True, recorded="failed", submitted=True, job=JOB_GONE),
        S.FAILED,
    ),
    # 2. cancelled by seqjobs cancel
    (
        "cancelled-beats-a-live-owner",
        Facts(recorded="cancelled", owner=True, submitted=True, job=JOB_ALIVE),
        S.CANCELLED,
    ),
    ("cancelled-beats-the-scheduler", Facts(recorded="cancelled", submitted=True, job="running"), S.CANCELLED),
    # 3. a live owner
    ("live-owner-beats-the-scheduler", Facts(recorded="running", owner=True, submitted=True, job="failed"), S.RUNNING),
    ("live-owner-without-a-job", Facts(recorded="running", owner=True, job=JOB_GONE), S.RUNNING),
    # 4. the job
    ("scheduler-running", Facts(recorded="running", submitted=True, job="running"), S.RUNNING),
    ("scheduler-pending", Facts(submitted=True, job="pending"), S.PENDING),
    ("pending-again-after-running-is-requeued", Facts(recorded="running", submitted=True, job="pending"), S.REQUEUED),
    ("scheduler-requeued", Facts(recorded="requeued", submitted=True, job="requeued"), S.REQUEUED),
    ("scheduler-failed", Facts(recorded="running", submitted=True, job="failed"), S.FAILED),
    ("scheduler-cancelled", Facts(recorded="running", submitted=True, job="cancelled"), S.CANCELLED),
    ("packed-task-not-yet-on-it", Facts(submitted=True, job="running"), S.PENDING),
    ("packed-task-owner-unknown", Facts(submitted=True, owner=None, job="running"), S.RUNNING),
    ("local-worker-not-yet-on-it", Facts(submitted=True, job=JOB_ALIVE), S.PENDING),
    ("local-worker-between-attempts", Facts(recorded="requeued", submitted=True, job=JOB_ALIVE), S.REQUEUED),
    ("local-worker-alive-but-no-owner", Facts(recorded="running", submitted=True, job=JOB_ALIVE), S.REQUEUED),
    ("local-worker-owner-cannot-tell", Facts(recorded="running", owner=None, submitted=True, job=JOB_ALIVE), S.RUNNING),
    # 5. stopped where nothing will resume it
    ("local-job-gone-no-owner", Facts(recorded="requeued", submitted=True, job=JOB_GONE), S.STUCK),
    ("job-gone-before-it-started", Facts(submitted=True, job=JOB_GONE), S.STUCK),
    ("scheduler-completed-yet-running-recorded", Facts(recorded="running", submitted=True, job="completed"), S.STUCK),
    ("seqjobs-run-killed", Facts(recorded="running", job=JOB_GONE), S.STUCK),
    # what cannot be told
    ("never-submitted", Facts(job=JOB_GONE), S.MISSING),
    ("ended-without-result", Facts(recorded="completed", submitted=True, job=JOB_GONE), S.UNKNOWN),
    ("no-scheduler-answer", Facts(recorded="running", submitted=True, job=None), S.UNKNOWN),
    ("owner-cannot-be-checked", Facts(recorded="running", owner=None, submitted=True, job=JOB_GONE), S.UNKNOWN),
]


@pytest.mark.parametrize(("facts", "shown"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_the_state_shown_follows_the_order_of_evidence(facts: Facts, shown: RunState) -> None:
    state, _ = classify(facts)
    assert state is shown


def test_the_table_shows_every_state_the_rules_can_give() -> None:
    """``unreadable`` is not a rule's: it is a folder that could not be read at all."""
    assert {shown for _, _, shown in CASES} == set(SHOWN) - {S.UNREADABLE}


@pytest.mark.parametrize(
    ("facts", "settled"),
    [
        (Facts(result="completed"), True),
        (Facts(recorded="cancelled"), True),
        (Facts(result="failed", superseded=True, recorded="running"), False),
        (Facts(recorded="running"), False),
    ],
)
def test_only_an_end_that_stands_or_a_cancel_spare_the_liveness_checks(facts: Facts, settled: bool) -> None:
    """A view of many ended runs asks no process and no scheduler about them: their files decide."""
    assert settled_by_files(facts) is settled


def test_a_state_is_the_same_text_in_json_csv_and_messages() -> None:
    assert json.dumps({"state": S.REQUEUED}) == '{"state": "requeued"}'
    assert (f"{S.STUCK}", f"{S.STUCK:>6}", str(S.STUCK)) == ("stuck", " stuck", "stuck")
    assert S.FAILED == "failed" and {"failed": 1}[S.FAILED] == 1


# -- transitions: what state.json may change to -------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("completed", "running"),  # an ended run runs again only as a new attempt
        ("failed", "running"),
        ("completed", "requeued"),
        ("failed", "cancelled"),
        ("completed", "failed"),
        ("requeued", "running"),
        (None, "running"),
    ],
)
def test_a_change_no_rule_allows_is_refused(before: Optional[str], after: str) -> None:
    with pytest.raises(IllegalTransition, match=f"cannot become {after}"):
        check_transition(before, after, new_attempt=False)


@pytest.mark.parametrize("before", [None, *RECORDED])
def test_a_new_attempt_begins_running_from_any_state(before: Optional[str]) -> None:
    check_transition(before, "running", new_attempt=True)  # a resume, a retry, more epochs for a completed run
    with pytest.raises(IllegalTransition, match="new attempt begins running"):
        check_transition(before, "requeued", new_attempt=True)


def test_the_table_covers_every_recorded_state_and_leads_only_to_recorded_ones() -> None:
    assert set(TRANSITIONS) == {None, *RECORDED}
    assert all(targets <= set(RECORDED) for targets in TRANSITIONS.values())
    for state in RECORDED:
        check_transition(state, state, new_attempt=False)  # rewriting the same state (an epoch committed) is no change


def test_a_run_folder_refuses_an_illegal_change_and_keeps_its_file(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    run.create()
    run.begin_attempt()
    run.complete("markov", {}, {})
    before = (run.path / "state.json").read_text()
    with pytest.raises(IllegalTransition, match="state.json: a run completed cannot become running"):
        run._write_state(StateRecord(state="running", attempt=1), "completed")
    assert (run.path / "state.json").read_text() == before


def recorded(run: RunDir) -> str:
    """``state.json``'s state."""
    state = run.state_record()
    assert state is not None
    return state.state


def test_the_run_folders_own_changes_follow_the_table(tmp_path: Path) -> None:
    """Every way a run moves, through :class:`RunDir`: each is allowed, and an ended run runs again as a new attempt."""
    run = RunDir(tmp_path / "run")
    run.create()
    run.mark_cancelled()  # cancelled before it began
    assert recorded(run) == "cancelled"
    run.record_job(
        job_id="1", executor="local", options={}, paths={}, submitted_at="2024-01-01T00:00:00+00:00"
    )  # resubmitted: the cancel is history
    assert recorded(run) == "requeued"
    assert run.begin_attempt().state == "running"
    run.note_committed(1)
    requeued = run.mark_requeued()
    assert requeued is not None and requeued.state == "requeued"
    assert run.begin_attempt(1).attempt == 2
    run.mark_cancelled()  # cancelled as it ends: its end stands
    run.complete("markov", {}, {})
    assert recorded(run) == "completed"
    assert run.mark_requeued() is None  # an ended run is not requeued, nor cancelled
    run.mark_cancelled()
    assert recorded(run) == "completed"
    extended = run.begin_attempt(1)  # more epochs: a new attempt
    assert (extended.state, extended.attempt) == ("running", 3)


def test_a_cancel_that_lands_while_the_owner_rewrites_its_state_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An epoch's commit reads ``state.json``, changes it and renames its new copy over it. ``seqjobs cancel``
    (another process) landing in between must survive that rename: the run reads cancelled, the owner's attempt
    is closed at the cancel (it commits nothing more), and only a new start by the user withdraws the cancel."""
    run = RunDir(tmp_path / "run")
    run.create()
    started = run.begin_attempt()
    write_json, cancels = atomic.write_json, []

    def cancelled_just_before(path: Path, obj: object) -> Path:
        if Path(path).name == "state.json" and not cancels:  # the owner has read the state, is about to rename
            cancels.append(path)
            RunDir(run.path).mark_cancelled()
        return write_json(path, obj)

    monkeypatch.setattr(atomic, "write_json", cancelled_just_before)
    run.note_committed(1)
    monkeypatch.setattr(atomic, "write_json", write_json)
    state = run.state_record()
    assert state is not None and (state.state, state.attempt, state.epochs_committed) == ("cancelled", 1, 1)
    assert [(h["attempt"], h["outcome"]) for h in state.history] == [(1, "cancelled")]
    assert state.ended_at == state.history[0]["ended_at"] and state.ended_at >= str(started.started_at)
    with pytest.raises(AttemptClosed):
        run.check_attempt_open()
    run.mark_cancelled()  # a second cancel changes nothing: the clock stays stopped at the first
    assert run.state_record() == state
    run.withdraw_cancel()  # the user starts it again (a submission, ``seqjobs run``)
    again = run.state_record()
    assert again is not None and again.state == "requeued" and again.history == state.history
    assert run.begin_attempt(1).attempt == 2
    run.check_attempt_open()  # the new attempt is open
