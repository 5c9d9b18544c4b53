"""Is a local job still running? Its controller's process, recognised by pid, start time and command line.

A local job's id is its controller's pid (``job.json``), with the
controller's start time beside it (``options.controller_started``): the pid
alone could name a process that got the number of a long-finished job.
"""

from __future__ import annotations

from typing import Any

from seqtasks.processes import alive

#: the module a local job's controller runs (the executor starts it; liveness looks for it)
LOCAL_CONTROLLER = "jobs.engine.local_controller"


def local_job_alive(job_id: str, started: float | None = None) -> bool:
    """Is the local job ``job_id`` (its controller's pid) still running?

    Process ids are reused: a bare liveness check could mistake, or signal,
    an unrelated process that got the number of a long-finished job. So the
    process must also be a controller -- :mod:`jobs.engine.local_controller`
    named in its command line, matched as a literal (importing the engine
    here would load submitit for every ``status``) -- and, when ``job.json``
    recorded it (``options.controller_started``), have started at that very
    moment (:func:`seqtasks.processes.alive`). psutil reads both on Linux and macOS alike.
    """
    try:
        pid = int(job_id)
    except (TypeError, ValueError):  # a job.json from someone else
        return False
    return alive(pid, started) and _runs_controller(pid)


def _runs_controller(pid: int) -> bool:
    """Does process ``pid`` run a local job's controller (:data:`LOCAL_CONTROLLER` in its command line)?"""
    import psutil  # only when there is a local job to look at

    try:
        return LOCAL_CONTROLLER in psutil.Process(pid).cmdline()
    except psutil.Error:  # gone meanwhile, or not ours to look at
        return False


def local_job_started(options: Any) -> float | None:
    """When a local job's controller started, as ``job.json``'s ``options`` recorded it (``None``: not recorded)."""
    started = options.get("controller_started") if isinstance(options, dict) else None
    return float(started) if isinstance(started, (int, float)) and not isinstance(started, bool) else None
