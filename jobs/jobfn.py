"""The callable a job runs: one or more runs, in order, each into its own folder.

It is a :class:`submitit.helpers.Checkpointable`: on preemption or time-out
submitit calls :meth:`RunJob.checkpoint`, which requeues the same callable.
Runs already completed are skipped by the runner and the interrupted one
resumes from its last epoch checkpoint, so nothing is trained twice.
Jobs return small records (paths and figures), never Keras objects.
"""

from __future__ import annotations

import os
import socket
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import submitit

from seqtasks import atomic
from seqtasks.config import from_dict
from seqtasks.rundir import RunDir, now_iso
from seqtasks.tasks import get_task

#: SLURM's preemption signal with preempt_send_user_signal, and submitit's time-out signal
USR_SIGNAL = signal.SIGUSR2


@dataclass(frozen=True)
class RunSpec:
    """One run to execute: a task, its parameters (JSON-ready) and its folder."""

    task: str
    params: dict[str, Any]
    run_dir: str


class RunJob(submitit.helpers.Checkpointable):
    """Execute ``runs`` in order; with ``raise_errors`` a failing run fails the job.

    A SLURM array element holds one run and raises, so the scheduler marks it
    FAILED too; a local worker holds a stripe of a sweep and keeps going past
    a failure (the run's own ``result.json`` records it).
    """

    def __init__(self, runs: list[RunSpec], raise_errors: bool = True) -> None:
        self.runs = runs
        self.raise_errors = raise_errors

    def __call__(self) -> list[dict[str, Any]]:
        from seqtasks.runner import execute

        records = []
        for spec in self.runs:
            task = get_task(spec.task)
            config = from_dict(task.config_cls, spec.params)
            try:
                result = execute(spec.task, config, spec.run_dir)
            except Exception as err:
                if self.raise_errors:
                    raise
                lines = str(err).strip().splitlines()
                result = {"status": "failed", "error": lines[-1] if lines else type(err).__name__}
            records.append(
                {
                    "run_dir": spec.run_dir,
                    "status": result.get("status"),
                    task.main_metric: result.get(task.main_metric),
                    "error": result.get("error"),
                }
            )
        return records

    def checkpoint(self, *args: Any, **kwargs: Any) -> submitit.helpers.DelayedSubmission:
        """Mark unfinished runs as requeued (for ``status``) and resubmit this same job."""
        for spec in self.runs:
            run_dir = RunDir(spec.run_dir)
            state = run_dir.state()
            if state and state.get("state") == "running":
                state.update(state="requeued", requeued_at=now_iso(), pid=os.getpid())
                atomic.write_json(run_dir.file("state.json"), state)
        return submitit.helpers.DelayedSubmission(self, *args, **kwargs)


def write_job_record(run_dir: Path, job: submitit.Job[Any], options: dict[str, Any]) -> dict[str, Any]:
    """Record in the run folder which job runs it, where its logs are, and how it was submitted."""
    record = {
        "job_id": str(job.job_id),
        "executor": options["executor"],
        "options": options,
        "stdout": str(job.paths.stdout),
        "stderr": str(job.paths.stderr),
        "submitit_folder": str(job.paths.folder),
        "submitted_at": now_iso(),
        "host": socket.gethostname(),
    }
    atomic.write_json(Path(run_dir) / "job.json", record)
    return record
