"""What the cluster allows a submission: its time limit, how many jobs may be queued, how large an array may be.

Time limits: submitit always writes ``#SBATCH --time`` (5 minutes unless told
otherwise), so a partition's own DefaultTime never applies by itself. Without
``--time`` seqjobs asks ``sinfo`` for the partition's DefaultTime (else its
MaxTime) and passes that on.

Submit limits: a scheduler rejects every submission past the user's
MaxSubmitJobs, so the engine submits a large sweep in parts that fit
(``sacctmgr`` says the limit, ``squeue`` how much of it is used).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from jobs.scheduler import commands
from seqtasks.errors import UserError

#: how sinfo and scontrol spell "no limit"
NO_LIMIT = {"", "n/a", "none", "infinite", "unlimited"}
#: SLURM's own MaxArraySize, for a cluster that does not say
DEFAULT_MAX_ARRAY = 1001
#: seconds ``scontrol show config`` may take
CONFIG_TIMEOUT_S = 20


def slurm_max_array_size() -> int:
    """The cluster's MaxArraySize (array indices must stay below it); SLURM's default where scontrol does not say."""
    out = commands.run(["scontrol", "show", "config"], timeout_s=CONFIG_TIMEOUT_S) or ""
    match = re.search(r"^MaxArraySize\s*=\s*(\d+)", out, re.MULTILINE)
    return int(match.group(1)) if match else DEFAULT_MAX_ARRAY


# -- partitions and time limits ---------------------------------------------------------------


@dataclass(frozen=True)
class Partition:
    """A partition's time limits in minutes (``None``: not set, or unlimited)."""

    name: str
    default_min: Optional[int]
    max_min: Optional[int]
    is_default: bool


@dataclass(frozen=True)
class TimeLimit:
    """The minutes a job is submitted with, and where that number came from (for job.json)."""

    minutes: int
    source: str


def parse_minutes(text: str) -> int | None:
    """A SLURM duration in whole minutes; ``None`` for "no limit" words and anything unreadable.

    Forms (sbatch's): ``M``, ``M:S``, ``H:M:S``, ``D-H``, ``D-H:M``,
    ``D-H:M:S``. Seconds are dropped: partition limits are whole minutes.
    """
    text = text.strip()
    if text.lower() in NO_LIMIT:
        return None
    match = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", text)
    if not match:
        return None
    days, first, second, third = match.groups()
    if days is not None:  # D-H[:M[:S]]
        return int(days) * 1440 + int(first) * 60 + int(second or 0)
    if third is not None:  # H:M:S
        return int(first) * 60 + int(second)
    return int(first)  # M or M:S


def parse_partitions(text: str) -> dict[str, Partition]:
    """``sinfo -h -o "%P %L %l"`` (name, DefaultTime, MaxTime) -> partitions by name.

    The default partition's name carries a ``*``. sinfo may print a partition
    on several lines (one per node state); they agree on the limits.
    """
    found: dict[str, Partition] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) != 3:
            continue
        name, default, maximum = fields
        bare = name.rstrip("*")
        found[bare] = Partition(bare, parse_minutes(default), parse_minutes(maximum), name.endswith("*"))
    return found


def partition_time_limit(partitions: dict[str, Partition], requested: str | None) -> TimeLimit:
    """The limit a job on ``requested`` (``None``: the default partition) gets from the partition.

    DefaultTime, else MaxTime. For a list (``cpu,gpu``: whichever starts the
    job first) the smallest, so the job fits every one of them.
    """
    if requested is None:
        defaults = [p for p in partitions.values() if p.is_default]
        if not defaults:
            raise UserError("this cluster has no default partition; choose one with --partition (sinfo lists them)")
        chosen = defaults[:1]
    else:
        names = [n.strip() for n in requested.split(",") if n.strip()]
        unknown = [n for n in names if n not in partitions]
        if unknown:
            known = ", ".join(partitions) or "none"
            raise UserError(f"unknown partition '{unknown[0]}' (this cluster has: {known}); check --partition")
        chosen = [partitions[n] for n in names]
    limits = [_own_limit(p) for p in chosen]
    return min(limits, key=lambda limit: limit.minutes)


def _own_limit(partition: Partition) -> TimeLimit:
    if partition.default_min is not None:
        return TimeLimit(partition.default_min, f"partition {partition.name} DefaultTime")
    if partition.max_min is not None:
        return TimeLimit(partition.max_min, f"partition {partition.name} MaxTime")
    raise UserError(
        f"partition {partition.name} has neither a default nor a maximum time limit, so the job's limit "
        "cannot be chosen for you; give it with --time MINUTES"
    )


def slurm_time_limit(requested: str | None) -> TimeLimit:
    """:func:`partition_time_limit` with the partitions as ``sinfo`` reports them now (hidden ones too)."""
    out = commands.run(["sinfo", "-a", "-h", "-o", "%P %L %l"])
    if out is None:
        raise UserError(
            "cannot read the partitions' time limits ('sinfo' failed); give the job's limit with --time MINUTES"
        )
    return partition_time_limit(parse_partitions(out), requested)


# -- how many jobs a user may have queued ------------------------------------------------------


@dataclass(frozen=True)
class SubmitLimit:
    """The most jobs (array tasks each count) a user may have pending or running, and which rule says so."""

    jobs: int
    source: str


def _number(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


def parse_associations(text: str) -> list[dict[str, str]]:
    """``sacctmgr -n -P show assoc format=Account,Partition,MaxSubmit,QOS,DefaultQOS[,GrpSubmit]`` -> a dict a line."""
    names = ("account", "partition", "max_submit", "qos", "default_qos", "grp_submit")
    rows = [line.split("|") for line in text.splitlines()]
    fits = (len(names) - 1, len(names))
    return [{"grp_submit": "", **dict(zip(names, parts))} for parts in rows if len(parts) in fits]


def parse_qos_limits(text: str) -> dict[str, list[int]]:
    """``sacctmgr -n -P show qos format=Name,MaxSubmitPU,MaxSubmitPA[,GrpSubmit]`` -> each QOS's submit limits set."""
    found: dict[str, list[int]] = {}
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) in (3, 4) and parts[0].strip():
            found[parts[0].strip()] = [n for n in map(_number, parts[1:]) if n is not None]
    return found


def submit_limit(
    associations: list[dict[str, str]],
    qos_limits: dict[str, list[int]],
    account: str | None,
    qos: str | None,
) -> SubmitLimit | None:
    """The smallest submit limit that applies to a job of ``account`` (``None``: any of the user's) and ``qos``.

    The association's MaxSubmitJobs and GrpSubmitJobs, and the QOS's
    MaxSubmitJobsPerUser, PerAccount and GrpSubmitJobs; the QOS is ``qos``,
    else the association's default QOS (else its only one). ``None`` when no
    limit is set: the sweep goes in at once. A group limit is shared with the
    group's other users, whose jobs are not counted here: ``--max-submit``
    sets a smaller share by hand.
    """
    rows = [a for a in associations if account is None or a["account"] == account]
    limits: list[SubmitLimit] = []
    for row in rows:
        for key, name in (("max_submit", "MaxSubmitJobs"), ("grp_submit", "GrpSubmitJobs")):
            n = _number(row[key])
            if n is not None:
                limits.append(SubmitLimit(n, f"association {row['account']} {name}"))
        allowed = [q for q in row["qos"].split(",") if q]
        chosen = qos or row["default_qos"] or (allowed[0] if len(allowed) == 1 else None)
        limits += [
            SubmitLimit(n, f"QOS {chosen} MaxSubmitJobsPer(User|Account) or GrpSubmitJobs")
            for n in qos_limits.get(chosen or "", [])
        ]
    return min(limits, key=lambda limit: limit.jobs) if limits else None


def slurm_submit_limit(user: str, account: str | None, qos: str | None) -> SubmitLimit | None:
    """:func:`submit_limit` with what ``sacctmgr`` says now; ``None`` where it says nothing (or is missing)."""
    assoc = commands.run(
        [
            "sacctmgr",
            "-n",
            "-P",
            "show",
            "assoc",
            f"user={user}",
            "format=Account,Partition,MaxSubmit,QOS,DefaultQOS,GrpSubmit",
        ]
    )
    qos_out = commands.run(["sacctmgr", "-n", "-P", "show", "qos", "format=Name,MaxSubmitPU,MaxSubmitPA,GrpSubmit"])
    if assoc is None:
        return None
    return submit_limit(parse_associations(assoc), parse_qos_limits(qos_out or ""), account, qos)


def queued_jobs(user: str) -> int:
    """How many jobs (array tasks each count) ``user`` has pending or running now; 0 where squeue fails."""
    out = commands.run(["squeue", "-h", "-r", "-u", user, "-o", "%i"])
    return len(out.split()) if out else 0
