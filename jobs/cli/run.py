"""``seqjobs run TASK``: run one task right here, in this process, into a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from jobs.cli.common import RUNS, check_run_folder, fresh_run_dir, output_path
from jobs.cli.options import option, task_app, task_command
from seqtasks.config import check_data
from seqtasks.errors import UserError
from seqtasks.tasks import TaskSpec


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run, with the folder that the same command (``--out FOLDER``) resumes."""

    def __init__(self, folder: Path) -> None:
        super().__init__(str(folder))
        self.folder = folder


def run_task(spec: TaskSpec, config: Any, out: Optional[Path]) -> tuple[Path, dict[str, Any]]:
    """Check everything a mistake could be in, run, and return the run folder and its result record.

    Nothing is printed before the run: bad input is exactly one ``error:``
    line. A run that fails on its own (an empty corpus, a full disk) names
    its folder in that same line, where its ``result.json`` tells the rest.
    What ``seqjobs run`` and ``seqjobs.run`` both do.
    """
    from jobs.engine.jobfn import scheduler_job_alive
    from seqtasks.runner import execute

    check_run_folder("--out", out or RUNS)
    check_data(config)
    folder = out or fresh_run_dir(spec.name)
    _check_code(folder)
    try:
        # an ended job's claim is taken; a cancel of the run is history (the user starts it again)
        return folder, execute(spec.name, config, folder, job_alive=scheduler_job_alive, new_start=True)
    except UserError as err:
        if out is None and folder.exists():
            raise UserError(f"{err} (run folder: {folder})") from None
        raise
    except KeyboardInterrupt:
        raise Interrupted(folder) from None


def _run(spec: TaskSpec, config: Any, *, out: Optional[Path]) -> None:
    try:
        folder, result = run_task(spec, config, out)
    except Interrupted as stop:
        typer.echo(f"interrupted; the same command with --out {stop.folder} resumes the run", err=True)
        raise typer.Exit(130) from None
    figure = result.get(spec.main_metric)
    typer.echo(f"{spec.name} {result['status']}: {spec.main_metric} = {figure}  ({folder})", err=True)


def _check_code(folder: Path) -> None:
    """A run whose jobs ran on a code snapshot continues here only if this process runs the same code."""
    from jobs.engine.snapshot import check_same_code
    from seqtasks.rundir import Damaged, RunDir

    try:
        record = RunDir(folder).config_record()
    except Damaged:
        return  # execute names the damage, in its own words
    if record is not None:
        check_same_code(record.snapshot, folder)


OUT = option(
    "out",
    Optional[Path],
    None,
    "Run folder (created, or resumed if it holds the same config). Default: a new folder under ./runs/.",
    "Run folder",
    "--out",
    "-o",
    parser=output_path,
)

app = task_app(lambda spec: task_command(spec, _run, [OUT]))
