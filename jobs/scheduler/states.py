"""What state SLURM jobs are in: ``sacct`` first, ``squeue`` for every id sacct does not answer for.

Many clusters restrict or lack ``sacct``, and even a working sacct prints
nothing for a pending array element (``sacct -j 75_3``) while squeue lists
it. Both queries are single calls for all job ids; neither raises: an
unreachable scheduler means "no information", and the caller falls back to
the run folders.
"""

from __future__ import annotations

import re
import time

from jobs.scheduler import commands
from seqtasks.rundir.states import RunState

#: SLURM state -> seqjobs state
STATE_MAP = {
    "PENDING": RunState.PENDING,
    "CONFIGURING": RunState.PENDING,
    "RUNNING": RunState.RUNNING,
    "COMPLETING": RunState.RUNNING,
    "COMPLETED": RunState.COMPLETED,
    "REQUEUED": RunState.REQUEUED,
    "REQUEUE_FED": RunState.REQUEUED,
    "REQUEUE_HOLD": RunState.REQUEUED,
    "PREEMPTED": RunState.REQUEUED,
    "SUSPENDED": RunState.REQUEUED,
    "RESIZING": RunState.RUNNING,
    "CANCELLED": RunState.CANCELLED,
    "FAILED": RunState.FAILED,
    "TIMEOUT": RunState.FAILED,
    "NODE_FAIL": RunState.FAILED,
    "OUT_OF_MEMORY": RunState.FAILED,
    "BOOT_FAIL": RunState.FAILED,
    "DEADLINE": RunState.FAILED,
}

JobInfo = dict[str, str]


def normalise(raw: str) -> str:
    """``"CANCELLED by 0"`` -> ``"cancelled"``; unknown words -> ``"unknown"``."""
    word = raw.strip().split(" ")[0].rstrip("+").upper()
    return STATE_MAP.get(word, RunState.UNKNOWN)


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
    out = commands.run(["sacct", "-X", "-n", "-P", "-o", "JobID,State,NodeList", "-j", ",".join(query)])
    return None if out is None else parse_states(out, set(job_ids), "sacct")


def squeue_states(job_ids: list[str]) -> dict[str, JobInfo]:
    """Jobs still queued or running, from squeue; one line per array element (``-r``).

    squeue exits 1 when none of the ids is known any more (all ended): that
    and an unreachable controller both mean "nothing queued that we know of".
    """
    out = commands.run(["squeue", "-h", "-r", "-o", "%i|%T|%N", "-j", ",".join(job_ids)])
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
        if time.monotonic() - started >= commands.QUERY_TIMEOUT_S:  # unreachable: asking again only waits again
            break
    return states
