"""What SLURM says about jobs: ``sacct`` first, ``squeue`` when sacct fails.

Many clusters restrict or lack ``sacct``, and submitit alone then waits
forever on a job cancelled from outside. Both queries are single calls for
all job ids, with timeouts; neither raises: an unreachable scheduler means
"no information", and the caller falls back to the run folders.
"""

from __future__ import annotations

import re
import subprocess

#: SLURM state -> seqjobs state
STATE_MAP = {
    "PENDING": "pending",
    "CONFIGURING": "pending",
    "RUNNING": "running",
    "COMPLETING": "running",
    "COMPLETED": "completed",
    "REQUEUED": "requeued",
    "REQUEUE_FED": "requeued",
    "REQUEUE_HOLD": "requeued",
    "PREEMPTED": "requeued",
    "SUSPENDED": "requeued",
    "RESIZING": "running",
    "CANCELLED": "cancelled",
    "FAILED": "failed",
    "TIMEOUT": "failed",
    "NODE_FAIL": "failed",
    "OUT_OF_MEMORY": "failed",
    "BOOT_FAIL": "failed",
    "DEADLINE": "failed",
}


def normalise(raw: str) -> str:
    """``"CANCELLED by 0"`` -> ``"cancelled"``; unknown words -> ``"unknown"``."""
    word = raw.strip().split(" ")[0].rstrip("+").upper()
    return STATE_MAP.get(word, "unknown")


def expand_ids(job_id: str) -> list[str]:
    """``123_[0-3,7%2]`` (a pending array in sacct) -> ``123_0 ... 123_3, 123_7``."""
    match = re.fullmatch(r"(\d+)_\[([^\]]+)\]", job_id)
    if not match:
        return [job_id]
    base, spec = match.group(1), match.group(2).split("%")[0]
    out = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out += [f"{base}_{i}" for i in range(int(lo), int(hi or lo) + 1)]
    return out


def _query(cmd: list[str]) -> str | None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def sacct_states(job_ids: list[str]) -> dict[str, dict[str, str]] | None:
    """``{job_id: {"state", "node", "source"}}`` from sacct, or ``None`` when sacct fails."""
    out = _query(["sacct", "-X", "-n", "-P", "-o", "JobID,State,NodeList", "-j", ",".join(job_ids)])
    if out is None:
        return None
    found: dict[str, dict[str, str]] = {}
    for line in out.splitlines():
        parts = line.split("|")
        if len(parts) < 3:
            continue
        for jid in expand_ids(parts[0]):
            found[jid] = {"state": normalise(parts[1]), "node": parts[2], "source": "sacct"}
    return found


def squeue_states(job_ids: list[str]) -> dict[str, dict[str, str]] | None:
    """Jobs still queued or running, from squeue (finished jobs are simply absent)."""
    out = _query(["squeue", "-h", "-r", "-o", "%i|%T|%N", "-j", ",".join(job_ids)])
    if out is None:
        # squeue errors out when none of the ids is known any more: treat as "none queued"
        out = _query(["squeue", "-h", "-r", "-o", "%i|%T|%N"])
        if out is None:
            return None
    wanted = set(job_ids)
    found: dict[str, dict[str, str]] = {}
    for line in out.splitlines():
        parts = line.split("|")
        if len(parts) >= 3 and parts[0] in wanted:
            found[parts[0]] = {"state": normalise(parts[1]), "node": parts[2], "source": "squeue"}
    return found


def job_states(job_ids: list[str]) -> dict[str, dict[str, str]]:
    """Best knowledge of each job: sacct, else squeue; empty when neither answers."""
    if not job_ids:
        return {}
    states = sacct_states(job_ids)
    if states is None:
        states = squeue_states(job_ids) or {}
    return states


def cancel(job_ids: list[str]) -> None:
    """scancel the given SLURM jobs (array elements included)."""
    if job_ids:
        subprocess.run(["scancel", *job_ids], capture_output=True, text=True, timeout=30, check=False)
