"""The ``seqjobs`` command line: one Typer app, one sub-module per command group.

Nothing here imports TensorFlow: ``--help``, ``data``, ``status`` and
``collect`` answer at once; tasks import their heavy libraries only when a run
actually starts.
"""

from __future__ import annotations

import typer

from jobs import cli_control, cli_data, cli_generate, cli_manage, cli_predict, cli_report, cli_run, cli_submit
from jobs import cli_bench
from jobs.cliutil import SeqjobsGroup

app = typer.Typer(
    cls=SeqjobsGroup,
    help="Run sequence-model experiments (Markov chains, char-LSTM, IMDB sentiment) as batch jobs.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(cli_data.app, name="data")
app.add_typer(cli_run.app, name="run")
app.add_typer(cli_submit.submit_app, name="submit")
app.add_typer(cli_submit.sweep_app, name="sweep")
app.command("status")(cli_manage.status)
app.command("collect")(cli_manage.collect)
app.command("cancel")(cli_control.cancel)
app.command("resubmit")(cli_control.resubmit)
app.command("report")(cli_report.report)
app.command("eval")(cli_predict.evaluate)
app.command("predict")(cli_predict.predict)
app.command("generate")(cli_generate.generate)
app.command("bench")(cli_bench.bench)


def main() -> None:
    """Console-script entry point."""
    app()
