"""Shared CLI plumbing: how every command reports a user's mistake.

A :class:`~seqtasks.errors.UserError` raised anywhere below a command becomes
one line on stderr (``error: ...``) and exit code 2. Typer's own usage errors
already exit 2; this makes ours look the same and keeps tracebacks for bugs.
"""

from __future__ import annotations

from typing import Any, NoReturn

import click
import typer
from typer.core import TyperGroup

from seqtasks.errors import UserError


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


class SeqjobsGroup(TyperGroup):
    """Root command group that turns :class:`UserError` into one line + exit 2.

    Sub-commands run inside the root group's ``invoke``, so catching here
    covers every command of the CLI, including those of nested groups.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as err:
            fail(str(err))
