"""``seqjobs run TASK``: run one task right here, in this process, into a run folder."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any, Optional

import typer

from jobs.taskopts import option, task_command
from seqtasks.tasks import TASKS, TaskSpec

app = typer.Typer(help="Run one task here and now, in this process (no scheduler).", no_args_is_help=True)


def fresh_run_dir(task: str, root: Path = Path("runs")) -> Path:
    """A new folder name under ``runs/``: task, time stamp and a random suffix."""
    return root / f"{task}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def _run(spec: TaskSpec, config: Any, out: Optional[Path]) -> None:
    from seqtasks.runner import execute

    folder = out or fresh_run_dir(spec.name)
    typer.echo(f"run folder: {folder}", err=True)
    result = execute(spec.name, config, folder)
    figure = result.get(spec.main_metric)
    typer.echo(f"{spec.name} {result['status']}: {spec.main_metric} = {figure}  ({folder})", err=True)


OUT = option("out", Optional[Path], None, "Run folder (created, or resumed if it holds the same config). Default: a new folder under ./runs/.", "Run folder", "--out", "-o")

for _spec in TASKS.values():
    app.command(_spec.name)(task_command(_spec, _run, [OUT]))
