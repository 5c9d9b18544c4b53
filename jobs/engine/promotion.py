"""Halving sweeps with no controller process: each rung is submitted, then a small job decides and goes on.

A rung's runs go in like any sweep's (job arrays on SLURM, local workers);
behind them goes a promotion job (:class:`Promote`, named
``seqjobs-promote``), submitted as the sweep's other follow-up jobs are
(:func:`jobs.engine.progressive.submit_follow_up`): on SLURM after the
rung's arrays (``afterany``, so failed and preempted-then-requeued tasks
count only once they have really ended), locally as a job that polls the
run folders. It reads the run folders, records the decision in
``sweep.json`` and submits the next rung with its own promotion job. Nothing
waits on the login node.

Every step is :func:`advance`, under the sweep's lock, from the state the
manifest and the run folders show: the sweep command runs it too, so
running the command again continues a sweep whose promotion job died, and a
rung already decided is never decided or submitted again. A promotion job
that finds runs of its rung still active (requeued after it was released)
submits a fresh one behind them instead of deciding.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from jobs import scheduler
from jobs.engine import halving
from jobs.engine.launch import launch_recorded, run_states
from jobs.engine.options import ExecutorOptions
from jobs.engine.progressive import as_from_login_node, own_job_id, submit_follow_up
from jobs.engine.snapshot import code_now, recorded_code
from jobs.engine.sweep import SweepRequest
from jobs.scheduler.local import local_job_alive
from seqtasks.config import from_dict, to_dict
from seqtasks.errors import UserError
from seqtasks.processes import started_at
from seqtasks.rundir import Damaged, RunDir, SweepDir, now_iso
from seqtasks.rundir.records import HalvingRecord, Manifest, RungRecord
from seqtasks.rundir.states import ACTIVE, RunState
from seqtasks.rundir.sweepdir import halving_of
from seqtasks.tasks import get_task

#: the promotion job's name in the scheduler's queue
PROMOTE_JOB = "seqjobs-promote"
#: how often a local promotion job looks at its rung's run folders
POLL_S = 3.0


@dataclass
class Step:
    """What one :func:`advance` did: rungs decided, runs submitted, the promotion job waiting now."""

    rung: int
    submitted: dict[str, str] = field(default_factory=dict)
    decided: list[int] = field(default_factory=list)
    promotion_job: Optional[str] = None
    completed: bool = False
    failed: list[str] = field(default_factory=list)
    #: runs of the rung that stopped unfinished (stuck, cancelled, never started): resubmitted by the sweep command
    unfinished: list[str] = field(default_factory=list)
    #: runs of the rung whose state cannot be told now (the scheduler did not answer): the rung waits
    unknown: list[str] = field(default_factory=list)
    #: cancelled runs of the rung: the sweep is paused until the sweep command is given again
    cancelled: list[str] = field(default_factory=list)


def start(request: SweepRequest, plan: HalvingRecord) -> Step:
    """The sweep command: record the plan (first time) and :func:`advance` the sweep, under its lock.

    Running the command again with the same plan and runs continues the
    sweep; a different plan, different runs, or a grid sweep of that name is
    refused, naming the difference.
    """
    sweep = SweepDir(request.folder)
    with sweep.locked():
        try:
            manifest = sweep.manifest()
            record = None if manifest is None else halving_of(manifest, sweep.path)
        except Damaged as err:
            raise UserError(f"{err}; repair or move it away before adding to this sweep") from None
        names = [name for name, _ in request.runs]
        if manifest is not None and record is None:
            raise UserError(f"{request.folder} is a grid sweep; give the halving sweep another --name")
        if record is None:
            plan.rungs = [RungRecord(rung=0, epochs=plan.epochs[0], runs=names)]
            configs = {name: to_dict(config) for name, config in request.runs}
            options = {**request.options, "halving": True}
            sweep.record(request.task, configs, {}, to_dict(request.base), options, {}, plan)
        else:
            _check_same(record, plan, names, request.folder)
        return advance(sweep, request.opts, me=None)


def resume(sweep_dir: Path, opts: ExecutorOptions) -> Step:
    """:func:`advance` the halving sweep in ``sweep_dir`` as far as it goes now, under its lock, as a command
    that waits on it: a cancel given meanwhile pauses the sweep, it is not undone."""
    sweep = SweepDir(sweep_dir)
    with sweep.locked():
        return advance(sweep, opts, me=None, go_on=False)


def _check_same(record: HalvingRecord, plan: HalvingRecord, names: list[str], sweep_dir: Path) -> None:
    """A second sweep command must ask for the sweep that is there."""
    for name in ("metric", "min_epochs", "max_epochs", "eta"):
        if getattr(record, name) != getattr(plan, name):
            raise UserError(
                f"{sweep_dir} is a halving sweep with {name.replace('_', '-')} {getattr(record, name)}, "
                f"not {getattr(plan, name)}; give the same options to continue it, or another --name"
            )
    if sorted(record.rungs[0].runs) != sorted(names):
        raise UserError(
            f"{sweep_dir} is a halving sweep of other runs; give the same --grid/--seeds to continue it, "
            "or another --name"
        )


def advance(sweep: SweepDir, opts: ExecutorOptions, me: Optional[str], go_on: bool = True) -> Step:
    """Take the sweep as far as it goes now (call under the sweep's lock); ``me``: the promotion job calling.

    Submits the current rung if it is not submitted; if its runs are still
    active, makes sure a promotion job waits behind them (not ``me``: it is
    ending); once they have all ended, decides, records, and goes on with the
    next rung. A rung with a cancelled run is paused: only the sweep command
    (``me`` None and ``go_on``) resubmits its cancelled runs and goes on.
    """
    manifest = sweep.manifest()
    if manifest is None:
        raise Damaged(sweep.path / "sweep.json", "missing")
    record = halving_of(manifest, sweep.path)
    if record is None:
        raise UserError(f"{sweep.path} is not a halving sweep")
    params = {row["name"]: row["params"] for row in manifest.runs if isinstance(row, dict) and "name" in row}
    step = Step(rung=record.rungs[-1].rung, completed=record.completed_at is not None)
    while record.completed_at is None:
        rung = record.rungs[-1]
        step.rung = rung.rung
        if rung.submitted_at is None:
            step.submitted.update(_submit_rung(sweep, manifest, rung, params, opts))
            sweep.record_halving(record)
        paths = {name: sweep.path / name for name in rung.runs}
        states = run_states(list(paths.values()))
        step.cancelled = [name for name, path in paths.items() if states.get(str(path)) == RunState.CANCELLED]
        if step.cancelled and not (go_on and me is None):
            return step
        waiting = [name for name, path in paths.items() if states.get(str(path)) in ACTIVE]
        step.unknown = [name for name, path in paths.items() if states.get(str(path)) == RunState.UNKNOWN]
        step.unfinished = [
            name for name, path in paths.items() if _unfinished(path, states.get(str(path)), rung.epochs)
        ]
        changed = bool(step.unfinished) and me is None
        if changed:  # the command resubmits them (their jobs go into the rung); a promotion job never does (no loop)
            step.submitted.update(_submit_runs(sweep, manifest, rung, params, opts, step.unfinished))
            waiting += step.unfinished
        if waiting:
            if not _alive(rung.promotion_job, me):
                rung.promotion_job = _submit_promotion(sweep, manifest, opts, record, [paths[n] for n in waiting])
                changed = True
            if changed:  # sweep.json holds every run of the sweep: written only when the rung's record changed
                sweep.record_halving(record)
            step.promotion_job = (rung.promotion_job or {}).get("job_id")
            return step
        if step.unfinished or step.unknown:  # never rank a run that did not end as failed: wait for the command
            return step
        _decide(record, rung, params, {name: states.get(str(path)) for name, path in paths.items()}, sweep.path)
        step.decided.append(rung.rung)
        step.failed += rung.failed
        sweep.record_halving(record)
    step.completed = True
    return step


def _submit_rung(
    sweep: SweepDir,
    manifest: Manifest,
    rung: RungRecord,
    params: dict[str, dict[str, Any]],
    opts: ExecutorOptions,
) -> dict[str, str]:
    """Submit the rung's runs to its epochs (those not done or active already); note the jobs in the rung."""
    jobs = _submit_runs(sweep, manifest, rung, params, opts, rung.runs)
    rung.submitted_at = now_iso()
    return jobs


def _submit_runs(
    sweep: SweepDir,
    manifest: Manifest,
    rung: RungRecord,
    params: dict[str, dict[str, Any]],
    opts: ExecutorOptions,
    names: list[str],
) -> dict[str, str]:
    """Submit ``names`` (runs of ``rung``) to the rung's epochs, those not done or active; the rung notes the jobs."""
    cls = get_task(manifest.task).config_cls
    runs: list[tuple[str, Any]] = [
        (name, dataclasses.replace(from_dict(cls, params[name]), epochs=rung.epochs)) for name in names
    ]
    # a rung never ends the sweep: its promotion job does, and carries the mail settings (see _submit_promotion)
    done = launch_recorded(sweep, manifest.task, runs, opts.without_mail(), manifest.base, manifest.sweep_options)
    rung.job_ids = sorted({scheduler.array_base(job) for job in _job_ids([sweep.path / n for n in rung.runs])})
    return done.jobs


def _unfinished(path: Path, state: Optional[str], epochs: int) -> bool:
    """Did the run stop short of the rung's ``epochs`` with nothing left to resume it?

    ``stuck``, ``missing`` and ``cancelled`` runs, and a run whose last result
    is one of an earlier rung while its new job has ended without training
    (its old result stands). A cancelled run pauses the sweep: the promotion
    job decides nothing while the rung has one (a user who cancelled wants no
    next rung), and the sweep command resubmits it, which goes on. Not failed
    runs: those ended, and rank last.
    """
    if state in (RunState.STUCK, RunState.MISSING, RunState.CANCELLED) or state is None:
        return True
    return state == RunState.COMPLETED and not _reached(RunDir(path), epochs)


def _reached(run: RunDir, epochs: int) -> bool:
    """Has the run completed the rung's ``epochs`` (or stopped early, so that it would not train on)?"""
    try:
        result = run.result()
    except Damaged:
        return False
    return result is not None and (result.epochs_requested == epochs or result.figures.get("early_stopped") is True)


def _job_ids(paths: list[Path]) -> list[str]:
    """The job each run's ``job.json`` names (runs never submitted, or with a damaged record, name none)."""
    ids = []
    for path in paths:
        try:
            job = RunDir(path).job_record()
        except Damaged:
            continue
        if job is not None:
            ids.append(job.job_id)
    return ids


def _decide(
    record: HalvingRecord,
    rung: RungRecord,
    params: dict[str, dict[str, Any]],
    states: dict[str, Optional[str]],
    sweep_path: Path,
) -> None:
    """Rank the ended rung, record the decision, and add the next rung (or end the sweep)."""
    scores = {name: rung_score(sweep_path / name, states[name], record, rung.epochs) for name in rung.runs}
    decision = halving.decide({name: params[name] for name in rung.runs}, scores, record.higher_is_better, record.eta)
    rung.scores, rung.failed, rung.decided_at = scores, decision.failed, now_iso()
    last = rung.rung + 1 >= len(record.epochs)
    if last or not decision.promoted:  # the end: every run stops where it is
        rung.promoted, rung.stopped = [], sorted(rung.runs)
        top = decision.ranking[0]
        record.best = list(top.runs) if last and top.score is not None else []
        record.completed_at = now_iso()
        return
    rung.promoted, rung.stopped = decision.promoted, decision.stopped
    record.rungs.append(RungRecord(rung=rung.rung + 1, epochs=record.epochs[rung.rung + 1], runs=decision.promoted))


def rung_score(path: Path, state: Optional[str], record: HalvingRecord, epochs: int) -> float | None:
    """The run's ranking figure at ``epochs``; ``None`` when it did not complete them."""
    run = RunDir(path)
    if state != RunState.COMPLETED or not _reached(run, epochs):
        return None
    try:
        return halving.run_score(run.metrics_rows(), record.metric, record.higher_is_better, epochs)
    except Damaged:
        return None


def _alive(job: Optional[dict[str, Any]], me: Optional[str]) -> bool:
    """Is the recorded promotion job still queued or running (and not the one asking)?"""
    if not job or job.get("job_id") == me:
        return False
    job_id = str(job["job_id"])
    if job.get("executor") == "slurm":
        return scheduler.job_states([job_id]).get(job_id, {}).get("state") in ACTIVE
    return local_job_alive(job_id, job.get("started"))


def _submit_promotion(
    sweep: SweepDir,
    manifest: Manifest,
    opts: ExecutorOptions,
    record: HalvingRecord,
    waiting: list[Path],
) -> dict[str, Any]:
    """The promotion job behind the ``waiting`` runs' jobs; what the rung records of it.

    It imports the code the rung's runs import (their snapshot, recorded in
    their ``config.json``), so that a sweep command run again from an edited
    checkout does not decide the sweep with other code than it trains with.
    """
    after = sorted({scheduler.array_base(job) for job in _job_ids(waiting)})
    kind = opts.resolved_executor()
    try:
        config = RunDir(waiting[0]).config_record()
    except Damaged:
        config = None
    code = recorded_code(
        config.snapshot if config else None,
        waiting[0],
        lambda: code_now(kind, sweep.path, not manifest.sweep_options.get("no_snapshot")),
    )
    last_rung = record.rungs[-1].rung == len(record.epochs) - 1
    job = submit_follow_up(
        Promote(sweep.path, opts), opts, sweep.path, after, PROMOTE_JOB, record.promote_partition, code, mail=last_rung
    )
    out: dict[str, Any] = {"job_id": str(job.job_id), "executor": kind, "after": after, "submitted_at": now_iso()}
    if kind == "local":
        out["started"] = started_at(int(job.job_id))
    return out


class Promote:
    """The promotion job: once its rung's runs have ended, decide and go on (:func:`advance`).

    On SLURM it starts after the rung's jobs; locally it polls the run
    folders until none is active. Returns what it did, for its log.
    """

    def __init__(self, sweep_dir: Path, opts: ExecutorOptions) -> None:
        self.sweep_dir = Path(sweep_dir)
        self.opts = opts

    def __call__(self) -> dict[str, Any]:
        sweep = SweepDir(self.sweep_dir)
        if self.opts.resolved_executor() != "slurm":
            _wait_for_rung(sweep)
        me = own_job_id()
        with sweep.locked(), as_from_login_node():
            step = advance(sweep, self.opts, me)
        return dataclasses.asdict(step)


def _wait_for_rung(sweep: SweepDir) -> None:
    """Poll until no run of the sweep's current rung is active (or the rung was decided meanwhile)."""
    while True:
        record = sweep.halving()
        if record is None or record.completed_at is not None:
            return
        rung = record.rungs[-1]
        paths = [sweep.path / name for name in rung.runs]
        if rung.submitted_at is None or not any(s in ACTIVE for s in run_states(paths).values()):
            return
        time.sleep(POLL_S)
