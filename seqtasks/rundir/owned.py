"""The paths no command writes over: run and sweep folders, and files that are not files.

A run or sweep folder holds the records its views trust (``docs/run-folder.md``):
a CSV, a report or a downloaded data set written into one would replace a
record or pass for part of a run. A device, a FIFO or a socket would be
replaced by a plain file, since every write is a rename (``seqtasks/atomic.py``).
Every command that writes a path the user gives asks :func:`owning_folder`
and :func:`special_kind` first.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from seqtasks.rundir.folder import CLAIM, CONFIG, JOB, RESULT, STATE
from seqtasks.rundir.sweepdir import MANIFEST

#: besides ``config.json``, a run folder holds one of these from its creation on (a user's folder with a
#: ``config.json`` of its own does not)
RUN_SIGNS = (STATE, CLAIM, RESULT, JOB)


def is_run_folder(folder: Path | str) -> bool:
    """Whether ``folder`` is a seqjobs run folder: ``config.json`` and a state, claim, result or job record."""
    return os.path.lexists(os.path.join(folder, CONFIG)) and any(
        os.path.lexists(os.path.join(folder, sign)) for sign in RUN_SIGNS
    )


def is_sweep_folder(folder: Path | str) -> bool:
    """Whether ``folder`` is a sweep folder (it holds ``sweep.json``)."""
    return os.path.lexists(os.path.join(folder, MANIFEST))


def places(path: Path | str) -> set[Path]:
    """Where ``path`` is: its folder's real path plus its name and, for a symbolic link, where it leads."""
    path = Path(path)
    return {Path(os.path.realpath(path.parent)) / path.name, Path(os.path.realpath(path))}


def owning_folder(path: Path | str) -> Path | None:
    """The run or sweep folder ``path`` is or lies inside; ``None`` when there is none.

    Both where ``path`` is (its folder's real path, plus its name) and, when it
    is a symbolic link, where it leads count: writing through a link or
    replacing it must not reach a run either. Only names are looked at;
    nothing is opened.
    """
    for place in sorted(places(path)):
        for folder in (place, *place.parents):
            if is_run_folder(folder) or is_sweep_folder(folder):
                return folder
    return None


def special_kind(path: Path | str) -> str | None:
    """What ``path`` is when it is neither a regular file nor a folder: ``a FIFO (named pipe)``, ``a device``...

    ``None`` when it is missing, a file or a folder. ``stat`` follows a link (a
    link to a device is a device) and opens nothing, so a FIFO never blocks it.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    kinds = (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
    )
    return next((kind for test, kind in kinds if test(mode)), "a special file")
