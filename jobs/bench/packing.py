"""``seqjobs bench``'s packing items: one Markov sweep on SLURM with one run per array task against many.

Each array task costs the scheduler about a second (start a step, start
Python, import seqjobs) while a Markov fit on a short text costs a tenth of
that, so ``--runs-per-task`` decides how long a big sweep of cheap runs
takes. For each ``K`` of :attr:`Sizes.packing_per_task` the same sweep
(:attr:`Sizes.packing_runs` runs: 5 orders x seeds) is submitted as a user
would -- a whole ``seqjobs sweep`` process -- and timed three ways: until the
command returned, until every run completed (``status --json`` polled), and
how many scheduler jobs (array tasks) its runs went into. Only where
``sbatch`` exists and the cluster answers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from jobs.bench.harness import Row, Stat
from jobs.bench.sizes import Sizes

ORDERS = 5
POLL_S = 2.0
#: jobs the sweep may keep queued (``--max-submit``), as a cluster's ``MaxSubmitJobsPerUser`` would have it:
#: 10,000 tasks at once would also pass the test cluster's ``MaxJobCount`` (10,000 records)
MAX_SUBMIT = 2000
#: a sweep not completed by then is reported as such (a busy or broken cluster)
COMPLETE_WAIT_S = 4 * 3600


def item_keys(sizes: Sizes) -> list[str]:
    """The rows this group reports, in order."""
    return [f"packing_{what}_k{k}" for k in sizes.packing_per_task for what in ("submit", "complete", "jobs")]


def packing_rows(sizes: Sizes, work: Path, corpus: Path, cluster: bool) -> list[Row]:
    """Rows for every ``K`` of :attr:`Sizes.packing_per_task` (skipped rows without a cluster)."""
    rows = []
    for k in sizes.packing_per_task:
        titles = {
            "submit": (f"packing: submit {sizes.packing_runs:,} Markov runs, {k} per task", "s"),
            "complete": (f"packing: {sizes.packing_runs:,} Markov runs submitted -> all completed, {k} per task", "s"),
            "jobs": (f"packing: scheduler jobs for {sizes.packing_runs:,} runs, {k} per task", "jobs"),
        }
        if not cluster:
            rows += [Row(f"packing_{what}_k{k}", title, unit, None, None, None, skipped="skipped: no cluster")
                     for what, (title, unit) in titles.items()]
            continue
        try:
            figures, complete = sweep_figures(sizes.packing_runs, k, work, corpus)
        except RuntimeError as err:
            rows += [Row(f"packing_{what}_k{k}", title, unit, None, None, None, skipped=f"failed: {err}")
                     for what, (title, unit) in titles.items()]
            continue
        note = (f"one `seqjobs sweep markov` process on the test cluster; {sizes.packing_runs // ORDERS:,} seeds x "
                f"{ORDERS} orders; --max-submit {MAX_SUBMIT} (shares beyond it go in from follow-up jobs, not counted)")
        if not complete:
            note += "; NOT every run completed (see `seqjobs status`): the figures are not comparable"
        for what, (title, unit) in titles.items():
            rows.append(Row(f"packing_{what}_k{k}", title, unit, None, Stat.once(figures[what]), None, note=note))
    return rows


def sweep_figures(runs: int, per_task: int, work: Path, corpus: Path) -> tuple[dict[str, float], bool]:
    """Submit seconds, seconds until every run completed, distinct scheduler jobs; and whether all completed."""
    name = f"packing-{per_task}"
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "jobs", "sweep", "markov", "--corpus", str(corpus), "--length", "20",
         "--grid", f"order={','.join(str(o) for o in range(1, ORDERS + 1))}", "--seeds", str(runs // ORDERS),
         "--executor", "slurm", "--runs-per-task", str(per_task), "--max-submit", str(MAX_SUBMIT),
         "--root", str(work), "--name", name],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=3600,
    )
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise RuntimeError(f"`seqjobs sweep` exited {proc.returncode}: {lines[-1] if lines else 'no message'}")
    submitted = time.perf_counter()
    rows = _statuses(work / name)
    while any(r["state"] not in ("completed", "failed", "cancelled") for r in rows):
        if time.perf_counter() - submitted > COMPLETE_WAIT_S:
            break
        time.sleep(POLL_S)
        rows = _statuses(work / name)
    done = time.perf_counter()
    complete = len(rows) == runs and all(r["state"] == "completed" for r in rows)
    jobs = len({r["job_id"] for r in rows if r["job_id"]})
    return {"submit": submitted - start, "complete": done - submitted, "jobs": float(jobs)}, complete


def _statuses(sweep: Path) -> list[dict[str, str]]:
    """``seqjobs status SWEEP --json``, one object a run."""
    out = subprocess.run([sys.executable, "-m", "jobs", "status", str(sweep), "--json"], capture_output=True, text=True,
                         timeout=600)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
