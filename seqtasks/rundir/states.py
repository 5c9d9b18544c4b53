"""The states of a run: which exist, which a run folder records, how a run moves between them, and what a view shows.

Every module that writes or reads a run's state asks this one, so the rules
are written once: :data:`RECORDED` (what ``state.json`` may hold), the named
groups the commands act on, the transitions :class:`~seqtasks.rundir.RunDir`
may write (:func:`check_transition`), and :func:`classify`, which turns what
a run folder's files say and what its job answers into the state ``status``
shows. It takes plain data -- the scheduler's normalised state word, whether
an owner is alive -- so it is pure, and a table of cases documents it
(``tests/test_run_states.py``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class RunState(str, enum.Enum):
    """A run's state: the same text in ``state.json``, ``status --json`` and every CSV (it is a ``str``).

    The members are in the order ``status`` counts them in its summary line.
    """

    PENDING = "pending"
    RUNNING = "running"
    REQUEUED = "requeued"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    STUCK = "stuck"
    UNKNOWN = "unknown"
    MISSING = "missing"
    UNREADABLE = "unreadable"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


#: every state a view shows, in the order of its summary line
SHOWN = tuple(RunState)
#: the states ``state.json`` records: what a run's own processes, ``cancel`` and ``resubmit`` write. The others are
#: a view's conclusions (pending: not begun; stuck, unknown, missing, unreadable: what the evidence leaves)
RECORDED = (RunState.RUNNING, RunState.REQUEUED, RunState.COMPLETED, RunState.FAILED, RunState.CANCELLED)
#: how a run ends that writes ``result.json`` (its ``status``): a ``state.json`` saying so without one is ``unknown``
WITH_RESULT = (RunState.COMPLETED, RunState.FAILED)
#: a run in one of these has ended: nothing resumes it by itself, a job skips it, waiting for it is over
ENDED = frozenset({RunState.COMPLETED, RunState.FAILED, RunState.CANCELLED})
#: a run (or a scheduler's job) in one of these will still run: it is not submitted again, and the claim of a
#: job in one of them is not taken over
ACTIVE = (RunState.PENDING, RunState.RUNNING, RunState.REQUEUED)
#: runs at work right now: a large sweep's view lists the first few and counts the rest
AT_WORK = (RunState.RUNNING, RunState.REQUEUED)
#: states that want someone's action (a fix, a resubmission): a large sweep's view lists every such run
TROUBLE = (RunState.FAILED, RunState.STUCK, RunState.UNREADABLE, RunState.UNKNOWN, RunState.MISSING)
#: states a run that ends while it is being read can show for a moment, so a view reads such a run once more:
#: the folder is read before the scheduler answers, so a job that ended in between looks stuck; a run read
#: between its last ``state.json`` and its result looks requeued; and an array task that started and ended in
#: between is in neither squeue (ended) nor yet sacct's records (slurmdbd lags): unknown
REREAD = (RunState.STUCK, RunState.REQUEUED, RunState.UNKNOWN)

#: what a view knows of a local job besides the scheduler's words: its controller runs ...
JOB_ALIVE = "alive"
#: ... or provably no job will run the run (none was submitted, its local controller or in-process run has ended)
JOB_GONE = "gone"
#: job answers that mean the run will still be run: the scheduler's :data:`ACTIVE`, or a live local controller
ALIVE = frozenset({JOB_ALIVE, *ACTIVE})

#: the changes ``state.json`` may make within one attempt (a new attempt always begins ``running``, from any state).
#: Writing the same state again (an epoch committed, a requeue before the attempt began) is no change.
TRANSITIONS: dict[RunState | None, frozenset[RunState]] = {
    # no state.json yet: cancelled before it began, stopped (requeued) before it began, or ended before it began
    None: frozenset({RunState.REQUEUED, RunState.COMPLETED, RunState.FAILED, RunState.CANCELLED}),
    RunState.RUNNING: frozenset({RunState.REQUEUED, RunState.COMPLETED, RunState.FAILED, RunState.CANCELLED}),
    # a requeued run can still end (its stall count ran out; a result written before a kill is settled), or be cancelled
    RunState.REQUEUED: frozenset({RunState.COMPLETED, RunState.FAILED, RunState.CANCELLED}),
    # resubmitted (the cancel is history), or cancelled while its process was writing its end: the end stands
    RunState.CANCELLED: frozenset({RunState.REQUEUED, RunState.COMPLETED, RunState.FAILED}),
    # an ended run changes only by a new attempt (``seqjobs run`` again, a retry, more epochs)
    RunState.COMPLETED: frozenset(),
    RunState.FAILED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A write of ``state.json`` that no rule allows: a bug in the writer, refused before the file changes."""


def check_transition(before: str | None, after: str, new_attempt: bool) -> None:
    """Refuse (:class:`IllegalTransition`) moving a run from ``before`` (``None``: no ``state.json``) to ``after``.

    ``new_attempt``: the write begins the run's next attempt, which must be
    ``running`` and may follow any state (a retry, a resume, more epochs).
    """
    old = None if before is None else RunState(before)
    new = RunState(after)
    if new_attempt:
        if new is not RunState.RUNNING:
            raise IllegalTransition(f"a new attempt begins {RunState.RUNNING}, not {new}")
        return
    if new is not old and new not in TRANSITIONS[old]:
        allowed = ", ".join(sorted(TRANSITIONS[old])) or "nothing but a new attempt"
        raise IllegalTransition(
            f"a run {old or 'never started'} cannot become {new} within an attempt (allowed: {allowed})"
        )


@dataclass(frozen=True)
class Facts:
    """What a view knows of one run: what its folder's files say, and what its job answers now."""

    #: ``result.json``'s ``status`` (``None``: no result)
    result: str | None = None
    #: a submission newer than that result (``resubmit``): its job decides, not the old end
    superseded: bool = False
    #: ``state.json``'s ``state`` (``None``: none)
    recorded: str | None = None
    #: the run has a ``job.json``
    submitted: bool = False
    #: a process owns the run (``claim.json``): True alive, False none or provably gone, None cannot tell
    owner: bool | None = False
    #: the job's answer: a scheduler state (one of :class:`RunState`'s words), :data:`JOB_ALIVE`, :data:`JOB_GONE`,
    #: or ``None`` (cannot tell from here)
    job: str | None = None


class Basis(enum.Enum):
    """Which fact decided a run's state: the view words its error column from it."""

    RESULT = "result.json says how the run ended"
    CANCEL = "state.json says cancelled"
    OWNER = "a live process owns the run"
    JOB = "the job's answer"
    NO_RESULT = "state.json says it ended, yet there is no result.json"
    ABANDONED = "nothing will resume it: its job has ended and no process owns it"
    NOTHING = "no evidence either way"


def classify(facts: Facts) -> tuple[RunState, Basis]:
    """The state a view shows for ``facts``, and what decided it; the evidence in this order:

    1. ``result.json``: how the run ended -- unless a submission newer than
       that end has superseded it; then the new job decides;
    2. ``state.json`` cancelled: ``cancelled``;
    3. a live owner: ``running``;
    4. the job: alive (:func:`_at_work`), failed or cancelled; a job that is
       neither leaves a superseded result standing;
    5. nothing submitted and nothing recorded: ``missing``; ended without a
       result: ``unknown``; recorded as started while the job has provably
       ended and no process owns the run: ``stuck``; else ``unknown``.
    """
    by_files = _by_files(facts)
    if by_files is not None:
        return by_files
    if facts.owner:
        return RunState.RUNNING, Basis.OWNER
    if facts.job in ALIVE:
        return _at_work(facts.job, facts.recorded, facts.owner), Basis.JOB
    if facts.job in (RunState.FAILED, RunState.CANCELLED):
        return RunState(facts.job), Basis.JOB
    if facts.result is not None:  # a newer submission whose job is not alive: the last end stands
        return RunState(facts.result), Basis.RESULT
    if not facts.submitted and facts.recorded is None:
        return RunState.MISSING, Basis.NOTHING
    if facts.recorded in WITH_RESULT:
        return RunState.UNKNOWN, Basis.NO_RESULT
    if facts.job in (JOB_GONE, RunState.COMPLETED) and facts.owner is False:
        return RunState.STUCK, Basis.ABANDONED
    return RunState.UNKNOWN, Basis.NOTHING


def settled_by_files(facts: Facts) -> bool:
    """Do the run's files alone decide its state (an end that stands, a cancel)?

    Then no one needs to ask whether its owner or its job is alive: a view of
    10,000 ended runs looks at no process and waits for no scheduler.
    """
    return _by_files(facts) is not None


def _by_files(facts: Facts) -> tuple[RunState, Basis] | None:
    """Steps 1 and 2 of :func:`classify`: the state the files alone decide; ``None``: the owner and job decide."""
    if facts.result is not None and not facts.superseded:
        return RunState(facts.result), Basis.RESULT
    if facts.recorded == RunState.CANCELLED:
        return RunState.CANCELLED, Basis.CANCEL
    return None


def _at_work(job: str | None, recorded: str | None, owner: bool | None) -> RunState:
    """The state of a run whose job is alive but whose folder has no live owner right now."""
    started = recorded in AT_WORK
    if job == JOB_ALIVE:  # a local worker: on this run now, or getting to it
        if recorded == RunState.RUNNING and owner is not False:
            return RunState.RUNNING
        return RunState.REQUEUED if started else RunState.PENDING
    if job == RunState.PENDING and started:
        return RunState.REQUEUED
    if job == RunState.RUNNING and owner is False and recorded is None:  # a packed task, on another of its runs
        return RunState.PENDING
    return RunState(job)
