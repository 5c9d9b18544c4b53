"""Run one task into one run folder: the single path every executor takes.

``seqjobs run`` calls :func:`execute` in-process; submitted jobs call it on the
compute node. It validates the config, claims the folder (one writer per
run), prepares or resumes it, runs the task and writes ``result.json`` --
``completed`` with the task's figures, or ``failed`` with the error's last
line so ``seqjobs status`` can show it.
"""

from __future__ import annotations

import signal
import threading
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from seqtasks.config import validate
from seqtasks.errors import UserError
from seqtasks.rundir import Damaged, RunDir, disk_full, elapsed, now_iso
from seqtasks.rundir.claim import JobAlive
from seqtasks.rundir.epochs import committed
from seqtasks.rundir.states import RunState
from seqtasks.tasks import get_task


def is_done(run_dir: RunDir, config: Any) -> bool:
    """True when the folder holds a completed result for ``config``.

    A run completed with fewer epochs than ``config`` asks for is not done:
    running it again trains the missing epochs only. A run that stopped
    early (``--patience``) is done for any ``--epochs``: it would not train on.
    """
    try:
        result = run_dir.result()
    except Damaged:
        return False
    return (
        result is not None
        and result.status == RunState.COMPLETED
        and (result.figures.get("early_stopped") is True or result.epochs_requested == getattr(config, "epochs", None))
    )


def _committed_epochs(run_dir: RunDir) -> int:
    try:
        progress = committed(run_dir)
    except Damaged:
        return 0  # the task's own rollback reports it
    return progress.epoch if progress else 0


def execute(
    task: str, config: Any, out: str | Path, job_alive: JobAlive | None = None, *, new_start: bool = False
) -> dict[str, Any]:
    """Run ``task`` with ``config`` into folder ``out`` and return its result record.

    A folder that already completed with the same config is not run again:
    its stored result is returned (re-running a sweep is idempotent). A
    folder owned by a live process raises :class:`~seqtasks.rundir.Claimed`
    and is left untouched. Raising tasks leave a ``failed`` result behind and
    re-raise; a kill or a preemption leaves the folder resumable.

    ``new_start``: a user runs it now (``seqjobs run``), so a cancel of the
    run is history; a job of an older submission leaves the cancel in place
    (the cancelled run's state stops its attempt at the first commit).
    """
    spec = get_task(task)
    validate(config)
    run_dir = RunDir(out)
    run_dir.check_compatible(task, config)  # refuse before anything is written
    with run_dir.claim(job_alive):
        run_dir.prepare(task, config)
        if new_start:
            run_dir.withdraw_cancel()
        if is_done(run_dir, config):  # same config, same length: nothing left to do
            return run_dir.settle().to_dict()
        state = run_dir.begin_attempt(_committed_epochs(run_dir))
        start = time.perf_counter()
        try:
            with _interrupts_noted() as interrupts:
                figures = spec.load()(config, run_dir)
        except (KeyboardInterrupt, SystemExit):
            raise  # a kill or a preemption: the folder stays resumable, not failed
        except BaseException as err:
            if interrupts:
                raise KeyboardInterrupt(f"interrupted; the interrupt came out as {type(err).__name__}") from err
            if _closed_under_it(run_dir, state.attempt):
                raise  # a preemption's handler ended this attempt, and its exit came out as this error
            _record_failure(run_dir, task, err, state.attempt)
            if disk_full(err):
                raise UserError(
                    f"the disk is full ({getattr(err, 'filename', None) or run_dir.path}); "
                    "free some space, then run the same command again: the run resumes from its last epoch"
                ) from None
            raise
        extra = {
            "duration_s": elapsed(start),
            "attempt": state.attempt,
            "ended_at": now_iso(),
            "run_dir": str(run_dir.path.resolve()),
        }
        if hasattr(config, "epochs"):
            extra["epochs_requested"] = config.epochs
        return run_dir.complete(task, figures, extra).to_dict()


@contextmanager
def _interrupts_noted() -> Iterator[list[int]]:
    """While the task runs, SIGINT still raises ``KeyboardInterrupt``, and is noted in the list yielded.

    C code can turn that exception into another error (TensorFlow's tensor
    conversion did: ``TypeError: Failed to convert elements of (None,) to
    Tensor`` in a local worker that ``seqjobs cancel`` interrupted as it began a
    run the cancel had not marked), and that error, recorded, would fail a
    run that was only stopped. Python's own handler only is replaced, and only
    in the main thread (the only one a handler can be set from).
    """
    noted: list[int] = []
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield noted
        return

    def note(signum: int, frame: object) -> None:
        noted.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, note)
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _closed_under_it(run_dir: RunDir, attempt: int) -> bool:
    """Was ``attempt`` ended while the task ran (``state.json`` no longer says it is running)?

    A preemption's handler requeues the run, then exits by raising
    ``SystemExit`` wherever the task was. Code in between can turn that exit
    into another error: a C extension initialising as the signal came (pybind11
    turns any exception into ``ImportError: initialization failed``, which
    Keras reports as ``optree`` missing). That error says nothing about the
    task, and recording it would fail a run that was only preempted.
    """
    try:
        state = run_dir.state_record()
    except Damaged:
        return False
    return state is not None and (state.state != RunState.RUNNING or state.attempt != attempt)


def _record_failure(run_dir: RunDir, task: str, err: BaseException, attempt: int) -> None:
    """``result.json`` says failed, with the error's last line (best effort: the disk may be full).

    A failure already recorded for this attempt (the job's requeue handler gave
    up on a stalled run) is the better reason and is kept.
    """
    try:
        previous = run_dir.result()
        if previous is not None and previous.attempt == attempt:
            return
    except Damaged:
        pass
    lines = [ln for ln in str(err).strip().splitlines() if ln.strip()]
    try:
        run_dir.fail(
            task,
            error=lines[-1] if lines else type(err).__name__,
            error_type=type(err).__name__,
            trace=traceback.format_exc(limit=8),
            extra={"attempt": attempt, "ended_at": now_iso()},
        )
    except OSError:
        pass
