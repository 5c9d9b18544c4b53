"""The ``seqjobs`` command line: one Typer app, one module of this package per command group.

Commands are loaded when they are used: the root group knows each one by
name and one-line help (:data:`COMMANDS`) and imports its module only to run
it or show its own help. ``seqjobs --help`` and ``seqjobs status`` therefore
import neither submitit, pandas nor the data layer, let alone TensorFlow,
which tasks import only when a run actually starts.

That line is written only in :data:`COMMANDS`: a command's own help is the
line, then the command's docstring, which says what more it needs said.
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

import typer
import typer.core
import typer.main
from typer._click.core import Command

from jobs.cli.common import SeqjobsGroup


class Entry(NamedTuple):
    """Where a command lives and the first line of its help, which ``seqjobs --help`` shows for it."""

    module: str
    attribute: str
    help: str


#: every command in ``--help`` order
COMMANDS: dict[str, Entry] = {
    "data": Entry("jobs.cli.data", "app", "Fetch, stage and locate data sets (offline-first cache)."),
    "run": Entry("jobs.cli.run", "app", "Run one task here and now, in this process (no scheduler)."),
    "submit": Entry(
        "jobs.cli.submit", "submit_app", "Submit one run of a task as a batch job (SLURM, local or debug)."
    ),
    "sweep": Entry(
        "jobs.cli.submit",
        "sweep_app",
        "Submit a grid of runs of a task as job arrays; re-running submits only what is not done.",
    ),
    "status": Entry(
        "jobs.cli.views", "status", "Show every run's state, epoch, last metric, job, node and elapsed time."
    ),
    "collect": Entry(
        "jobs.cli.views", "collect", "Collect every completed run into one CSV (+ a summary over seeds, best first)."
    ),
    "logs": Entry(
        "jobs.cli.logs",
        "logs",
        "Print a run's job output (its submitit logs), attempt by attempt; --follow until the run ends.",
    ),
    "cancel": Entry(
        "jobs.cli.control",
        "cancel",
        "Cancel every run under PATH that has not ended (scancel, or stop the local process).",
    ),
    "resubmit": Entry(
        "jobs.cli.control",
        "resubmit",
        "Submit again the failed and/or missing runs under PATH, with their original executor settings.",
    ),
    "rerun": Entry(
        "jobs.cli.rerun",
        "rerun",
        "Run a run again from its folder alone: its config, its data's checksum and the code snapshot it was made with.",
    ),
    "report": Entry(
        "jobs.cli.report",
        "report",
        "Write report.md with learning curves, accuracy grids, Markov baselines and samples (PNG plots).",
    ),
    "export": Entry(
        "jobs.cli.export",
        "app",
        "Export run folders for other tools: TensorBoard event files with every epoch's metrics and HParams.",
    ),
    "eval": Entry(
        "jobs.cli.predict",
        "evaluate",
        "Re-evaluate a run's best model on its own test split (or another data set's) and print accuracy and loss.",
    ),
    "predict": Entry(
        "jobs.cli.predict",
        "predict",
        "Print the probability that each review is positive (one line each: probability, tab, text).",
    ),
    "generate": Entry(
        "jobs.cli.generate",
        "generate",
        "Generate text from a trained char-LSTM run folder: the seed text, then the sampled characters.",
    ),
    "bench": Entry(
        "jobs.cli.bench",
        "bench",
        "Benchmark seqjobs against the tutorial's way: Markov, char-LSTM, IMDB, job overhead, views at scale, packed runs.",
    ),
}


def load(name: str) -> Command:
    """The real click command behind ``name`` (its module imported now), its help led by its :data:`COMMANDS` line."""
    entry = COMMANDS[name]
    target = getattr(importlib.import_module(entry.module), entry.attribute)
    command: Command
    if isinstance(target, typer.Typer):
        command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    command.help = entry.help + (f"\n\n{command.help}" if command.help else "")
    return command


class LazyCommand(typer.core.TyperCommand):
    """A command known by name and help line until it is parsed or run."""

    def __init__(self, name: str, help: str) -> None:
        super().__init__(name, help=help, short_help=help)
        self._known_as = name
        self._real: Command | None = None

    def real(self) -> Command:
        """The loaded command."""
        if self._real is None:
            self._real = load(self._known_as)
        return self._real

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        return self.real().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        return self.real().invoke(ctx)


class LazyGroup(SeqjobsGroup):
    """The root group: lists :data:`COMMANDS` without importing them."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = COMMANDS.get(cmd_name)
        return None if entry is None else LazyCommand(cmd_name, entry.help)


#: Typer's shell completion (``--install-completion``, ``--show-completion``): the shell asks this program,
#: with ``_SEQJOBS_COMPLETE`` set, for the commands (from :data:`COMMANDS`, none imported), a command's
#: options and sub-commands (task names: its module is imported, as for its help) and, for a folder or file
#: argument, nothing, so that the shell completes the path itself.
app = typer.Typer(
    cls=LazyGroup,
    no_args_is_help=True,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def seqjobs() -> None:
    """Run sequence-model experiments (Markov chains, char-LSTM, IMDB sentiment) as batch jobs."""


def main() -> None:
    """Console-script entry point; ``python -m jobs`` too, by the same name (the shell completes ``seqjobs``)."""
    app(prog_name="seqjobs")
