"""The sweep command of an asynchronous halving sweep: record the plan, make the runs, submit the workers.

Under the sweep's lock, in this order (as every submission, invariant 9 of
``docs/run-folder.md``): ``sweep.json`` lists every run and the plan (first
time only; a different plan or other runs are refused); nothing is
submitted while a worker of the last submission is alive (it takes over
what dead ones left) or when the search is complete; otherwise the run
folders and their ``config.json`` are made, the workers go in (one job
array on SLURM, as many tasks as its MaxArraySize and the user's submit
limit leave room for now: workers pull work, so fewer of them run the same
search; worker processes locally), each run not completed gets a
``job.json`` naming a worker (so ``status`` shows it pending and ``cancel``
finds it), and ``.asha/workers.json`` notes the workers. Running the same
command again resumes the search: the new workers take up the
configurations dead ones held, from their last commit.
"""

from __future__ import annotations

import dataclasses
import getpass
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from submitit.core.utils import FailedJobError, FailedSubmissionError

from jobs import scheduler
from jobs.engine.asha.search import Search
from jobs.engine.asha.worker import Worker
from jobs.engine.asha.workers import live_workers
from jobs.engine.executors import make_executor, time_limit_signal_s
from jobs.engine.fanout import each
from jobs.engine.jobfn import RunSpec, record_jobs
from jobs.engine.launch import initialise, run_states
from jobs.engine.options import ExecutorOptions
from jobs.engine.progressive import submit_limit
from jobs.engine.snapshot import for_new_runs
from jobs.engine.submission import code_groups, time_limit
from jobs.engine.sweep import SweepRequest
from jobs.scheduler import SubmitLimit
from seqtasks.config import to_dict
from seqtasks.errors import UserError
from seqtasks.processes import started_at
from seqtasks.rundir import Damaged, RunDir, SweepDir, now_iso
from seqtasks.rundir.ashadir import AshaDir
from seqtasks.rundir.records import HalvingRecord, Manifest
from seqtasks.rundir.states import RunState
from seqtasks.rundir.sweepdir import ASYNC_HALVING, halving_of, is_async

#: workers of a SLURM search without --array-parallelism: each pulls work, so a few keep many configurations busy
SLURM_WORKERS = 32


@dataclass
class Started:
    """What the command found and did: the workers it submitted, or those already at it, or a completed search."""

    submitted: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    completed: bool = False
    configurations: int = 0
    #: what bounded the number of workers below what was asked (a cluster limit; ``""``: nothing)
    bounded_by: str = ""


def worker_count(opts: ExecutorOptions, configurations: int) -> tuple[int, str]:
    """How many workers, and what bounded them (``""``: what was asked).

    ``--array-parallelism`` (local default: cores / cpus-per-task; SLURM:
    :data:`SLURM_WORKERS`), never more than configurations, and on SLURM never
    more than fit the cluster's limits now (:func:`slurm_workers`).
    """
    wanted = opts.array_parallelism or (opts.parallelism() if opts.resolved_executor() == "local" else SLURM_WORKERS)
    count = max(1, min(wanted, configurations))
    if opts.resolved_executor() != "slurm":
        return count, ""
    limit = submit_limit(opts)
    queued = scheduler.queued_jobs(getpass.getuser()) if limit else 0
    return slurm_workers(count, max_array=scheduler.slurm_max_array_size(), limit=limit, queued=queued)


def slurm_workers(wanted: int, *, max_array: int, limit: SubmitLimit | None, queued: int) -> tuple[int, str]:
    """``wanted`` workers cut to one array of at most ``max_array`` tasks and to the room ``limit`` leaves.

    A regular sweep goes in as several arrays and follow-up jobs
    (:mod:`jobs.engine.progressive`); workers pull work, so fewer of them
    do the same search and need neither: what fits now is what goes in. No
    room at all is one line, as for a regular sweep.
    """
    count, bound = wanted, ""
    if count > max_array:
        count, bound = max_array, f"the cluster's MaxArraySize ({max_array})"
    if limit is not None:
        room = limit.jobs - queued
        if room < 1:
            raise UserError(
                f"no room to submit workers: {queued} of your jobs are queued and {limit.source} allows "
                f"{limit.jobs}; wait for some to end"
            )
        if count > room:
            count, bound = room, f"{limit.source} ({limit.jobs}, {queued} of your jobs queued)"
    return count, bound


def start(request: SweepRequest, plan: HalvingRecord) -> Started:
    """Start or resume the search in the request's folder (see the module doc); its runs at rung 0's epochs."""
    if request.opts.resolved_executor() == "debug":
        raise UserError("--halving-mode async runs its workers as jobs; use --executor local or slurm")
    sweep = SweepDir(request.folder)
    with sweep.locked():
        try:
            manifest = sweep.manifest()
        except Damaged as err:
            raise UserError(f"{err}; repair or move it away before adding to this sweep") from None
        names = [name for name, _ in request.runs]
        if manifest is None:
            plan.rungs = []
            options = {**request.options, "halving": ASYNC_HALVING}
            configs = {name: to_dict(config) for name, config in request.runs}
            sweep.record(request.task, configs, {}, to_dict(request.base), options, {}, plan)
        else:
            _check_same(manifest, plan, names, request.options, sweep.path)
        search = Search.open(sweep.path, compact=False)
        started = Started(configurations=len(search.configs))
        if search.complete():
            started.completed = True
            return started
        started.running = live_workers(sweep.path)
        if started.running:
            return started
        AshaDir(sweep.path).unpause()
        first = [(sweep.path / name, dataclasses.replace(c, epochs=plan.epochs[0])) for name, c in request.runs]
        count, started.bounded_by = worker_count(request.opts, len(search.configs))
        started.submitted = _submit_workers(sweep, request.task, first, request.opts, count, request.options)
        return started


def _check_same(
    manifest: Manifest, plan: HalvingRecord, names: list[str], sweep_options: dict[str, Any], where: Path
) -> None:
    """A second command must ask for the search that is there."""
    if not is_async(manifest):
        raise UserError(f"{where} is not an asynchronous halving sweep; give this one another --name")
    record = halving_of(manifest, where)
    assert record is not None
    asked = {**dataclasses.asdict(plan), "min_competitors": sweep_options.get("min_competitors")}
    had = {**dataclasses.asdict(record), "min_competitors": manifest.sweep_options.get("min_competitors")}
    for name in ("metric", "min_epochs", "max_epochs", "eta", "min_competitors"):
        if had[name] != asked[name]:
            raise UserError(
                f"{where} is a halving sweep with --{name.replace('_', '-')} {had[name]}, not {asked[name]}; "
                "give the same options to continue it, or another --name"
            )
    if sorted(str(r.get("name")) for r in manifest.runs if isinstance(r, dict)) != sorted(names):
        raise UserError(
            f"{where} is a halving sweep of other runs (its configurations are its budget); give the same "
            "--grid/--sample/--trials/--seeds to continue it, or another --name"
        )


def _submit_workers(
    sweep: SweepDir,
    task: str,
    runs: list[tuple[Path, Any]],
    opts: ExecutorOptions,
    count: int,
    sweep_options: dict[str, Any],
) -> list[str]:
    """Make the run folders, submit ``count`` workers, and record them: in each pending run and in ``workers.json``."""
    kind = opts.resolved_executor()
    code_record = for_new_runs(kind, sweep.path, not sweep_options.get("no_snapshot"), [f for f, _ in runs])
    each(lambda run: initialise(RunDir(run[0]), task, run[1], code_record), runs)
    specs = [RunSpec(task, to_dict(config), str(folder)) for folder, config in runs]
    code = code_groups(specs, sweep.path)[0][0]  # a sweep's runs share their code
    limit = time_limit(opts)
    options: dict[str, Any] = {**opts.to_dict(), "executor": kind}
    if limit is not None:
        options.update(time_limit_min=limit.minutes, time_limit_source=limit.source)
        opts = dataclasses.replace(opts, time=limit.minutes)
    executor = make_executor(opts, sweep.path / ".submitit", code)
    if kind == "slurm" and opts.mail():  # the worker array ends the search: one mail when its last worker ends
        executor.update_parameters(**opts.mail())
    signal_s = time_limit_signal_s(executor)
    submitted_at = now_iso()
    try:
        with executor.batch():
            jobs = [executor.submit(Worker(sweep.path, options, opts.max_stalled, signal_s)) for _ in range(count)]
    except (FailedJobError, FailedSubmissionError) as err:
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        raise UserError(f"the scheduler refused the workers: {lines[-1] if lines else type(err).__name__}") from None
    states = run_states([folder for folder, _ in runs])
    pending = [spec for spec in specs if states.get(spec.run_dir) != RunState.COMPLETED]
    placed = record_jobs([(pending[i::count], job) for i, job in enumerate(jobs)], options, submitted_at)
    AshaDir(sweep.path).record_workers(
        [
            {
                "job_id": str(job.job_id),
                "executor": kind,
                "submitted_at": submitted_at,
                **({"started": started_at(int(job.job_id))} if kind == "local" else {}),
            }
            for job in jobs
        ]
    )
    sweep.record_jobs({Path(run).name: job for run, job in placed.items()}, {**opts.to_dict(), "executor": kind})
    return [str(job.job_id) for job in jobs]
