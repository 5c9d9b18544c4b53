"""Is the process that left something behind still running? Asked of claims and of temporary files alike.

A process is named by its host, its pid and its start time: pids are
reused, so a pid alone could name a stranger. Only a process on this host
can be checked from here; for any other the answer is "cannot tell".
"""

from __future__ import annotations

import functools
import os
import socket

#: two readings of one process's start time may differ by this much (psutil derives it from the boot time)
START_TOLERANCE_S = 2.0


def started_at(pid: int) -> float | None:
    """When ``pid`` started, in seconds since the epoch; ``None`` when there is no such process."""
    import psutil  # read-only commands ask only when a process is there to check

    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.Error, ValueError):
        return None


def process_start(pid: int) -> str | None:
    """:func:`started_at` as text, as records keep it: it changes when the pid is reused.

    psutil derives it from the boot time, so two readings may differ by a
    little: compare with :func:`same_start`.
    """
    started = started_at(pid)
    return None if started is None else f"{started:.2f}"


@functools.cache
def own_start(pid: int) -> str | None:
    """:func:`process_start` of this process, asked once (keyed by pid: a forked child asks again)."""
    return process_start(pid)


def same_start(a: float | str, b: float | str) -> bool:
    """Are two readings of a start time (seconds since the epoch, or that as text) the same process start?

    Within :data:`START_TOLERANCE_S`: psutil derives the time from the boot time.
    """
    try:
        return abs(float(a) - float(b)) <= START_TOLERANCE_S
    except (TypeError, ValueError):  # a hand-edited record's start: not a start this process had
        return False


def pid_alive(pid: int) -> bool:
    """Does a process with this pid run (on this host)?

    A zombie -- ended, not yet reaped by a parent that may never reap it (a
    detached job's controller is adopted by init) -- does not: it holds no
    claim and runs no job. Nor does a pid that is no process's (zero or
    negative: ``kill`` would ask about a whole process group).
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    import psutil  # only once a process is there to look at

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True


def alive(pid: int, started: float | str | None) -> bool:
    """Does the process that started at ``started`` as ``pid`` still run on this host?

    Pids are reused: a live pid is that process only while its start time is
    the recorded one (:func:`same_start`). ``started`` ``None`` (not
    recorded) trusts the pid; so does a start time that cannot be read now
    (a process we may not look at): it may be the owner, so it is not taken
    for gone.
    """
    if not pid_alive(pid):
        return False
    if started is None:
        return True
    now = started_at(pid)
    return now is None or same_start(now, started)


def gone(host: str, pid: int, start: str | None) -> bool | None:
    """True: the process provably ended (this host, and its pid is dead or another process now);
    False: it runs; None: it ran on another host, which cannot be checked from here."""
    if host != socket.gethostname():
        return None
    return not alive(pid, start)
