"""What SLURM jobs have spent: each allocation's elapsed time, CPUs and GPUs, from one ``sacct`` query.

A job requeued after a preemption or a time limit keeps its id, and plain
``sacct`` shows only its last attempt; ``-D`` lists every attempt, each an
allocation of its own that was paid for. ``-X`` keeps allocations only (the
job steps inside them would count the same time again). ``AllocTRES`` says
what was allocated (``cpu=2,mem=1G,node=1,billing=2,gres/gpu=1``), whatever
the job used of it: that is what a cluster charges. Like the state query
(:mod:`jobs.scheduler.states`), it asks for array bases only, so a sweep of
10,000 runs is one short command; and it never raises: ``None`` means
"sacct cannot say", and callers fall back to what the run folders measured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jobs.scheduler import commands
from jobs.scheduler.states import array_base

#: the columns asked for, in the order :func:`parse_usage` reads them
FIELDS = "JobID,Elapsed,AllocTRES"


@dataclass(frozen=True)
class Allocation:
    """One attempt of one job as sacct recorded it: how long it held what."""

    elapsed_s: float
    cpus: int
    gpus: int

    @property
    def cpu_hours(self) -> float:
        """CPU-hours allocated (elapsed x CPUs)."""
        return self.elapsed_s * self.cpus / 3600

    @property
    def gpu_hours(self) -> float:
        """GPU-hours allocated (elapsed x GPUs)."""
        return self.elapsed_s * self.gpus / 3600


def parse_elapsed(text: str) -> float | None:
    """sacct's ``Elapsed`` (``[DD-]HH:MM:SS``, or ``MM:SS``) in seconds; ``None`` for anything else."""
    match = re.fullmatch(r"(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)", text.strip())
    if not match:
        return None
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return float(((days * 24 + hours) * 60 + minutes) * 60 + seconds)


def parse_tres(text: str) -> tuple[int, int]:
    """``AllocTRES`` -> (CPUs, GPUs).

    GPUs are ``gres/gpu=N``; a cluster that accounts GPUs by type also (or
    only) lists ``gres/gpu:TYPE=N`` for the same devices, so the typed counts
    are summed only when the untyped one is absent.
    """
    cpus, untyped, typed = 0, None, 0
    for item in text.split(","):
        name, _, value = item.strip().partition("=")
        if not value.isdigit():
            continue
        if name == "cpu":
            cpus = int(value)
        elif name == "gres/gpu":
            untyped = int(value)
        elif name.startswith("gres/gpu:"):
            typed += int(value)
    return cpus, typed if untyped is None else untyped


def parse_usage(text: str, wanted: set[str]) -> dict[str, list[Allocation]]:
    """``JobID|Elapsed|AllocTRES`` lines (``sacct -X -D -P``) -> every allocation of each wanted job, oldest first.

    A pending array's one record (``75_[3-7%1]``) and a job not started yet
    hold nothing (no ``AllocTRES``): they are left out.
    """
    found: dict[str, list[Allocation]] = {}
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) < 3 or parts[0].strip() not in wanted or not parts[2].strip():
            continue
        elapsed = parse_elapsed(parts[1])
        if elapsed is None:
            continue
        cpus, gpus = parse_tres(parts[2])
        found.setdefault(parts[0].strip(), []).append(Allocation(elapsed_s=elapsed, cpus=cpus, gpus=gpus))
    return found


def job_usage(job_ids: list[str]) -> dict[str, list[Allocation]] | None:
    """Every allocation (requeued attempts each) of each of ``job_ids`` (array tasks as ``75_3``), in one sacct call.

    ``None`` when sacct fails; a job it does not list (not started, not yet
    recorded by slurmdbd) is not in the answer.
    """
    if not job_ids:
        return {}
    query = ",".join(sorted({array_base(j) for j in job_ids}))
    out = commands.run(["sacct", "-X", "-D", "-n", "-P", "-o", FIELDS, "-j", query])
    return None if out is None else parse_usage(out, set(job_ids))
