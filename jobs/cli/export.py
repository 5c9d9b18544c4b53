"""``seqjobs export``: run folders in the files another tool reads (TensorBoard's event files).

It reads the run folders the way ``report`` does (a damaged run is one
warning and left out) and writes only under ``-o``, which may not lie inside
a run or sweep folder. TensorBoard itself is an extra (``seqjobs[tensorboard]``):
its writer is imported by the command only, and a machine without it gets
one line saying how to install it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Callable, Optional

import typer

from jobs.cli.common import PathArg, check_output_folder, check_runs, output_path
from jobs.text import count, say
from seqtasks.errors import UserError
from seqtasks.rundir.states import RunState

if TYPE_CHECKING:
    from jobs.export.runs import ExportedRun

app = typer.Typer(no_args_is_help=True)


@app.command("tensorboard")
def tensorboard(
    path: PathArg,
    output: Annotated[
        Optional[Path],
        typer.Option(
            "-o",
            "--output",
            help="Folder for the event files (a run's file there is replaced). Default: tensorboard/<name of PATH>.",
            parser=output_path,
        ),
    ] = None,
) -> None:
    """Write TensorBoard event files: every epoch's metrics, and the HParams tab's experiment and sessions.

    One event file per run holds each column of its metrics.csv by epoch
    and, for a completed run, its result's figures (the result/ series); the
    HParams tab lists every run with its parameters and final metrics. Runs
    that have not completed (running, failed, cancelled...) are exported
    with the epochs they have committed. Open the folder with `tensorboard
    --logdir DIR`. TensorFlow is not needed, the tensorboard package is (the
    seqjobs extra of that name).
    """
    out = output or Path("tensorboard") / (path.resolve().name or "runs")
    check_output_folder("-o", out)
    check_runs(path)
    writer = _tensorboard_writer()
    from jobs.export.runs import exported_runs
    from jobs.monitor.status import check_readable, summary, warnings

    runs, states = exported_runs(path)
    for line in warnings(states):
        say(line, err=True)
    check_readable(states, str(path))
    if not runs:
        raise UserError(f"no run under {path} could be exported; see `seqjobs status {path}`")
    try:
        writer(runs, out)
    except OSError as err:
        raise UserError(f"cannot write {err.filename or out}: {err.strerror}; choose another -o") from None
    unfinished = sum(run.state != RunState.COMPLETED for run in runs)
    say(
        f"{summary(states)}; exported {count(len(runs), 'run')} to {out}"
        + (f" ({unfinished} not completed: with the epochs they have)" if unfinished else ""),
        err=True,
    )
    say(f"see them with: tensorboard --logdir {out}", err=True)


def _tensorboard_writer() -> Callable[[list[ExportedRun], Path], list[Path]]:
    """:func:`jobs.export.tensorboard.write`, or one line saying how to install TensorBoard."""
    try:
        from jobs.export.tensorboard import write
    except ImportError as err:
        if not (err.name or "").startswith("tensorboard"):
            raise
        raise UserError(
            "exporting to TensorBoard needs the tensorboard package: pip install 'seqjobs[tensorboard]'"
        ) from None
    return write
