"""``seqjobs rerun RUN_DIR --out NEW_DIR``: run a run again from its folder alone, on the code it was made with.

Its ``config.json`` holds everything that decides the result: the task, every
parameter (the seed included), the data's sha256 and the code snapshot the
run's jobs imported (:mod:`jobs.engine.snapshot`). The new folder gets that
config, with the same data record: a data set whose bytes have changed since
is refused by the task before anything is trained
(:meth:`seqtasks.rundir.RunDir.record_data`), and the new folder removed
again. The run itself is fresh, from epoch 0, in a child Python whose imports
come from the snapshot, in this working folder (data paths in the config
stay valid).

The child's entry is this module, ``python -m jobs.cli.rerun NEW_DIR``: the
command runs the code of today, the child that of the snapshot, and every
snapshot holds this module. A run recorded without a snapshot (made by
``seqjobs run``, by ``--executor debug``, with ``--no-snapshot``, or before
snapshots) is rerun on the installed code, and the command says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from jobs.cli.common import check_run_folder, output_path
from seqtasks.errors import UserError
from seqtasks.rundir import Damaged, RunDir
from seqtasks.rundir.records import ConfigRecord
from seqtasks.rundir.states import RunState

#: the child's exit status when it refused the run (bad input, changed data): one ``error:`` line, as the CLI's
REFUSED = 2


def rerun(
    run_dir: Annotated[Path, typer.Argument(help="The run folder to reproduce (it holds config.json).")],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            parser=output_path,
            help="A new folder for the rerun (the same command resumes a rerun that was cut).",
        ),
    ],
) -> None:
    from jobs.engine.snapshot import recorded_snapshot

    try:
        record = RunDir(run_dir).config_record()
    except Damaged as err:
        raise UserError(f"{err}; give a run folder whose config.json is intact") from None
    if record is None:
        raise UserError(f"{run_dir} is not a run folder (no config.json); give a run folder, e.g. runs/NAME/RUN")
    check_run_folder("--out", out)
    if out.exists() and any(out.iterdir()) and not (out / "config.json").exists():
        raise UserError(f"--out {out} is not empty and not a run folder; give a new folder for the rerun")
    code = recorded_snapshot(record.snapshot, run_dir)
    made = not out.exists()
    _prepare(RunDir(out), record)
    if code is None:
        typer.echo(
            f"note: {run_dir} records no code snapshot: rerunning it on the installed code "
            f"(it was made from git commit {record.git_commit or 'unknown'})",
            err=True,
        )
    env = code.environment(os.environ) if code else dict(os.environ)
    child = subprocess.run([sys.executable, "-m", "jobs.cli.rerun", str(out)], env=env, check=False)
    if child.returncode == REFUSED and made:
        shutil.rmtree(out, ignore_errors=True)  # refused before training: nothing of the rerun is worth keeping
    if child.returncode:
        raise typer.Exit(child.returncode)
    _compare(RunDir(run_dir), RunDir(out), record.task)


def _prepare(new: RunDir, record: ConfigRecord) -> None:
    """The new folder: the old run's task, parameters, code snapshot and data record."""
    from seqtasks.config import from_dict
    from seqtasks.tasks import get_task

    config: Any = from_dict(get_task(record.task).config_cls, record.config)
    new.check_compatible(record.task, config)
    if not new.prepare_new(record.task, config, record.snapshot):  # an empty folder was there
        new.prepare(record.task, config, record.snapshot)
    if record.data:
        data = dict(record.data)
        new.record_data(data.pop("name"), data.pop("sha256"), **data)


def _figure(run: RunDir, metric: str) -> Any:
    """The run's ``metric`` as its result says (``None``: no result, or no such figure)."""
    result = run.result()
    return None if result is None else result.figures.get(metric)


def _compare(old: RunDir, new: RunDir, task: str) -> None:
    """Say how the rerun's main figure compares with the run's."""
    from seqtasks.tasks import get_task

    metric = get_task(task).main_metric
    before, after = (_figure(old, metric), _figure(new, metric))
    verdict = "identical" if before == after else f"differs (was {before})"
    typer.echo(f"rerun of {old.path} in {new.path}: {metric} = {after}, {verdict}")


def main(folder: str) -> int:
    """The child: run the prepared folder with the code this process imports (the snapshot's)."""
    from jobs.text import shown
    from seqtasks.config import from_dict
    from seqtasks.runner import execute
    from seqtasks.tasks import get_task

    record = RunDir(folder).config_record()
    assert record is not None  # the parent prepared it
    try:
        result = execute(record.task, from_dict(get_task(record.task).config_cls, record.config), folder)
    except UserError as err:
        print(f"error: {shown(str(err))}", file=sys.stderr)
        return REFUSED
    return 0 if result.get("status") == RunState.COMPLETED else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
