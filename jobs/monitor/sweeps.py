"""What a sweep's manifest says beyond its run folders: the runs it lists that are not on disk, and its halving plan.

The views find runs by looking at the disk, and a run folder that was
deleted, or replaced by a file, leaves no trace there: a sweep of six runs
would read "5 runs: 5 completed". ``sweep.json`` still names it, so the views
show it (``missing`` when its folder is gone, ``unreadable`` when something
else is in its place) and count it. A damaged manifest is reported, naming
the file and what is wrong with it, and the runs found on disk are shown all
the same. The manifest is read once per view, through the strict reader of
:mod:`seqtasks.rundir` (a FIFO or an oversized or deeply nested file is
damage, never a hang or a crash).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from seqtasks.rundir import Damaged, SweepDir
from seqtasks.rundir.records import HalvingRecord, Manifest
from seqtasks.rundir.states import RunState
from seqtasks.rundir.sweepdir import MANIFEST, halving_of

#: the error of a run ``sweep.json`` lists whose folder is not there (and the fix)
NO_FOLDER = "listed in sweep.json, but its run folder is not there; run the sweep command again to make it"


@dataclass
class SweepRecord:
    """One sweep folder's manifest as the views use it; ``problem`` says what is wrong with it, if anything."""

    folder: Path
    manifest: Manifest | None = None
    halving: HalvingRecord | None = None
    problem: Damaged | None = None


def read_sweeps(folders: Iterable[str]) -> dict[str, SweepRecord]:
    """The manifest of each of ``folders`` that has one, by folder (as given)."""
    out: dict[str, SweepRecord] = {}
    for name in folders:
        folder = Path(name)
        if not os.path.lexists(folder / MANIFEST):
            continue
        record = out[name] = SweepRecord(folder)
        try:
            record.manifest = SweepDir(folder).manifest()
            if record.manifest is not None:
                record.halving = halving_of(record.manifest, folder / MANIFEST)
        except Damaged as err:
            record.problem = err
    return out


def listed(record: SweepRecord) -> list[str]:
    """The run folder names the manifest lists; a name that is not one folder name makes it damaged."""
    if record.manifest is None:
        return []
    names = []
    for i, row in enumerate(record.manifest.runs):
        name = row.get("dir") if isinstance(row, dict) else None
        if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or os.sep in name or "\0" in name:
            raise Damaged(record.folder / MANIFEST, f"runs[{i}] names no run folder ({row!r:.60})")
        names.append(name)
    return names


def absent(record: SweepRecord, on_disk: set[str]) -> list[tuple[Path, str, str]]:
    """``(path, state, why)`` of each run the manifest lists that is not among the run folders ``on_disk``.

    ``missing`` when nothing, or a folder without a run file, is in its
    place; ``unreadable`` when something else is (a file, a FIFO).
    """
    try:
        names = listed(record)
    except Damaged as err:
        record.problem = record.problem or err
        return []
    out: list[tuple[Path, str, str]] = []
    for name in names:
        path = record.folder / name
        if os.fspath(path) in on_disk:
            continue
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            out.append((path, RunState.MISSING, NO_FOLDER))
            continue
        except OSError as err:
            out.append((path, RunState.UNREADABLE, f"cannot be read ({err.strerror})"))
            continue
        if stat.S_ISDIR(mode):
            out.append((path, RunState.MISSING, NO_FOLDER))
        else:
            kind = (
                "a symbolic link"
                if stat.S_ISLNK(mode)
                else "a file"
                if stat.S_ISREG(mode)
                else "a special file (FIFO, socket or device)"
            )
            out.append((path, RunState.UNREADABLE, f"is {kind} where sweep.json lists a run folder"))
    return out
