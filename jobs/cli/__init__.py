"""The ``seqjobs`` command line: one Typer app, one module of this package per command group.

Nothing here imports TensorFlow: ``--help``, ``data``, ``status`` and
``collect`` answer at once; tasks import their heavy libraries only when a run
actually starts.
"""

from __future__ import annotations

import typer

from jobs.cli import bench, control, data, generate, predict, report, run, submit, views
from jobs.cli.common import SeqjobsGroup

app = typer.Typer(
    cls=SeqjobsGroup,
    help="Run sequence-model experiments (Markov chains, char-LSTM, IMDB sentiment) as batch jobs.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(data.app, name="data")
app.add_typer(run.app, name="run")
app.add_typer(submit.submit_app, name="submit")
app.add_typer(submit.sweep_app, name="sweep")
app.command("status")(views.status)
app.command("collect")(views.collect)
app.command("cancel")(control.cancel)
app.command("resubmit")(control.resubmit)
app.command("report")(report.report)
app.command("eval")(predict.evaluate)
app.command("predict")(predict.predict)
app.command("generate")(generate.generate)
app.command("bench")(bench.bench)


def main() -> None:
    """Console-script entry point."""
    app()
