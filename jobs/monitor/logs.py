"""A run's job logs: which file holds each attempt's output, read only where it is safe to, and the line
of one that says why a run failed (what ``status`` shows).

``job.json`` and ``state.json`` may come from someone else: a log is read only
inside the run's folder or its sweep's, never through a symlink out of them,
only if it is a regular file (a FIFO would block the reader for good), and a
bounded piece at a time.

Where the logs are: each submission records its job's ``stdout`` and
``stderr`` in ``job.json``, and each attempt its job id in ``state.json``
(``history``, then the attempt under way). submitit appends every attempt of
one job -- a requeue after a preemption or a time limit -- to the same files,
``<log root>/.submitit/<job id>/<job id>_0_log.out`` and ``.err``, the log
root being the sweep folder (the run folder for ``seqjobs submit``); a new
job (``resubmit``, a halving promotion) rewrites ``job.json`` and gets files
of its own in the same place, which is where the logs of the jobs
``job.json`` no longer names are found.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from jobs.monitor.reading import RunFiles
from seqtasks.rundir import Damaged, RunDir
from seqtasks.rundir.records import JobRecord, StateRecord

#: the streams of a job, by the suffix submitit gives their files
Stream = Literal["out", "err"]
#: the most of a log read at one go: a larger log is read (and printed) a piece at a time
CHUNK = 1 << 20
#: how much of the end of a log ``status`` looks at for its failure line
LOG_TAIL = 16384


@dataclass(frozen=True)
class JobLogs:
    """One job of a run: the attempts of the run it ran (none yet: it has not started) and its two logs.

    ``out`` and ``err`` are where the logs are or will appear, as recorded
    or found; ``None`` when the job has no log (a run made in-process, by
    ``seqjobs run`` or ``--executor debug``). Nothing is vouched for: read
    them with :func:`read_log`.
    """

    job_id: str | None
    attempts: tuple[int, ...]
    out: str | None
    err: str | None

    def log(self, stream: Stream) -> str | None:
        """The log of ``stream``."""
        return self.out if stream == "out" else self.err


def job_logs(run: Path) -> list[JobLogs]:
    """Every job that ran the run, or is to, oldest first; :class:`Damaged` names a bad record.

    A job that ``job.json`` names but no attempt has begun in (queued) comes last, with no attempts.
    """
    folder = RunDir(run)
    state, job = folder.state_record(), folder.job_record()
    jobs: list[tuple[str | None, list[int]]] = []
    for attempt, job_id in _attempts(state, folder.file("state.json")):
        if jobs and jobs[-1][0] == job_id:
            jobs[-1][1].append(attempt)
        else:
            jobs.append((job_id, [attempt]))
    if job is not None and (not jobs or jobs[-1][0] != job.job_id):
        jobs.append((job.job_id, []))
    return [
        JobLogs(job_id, tuple(attempts), _log_path(run, job_id, job, "out"), _log_path(run, job_id, job, "err"))
        for job_id, attempts in jobs
    ]


def _attempts(state: StateRecord | None, where: Path) -> list[tuple[int, str | None]]:
    """``(attempt, job id)`` of every attempt ``state.json`` knows: the ended ones, then the one under way."""
    if state is None:
        return []
    found: list[tuple[int, str | None]] = []
    for entry in state.history:
        attempt, job_id = (entry.get("attempt"), entry.get("job_id")) if isinstance(entry, dict) else (None, None)
        if type(attempt) is not int or not (job_id is None or isinstance(job_id, str)):
            raise Damaged(where, f"has a history entry that is not an attempt with a job id: {entry!r:.80}")
        found.append((attempt, job_id))
    if state.attempt > max((attempt for attempt, _ in found), default=0):
        found.append((state.attempt, state.job_id))
    return found


def _log_path(run: Path, job_id: str | None, job: JobRecord | None, stream: Stream) -> str | None:
    """Where the ``stream`` log of job ``job_id`` is: as ``job.json`` records it, else in the log roots.

    The first place that holds something wins (a sweep copied from another
    machine records paths that are not here); when none does yet, where
    ``job.json`` says it will be, else the log root's place for it.
    """
    if not job_id:
        return None
    recorded = getattr(job, f"std{stream}") if job is not None and job.job_id == job_id else None
    places = [recorded] if recorded else []
    if os.path.basename(job_id) == job_id and job_id not in (".", ".."):  # a job id, not a path someone wrote there
        places += [os.path.join(root, ".submitit", job_id, f"{job_id}_0_log.{stream}") for root in log_roots(run)]
    return next((place for place in places if os.path.lexists(place)), places[-1] if places else None)


def log_roots(run: Path) -> list[Path]:
    """Where a run's job logs may be read: its sweep folder (where submitit writes them), and the run folder."""
    roots = [run]
    if (run.parent / "sweep.json").is_file():
        roots.insert(0, run.parent)
    return roots


def inside(path: str, run: Path) -> str:
    """The real path of ``path``; :class:`Damaged` unless it lies inside the run or its sweep, links resolved."""
    real = os.path.realpath(path)
    for root in map(os.path.realpath, log_roots(run)):
        if os.path.commonpath([root, real]) == root:
            return real
    raise Damaged(path, f"lies outside {run} and its sweep (a symbolic link or a path out of them is not followed)")


def read_log(path: str, run: Path, offset: int = 0, limit: int = CHUNK) -> tuple[int, bytes] | None:
    """``(start, data)``: up to ``limit`` bytes of the log at ``path`` from ``start`` (``None``: no such file yet).

    ``start`` is ``offset``, counted from the end when negative (the last
    bytes); a log now shorter than ``offset`` was truncated or replaced, and
    is read from its beginning, as ``tail -f`` does. :class:`Damaged` when it
    lies outside the run and its sweep, is not a regular file, or cannot be read.
    """
    real = inside(path, run)
    try:
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as err:
        why = "is a symbolic link (not followed)" if err.errno == errno.ELOOP else f"cannot be read ({err.strerror})"
        raise Damaged(path, why) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Damaged(path, "is not a regular file")
        start = max(info.st_size + offset, 0) if offset < 0 else offset if offset <= info.st_size else 0
        return start, os.pread(fd, limit, start)
    except OSError as err:
        raise Damaged(path, f"cannot be read ({err.strerror})") from None
    finally:
        os.close(fd)


def last_line(error: Any) -> str:
    """The last non-empty line of an error (whatever type a hand-edited file gave it)."""
    if error is None:
        return ""
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    return lines[-1][-300:] if lines else ""


def job_log_line(f: RunFiles) -> str:
    """The last meaningful line of the job's stderr log, if that log lies inside the run or its sweep."""
    stderr = f.job.stderr if f.job is not None else None
    if not stderr:
        return ""
    try:
        got = read_log(stderr, f.path, -LOG_TAIL)
    except Damaged:
        return ""
    return _meaningful(got[1].decode("utf-8", "replace") if got else "")


def _meaningful(text: str) -> str:
    noise = ("submitit", "srun:", "slurmstepd")
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line and not any(line.startswith(n) or n + " " in line[:40] for n in noise):
            return line[-300:]
    return ""
