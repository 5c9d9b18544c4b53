"""``seqjobs run TASK``: run one task right here, in this process, into a run folder."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any, Optional

import typer

from jobs.cliutil import check_output_folder
from jobs.taskopts import option, task_command
from seqtasks.config import check_data
from seqtasks.errors import UserError
from seqtasks.tasks import TASKS, TaskSpec

#: where runs go when no --out is given
RUNS = Path("runs")

app = typer.Typer(help="Run one task here and now, in this process (no scheduler).", no_args_is_help=True)


def fresh_run_dir(task: str, root: Path = RUNS) -> Path:
    """A new folder name under ``runs/``: task, time stamp and a random suffix."""
    return root / f"{task}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def _run(spec: TaskSpec, config: Any, out: Optional[Path]) -> None:
    """Check everything a mistake could be in, then run; the folder is named once the run has ended.

    Nothing is printed before the run: bad input is exactly one ``error:``
    line. A run that fails on its own (an empty corpus, a full disk) names
    its folder in that same line, where its ``result.json`` tells the rest.
    """
    from jobs.jobfn import scheduler_job_alive
    from seqtasks.runner import execute

    check_output_folder("--out", out or RUNS)
    check_data(config)
    folder = out or fresh_run_dir(spec.name)
    try:
        result = execute(spec.name, config, folder, job_alive=scheduler_job_alive)  # a claim by an ended job is taken over
    except UserError as err:
        if out is None and folder.exists():
            raise UserError(f"{err} (run folder: {folder})") from None
        raise
    except KeyboardInterrupt:
        typer.echo(f"interrupted; the same command with --out {folder} resumes the run", err=True)
        raise typer.Exit(130) from None
    figure = result.get(spec.main_metric)
    typer.echo(f"{spec.name} {result['status']}: {spec.main_metric} = {figure}  ({folder})", err=True)


OUT = option("out", Optional[Path], None, "Run folder (created, or resumed if it holds the same config). Default: a new folder under ./runs/.", "Run folder", "--out", "-o")

for _spec in TASKS.values():
    app.command(_spec.name)(task_command(_spec, _run, [OUT]))
