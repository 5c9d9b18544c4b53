"""What SLURM says about jobs and partitions.

Job states: ``sacct`` first, ``squeue`` for every id sacct does not answer
for. Many clusters restrict or lack ``sacct``, and even a working sacct
prints nothing for a pending array element (``sacct -j 75_3``) while squeue
lists it. Both queries are single calls for all job ids, with timeouts;
neither raises: an unreachable scheduler means "no information", and the
caller falls back to the run folders.

Time limits: submitit always writes ``#SBATCH --time`` (5 minutes unless told
otherwise), so a partition's own DefaultTime never applies by itself. Without
``--time`` seqjobs asks ``sinfo`` for the partition's DefaultTime (else its
MaxTime) and passes that on.
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from typing import Optional

from seqtasks.errors import UserError

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

#: how sinfo and scontrol spell "no limit"
NO_LIMIT = {"", "n/a", "none", "infinite", "unlimited"}
#: seconds a scheduler query may take: slurmctld answers slowly on a busy controller
QUERY_TIMEOUT_S = 60

JobInfo = dict[str, str]


def normalise(raw: str) -> str:
    """``"CANCELLED by 0"`` -> ``"cancelled"``; unknown words -> ``"unknown"``."""
    word = raw.strip().split(" ")[0].rstrip("+").upper()
    return STATE_MAP.get(word, "unknown")


def expand_ids(job_id: str) -> list[str]:
    """``123_[0-3,7%2]`` (the pending part of an array) -> ``123_0 ... 123_3, 123_7``."""
    match = re.fullmatch(r"(\d+)_\[([^\]]+)\]", job_id)
    if not match:
        return [job_id]
    base, spec = match.group(1), match.group(2).split("%")[0]
    out = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out += [f"{base}_{i}" for i in range(int(lo), int(hi or lo) + 1)]
    return out


def array_base(job_id: str) -> str:
    """``"75_3"`` -> ``"75"``; a plain job id is its own base."""
    return job_id.split("_")[0]


def _query(cmd: list[str]) -> str | None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=QUERY_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def parse_states(text: str, wanted: set[str], source: str) -> dict[str, JobInfo]:
    """``JobID|State|NodeList`` lines (sacct ``-P`` or squeue ``-o %i|%T|%N``) -> info for the wanted ids.

    Array records such as ``75_[3-7%1]`` are expanded, so each pending
    element gets the array's state, unless the element has a line of its
    own: sacct keeps printing ``75_[2-7%1] PENDING`` for a while after
    ``75_2 RUNNING`` appears.
    """
    own: dict[str, JobInfo] = {}
    grouped: dict[str, JobInfo] = {}
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) < 3:
            continue
        ids = expand_ids(parts[0].strip())
        info = {"state": normalise(parts[1]), "node": parts[2].strip(), "source": source}
        target = own if ids == [parts[0].strip()] else grouped
        target.update({jid: info for jid in ids if jid in wanted})
    return {**grouped, **own}


def sacct_states(job_ids: list[str]) -> dict[str, JobInfo] | None:
    """``{job_id: {"state", "node", "source"}}`` from sacct, or ``None`` when sacct fails.

    Only array bases are asked for: ``sacct -j 75`` prints a line for every
    element that started and the array's ``75_[3-7%1]`` record for those that
    wait (``sacct -j 75_3`` prints nothing while that element is pending), so
    a sweep of 10,000 runs is one short query.
    """
    query = sorted({array_base(j) for j in job_ids})
    out = _query(["sacct", "-X", "-n", "-P", "-o", "JobID,State,NodeList", "-j", ",".join(query)])
    return None if out is None else parse_states(out, set(job_ids), "sacct")


def squeue_states(job_ids: list[str]) -> dict[str, JobInfo]:
    """Jobs still queued or running, from squeue; one line per array element (``-r``).

    squeue exits 1 when none of the ids is known any more (all ended): that
    and an unreachable controller both mean "nothing queued that we know of".
    """
    out = _query(["squeue", "-h", "-r", "-o", "%i|%T|%N", "-j", ",".join(job_ids)])
    return {} if out is None else parse_states(out, set(job_ids), "squeue")


def job_states(job_ids: list[str]) -> dict[str, JobInfo]:
    """Best knowledge of each job: sacct, then squeue for the ids sacct said nothing about.

    An array task that has just started can be in neither answer: slurmdbd
    has no record of it yet, and by the time squeue is asked, the squeue
    lines it was pending on are gone. squeue is asked once more for such ids
    (a job that has started is listed there until it ends), then sacct (one
    that has also ended is recorded there by then), before a job is left
    unanswered, which callers read as "cannot tell".
    """
    if not job_ids:
        return {}
    states = sacct_states(job_ids) or {}
    for ask in (squeue_states, squeue_states, sacct_states):
        missing = [j for j in job_ids if j not in states]
        if not missing:
            break
        started = time.monotonic()
        states.update(ask(missing) or {})
        if time.monotonic() - started >= QUERY_TIMEOUT_S:  # an unreachable scheduler: asking again only waits again
            break
    return states


def cancel(job_ids: list[str], signal_name: Optional[str] = None) -> None:
    """scancel the given SLURM jobs (array elements included); ``signal_name`` (``USR1``): only signal their steps."""
    if job_ids:
        flags = [f"--signal={signal_name}"] if signal_name else []
        subprocess.run(["scancel", *flags, *job_ids], capture_output=True, text=True, timeout=30, check=False)


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
        found[name.rstrip("*")] = Partition(name.rstrip("*"), parse_minutes(default), parse_minutes(maximum), name.endswith("*"))
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
            raise UserError(f"unknown partition '{unknown[0]}' (this cluster has: {', '.join(partitions) or 'none'}); check --partition")
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
    out = _query(["sinfo", "-a", "-h", "-o", "%P %L %l"])
    if out is None:
        raise UserError("cannot read the partitions' time limits ('sinfo' failed); give the job's limit with --time MINUTES")
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
    return [{"grp_submit": "", **dict(zip(names, parts))} for parts in rows if len(parts) in (len(names) - 1, len(names))]


def parse_qos_limits(text: str) -> dict[str, list[int]]:
    """``sacctmgr -n -P show qos format=Name,MaxSubmitPU,MaxSubmitPA[,GrpSubmit]`` -> each QOS's submit limits set."""
    found: dict[str, list[int]] = {}
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) in (3, 4) and parts[0].strip():
            found[parts[0].strip()] = [n for n in map(_number, parts[1:]) if n is not None]
    return found


def submit_limit(
    associations: list[dict[str, str]], qos_limits: dict[str, list[int]], account: str | None, qos: str | None,
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
        limits += [SubmitLimit(n, f"QOS {chosen} MaxSubmitJobsPer(User|Account) or GrpSubmitJobs")
                   for n in qos_limits.get(chosen or "", [])]
    return min(limits, key=lambda limit: limit.jobs) if limits else None


def slurm_submit_limit(user: str, account: str | None, qos: str | None) -> SubmitLimit | None:
    """:func:`submit_limit` with what ``sacctmgr`` says now; ``None`` where it says nothing (or is missing)."""
    assoc = _query(["sacctmgr", "-n", "-P", "show", "assoc", f"user={user}",
                    "format=Account,Partition,MaxSubmit,QOS,DefaultQOS,GrpSubmit"])
    qos_out = _query(["sacctmgr", "-n", "-P", "show", "qos", "format=Name,MaxSubmitPU,MaxSubmitPA,GrpSubmit"])
    if assoc is None:
        return None
    return submit_limit(parse_associations(assoc), parse_qos_limits(qos_out or ""), account, qos)


def queued_jobs(user: str) -> int:
    """How many jobs (array tasks each count) ``user`` has pending or running now; 0 where squeue fails."""
    out = _query(["squeue", "-h", "-r", "-u", user, "-o", "%i"])
    return len(out.split()) if out else 0
