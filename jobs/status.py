"""The state of every run under a path, from the run folders first.

Order of evidence: the run folder (``result.json``: completed or failed;
``state.json``: cancelled by ``seqjobs cancel``), then the scheduler (sacct,
else squeue), then the local process table for local jobs, then submitit's
result files. It needs nothing but the folders, so it works in a new shell
after the submitting process is gone.
"""

from __future__ import annotations

import os
import pickle
import socket
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from jobs import scheduler
from seqtasks.rundir import RunDir, read_json

STATES = ("pending", "running", "requeued", "completed", "failed", "cancelled", "unknown", "missing")
TERMINAL = {"completed", "failed", "cancelled"}


@dataclass
class RunStatus:
    """One row of ``seqjobs status``."""

    run: str
    path: str
    task: str
    state: str
    epoch: int
    last_metric: str
    job_id: str
    node: str
    elapsed_s: float | None
    error: str
    log: str


def find_runs(root: Path) -> list[Path]:
    """Run folders at or below ``root`` (a run, a sweep, or a folder of sweeps)."""
    root = Path(root)
    if (root / "config.json").is_file():
        return [root]
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if "config.json" in filenames:
            found.append(Path(dirpath))
            dirnames[:] = []  # a run folder holds no runs
    return found


def _since(start: str | None, end: str | None) -> float | None:
    if not start:
        return None
    try:
        t0 = datetime.fromisoformat(start)
        t1 = datetime.fromisoformat(end) if end else datetime.now(timezone.utc)
    except ValueError:
        return None
    return round((t1 - t0).total_seconds(), 1)


def _pid_alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def local_job_alive(job_id: str) -> bool:
    """Is submitit's local controller with this pid still running?

    Process ids are reused: a bare liveness check could mistake, or signal,
    an unrelated process that got the number of a long-finished job.
    """
    try:
        cmdline = Path(f"/proc/{int(job_id)}/cmdline").read_bytes()
    except (ValueError, OSError):
        return False
    return b"submitit" in cmdline


def last_line(path: str | None) -> str:
    """Last meaningful line of a log file (where a failed job's error is)."""
    if not path:
        return ""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 16384))
            lines = fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    noise = ("submitit", "srun:", "slurmstepd")
    for line in reversed(lines):
        text = line.strip()
        if text and not any(text.startswith(n) or n + " " in text[:40] for n in noise):
            return text[-300:]
    return ""


def submitit_outcome(job: dict[str, Any]) -> tuple[str, str] | None:
    """``("failed", error)`` or ``("completed", "")`` from submitit's result pickle, if written."""
    folder = job.get("submitit_folder")
    if not folder:
        return None
    path = Path(folder) / f"{job.get('job_id')}_0_result.pkl"
    if not path.exists():
        return None
    try:
        with path.open("rb") as fh:
            outcome, payload = pickle.load(fh)
    except Exception:  # a partial or foreign pickle: no information
        return None
    if outcome == "success":
        return "completed", ""
    lines = [ln for ln in str(payload).strip().splitlines() if ln.strip()]
    return "failed", lines[-1] if lines else "job raised an error"


def _metric(rows: list[dict[str, str]], result: dict[str, Any] | None, main: str | None) -> str:
    if result and main and isinstance(result.get(main), (int, float)):
        return f"{main}={result[main]:.4f}"
    if rows:
        last = rows[-1]
        for key in ("val_loss", "val_accuracy", "loss"):
            if last.get(key):
                return f"{key}={float(last[key]):.4f}"
    return ""


def statuses(root: Path) -> list[RunStatus]:
    """Status of every run under ``root``."""
    from seqtasks.tasks import TASKS

    folders = find_runs(root)
    jobs = {p: read_json(p / "job.json") or {} for p in folders}
    slurm_ids = sorted({j["job_id"] for j in jobs.values() if j.get("executor") == "slurm" and j.get("job_id")})
    sched = scheduler.job_states(slurm_ids)
    rows = []
    for path in folders:
        run = RunDir(path)
        config = run.config() or {}
        result, state, job = run.result(), run.state() or {}, jobs[path]
        spec = TASKS.get(config.get("task", ""))
        metrics = run.metrics_rows()
        info = sched.get(job.get("job_id", ""), {})
        name, error, node = _classify(result, state, job, info)
        rows.append(
            RunStatus(
                run=path.name,
                path=str(path),
                task=config.get("task", "?"),
                state=name,
                epoch=len(metrics),
                last_metric=_metric(metrics, result, spec.main_metric if spec else None),
                job_id=job.get("job_id", ""),
                node=node or state.get("host", ""),
                elapsed_s=(result or {}).get("duration_s") or _since(state.get("started_at"), state.get("ended_at")),
                error=error,
                log=job.get("stderr", "") if name == "failed" else "",
            )
        )
    return rows


def _classify(
    result: dict[str, Any] | None, state: dict[str, Any], job: dict[str, Any], sched: dict[str, str]
) -> tuple[str, str, str]:
    """``(state, error line, node)`` for one run, evidence in the documented order."""
    node = sched.get("node", "")
    newer_attempt = state.get("state") in ("running", "requeued") and state.get("attempt", 0) > (result or {}).get("attempt", 0)
    if result and result.get("status") in ("completed", "failed") and not newer_attempt:
        return result["status"], result.get("error", "") or "", node
    if state.get("state") == "cancelled":
        return "cancelled", "", node
    if not job:
        if state.get("state") == "running" and state.get("host") == socket.gethostname() and _pid_alive(str(state.get("pid"))):
            return "running", "", node  # `seqjobs run` in a terminal
        return ("unknown" if state else "missing"), "", node
    if job.get("executor") == "slurm" and sched:
        s = sched["state"]
        if s == "pending" and state.get("state") in ("running", "requeued"):
            s = "requeued"
        if s == "failed":
            return "failed", last_line(job.get("stderr")), node
        if s == "completed":
            s = "unknown"  # the job ended without writing a result
        return s, "", node
    if job.get("executor") == "local" and job.get("host", socket.gethostname()) == socket.gethostname():
        if local_job_alive(job.get("job_id", "")):
            return ("running" if state.get("state") == "running" else "pending"), "", node
    outcome = submitit_outcome(job)
    if outcome and outcome[0] == "failed":
        return "failed", outcome[1], node
    return "unknown", "", node


def summary(rows: Iterable[RunStatus]) -> str:
    """``12 runs: 10 completed, 1 failed, 1 running``."""
    rows = list(rows)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.state] = counts.get(r.state, 0) + 1
    parts = [f"{counts[s]} {s}" for s in STATES if counts.get(s)]
    return f"{len(rows)} runs: " + (", ".join(parts) if parts else "none")


def as_dicts(rows: Iterable[RunStatus]) -> list[dict[str, Any]]:
    """Rows as plain dicts, for ``--json``."""
    return [asdict(r) for r in rows]
