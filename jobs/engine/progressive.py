"""SLURM submission within the cluster's limits: what fits now goes in, a small job submits the rest later.

A sweep goes in as array tasks (each holds ``--runs-per-task`` runs), cut
into arrays of at most MaxArraySize. A scheduler also caps how many jobs a
user may have pending or running (``MaxSubmitJobs`` of the association,
``MaxSubmitJobsPerUser`` of the QOS; each array task counts): a sweep larger
than the room left would be refused whole. So the tasks that fit go in now,
with one place kept for a small follow-up job (:class:`NextStep`) that
depends on them (``afterany``) and, once they have all ended, submits the
next share the same way, from the cluster. Nothing waits on the login node,
and since each share starts after the previous one ended,
``--array-parallelism`` holds across the whole sweep.

Runs not yet submitted point their ``job.json`` at the follow-up job, so
``status`` shows them pending (and failed, with its log line, if it fails),
``cancel`` stops the chain, and a second identical sweep command leaves
them alone. Each follow-up rewrites ``job.json`` of the runs it submits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import os
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import submitit

from jobs import scheduler
from jobs.engine.arrays import submit_arrays
from jobs.engine.executors import make_executor, time_limit_signal_s
from jobs.engine.jobfn import RunJob, RunSpec, record_jobs, run_cancelled
from jobs.engine.options import ExecutorOptions
from jobs.engine.snapshot import Snapshot
from jobs.scheduler import SubmitLimit
from seqtasks.errors import UserError
from seqtasks.rundir import Damaged, RunDir, SweepDir, now_iso
from seqtasks.rundir.sweepdir import MANIFEST

#: time limit and memory of a follow-up job: it only reads folders and submits
NEXT_STEP_MINUTES = 10
NEXT_STEP_MEM = "1G"
#: when a follow-up finds no room at all for tasks, the next one starts this much later
RETRY_LATER = "now+60"

Placed = list[tuple[list[RunSpec], "submitit.Job[Any]"]]


def tasks_now(tasks: int, limit: SubmitLimit | None, queued: int) -> int:
    """How many of ``tasks`` array tasks to submit now, with ``queued`` jobs of the user already in.

    All of them when they fit; else as many as fit with one place kept for the
    follow-up job that submits the rest (possibly none: then only the
    follow-up goes in, and tries again later). Raises :class:`UserError` when
    not even the follow-up fits.
    """
    if limit is None or tasks <= limit.jobs - queued:
        return tasks
    free = limit.jobs - queued
    if limit.jobs < 2:
        raise UserError(
            f"{limit.source} allows {limit.jobs} queued job, which leaves no room for the job that submits the rest; "
            "pack the sweep into one task with --runs-per-task"
        )
    if free < 1:
        raise UserError(
            f"no room to submit: {queued} of your jobs are queued and {limit.source} allows {limit.jobs}; "
            "wait for some to end, or pack more runs per job with --runs-per-task"
        )
    return free - 1


def submit_limit(opts: ExecutorOptions) -> SubmitLimit | None:
    """``--max-submit``, else the limit sacctmgr shows for the user's association and QOS (``None``: none)."""
    if opts.max_submit is not None:
        return SubmitLimit(opts.max_submit, "--max-submit")
    return scheduler.slurm_submit_limit(getpass.getuser(), opts.account, opts.qos)


def submit_slurm(
    groups: list[list[RunSpec]],
    opts: ExecutorOptions,
    log_root: Path,
    options: dict[str, Any],
    code: Snapshot | None = None,
) -> Placed:
    """Submit each group of runs as one array task, as many as the limits allow now, the rest by a follow-up job.

    Returns each job with the runs it holds (the follow-up with every run it
    will submit). ``options`` is what each run's ``job.json`` records. Every
    job imports ``code``, the follow-up too, and it submits the rest on it.
    """
    limit = submit_limit(opts)
    now = tasks_now(len(groups), limit, scheduler.queued_jobs(getpass.getuser()) if limit else 0)
    rest = groups[now:]
    placed = _submit_tasks(groups[:now], opts, log_root, code, last_share=not rest)
    if rest:
        bases = sorted({scheduler.array_base(str(job.job_id)) for _, job in placed})
        step = NextStep(rest, opts, log_root, options=options, code=code)
        follow_up = _submit_next_step(step, opts, log_root, after=bases, code=code)
        placed.append(([spec for group in rest for spec in group], follow_up))
    return placed


def _submit_tasks(
    groups: list[list[RunSpec]], opts: ExecutorOptions, log_root: Path, code: Snapshot | None, *, last_share: bool
) -> Placed:
    """Array tasks, one per group, in arrays of at most MaxArraySize (chained under ``--array-parallelism``).

    A task of one run raises when the run fails, so SLURM marks it FAILED
    too; a packed task keeps going (each run's own ``result.json`` says how it
    ended). In the ``last_share`` of a sweep, the arrays it can end with
    carry the mail settings (``--mail-user``): one mail for the sweep.
    """
    if not groups:
        return []
    executor = make_executor(opts, log_root / ".submitit", code)
    limit = time_limit_signal_s(executor)

    def submit_array(chunk: list[list[RunSpec]], dependency: Optional[str], ends: bool) -> list[submitit.Job[Any]]:
        if dependency:
            executor.update_parameters(dependency=dependency)
        if ends and last_share and opts.mail():
            executor.update_parameters(**opts.mail())
        with executor.batch():  # the ids are set when the batch is submitted, on leaving the block
            return [
                executor.submit(
                    RunJob(group, raise_errors=len(group) == 1, max_stalled=opts.max_stalled, limit_signal_s=limit)
                )
                for group in chunk
            ]

    return submit_arrays(
        groups,
        max_array=scheduler.slurm_max_array_size(),
        chained=bool(opts.array_parallelism),
        submit_array=submit_array,
    )


def _submit_next_step(
    step: NextStep,
    opts: ExecutorOptions,
    log_root: Path,
    after: list[str],
    code: Snapshot | None,
) -> submitit.Job[Any]:
    """The follow-up job that submits the next share."""
    return submit_follow_up(step, opts, log_root, after=after, name="seqjobs-next", code=code)


def submit_follow_up(
    step: Callable[[], Any],
    opts: ExecutorOptions,
    log_root: Path,
    after: list[str],
    name: str,
    partition: Optional[str] = None,
    code: Snapshot | None = None,
    mail: bool = False,
) -> submitit.Job[Any]:
    """A small job that acts on a sweep once jobs have ended: one core, no GPU, little memory, a short limit.

    On SLURM it starts after the ``after`` jobs (``afterany``: failed or
    cancelled ones count as ended), else a minute from now; ``partition``
    overrides the sweep's. A local job starts at once (local executors have
    no dependencies: the step itself waits) and has no short limit. It
    imports ``code``, and what it submits imports the same. ``mail``: it is
    the job that ends the sweep, and carries the mail settings.
    """
    slurm = opts.resolved_executor() == "slurm"
    small = dataclasses.replace(
        opts,
        gpus_per_node=None,
        gres=None,
        cpus_per_task=1,
        mem=NEXT_STEP_MEM,
        array_parallelism=None,
        time=NEXT_STEP_MINUTES if slurm else None,
        partition=partition or opts.partition,
    )
    executor = make_executor(small, log_root / ".submitit", code)
    if slurm and after:
        executor.update_parameters(job_name=name, dependency="afterany:" + ":".join(after))
    elif slurm:
        executor.update_parameters(job_name=name, additional_parameters={"begin": RETRY_LATER})
    if slurm and mail:
        executor.update_parameters(**opts.mail())
    return executor.submit(step)


class NextStep:
    """The follow-up job: submit the next share of a sweep (and, if some is left, the next follow-up).

    Only runs still waiting for this very job are submitted: not those
    cancelled meanwhile (``seqjobs cancel`` marks them), nor those whose
    ``job.json`` names another job (submitted again by hand, or by an
    earlier attempt of this job that was requeued part-way). Returns how many
    runs it submitted.
    """

    def __init__(
        self,
        groups: list[list[RunSpec]],
        opts: ExecutorOptions,
        log_root: Path,
        options: dict[str, Any],
        code: Snapshot | None,
    ) -> None:
        self.groups = groups
        self.opts = opts
        self.log_root = log_root
        self.options = options
        self.code = code

    def __call__(self) -> int:
        me = own_job_id()
        groups = [kept for kept in ([s for s in group if waiting_for(s, me)] for group in self.groups) if kept]
        submitted_at = now_iso()
        with as_from_login_node():
            placed = submit_slurm(groups, self.opts, self.log_root, options=self.options, code=self.code)
            jobs = record_jobs(placed, self.options, submitted_at)
        self._note_in_manifest(jobs)
        return len(jobs)

    def _note_in_manifest(self, jobs: dict[str, str]) -> None:
        """A sweep's ``sweep.json`` names the jobs this share went into (the run folders' ``job.json`` already do)."""
        sweep = SweepDir(self.log_root)
        if not (sweep.path / MANIFEST).is_file():  # runs submitted one by one: no manifest
            return
        top = sweep.path.resolve()
        with sweep.locked():
            try:
                sweep.record_jobs(
                    {Path(run).name: job for run, job in jobs.items() if Path(run).resolve().parent == top}
                )
            except Damaged:
                pass  # the run folders are the truth; `seqjobs sweep` names a damaged manifest


@contextlib.contextmanager
def as_from_login_node() -> Iterator[None]:
    """Submit from inside a job as from a login node: without this job's ``SLURM_*`` variables.

    sbatch and srun read such variables as options, and sbatch passes the
    environment on: a job submitted from a job inherits its
    ``SLURM_MEM_PER_CPU``, which srun refuses beside the new job's own
    ``--mem`` ("mutually exclusive"), failing every task at once.
    """
    saved = {k: v for k, v in os.environ.items() if k.startswith(("SLURM_", "SBATCH_", "SRUN_", "SALLOC_"))}
    for key in saved:
        del os.environ[key]
    try:
        yield
    finally:
        os.environ.update(saved)


def own_job_id() -> str:
    """The SLURM job id of the job running this code."""
    return str(submitit.JobEnvironment().job_id)


def waiting_for(spec: RunSpec, job_id: str) -> bool:
    """Does the run's ``job.json`` name job ``job_id``, and is the run not cancelled?"""
    run = RunDir(spec.run_dir)
    try:
        job = run.job_record()
    except Damaged:
        return False
    return job is not None and job.job_id == job_id and not run_cancelled(spec.run_dir)
