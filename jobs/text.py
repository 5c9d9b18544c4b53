"""Text for people: lines that stay one line (control characters, file-name lengths), counts with their nouns.

A leaf module shared by every layer of ``jobs/``: the CLI (one-line error
messages, output paths), the engine (executor settings and grid values that
end up in sbatch lines and folder names) and the monitor (warnings about
damaged run folders). It imports nothing of ``jobs``, so any of them may use
it without an import cycle.

Text read from a folder, a record or a log -- a run's name, a result's
``error``, a log's last line -- may hold anything: an escape sequence that
retitles the window or clears the screen, a bell. :func:`shown` is the one
way such text reaches a terminal: every line a command prints goes through
:func:`say`, every table cell through :func:`shown`.
"""

from __future__ import annotations

import unicodedata

import typer

from seqtasks.atomic import NAME_MAX  # noqa: F401 -- re-exported: the CLI checks names against it
from seqtasks.errors import UserError

#: Unicode categories that must never reach a script line, a file name or a terminal verbatim:
#: controls (newline, CR, tab, NUL, ESC...), invisible format characters, lone surrogates, line separators
CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def count(n: int, noun: str) -> str:
    """``1 run``, ``2 runs``: a number with its noun, singular when it is one (nouns here take an -s)."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def is_control(ch: str) -> bool:
    """Whether ``ch`` is a control, format, surrogate or line-separator character."""
    return unicodedata.category(ch) in CONTROL_CATEGORIES


def shown(text: str) -> str:
    """``text`` with every control character escaped (``\\n``), so a message stays one line."""
    return "".join(repr(ch)[1:-1] if is_control(ch) else ch for ch in text)


def say(line: str, err: bool = False) -> None:
    """Print ``line`` (on stderr with ``err``) as one line of plain text: :func:`shown`, whatever it holds."""
    typer.echo(shown(line), err=err)


def refuse_control(what: str, text: str) -> None:
    """Raise :class:`UserError` if ``text`` holds a control character (a newline would start a new sbatch line)."""
    bad = next((ch for ch in text if is_control(ch)), None)
    if bad is not None:
        raise UserError(f"{what} '{shown(text)}' contains a control character ({repr(bad)[1:-1]}); remove it")
