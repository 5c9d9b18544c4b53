"""``seqjobs submit TASK`` and ``seqjobs sweep TASK``: runs as submitit jobs.

Both take the task's own options (from its config dataclass) plus the executor
options below, named as sbatch names them. Everything is validated before
anything is submitted.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

import typer

from jobs import executor_opts
from jobs.cli_run import fresh_run_dir
from jobs.jobfn import RunSpec
from jobs.status import statuses, summary
from jobs.submission import submit_runs
from jobs.sweep import expand, parse_assignments, update_manifest
from jobs.taskopts import option, task_command
from jobs.waiting import wait_for
from seqtasks.config import to_dict
from seqtasks.rundir import RunDir
from seqtasks.runner import is_done
from seqtasks.tasks import TASKS, TaskSpec

EXEC = "Executor options (sbatch names)"
SWEEP = "Sweep options"

EXECUTOR_PARAMS = [
    option("executor", str, "auto", "auto (slurm where sbatch exists, else local), slurm, local or debug (in this process).", EXEC),
    option("partition", Optional[str], None, "SLURM partition.", EXEC),
    option("gpus_per_node", Optional[int], None, "GPUs per node.", EXEC),
    option("gres", Optional[str], None, "Generic resources, e.g. gpu:1.", EXEC),
    option("cpus_per_task", Optional[int], None, "CPU cores per job (TensorFlow's threads follow it).", EXEC),
    option("mem", Optional[str], None, "Memory per node, e.g. 4G.", EXEC),
    option("time", Optional[int], None, "Time limit in minutes (the job checkpoints and requeues when it is reached).", EXEC),
    option("qos", Optional[str], None, "Quality of service.", EXEC),
    option("account", Optional[str], None, "Account to charge.", EXEC),
    option("constraint", Optional[str], None, "Node features required.", EXEC),
    option("exclude", Optional[str], None, "Nodes to avoid.", EXEC),
    option("array_parallelism", Optional[int], None, "Most runs at once (local default: cores / cpus-per-task).", EXEC),
    option("signal_delay", Optional[int], None, "Seconds before the time limit at which the job checkpoints.", EXEC),
    option("profile", Optional[str], None, "Named executor settings from a TOML file (see slurm/profiles.example.toml).", EXEC),
]
WAIT = option("wait", bool, False, "Block with a progress bar until every run has ended.", "Run folder", "--wait/--no-wait")
ROOT = option("root", Path, Path("runs"), "Folder that holds the sweeps.", SWEEP)

submit_app = typer.Typer(help="Submit one run of a task as a batch job (SLURM, local or debug).", no_args_is_help=True)
sweep_app = typer.Typer(help="Submit a grid of runs of a task as job arrays; re-running submits only what is not done.", no_args_is_help=True)


def executor_options(values: dict[str, Any]) -> executor_opts.ExecutorOptions:
    """Validated executor options from the command line (over the profile, if any)."""
    profile = values.pop("profile", None)
    return executor_opts.build(values, profile)


def _report_end(root: Path) -> None:
    rows = wait_for(root)
    typer.echo(summary(rows))
    failed = [r for r in rows if r.state == "failed"]
    for r in failed:
        typer.echo(f"  failed {r.run}: {r.error}", err=True)
    if failed:
        raise typer.Exit(1)


def _submit(spec: TaskSpec, config: Any, out: Optional[Path], wait: bool, **exec_values: Any) -> None:
    opts = executor_options(exec_values)
    folder = out or fresh_run_dir(spec.name)
    run = RunDir(folder)
    run.prepare(spec.name, config)
    if is_done(run, config):
        result = run.result() or {}
        typer.echo(f"already completed: {folder} ({spec.main_metric} = {result.get(spec.main_metric)})")
        return
    ids = submit_runs([RunSpec(spec.name, to_dict(config), str(folder))], opts, folder)
    typer.echo(f"submitted {spec.name} as job {ids[str(folder)]} ({opts.resolved_executor()}); run folder: {folder}")
    typer.echo(f"follow it with: seqjobs status {folder}", err=True)
    if wait:
        _report_end(folder)


def _sweep(
    spec: TaskSpec,
    base: Any,
    grid: Optional[list[str]],
    zip_: Optional[list[str]],
    seeds: int,
    name: Optional[str],
    root: Path,
    wait: bool,
    **exec_values: Any,
) -> None:
    opts = executor_options(exec_values)
    cls = spec.config_cls
    grid_values = parse_assignments(grid or [], cls, "--grid")
    zip_values = parse_assignments(zip_ or [], cls, "--zip")
    runs = expand(cls, base, grid_values, zip_values, seeds)
    sweep_dir = root / (name or f"{spec.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    for run_name, config in runs:  # refuse conflicts before anything is written or submitted
        RunDir(sweep_dir / run_name).check_compatible(spec.name, config)
    update_manifest(sweep_dir, spec.name, base, _sweep_options(grid, zip_, seeds), runs, {}, {})
    known = {Path(r.path).name: r.state for r in statuses(sweep_dir)} if sweep_dir.exists() else {}
    finished = {n for n, c in runs if known.get(n) == "completed" and is_done(RunDir(sweep_dir / n), c)}
    todo = [(n, c) for n, c in runs if n not in finished and known.get(n) not in ("pending", "running", "requeued")]
    done = len(finished)
    active = sum(1 for n, _ in runs if known.get(n) in ("pending", "running", "requeued"))
    if not todo:
        typer.echo(f"nothing to submit: {len(runs)} runs in {sweep_dir}, {done} completed, {active} still queued or running")
    else:
        for run_name, config in todo:
            RunDir(sweep_dir / run_name).prepare(spec.name, config)
        specs = [RunSpec(spec.name, to_dict(c), str(sweep_dir / n)) for n, c in todo]
        ids = submit_runs(specs, opts, sweep_dir)
        jobs = {Path(k).name: v for k, v in ids.items()}
        update_manifest(sweep_dir, spec.name, base, _sweep_options(grid, zip_, seeds), runs, jobs, {**opts.to_dict(), "executor": opts.resolved_executor()})
        arrays = len({job_id.split("_")[0] for job_id in ids.values()})
        typer.echo(
            f"submitted {len(todo)} of {len(runs)} runs ({done} completed, {active} active) as "
            f"{arrays} job(s) on {opts.resolved_executor()}; sweep folder: {sweep_dir}"
        )
        typer.echo(f"follow it with: seqjobs status {sweep_dir}", err=True)
    if wait:
        _report_end(sweep_dir)


def _sweep_options(grid: Optional[list[str]], zip_: Optional[list[str]], seeds: int) -> dict[str, Any]:
    return {"grid": grid or [], "zip": zip_ or [], "seeds": seeds}


OUT = option("out", Optional[Path], None, "Run folder. Default: a new folder under ./runs/.", "Run folder", "--out", "-o")
SWEEP_PARAMS = [
    option("grid", Optional[list[str]], None, "NAME=V1,V2,...: values to cross with every other --grid (repeatable).", SWEEP),
    option("zip_", Optional[list[str]], None, "NAME=V1,V2,...: lists varied together, position by position (repeatable).", SWEEP, "--zip"),
    option("seeds", int, 1, "Repeat every combination with seeds seed, seed+1, ... (N runs each).", SWEEP),
    option("name", Optional[str], None, "Sweep name: its folder is ROOT/NAME. Default: TASK-TIMESTAMP.", SWEEP),
    ROOT,
]

for _spec in TASKS.values():
    submit_app.command(_spec.name)(
        task_command(_spec, _submit, [OUT, WAIT, *EXECUTOR_PARAMS], doc=f"Submit one {_spec.name} run: {_spec.summary}")
    )
    sweep_app.command(_spec.name)(
        task_command(_spec, _sweep, [*SWEEP_PARAMS, WAIT, *EXECUTOR_PARAMS], doc=f"Sweep {_spec.name}: {_spec.summary}")
    )
