"""What several commands share: how a user's mistake is reported, and the paths they take.

A :class:`~seqtasks.errors.UserError` raised anywhere below a command, and a
bad option value caught by the option parser, become one line on stderr
(``error: ...``) and exit code 2. Tracebacks are kept for real bugs. Output
paths are checked before any work is done, here and only here: an output
never lands inside a run or sweep folder nor replaces a device, FIFO or
socket; a run folder is named here when none is given; a PATH argument must
hold run folders.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer._click.exceptions import NoArgsIsHelpError, UsageError  # Typer 0.28 parses with its own copy of Click
from typer.core import TyperGroup

from jobs.text import NAME_MAX, refuse_control, say
from seqtasks.errors import UserError
from seqtasks.rundir.owned import is_run_folder, is_sweep_folder, owning_folder, places, special_kind

#: where runs go when no --out is given
RUNS = Path("runs")

PathArg = Annotated[Path, typer.Argument(help="A run folder, a sweep folder, or a folder of sweeps (e.g. runs/).")]


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr, as one line whatever the message holds, and exit 2."""
    say(f"error: {message}", err=True)
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
        except NoArgsIsHelpError:
            raise  # "no arguments: show help" keeps Typer's own output
        except UsageError as err:
            ctx_of = getattr(err, "ctx", None) or ctx  # some parser errors carry no context: point at the root's help
            fail(f"{err.format_message()} (see: {ctx_of.command_path} --help)")


def fresh_run_dir(task: str, root: Path = RUNS) -> Path:
    """A new folder name under ``runs/``: task, time stamp and a random suffix."""
    return root / f"{task}-{time.strftime('%Y%m%d-%H%M%S')}-{os.urandom(2).hex()}"


def check_runs(path: Path) -> None:
    """Refuse a PATH argument that is missing or holds no run folder: the user's mistake, said in one line."""
    from jobs.monitor.finding import any_runs  # not for --help: only commands that read runs pay for it

    if not path.exists():
        raise UserError(f"{path} does not exist; give a run or sweep folder (e.g. runs/NAME)")
    if not any_runs(path):
        raise UserError(f"no run folders under {path} (a run folder holds config.json)")


def output_path(value: str | Path) -> Path:
    """Typer's parser of a path to write: an empty one (``-o ''``, an unset variable) is refused, not read as ``.``."""
    if str(value) == "":
        raise typer.BadParameter("the path is empty; give a file or folder name")
    return Path(value)


def check_output_folder(flag: str, path: Path, own: Iterable[Path] = ()) -> None:
    """Refuse, before anything is written, a folder ``path`` that could not be created or written, or must not be.

    A file in its place or above it, a name too long for the file system, or a
    folder we may not write would otherwise be a traceback halfway through; a
    folder inside a run or sweep folder would mix our files with its records.
    ``own``: the folders inside a run or sweep folder that are the command's
    own (``report``'s default, ``PATH/report``).
    """
    _check_name(flag, path)
    if os.path.lexists(path) and not path.is_dir():
        raise UserError(f"{flag} {path} exists and is not a folder; choose another {flag}")
    if not any(os.path.realpath(path) == os.path.realpath(mine) for mine in own):
        _refuse_owned(flag, path)
    _check_writable(flag, path, path)


def check_run_folder(flag: str, path: Path) -> None:
    """:func:`check_output_folder` of a run folder to create or resume (``run --out``): it may be a run folder itself.

    A run given by its folder is resumed (the run decides whether it may be);
    anywhere else inside a run or sweep folder a new run would pass for part of it.
    Decided on one look: when two commands create the same run folder at
    once, it becomes a run folder between two looks of the slower one, and
    the run's claim, not this check, must say which of the two goes on.
    """
    folder = owning_folder(path)
    resumable = folder is None or (folder in places(path) and not is_sweep_folder(folder))
    check_output_folder(flag, path, own=[path] if resumable else [])


def check_output_file(flag: str, path: Path) -> None:
    """Refuse, before any work is done, a file ``path`` that could not be written, or must not be replaced.

    A regular file there is replaced (atomically, as the shell's ``>`` would
    write it). Anything else is refused: a folder, a device, a FIFO or a
    socket (a rename would put a plain file in its place), a path inside a run
    or sweep folder (it would replace a record), a file above it.
    """
    _check_name(flag, path)
    if path.name in ("", ".", ".."):
        raise UserError(f"{flag} {path} names no file; give a file name, e.g. {flag} results/out.csv")
    if path.is_dir():
        raise UserError(f"{flag} {path} is a folder; give a file name, e.g. {flag} {path / 'out.csv'}")
    kind = special_kind(path)
    if kind is not None:
        raise UserError(f"{flag} {path} is {kind}, not a regular file; choose another {flag}, e.g. results/out.csv")
    _refuse_owned(flag, path)
    _check_writable(flag, path, path.parent)


def _refuse_owned(flag: str, path: Path) -> None:
    """Refuse a path inside (or naming) a run or sweep folder: only seqjobs writes there, and only its records."""
    folder = owning_folder(path)
    if folder is not None:
        what = "run" if is_run_folder(folder) else "sweep"
        where = "is" if Path(os.path.realpath(path)) == folder else "lies inside"
        raise UserError(
            f"{flag} {path} {where} the {what} folder {folder}, which holds only its own records; "
            f"choose {flag} outside run and sweep folders"
        )


def _check_name(flag: str, path: Path) -> None:
    """No control character, and no component longer than a file name may be."""
    refuse_control(flag, str(path))
    long = next((part for part in path.parts if len(os.fsencode(part)) > NAME_MAX), None)
    if long is not None:
        raise UserError(f"{flag}: the name '{long[:40]}...' is longer than a file name may be ({NAME_MAX} bytes)")


def _check_writable(flag: str, path: Path, folder: Path) -> None:
    """``folder`` (where ``path`` goes) is, or can be made, a folder we may write in."""
    above = next(p for p in [folder, *folder.absolute().parents] if os.path.lexists(p))
    if not above.is_dir():
        raise UserError(f"{flag} {path}: {above} is not a folder; choose another {flag}")
    if not os.access(above, os.W_OK | os.X_OK):
        raise UserError(f"{flag} {path}: {above} is not writable; choose another {flag}")
