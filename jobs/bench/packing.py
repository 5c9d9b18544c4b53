"""``seqjobs bench``'s packing items: one Markov sweep on SLURM with one run per array task against many.

Each array task costs the scheduler about a second (start a step, start
Python, import seqjobs) while a Markov fit on a short text costs a tenth of
that, so ``--runs-per-task`` decides how long a big sweep of cheap runs
takes. For each ``K`` of :attr:`Sizes.packing_per_task` the same sweep
(:attr:`Sizes.packing_runs` runs: 5 orders x seeds) is submitted as a user
would -- a whole ``seqjobs sweep`` process -- and timed three ways: until the
command returned (the goal: within 30 s), until every run completed
(``status --json`` polled), and how many scheduler jobs (array tasks) its runs
went into. Once it ends, what a user reads next is checked too: ``collect``
gives one row a run, and the ``status`` summary fits on one screen and names
every failed run. Only where ``sbatch`` exists and the cluster answers.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from jobs.bench.harness import Row, Stat, Target
from jobs.bench.sizes import Sizes
from seqtasks.rundir.states import ENDED, RunState

ORDERS = 5
#: polls of ``status --json`` start this often and slow down as the sweep goes on, up to
#: :data:`POLL_MAX_S`: each poll of a 10,000-run sweep costs a second of the CPU the runs need
POLL_S = 2.0
POLL_MAX_S = 30.0
#: the submitting command is to return within this: a user waits for it at the prompt
SUBMIT_GOAL_S = 30.0
#: lines of a terminal screen the ``status`` summary must fit in
SCREEN_LINES = 50
#: jobs the sweep may keep queued (``--max-submit``), as a cluster's ``MaxSubmitJobsPerUser`` would have it:
#: 10,000 tasks at once would also pass the test cluster's ``MaxJobCount`` (10,000 records)
MAX_SUBMIT = 2000
#: a sweep not completed by then is reported as such (a busy or broken cluster)
COMPLETE_WAIT_S = 4 * 3600


WHATS = ("submit", "complete", "jobs", "collect_rows", "status_lines")


def item_keys(sizes: Sizes) -> list[str]:
    """The rows this group reports, in order."""
    return [f"packing_{what}_k{k}" for k in sizes.packing_per_task for what in WHATS]


def packing_rows(sizes: Sizes, work: Path, corpus: Path, cluster: bool) -> list[Row]:
    """Rows for every ``K`` of :attr:`Sizes.packing_per_task` (skipped rows without a cluster)."""
    rows = []
    for k in sizes.packing_per_task:
        titles = {
            "submit": (f"packing: submit {sizes.packing_runs:,} Markov runs, {k} per task", "s"),
            "complete": (f"packing: {sizes.packing_runs:,} Markov runs submitted -> all completed, {k} per task", "s"),
            "jobs": (f"packing: scheduler jobs for {sizes.packing_runs:,} runs, {k} per task", "jobs"),
            "collect_rows": (f"packing: rows `collect` gives of the {sizes.packing_runs:,} runs, {k} per task", "rows"),
            "status_lines": (f"packing: lines of the `status` summary, {k} per task", "lines"),
        }
        if not cluster:
            rows += [
                Row(f"packing_{what}_k{k}", title, unit, None, None, None, skipped="skipped: no cluster")
                for what, (title, unit) in titles.items()
            ]
            continue
        try:
            figures, complete, named = sweep_figures(sizes.packing_runs, k, work, corpus)
        except RuntimeError as err:
            rows += [
                Row(f"packing_{what}_k{k}", title, unit, None, None, None, skipped=f"failed: {err}")
                for what, (title, unit) in titles.items()
            ]
            continue
        note = (
            f"one `seqjobs sweep markov` process on the test cluster; {sizes.packing_runs // ORDERS:,} seeds x "
            f"{ORDERS} orders; --max-submit {MAX_SUBMIT} (shares beyond it go in from follow-up jobs, not counted)"
        )
        if not complete:
            note += "; NOT every run completed (see `seqjobs status`): the figures are not comparable"
        targets = {
            "submit": (Target(f"<= {SUBMIT_GOAL_S:g} s", max_value=SUBMIT_GOAL_S), {}),
            "collect_rows": (
                Target(f"= {sizes.packing_runs:,}", max_value=sizes.packing_runs),
                {"one row a run": figures["collect_rows"] == sizes.packing_runs},
            ),
            "status_lines": (
                Target(f"<= {SCREEN_LINES}, every failed run named", max_value=SCREEN_LINES),
                {"every failed run named": named},
            ),
        }
        for what, (title, unit) in titles.items():
            target, checks = targets.get(what, (None, {}))
            rows.append(
                Row(f"packing_{what}_k{k}", title, unit, None, Stat.once(figures[what]), target, checks, note=note)
            )
    return rows


def sweep_figures(runs: int, per_task: int, work: Path, corpus: Path) -> tuple[dict[str, float], bool, bool]:
    """The figures of :data:`WHATS`; whether every run completed; whether ``status`` named every failed run."""
    name = f"packing-{per_task}"
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "jobs",
            "sweep",
            "markov",
            "--corpus",
            str(corpus),
            "--length",
            "20",
            "--grid",
            f"order={','.join(str(o) for o in range(1, ORDERS + 1))}",
            "--seeds",
            str(runs // ORDERS),
            "--executor",
            "slurm",
            "--runs-per-task",
            str(per_task),
            "--max-submit",
            str(MAX_SUBMIT),
            "--root",
            str(work),
            "--name",
            name,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=3600,
    )
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise RuntimeError(f"`seqjobs sweep` exited {proc.returncode}: {lines[-1] if lines else 'no message'}")
    submitted = time.perf_counter()
    rows = _statuses(work / name)
    while any(r["state"] not in ENDED for r in rows):
        if time.perf_counter() - submitted > COMPLETE_WAIT_S:
            break
        time.sleep(min(POLL_MAX_S, max(POLL_S, (time.perf_counter() - submitted) / 40)))
        rows = _statuses(work / name)
    done = time.perf_counter()
    complete = len(rows) == runs and all(r["state"] == RunState.COMPLETED for r in rows)
    jobs = len({r["job_id"] for r in rows if r["job_id"]})
    summary = _seqjobs("status", str(work / name))
    named = all(r["run"] in summary for r in rows if r["state"] == RunState.FAILED)
    table = work / f"{name}.csv"
    _seqjobs("collect", str(work / name), "-o", str(table))
    collected = 0  # a collect that failed wrote no table: no rows, and the check says so
    if table.is_file():
        with table.open(newline="") as f:
            collected = sum(1 for _ in csv.DictReader(f))
    return (
        {
            "submit": submitted - start,
            "complete": done - submitted,
            "jobs": float(jobs),
            "collect_rows": float(collected),
            "status_lines": float(len(summary.splitlines())),
        },
        complete,
        named,
    )


def _statuses(sweep: Path) -> list[dict[str, str]]:
    """``seqjobs status SWEEP --json``, one object a run."""
    return [json.loads(line) for line in _seqjobs("status", str(sweep), "--json").splitlines() if line.strip()]


def _seqjobs(*args: str) -> str:
    """The standard output of one read-only ``seqjobs`` command, as a user's terminal (wide enough not to wrap) gets it."""
    out = subprocess.run(
        [sys.executable, "-m", "jobs", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )
    return out.stdout
