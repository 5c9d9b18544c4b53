"""``seqjobs submit TASK`` and ``seqjobs sweep TASK``: runs as submitit jobs.

Both take the task's own options (from its config dataclass) plus the executor
options below, named as sbatch names them. Everything is validated before
anything is submitted.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any, Optional

import typer

from jobs.cli.common import RUNS, check_output_folder, check_run_folder, fresh_run_dir
from jobs.cli.halving import HALVING_PARAMS, check_varied, halving_plan, sweep_halving
from jobs.cli.options import executor_parameters, no_snapshot_option, option, task_app, task_command
from jobs.engine import options as executor_opts
from jobs.engine.launch import launch, launch_sweep
from jobs.engine.sampling import sample_runs
from jobs.engine.submission import time_limit
from jobs.engine.sweep import SweepRequest, expand, parse_assignments
from jobs.monitor.waiting import report_end
from jobs.text import count, refuse_control
from seqtasks.config import check_data
from seqtasks.errors import UserError
from seqtasks.rundir import RunDir, SweepDir
from seqtasks.tasks import TaskSpec

EXEC = "Executor options (sbatch names)"
SWEEP = "Sweep options"
#: a sweep name leaves room under NAME_MAX for the suffixes tools add (".tmp", ".lock")
MAX_NAME_BYTES = 200

EXECUTOR_PARAMS = [
    *executor_parameters(EXEC),
    option(
        "profile",
        Optional[str],
        None,
        "Named executor settings from a TOML file (see slurm/profiles.example.toml).",
        EXEC,
    ),
]
HALVING_NAMES = [p.name for p in HALVING_PARAMS]
WAIT = option(
    "wait", bool, False, "Block with a progress bar until every run has ended.", "Run folder", "--wait/--no-wait"
)
ROOT = option("root", Path, Path("runs"), "Folder that holds the sweeps.", SWEEP)


def executor_options(values: dict[str, Any]) -> executor_opts.ExecutorOptions:
    """Validated executor options from the command line (text, or ``None`` where not given) over the profile, if any.

    The time limit is settled here too: a SLURM partition without one is
    refused before anything is written.
    """
    profile = values.pop("profile", None)
    opts = executor_opts.build(values, profile)
    time_limit(opts)
    if opts.after is not None:
        check_after(opts.after, opts.resolved_executor())
    if opts.mail() and opts.resolved_executor() != "slurm":
        raise UserError(
            f"--mail-user/--mail-type need --executor slurm (not {opts.resolved_executor()}): the cluster sends the "
            "mail; leave them out here"
        )
    return opts


def check_after(job_id: str, executor: str) -> None:
    """``--after JOBID`` names a job SLURM knows: it takes a dependency on an unknown job as already met."""
    from jobs import scheduler

    if executor != "slurm":
        raise UserError(f"--after needs --executor slurm (not {executor}); start the sweep once that job has ended")
    if not re.fullmatch(r"\d+(_\d+)?", job_id):
        raise UserError(f"--after '{job_id}' is not a SLURM job id (digits, or JOBID_TASK for an array task)")
    if job_id not in scheduler.job_states([job_id]):
        raise UserError(
            f"--after {job_id}: SLURM knows no such job (sacct, squeue); give the id sbatch printed for your job"
        )


def _submit(
    spec: TaskSpec, config: Any, *, out: Optional[Path], wait: bool, no_snapshot: bool, **exec_values: Any
) -> None:
    opts = executor_options(exec_values)
    check_run_folder("--out", out or RUNS)  # a run folder given again is resumed, as by `run --out`
    check_data(config)
    folder = out or fresh_run_dir(spec.name)
    done = launch(spec.name, [(folder, config)], opts, folder, snapshot=not no_snapshot)
    if done.completed:
        result = RunDir(folder).result()
        figure = result.figures.get(spec.main_metric) if result is not None else None
        typer.echo(f"already completed: {folder} ({spec.main_metric} = {figure})")
        return
    if done.active:
        typer.echo(f"already queued or running: {folder}; nothing submitted (see: seqjobs status {folder})")
    else:
        typer.echo(
            f"submitted {spec.name} as job {done.jobs[str(folder)]} ({opts.resolved_executor()}); run folder: {folder}"
        )
        typer.echo(f"follow it with: seqjobs status {folder}", err=True)
    if wait:
        report_end(folder)


def _sweep(spec: TaskSpec, base: Any, *, wait: bool, **values: Any) -> None:
    sweep_dir = start_sweep(spec, base, wait=wait, **values)
    if wait:
        report_end(sweep_dir)


def start_sweep(
    spec: TaskSpec,
    base: Any,
    *,
    grid: Optional[list[str]],
    zip_: Optional[list[str]],
    seeds: int,
    sample: Optional[list[str]],
    trials: Optional[int],
    sampler_seed: Optional[int],
    name: Optional[str],
    root: Path,
    wait: bool,
    no_snapshot: bool,
    **values: Any,
) -> Path:
    """Check, then start or continue the sweep (what ``seqjobs sweep`` and ``seqjobs.sweep`` both do); its folder.

    ``values`` are the halving and executor settings, as text or ``None`` as
    the command line gives them. ``wait`` matters for a halving sweep only:
    this process then decides the rungs that no promotion job has decided.
    """
    plan = halving_plan(spec, {key: values.pop(key) for key in HALVING_NAMES})
    opts = executor_options(values)
    cls = spec.config_cls
    grid_values = parse_assignments(grid or [], cls, "--grid")
    zip_values = parse_assignments(zip_ or [], cls, "--zip")
    if plan is not None:
        check_varied({*grid_values, *zip_values})
    runs = expand(cls, base, grid_values, zip_values, seeds)
    if name is not None:
        check_sweep_name(name)
    sweep_dir = root / (name or f"{spec.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    check_output_folder("--root", root)
    check_output_folder("--name", sweep_dir, own=[sweep_dir])  # the sweep's own folder: check_adding says which may be
    SweepDir(sweep_dir).check_adding(spec.name, halving=plan is not None)  # before anything is written or submitted
    runs, sampled = sample_runs(
        base,
        runs,
        items=sample or [],
        trials=trials,
        seed=sampler_seed,
        varied={*grid_values, *zip_values},
        sweep_dir=sweep_dir,
    )
    for _, config in runs:
        check_data(config)
    sweep_options = {
        "grid": grid or [],
        "zip": zip_ or [],
        "seeds": seeds,
        **sampled,
        "no_snapshot": no_snapshot,
    }  # launch_recorded reads it, and a halving sweep's promotions
    request = SweepRequest(spec.name, sweep_dir, runs, opts, base, sweep_options)
    if plan is not None:
        sweep_halving(request, plan=plan, wait=wait)
    else:
        _sweep_grid(request)
    if sampled:
        typer.echo(
            f"random search: {count(sampled['trials'], 'trial')} drawn with --sampler-seed {sampled['sampler_seed']} "
            f"(recorded in {sweep_dir}/sweep.json)"
        )
    return sweep_dir


def _sweep_grid(request: SweepRequest) -> None:
    done = launch_sweep(request)
    counts = f"{len(done.completed)} completed, {len(done.active)} active"
    runs = count(len(request.runs), "run")
    if not done.jobs:
        typer.echo(f"nothing to submit: {runs} in {request.folder}, {counts}")
    else:
        typer.echo(
            f"submitted {len(done.jobs)} of {runs} ({counts}) as {count(done.arrays(), 'job')} on "
            f"{request.opts.resolved_executor()}; sweep folder: {request.folder}"
        )
        typer.echo(f"follow it with: seqjobs status {request.folder}", err=True)


def check_sweep_name(name: str) -> None:
    """A sweep name is exactly one path component, so its folder stays inside ``--root``."""
    refuse_control("--name", name)
    if not name.strip() or name in (".", "..") or "/" in name:
        raise UserError(f"--name '{name}' must be one folder name (no '/', not '.' or '..'), e.g. --name lr-sweep")
    if len(os.fsencode(name)) > MAX_NAME_BYTES:
        raise UserError(f"--name is {len(os.fsencode(name))} bytes long; use at most {MAX_NAME_BYTES}")


OUT = option(
    "out", Optional[Path], None, "Run folder. Default: a new folder under ./runs/.", "Run folder", "--out", "-o"
)
SWEEP_PARAMS = [
    option(
        "grid",
        Optional[list[str]],
        None,
        "NAME=V1,V2,...: values to cross with every other --grid (repeatable).",
        SWEEP,
    ),
    option(
        "zip_",
        Optional[list[str]],
        None,
        "NAME=V1,V2,...: lists varied together, position by position (repeatable).",
        SWEEP,
        "--zip",
    ),
    option("seeds", int, 1, "Repeat every combination with seeds seed, seed+1, ... (N runs each).", SWEEP),
    option(
        "sample",
        Optional[list[str]],
        None,
        "NAME=DIST, DIST one of uniform(a,b), loguniform(a,b), int(a,b), "
        "choice(v1,v2,...): random search, drawn --trials times, crossed with the grid (repeatable; quote it).",
        SWEEP,
    ),
    option(
        "trials", Optional[int], None, "How many draws of the --sample parameters (raise it to extend a search).", SWEEP
    ),
    option(
        "sampler_seed",
        Optional[int],
        None,
        "Seed of the --sample draws. Default: the one the sweep's sweep.json "
        "records, else a fresh one (then recorded).",
        SWEEP,
    ),
    option("name", Optional[str], None, "Sweep name: its folder is ROOT/NAME. Default: TASK-TIMESTAMP.", SWEEP),
    ROOT,
]

submit_app = task_app(
    lambda spec: task_command(
        spec,
        _submit,
        [OUT, WAIT, no_snapshot_option(EXEC), *EXECUTOR_PARAMS],
        doc=f"Submit one {spec.name} run: {spec.summary}",
    )
)
sweep_app = task_app(
    lambda spec: task_command(
        spec,
        _sweep,
        [*SWEEP_PARAMS, *HALVING_PARAMS, WAIT, no_snapshot_option(EXEC), *EXECUTOR_PARAMS],
        doc=f"Sweep {spec.name}: {spec.summary}",
    )
)
