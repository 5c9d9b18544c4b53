"""The callable a job runs: one or more runs, in order, each into its own folder.

It is a :class:`submitit.helpers.Checkpointable`: on preemption or time-out
submitit calls :meth:`RunJob.checkpoint`, which requeues the same callable.
Runs already completed are skipped by the runner and the interrupted one
resumes from its last epoch checkpoint, so nothing is trained twice.
Jobs return small records (paths and figures), never Keras objects.

A local worker runs a stripe of a sweep's runs, one after the other, in one
process. ``seqjobs cancel`` of one of them marks that run cancelled and sends
the worker :data:`CANCEL_RUN_SIGNAL`: the worker stops that run only (raising
:class:`RunCancelled` inside it, which the runner records as no failure, so
the folder stays resumable) and goes on with the next; a run cancelled
before the worker reaches it is skipped.

A SLURM array task holds one run, or ``--runs-per-task`` of them, run the
same way; given several GPUs, it shares them out, one run per GPU at a time
(:mod:`jobs.engine.gpushare`).

Requeues are limited by progress, not by count: an attempt that committed an
epoch may be followed by any number of others (a three-day run on a 4-hour
partition needs eighteen), while ``max_stalled`` attempts in a row that
reached their time limit and committed nothing fail the run with that reason
(the limit is shorter than an epoch: requeueing would never end). A
preemption is not the run's doing and says nothing of its time limit: an
attempt preempted before its first commit is requeued without counting, so
a run on a busy preemptible partition is never failed for it. submitit's own
time-out count is set out of reach by the executors
(:mod:`jobs.engine.executors`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Iterator, NoReturn

import submitit
from submitit.local.local import LOCAL_REQUEUE_RETURN_CODE

from jobs.engine.fanout import each
from seqtasks.config import from_dict
from seqtasks.processes import started_at
from seqtasks.rundir import Claimed, Damaged, RunDir
from seqtasks.rundir.records import dump
from seqtasks.rundir.states import ACTIVE, ENDED, RunState
from seqtasks.tasks import get_task

#: attempts in a row stopped by their time limit without a committed epoch before a run fails
DEFAULT_MAX_STALLED = 3
#: how early the time limit's signal may come: SLURM sends ``--signal`` up to 60 s before it is due (its event
#: resolution), and start-up before Python (seconds on SLURM) is not in the process's age
TIME_LIMIT_EARLY_S = 60.0
#: ... or this share of the time before it, for long limits
TIME_LIMIT_EARLY_SHARE = 0.2
#: ``seqjobs cancel`` sends it to the local worker that owns a cancelled run (submitit uses SIGUSR2 and SIGTERM)
CANCEL_RUN_SIGNAL = signal.SIGUSR1


class RunCancelled(KeyboardInterrupt):
    """The run being executed was cancelled: stop it like a kill (no failure recorded, resumable), and only it."""


def run_cancelled(run_dir: str | Path) -> bool:
    """Does the run's ``state.json`` say ``seqjobs cancel`` stopped it (and nothing ran it since)?"""
    try:
        state = RunDir(run_dir).state_record()
    except Damaged:
        return False
    return state is not None and state.state == RunState.CANCELLED


@dataclass(frozen=True)
class RunSpec:
    """One run to execute: a task, its parameters (JSON-ready) and its folder."""

    task: str
    params: dict[str, Any]
    run_dir: str


def scheduler_job_alive(job_id: str) -> bool | None:
    """Is a SLURM job queued or running (for taking over a claim made on another node)?"""
    from jobs import scheduler

    info = scheduler.job_states([job_id]).get(job_id)
    if info is None:
        return None
    return info["state"] in ACTIVE


class RunJob(submitit.helpers.Checkpointable):
    """Execute ``runs`` in order; with ``raise_errors`` a failing run fails the job.

    A SLURM array element of one run raises, so the scheduler marks it
    FAILED too; a packed one (``--runs-per-task``), like a local worker with
    its stripe of a sweep, keeps going past a failure (the run's own
    ``result.json`` records it). A run owned by
    another live process (a second submission of the same sweep) is skipped
    and left untouched.
    """

    def __init__(
        self,
        runs: list[RunSpec],
        raise_errors: bool = True,
        max_stalled: int | None = None,
        limit_signal_s: float | None = None,
    ) -> None:
        self.runs = runs
        self.raise_errors = raise_errors
        self.max_stalled = max_stalled or DEFAULT_MAX_STALLED
        self.limit_signal_s = limit_signal_s  # when the time limit's signal is due after a start (None: unknown)
        self.finished: set[str] = set()  # run folders this job has seen end (survives requeues: it is pickled)
        self.current: str | None = None  # the run folder being executed now
        self.workers: Any = None  # the worker processes while the runs are shared out to several GPUs
        self.idle_attempts = 0  # attempts in a row stopped before they began or finished any run
        self.finished_before = 0  # len(finished) when this attempt started (or the last one was checkpointed)
        self.requeued = False  # this attempt's checkpoint decided to requeue the job (it exits as soon as it can)

    def __call__(self) -> list[dict[str, Any]]:
        self.finished_before = len(self.finished)
        self.requeued = False  # the checkpoint pickled it True
        devices = slurm_gpus()
        if len(self.runs) > 1 and len(devices) > 1:  # one run per GPU at a time
            from jobs.engine.gpushare import Workers  # it imports this module

            self.workers = Workers(devices)
            shared: list[dict[str, Any]] = self.workers.run(self.runs, self.max_stalled)
            return shared
        try:
            return self._run_in_turn()
        except Exception as err:
            # the exit that the requeue raised may surface outside a run too (a task's import): still a requeue
            if self.requeued:
                self._exit_requeued(err)
            raise

    def _run_in_turn(self) -> list[dict[str, Any]]:
        """Execute the job's runs one after the other; a run that fails is recorded and the next one goes on."""
        from seqtasks.runner import execute

        records = []
        with self._cancellable():
            for spec in self.runs:
                task = get_task(spec.task)
                config: Any = from_dict(task.config_cls, spec.params)
                self.current = spec.run_dir
                try:
                    if run_cancelled(spec.run_dir):
                        raise RunCancelled(spec.run_dir)
                    result = execute(spec.task, config, spec.run_dir, job_alive=scheduler_job_alive)
                except RunCancelled:
                    result = {"status": RunState.CANCELLED}
                except Claimed as err:
                    result = {"status": "skipped", "error": str(err)}
                except Exception as err:
                    if self.requeued:
                        self._exit_requeued(err)
                    if run_cancelled(spec.run_dir):  # a cancel ended it, whatever its stop came out as
                        result = {"status": RunState.CANCELLED}
                    elif self.raise_errors:
                        raise
                    else:
                        lines = str(err).strip().splitlines()
                        result = {"status": RunState.FAILED, "error": lines[-1] if lines else type(err).__name__}
                self.finished.add(spec.run_dir)
                records.append(
                    {
                        "run_dir": spec.run_dir,
                        "status": result.get("status"),
                        task.main_metric: result.get(task.main_metric),
                        "error": result.get("error"),
                    }
                )
        return records

    @contextlib.contextmanager
    def _cancellable(self) -> Iterator[None]:
        """While the runs execute, :data:`CANCEL_RUN_SIGNAL` stops the current run if it was cancelled.

        The signal alone is not enough: it may arrive as the worker moves on
        to the next run, which must go on. Only the main thread may handle
        signals (a caller running jobs in a thread gets no per-run cancel).
        """
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(CANCEL_RUN_SIGNAL, self._stop_if_cancelled)
        try:
            yield
        finally:
            signal.signal(CANCEL_RUN_SIGNAL, previous)

    def _stop_if_cancelled(self, signum: int, frame: FrameType | None) -> None:
        current = self.current
        if current is not None and current not in self.finished and run_cancelled(current):
            raise RunCancelled(current)

    # submitit's stub promises a submission, but its handler reads None as "do not requeue", as meant here
    def checkpoint(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> submitit.helpers.DelayedSubmission | None:
        """Mark the running run requeued and resubmit this job, unless it stopped making progress.

        A run whose last ``max_stalled`` attempts reached their time limit
        (:meth:`timed_out`) and committed no epoch fails with that reason
        instead (its ``result.json`` says so); a preempted attempt neither
        counts nor resets the count. The job is requeued only while it has
        runs left to do. A signal that comes before this attempt began its
        run (the job was still starting, or between two runs) changes no run
        folder: this process owns none yet. Such attempts are counted by the
        job itself, by the same rule; after ``max_stalled`` in a row that
        began and finished nothing, it is not requeued again (a time limit
        shorter than the job's start-up would otherwise requeue it forever),
        and the job fails.
        """
        if self.workers is not None:  # shared out to several GPUs: stop the workers, then ask the folders
            self.workers.stop()
            self.workers = None
            self.finished |= {spec.run_dir for spec in self.runs if _recorded_state(spec.run_dir) in ENDED}
            interrupted = [spec for spec in self.runs if _recorded_state(spec.run_dir) == RunState.RUNNING]
        else:
            interrupted = [
                spec
                for spec in self.runs
                if spec.run_dir == self.current and spec.run_dir not in self.finished and _begun_here(spec.run_dir)
            ]
        progressed = bool(interrupted) or len(self.finished) > self.finished_before
        timed_out = self.timed_out()
        self.idle_attempts = 0 if progressed else self.idle_attempts + timed_out
        self.finished_before = len(self.finished)
        if self.idle_attempts >= self.max_stalled:
            print(
                f"seqjobs: {self.idle_attempts} attempts in a row were stopped before any run began; "
                "not requeued again: give the job more --time",
                file=sys.stderr,
                flush=True,
            )
            return None
        left = [spec for spec in self.runs if spec.run_dir not in self.finished]
        for current in interrupted:
            run = RunDir(current.run_dir)
            state = run.mark_requeued(stalled=timed_out)
            if state is not None and state.stalled_attempts >= self.max_stalled:
                run.fail(
                    current.task,
                    error=f"no epoch committed in {state.stalled_attempts} attempts in a row (time limit or "
                    "preemption before the first epoch ended); give the job more --time, or make epochs shorter",
                    error_type="Stalled",
                    trace="",
                    extra={"attempt": state.attempt},
                )
                left.remove(current)
        if not left:
            return None
        self.runs = left
        self.requeued = True
        return submitit.helpers.DelayedSubmission(self, *args, **kwargs)

    def _exit_requeued(self, err: Exception) -> NoReturn:
        """End an attempt whose requeue was decided, though the handler's exit came back as ``err``.

        submitit's handler requeues the job (the checkpoint is pickled; on
        SLURM ``scontrol requeue`` has run), then raises ``SystemExit``
        wherever the main thread was. A C extension initialising at that
        moment turns it into an ``ImportError`` (pybind11 does), which the
        task reports as its failure (:func:`seqtasks.runner.execute` leaves
        such a run requeued, not failed). The job must still end as requeued:
        with the exit code on which the local controller starts it again.
        """
        print(
            f"seqjobs: the job was requeued; its exit came back as {type(err).__name__}: {err}",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(LOCAL_REQUEUE_RETURN_CODE) from err

    def timed_out(self) -> bool:
        """Is this attempt being stopped by its time limit, rather than preempted?

        The time limit's signal is due ``limit_signal_s`` after the job
        started, and may come up to a minute (or a fifth of that time) early;
        a signal before that is a preemption (or ``scancel -s USR2``). A
        limit so short that the margin covers it, or an unknown one, counts
        every signal as the time limit's, the safe side: requeueing cannot go
        on forever.
        """
        if self.limit_signal_s is None:
            return True
        started = started_at(os.getpid())
        early = max(TIME_LIMIT_EARLY_S, TIME_LIMIT_EARLY_SHARE * self.limit_signal_s)
        return started is None or time.time() - started >= self.limit_signal_s - early


def slurm_gpus() -> list[str]:
    """The GPUs SLURM gave this job (``CUDA_VISIBLE_DEVICES``); none outside a SLURM job.

    Local workers get their devices from ``--gpus-per-node`` too, but already
    run side by side, as many as ``--array-parallelism`` says.
    """
    if os.environ.get("SUBMITIT_EXECUTOR") != "slurm":
        return []
    return [d for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]


def _begun_here(run_dir: str) -> bool:
    """Did this process begin the run's current attempt (``state.json`` running, with this host and pid)?"""
    try:
        state = RunDir(run_dir).state_record()
    except Damaged:
        return False
    return (
        state is not None
        and state.state == RunState.RUNNING
        and (state.host, state.pid) == (socket.gethostname(), os.getpid())
    )


def _recorded_state(run_dir: str) -> str | None:
    """The state ``state.json`` records (``None``: none yet, or unreadable)."""
    try:
        state = RunDir(run_dir).state_record()
    except Damaged:
        return None
    return state.state if state else None


def write_job_record(
    run_dir: Path,
    job: submitit.Job[Any],
    options: dict[str, Any],
    submitted_at: str,
) -> dict[str, Any]:
    """Record in the run folder which job runs it, where its logs are, and how it was submitted.

    A local job's id is its controller's pid; the controller's start time
    goes with it (``options.controller_started``), so that a later process
    given the same pid is never taken for the job
    (:func:`jobs.scheduler.local.local_job_alive`).
    """
    if options["executor"] == "local":
        options = {**options, "controller_started": started_at(int(job.job_id))}
    paths = {"stdout": str(job.paths.stdout), "stderr": str(job.paths.stderr), "submitit_folder": str(job.paths.folder)}
    return dump(
        RunDir(run_dir).record_job(
            job_id=str(job.job_id),
            executor=options["executor"],
            options=options,
            paths=paths,
            submitted_at=submitted_at,
        )
    )


def record_jobs(
    placed: list[tuple[list[RunSpec], submitit.Job[Any]]],
    options: dict[str, Any],
    submitted_at: str,
) -> dict[str, str]:
    """:func:`write_job_record` for every run of every job; returns ``{run_dir: job_id}``.

    ``submitted_at``: when the submission began (see :meth:`RunDir.record_job`).
    """
    pairs = [(spec, job) for runs, job in placed for spec in runs]
    each(lambda pair: write_job_record(Path(pair[0].run_dir), pair[1], options, submitted_at), pairs)
    return {spec.run_dir: str(job.job_id) for spec, job in pairs}
