"""The callable a job runs: one or more runs, in order, each into its own folder.

It is a :class:`submitit.helpers.Checkpointable`: on preemption or time-out
submitit calls :meth:`RunJob.checkpoint`, which requeues the same callable.
Runs already completed are skipped by the runner and the interrupted one
resumes from its last epoch checkpoint, so nothing is trained twice.
Jobs return small records (paths and figures), never Keras objects.

Requeues are limited by progress, not by count: an attempt that committed an
epoch may be followed by any number of others (a three-day run on a 4-hour
partition needs eighteen), while ``max_stalled`` attempts in a row that
commit nothing fail the run with that reason. submitit's own time-out count
is therefore set out of reach by the executors (:mod:`jobs.engine.executors`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import submitit

from seqtasks.config import from_dict
from seqtasks.rundir import Claimed, RunDir
from seqtasks.rundir.records import dump
from seqtasks.tasks import get_task

#: attempts in a row without a committed epoch before a run fails
DEFAULT_MAX_STALLED = 3


@dataclass(frozen=True)
class RunSpec:
    """One run to execute: a task, its parameters (JSON-ready) and its folder."""

    task: str
    params: dict[str, Any]
    run_dir: str


def scheduler_job_alive(job_id: str) -> bool | None:
    """Is a SLURM job queued or running (for taking over a claim made on another node)?"""
    from jobs.monitor import scheduler

    info = scheduler.job_states([job_id]).get(job_id)
    if info is None:
        return None
    return info["state"] in ("pending", "running", "requeued")


class RunJob(submitit.helpers.Checkpointable):
    """Execute ``runs`` in order; with ``raise_errors`` a failing run fails the job.

    A SLURM array element holds one run and raises, so the scheduler marks it
    FAILED too; a local worker holds a stripe of a sweep and keeps going past
    a failure (the run's own ``result.json`` records it). A run owned by
    another live process (a second submission of the same sweep) is skipped
    and left untouched.
    """

    def __init__(self, runs: list[RunSpec], raise_errors: bool = True, max_stalled: int | None = None) -> None:
        self.runs = runs
        self.raise_errors = raise_errors
        self.max_stalled = max_stalled or DEFAULT_MAX_STALLED
        self.finished: set[str] = set()  # run folders this job has seen end (survives requeues: it is pickled)
        self.current: str | None = None  # the run folder being executed now

    def __call__(self) -> list[dict[str, Any]]:
        from seqtasks.runner import execute

        records = []
        for spec in self.runs:
            task = get_task(spec.task)
            config = from_dict(task.config_cls, spec.params)
            self.current = spec.run_dir
            try:
                result = execute(spec.task, config, spec.run_dir, job_alive=scheduler_job_alive)
            except Claimed as err:
                result = {"status": "skipped", "error": str(err)}
            except Exception as err:
                if self.raise_errors:
                    raise
                lines = str(err).strip().splitlines()
                result = {"status": "failed", "error": lines[-1] if lines else type(err).__name__}
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

    def checkpoint(self, *args: Any, **kwargs: Any) -> submitit.helpers.DelayedSubmission | None:
        """Mark the running run requeued and resubmit this job, unless it stopped making progress.

        A run whose last ``max_stalled`` attempts committed no epoch fails
        with that reason instead (its ``result.json`` says so); the job is
        requeued only while it has runs left to do.
        """
        left = [spec for spec in self.runs if spec.run_dir not in self.finished]
        current = next((spec for spec in left if spec.run_dir == self.current), None)
        if current is not None:
            run = RunDir(current.run_dir)
            state = run.mark_requeued()
            if state is not None and state.stalled_attempts >= self.max_stalled:
                run.fail(
                    current.task,
                    f"no epoch committed in {state.stalled_attempts} attempts in a row (time limit or preemption "
                    "before the first epoch ended); give the job more --time, or make epochs shorter",
                    "Stalled", "", {"attempt": state.attempt},
                )
                left.remove(current)
        if not left:
            return None
        self.runs = left
        return submitit.helpers.DelayedSubmission(self, *args, **kwargs)


def write_job_record(run_dir: Path, job: submitit.Job[Any], options: dict[str, Any]) -> dict[str, Any]:
    """Record in the run folder which job runs it, where its logs are, and how it was submitted."""
    paths = {"stdout": str(job.paths.stdout), "stderr": str(job.paths.stderr), "submitit_folder": str(job.paths.folder)}
    return dump(RunDir(run_dir).record_job(str(job.job_id), options["executor"], options, paths))
