"""Shared CLI plumbing: how every command reports a user's mistake.

A :class:`~seqtasks.errors.UserError` raised anywhere below a command, and a
bad option value caught by the option parser, become one line on stderr
(``error: ...``) and exit code 2. Tracebacks are kept for real bugs.
"""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from seqtasks.errors import UserError

# Typer >= 0.25 carries its own copy of Click; its parser raises these classes.
UsageError: type[Exception] = typer.BadParameter.__mro__[1]
_NO_ARGS = [c for c in (getattr(__import__(UsageError.__module__, fromlist=["x"]), "NoArgsIsHelpError", None),) if c]


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


class SeqjobsGroup(TyperGroup):
    """Root command group that turns user mistakes into one line + exit 2.

    Sub-commands are parsed and run inside the root group's ``invoke``, so
    catching here covers every command of the CLI, nested groups included.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as err:
            fail(str(err))
        except UsageError as err:
            ctx_of = getattr(err, "ctx", None)
            if any(isinstance(err, c) for c in _NO_ARGS) or ctx_of is None:
                raise  # "no arguments: show help" and root-level errors keep Typer's own output
            fail(f"{err.format_message()} (see: {ctx_of.command_path} --help)")
