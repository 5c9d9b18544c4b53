"""The job of an asynchronous halving sweep: a worker that pulls work until none is left.

Each array task on SLURM, and each local worker process, runs one
:class:`Worker`. It asks the search (:mod:`jobs.engine.asha.search`) for a
configuration to train, trains all its seeds one after another to the
rung's epochs in its own run folders (:func:`seqtasks.runner.execute`
through :class:`~jobs.engine.jobfn.RunJob`: a run resumes from its last
commit, and trains only the new epochs when promoted), records the mean of
their figures as the configuration's rung result, and asks again -- first
whether the configuration it just finished may go on, so that a promoted
configuration goes on in the job that holds it. With nothing to do it waits
while other workers train (their results may make work, and a dead one's
configuration is taken over), and ends once the search is complete, the
sweep is paused (``seqjobs cancel``), or nothing is left that it may take.

Preemption and time limits are :class:`RunJob`'s: the run being trained is
marked requeued and the job requeued; the requeued worker finds its
configuration by its own lease (same job id: the old attempt is gone) and
resumes it. Unlike a job of fixed runs, a worker is requeued even between
configurations: work may be left.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Optional

import submitit

from jobs.engine.asha.search import Item, Search
from jobs.engine.jobfn import RunJob, RunSpec, scheduler_job_alive
from jobs.engine.promotion import rung_score
from seqtasks.processes import started_at
from seqtasks.rundir import Damaged, RunDir, SweepDir, now_iso
from seqtasks.rundir.records import HalvingRecord
from seqtasks.rundir.states import RunState

#: how long an idle worker waits between looks while others train
IDLE_POLL_S = 3.0


def pull(search: Search, train: Callable[[Item], Any], poll_s: float = IDLE_POLL_S) -> list[Any]:
    """Train what ``search`` hands out until nothing is left (see the module doc); what ``train`` returned.

    ``train(item)`` trains and records ``item`` (:meth:`Search.finish`) and
    returns its result, or gives it back: returning ``cancelled`` ends the
    loop (the sweep is paused), ``None`` goes on without it. ``poll_s``: the
    wait between looks when idle (the benchmark scales it with its epochs).
    """
    done: list[Any] = []
    last: Optional[tuple[int, str]] = None
    while not search.folder.paused():
        item = search.next_item(prefer=last)
        if item is None:
            views = search.views()
            if search.complete(views) or not search.in_flight(views):
                break
            time.sleep(poll_s)
            continue
        outcome = train(item)
        if outcome == RunState.CANCELLED:
            break  # the sweep was cancelled: it is paused until the sweep command is given again
        if outcome is not None:
            done.append(outcome)
            last = (item.rung, item.config)
    return done


class Worker(RunJob):
    """Pull work from the sweep in ``sweep_dir`` until none is left; ``options``: what its runs' ``job.json`` say."""

    def __init__(
        self,
        sweep_dir: Path,
        options: dict[str, Any],
        max_stalled: int | None = None,
        limit_signal_s: float | None = None,
    ) -> None:
        super().__init__([], raise_errors=False, max_stalled=max_stalled, limit_signal_s=limit_signal_s)
        self.sweep_dir = Path(sweep_dir)
        self.options = options
        self.done_this_attempt = False  # a configuration finished in this attempt: the attempt progressed

    def __call__(self) -> list[dict[str, Any]]:
        self.done_this_attempt = False
        sweep = SweepDir(self.sweep_dir)
        manifest, record = sweep.manifest(), sweep.halving()
        if manifest is None or record is None:
            raise Damaged(sweep.path / "sweep.json", "is not a halving sweep's manifest")
        params = {row["name"]: row["params"] for row in manifest.runs if isinstance(row, dict) and "name" in row}
        search = Search.open(self.sweep_dir, job_alive=scheduler_job_alive)
        return pull(search, lambda item: self.train(search, item, manifest.task, params, record))

    def train(self, search: Search, item: Item, task: str, params: dict[str, Any], record: HalvingRecord) -> Any:
        """Train ``item``'s seeds and record its result; returns the result as a dict, ``cancelled``, or ``None``
        when its runs are held by another process (left to it)."""
        specs = [RunSpec(task, {**params[run], "epochs": item.epochs}, str(self.sweep_dir / run)) for run in item.runs]
        self._own(specs)
        records = self._run_all(specs)
        statuses = {Path(r["run_dir"]).name: r["status"] for r in records}
        if RunState.CANCELLED in statuses.values():
            search.give_back(item)
            return RunState.CANCELLED
        if "skipped" in statuses.values():
            search.give_back(item, skip=True)
            return None
        figures = {
            run: rung_score(self.sweep_dir / run, _ended(self.sweep_dir / run), record, item.epochs)
            for run in item.runs
        }
        result = search.finish(item, figures)
        self.done_this_attempt = True
        return {"config": result.config, "rung": result.rung, "score": result.score}

    def _run_all(self, specs: list[RunSpec]) -> list[dict[str, Any]]:
        """:meth:`RunJob.__call__` over ``specs``, as the runs of this attempt (the attempt's progress kept)."""
        self.runs = specs
        self.finished = set()
        self.finished_before = 0
        records: list[dict[str, Any]] = RunJob.__call__(self)
        return records

    def _own(self, specs: list[RunSpec]) -> None:
        """Each run's ``job.json`` names this worker from now on: ``status`` and ``cancel`` find it there."""
        env = submitit.JobEnvironment()
        options = dict(self.options)
        if options.get("executor") == "local":
            options["controller_started"] = started_at(int(env.job_id))
        paths = {
            "stdout": str(env.paths.stdout),
            "stderr": str(env.paths.stderr),
            "submitit_folder": str(env.paths.folder),
        }
        stamp = now_iso()
        for spec in specs:
            RunDir(spec.run_dir).record_job(
                job_id=str(env.job_id),
                executor=str(options.get("executor")),
                options=options,
                paths=paths,
                submitted_at=stamp,
            )

    # submitit's stub promises a submission, but its handler reads None as "do not requeue", as meant here
    def checkpoint(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> submitit.helpers.DelayedSubmission | None:
        """:meth:`RunJob.checkpoint` for the run being trained, and a requeue whenever work may be left.

        A configuration finished in this attempt is progress, as a run would be.
        """
        if self.done_this_attempt:
            self.finished_before = -1
        super().checkpoint(*args, **kwargs)
        if self.idle_attempts >= self.max_stalled:
            return None
        self.requeued = True
        return submitit.helpers.DelayedSubmission(self, *args, **kwargs)


def _ended(path: Path) -> Optional[str]:
    """The state the run's ``result.json`` records (``None``: none)."""
    try:
        result = RunDir(path).result()
    except Damaged:
        return None
    return None if result is None else result.status
