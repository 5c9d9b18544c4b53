"""The line of a job's log, or of a recorded error, that says why a run failed: what ``status`` shows.

``job.json`` may come from someone else: a log is read only inside the run's
folder or its sweep's, never through a symlink out of them, only up to
:data:`LOG_LIMIT`, and only its tail.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jobs.monitor.reading import RunFiles
from seqtasks.rundir import Damaged, safe

#: a job log is read only up to this size (its last lines are what counts)
LOG_LIMIT = 64 << 20
LOG_TAIL = 16384


def last_line(error: Any) -> str:
    """The last non-empty line of an error (whatever type a hand-edited file gave it)."""
    if error is None:
        return ""
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    return lines[-1][-300:] if lines else ""


def _log_roots(run: Path) -> list[Path]:
    """Where a run's job logs may be read: the run folder, and its sweep folder."""
    roots = [run]
    if (run.parent / "sweep.json").is_file():
        roots.append(run.parent)
    return roots


def job_log_line(f: RunFiles) -> str:
    """The last meaningful line of the job's stderr log, if that log lies inside the run or its sweep.

    ``job.json`` may come from someone else: a log path outside those folders,
    or reached through a symlink out of them, is not read.
    """
    stderr = f.job.stderr if f.job is not None else None
    if not stderr:
        return ""
    log = os.path.realpath(stderr)
    for root in map(os.path.realpath, _log_roots(f.path)):
        if os.path.commonpath([root, log]) == root:
            try:
                data = safe.read_bytes(Path(log), Path(root), limit=LOG_LIMIT)
            except Damaged:
                return ""
            return _meaningful((data or b"")[-LOG_TAIL:].decode("utf-8", "replace"))
    return ""


def _meaningful(text: str) -> str:
    noise = ("submitit", "srun:", "slurmstepd")
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line and not any(line.startswith(n) or n + " " in line[:40] for n in noise):
            return line[-300:]
    return ""
