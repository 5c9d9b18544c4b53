"""Which folders under a path are run folders: found by listing sweeps, never the runs themselves.

A view over 10,000 runs must not list 10,000 folders: a folder is a run when
it holds any file only a run holds (:data:`RUN_MARKERS`), checked by name.
"""

from __future__ import annotations

import os
from pathlib import Path

#: what only a run folder holds: a folder with any of these is a run, config.json or not
RUN_MARKERS = ("config.json", "state.json", "result.json", "metrics.csv", "job.json", "checkpoints")


def find_runs(root: Path, sweeps: list[Path] | None = None) -> list[Path]:
    """Run folders at or below ``root`` (a run, a sweep, or a folder of sweeps).

    A folder is a run when it holds any file only a run holds, so one whose
    ``config.json`` is lost is still found (and reported), and so is a folder
    that cannot be listed or a run folder that is a symlink (reported, not
    read: it leads out of the sweep). Run folders themselves are never listed:
    a sweep of 10,000 runs costs one listing and a check per run. ``sweeps``
    gets the folders below ``root`` (itself included) that hold a ``sweep.json``,
    even one whose every run folder is gone.
    """
    root = Path(root)
    if not root.is_dir():
        return []
    if _looks_like_run(root):
        return [root]
    found: list[Path] = []
    _find_below(root, found, sweeps=sweeps)
    return sorted(found, key=str)


def any_runs(root: Path) -> bool:
    """Is there a run folder at or below ``root``? (Stops at the first: a check before the real read.)"""
    root = Path(root)
    if not root.is_dir():
        return False
    if _looks_like_run(root):
        return True
    found: list[Path] = []
    _find_below(root, found, first=True)
    return bool(found)


def _find_below(folder: Path, found: list[Path], first: bool = False, sweeps: list[Path] | None = None) -> None:
    """Add the runs below ``folder`` to ``found`` (``first``: stop at one), the sweep folders to ``sweeps``.

    Symlinked and hidden folders are skipped.
    """
    try:
        with os.scandir(folder) as listing:
            entries = [entry for entry in listing if not entry.name.startswith(".")]
    except OSError:
        found.append(folder)  # reported as unreadable, not skipped
        return
    if sweeps is not None and any(entry.name == "sweep.json" for entry in entries):
        sweeps.append(folder)
    for entry in entries:
        try:
            if not entry.is_dir():
                continue
        except OSError:
            continue
        path = folder / entry.name
        if _looks_like_run(path):
            found.append(path)
        elif not entry.is_symlink():
            _find_below(path, found, first, sweeps)
        if first and found:
            return


def _looks_like_run(folder: Path) -> bool:
    return any(os.path.lexists(os.path.join(folder, name)) for name in RUN_MARKERS)
