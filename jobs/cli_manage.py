"""``status``, ``collect``, ``cancel`` and ``resubmit``: everything after submission.

These read run folders (and ask the scheduler); none imports TensorFlow, so
they answer at once on a login node.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer
from rich.console import Console
from rich.table import Table

from jobs import executor_opts, scheduler
from jobs.status import TERMINAL, RunStatus, as_dicts, find_runs, local_job_alive, statuses, summary
from seqtasks import atomic
from seqtasks.errors import UserError
from seqtasks.rundir import RunDir, now_iso, read_json

PathArg = Annotated[Path, typer.Argument(help="A run folder, a sweep folder, or a folder of sweeps (e.g. runs/).")]


def _existing(path: Path) -> list[Path]:
    if not path.exists():
        raise UserError(f"{path} does not exist; give a run or sweep folder (e.g. runs/NAME)")
    runs = find_runs(path)
    if not runs:
        raise UserError(f"no run folders under {path} (a run folder holds config.json)")
    return runs


def _fmt_elapsed(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def status_table(rows: list[RunStatus], title: str) -> Table:
    """The rich table ``seqjobs status`` prints."""
    table = Table(title=title, title_justify="left")
    for col in ("run", "state", "epoch", "last metric", "job", "node", "elapsed"):
        table.add_column(col, overflow="fold")
    colour = {"completed": "green", "failed": "red", "cancelled": "magenta", "running": "cyan", "requeued": "yellow"}
    for r in rows:
        state = f"[{colour[r.state]}]{r.state}[/]" if r.state in colour else r.state
        table.add_row(r.run, state, str(r.epoch or ""), r.last_metric, r.job_id, r.node, _fmt_elapsed(r.elapsed_s))
    return table


def status(
    path: PathArg,
    json_out: Annotated[bool, typer.Option("--json", help="Print machine-readable state (one JSON list).")] = False,
    watch: Annotated[bool, typer.Option("--watch", help="Refresh until every run has ended (Ctrl-C to stop).")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between refreshes with --watch.")] = 2.0,
) -> None:
    """Show every run's state, epoch, last metric, job, node and elapsed time."""
    if interval <= 0:
        raise UserError(f"--interval must be > 0 seconds (got {interval})")
    _existing(path)
    console = Console() if sys.stdout.isatty() else Console(width=200)
    while True:
        rows = statuses(path)
        if json_out:
            typer.echo(json.dumps(as_dicts(rows), indent=2))
        else:
            if watch:
                console.clear()
            console.print(status_table(rows, str(path)))
            for r in rows:
                if r.state == "failed":
                    console.print(f"[red]failed[/] {r.run}: {r.error}" + (f"  (log: {r.log})" if r.log else ""), soft_wrap=True)
            console.print(summary(rows))
        if not watch or all(r.state in TERMINAL for r in rows):
            return
        time.sleep(interval)


def collect(
    paths: Annotated[list[Path], typer.Argument(help="Run, sweep or runs/ folders to collect.")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="CSV to write. Default: results/<name of the first path>.csv.")] = None,
    per_epoch: Annotated[bool, typer.Option("--per-epoch", help="Also write the long table of every metrics.csv row (OUTPUT.epochs.csv).")] = False,
) -> None:
    """Collect every completed run into one CSV (+ a summary over seeds, best first)."""
    from jobs import collect as coll

    for p in paths:
        _existing(p)
    runs, problems = coll.collect(paths)
    if problems:
        typer.echo(f"warning: left out {len(problems)} run(s):", err=True)
        for line in problems:
            typer.echo(f"  {line}", err=True)
    if runs.empty:
        raise UserError(f"no completed runs under {', '.join(map(str, paths))}; see `seqjobs status {paths[0]}`")
    out = output or Path("results") / f"{paths[0].resolve().name}.csv"
    coll.write_csv(runs, out)
    coll.write_parquet(runs, out.with_suffix(".parquet"))
    table = coll.summarise(runs)
    summary_path = out.with_name(out.stem + ".summary.csv")
    coll.write_csv(table, summary_path)
    written = [out, summary_path]
    if per_epoch:
        epochs_path = out.with_name(out.stem + ".epochs.csv")
        coll.write_csv(coll.per_epoch(runs), epochs_path)
        written.append(epochs_path)
    with_pd_options(lambda: typer.echo(table.to_string(index=False)))
    typer.echo(f"{len(runs)} runs, {len(table)} groups; wrote " + ", ".join(map(str, written)), err=True)


def with_pd_options(show: Callable[[], None]) -> None:
    """Print a wide table without pandas wrapping it."""
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.float_format", "{:.4f}".format):
        show()


def cancel(path: PathArg) -> None:
    """Cancel every run under PATH that has not ended (scancel, or stop the local process)."""
    _existing(path)
    rows = [r for r in statuses(path) if r.state not in TERMINAL]
    slurm_ids, local_pids = set(), set()
    for r in rows:
        job = read_json(Path(r.path) / "job.json") or {}
        if job.get("executor") == "slurm":
            slurm_ids.add(job["job_id"])
        elif job.get("executor") == "local":
            local_pids.add(job["job_id"])
    scheduler.cancel(sorted(slurm_ids))
    for pid in local_pids:
        if local_job_alive(pid):
            os.kill(int(pid), signal.SIGINT)  # submitit's local controller stops its tasks on SIGINT
    for r in rows:
        run = RunDir(r.path)
        state = run.state() or {}
        state.update(state="cancelled", cancelled_at=now_iso())
        atomic.write_json(run.file("state.json"), state)
    typer.echo(f"cancelled {len(rows)} run(s) under {path}")


def resubmit(
    path: PathArg,
    failed: Annotated[bool, typer.Option("--failed", help="Resubmit failed runs.")] = False,
    missing: Annotated[bool, typer.Option("--missing", help="Resubmit runs never submitted, cancelled, or whose job vanished.")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Block until the resubmitted runs end.")] = False,
) -> None:
    """Submit again the failed and/or missing runs under PATH, with their original executor settings."""
    from jobs.cli_submit import _report_end
    from jobs.jobfn import RunSpec
    from jobs.submission import submit_runs

    _existing(path)
    if not failed and not missing:
        failed = missing = True
    wanted = ({"failed"} if failed else set()) | ({"missing", "unknown", "cancelled"} if missing else set())
    rows = [r for r in statuses(path) if r.state in wanted]
    if not rows:
        typer.echo(f"nothing to resubmit under {path}")
        return
    groups: dict[str, list[RunSpec]] = {}
    for r in rows:
        run = RunDir(r.path)
        config = run.config() or {}
        job = read_json(run.file("job.json")) or {}
        result = run.result()
        if result is not None and result.get("status") != "completed":
            os.replace(run.file("result.json"), run.file(f"result.{result.get('status')}-{int(time.time())}.json"))
        state = run.state()
        if state and state.get("state") == "cancelled":
            state["state"] = "resubmitted"
            atomic.write_json(run.file("state.json"), state)
        options = json.dumps(job.get("options") or {"executor": "auto"}, sort_keys=True)
        groups.setdefault(options, []).append(RunSpec(config["task"], config["config"], r.path))
    total = 0
    for options, specs in groups.items():
        opts = executor_opts.build(json.loads(options), None)
        log_root = Path(path) if (Path(path) / "sweep.json").exists() else Path(specs[0].run_dir)
        total += len(submit_runs(specs, opts, log_root))
    typer.echo(f"resubmitted {total} run(s) under {path}")
    if wait:
        _report_end(path)
