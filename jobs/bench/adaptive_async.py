"""The adaptive benchmark's asynchronous halving: seqjobs' own workers and protocol on the synthetic workload.

A sweep folder is made for the workload (``sweep.json`` with one run per
configuration and the halving plan, as the sweep command writes it), and
``slots`` worker processes run :func:`jobs.engine.asha.worker.pull` over
:class:`jobs.engine.asha.search.Search` on it -- the loop, the rule and the
``.asha/`` files of a real search -- with training replaced by sleeping
through the epochs. Each worker has a job id of its own
(``SUBMITIT_LOCAL_JOB_ID``, as a local job does). The preempted worker's
process ends with its lease held; after the requeue wait a new process with
the same job id takes its place and takes its lease back, as a requeued
job does. A configuration's progress (its last committed epoch) is a file,
as a run folder's is, so whoever resumes it trains only what is left.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

from jobs.bench.adaptive_ways import Ledger, Outcome, Plan, best, outcome, train
from jobs.bench.adaptive_workload import Workload
from jobs.engine.asha.search import Item, Search
from jobs.engine.asha.worker import pull
from seqtasks import atomic
from seqtasks.rundir import SweepDir
from seqtasks.rundir.records import HalvingRecord

#: the exit status of a worker process that was "preempted" (the parent starts it again after the requeue wait)
PREEMPTED = 75
#: how often the parent looks at its worker processes
WATCH_S = 0.01


def make_sweep(sweep: Path, workload: Workload, plan: Plan) -> None:
    """``sweep.json`` of an asynchronous halving sweep of the workload: run ``cNNNNN`` is configuration N."""
    runs = {run_name(c): {"config": c, "seed": 0, "epochs": plan.rungs[0]} for c in range(workload.configs)}
    record = HalvingRecord(
        metric="score",
        higher_is_better=True,
        min_epochs=plan.rungs[0],
        max_epochs=plan.rungs[-1],
        eta=plan.eta,
        epochs=list(plan.rungs),
    )
    folder = SweepDir(sweep)
    with folder.locked():
        folder.record("bench", runs, {}, {}, {"halving": "async", "min_competitors": plan.eta}, {}, record)


def run_name(config: int) -> str:
    return f"c{config:05d}"


def config_of(run: str) -> int:
    return int(run[1:])


def asynchronous(workload: Workload, plan: Plan, work: Path, poll_s: float) -> Outcome:
    """Run the search with ``plan.slots`` worker processes; its figures once every worker has ended."""
    sweep = work / "asha"
    make_sweep(sweep, workload, plan)
    (work / "progress").mkdir()
    ledger = Ledger(work / "async.ledger")
    context = multiprocessing.get_context("fork")

    def spawn(slot: int) -> Any:
        proc = context.Process(target=_worker, args=(sweep, work, slot, workload, poll_s, ledger))
        proc.start()
        return proc

    start = time.perf_counter()
    procs = {slot: spawn(slot) for slot in range(plan.slots)}
    restarts: dict[int, float] = {}
    requeued = 0
    while procs or restarts:
        for slot, proc in list(procs.items()):
            if proc.exitcode is None:
                continue
            del procs[slot]
            if proc.exitcode == PREEMPTED:
                restarts[slot], requeued = time.perf_counter() + workload.requeue_s, requeued + 1
            elif proc.exitcode != 0:
                raise RuntimeError(f"an asynchronous halving worker failed (exit {proc.exitcode})")
        for slot, due in list(restarts.items()):
            if time.perf_counter() >= due:
                procs[slot] = spawn(slot)
                del restarts[slot]
        time.sleep(WATCH_S)
    wall = time.perf_counter() - start
    search = Search.open(sweep, compact=False)
    top = search.views()[-1].scores
    pick = best(workload, [config_of(search.configs[c][0]) for c in top], plan.rungs[-1])[0]
    return outcome("async halving (seqjobs)", workload, plan, ledger, wall, pick, f"{requeued} worker requeued")


def _worker(sweep: Path, work: Path, slot: int, workload: Workload, poll_s: float, ledger: Ledger) -> None:
    """One worker process: pull work until none is left (it ends its process when preempted)."""
    os.environ["SUBMITIT_LOCAL_JOB_ID"] = f"bench-{slot}"
    search = Search.open(sweep)

    def trained(item: Item) -> Any:
        config = config_of(item.runs[0])
        progress = work / "progress" / item.config
        done = int(progress.read_text()) if progress.exists() else 0

        def commit(epoch: int) -> bool:
            atomic.write_text(progress, str(epoch))
            return True

        train(
            workload,
            config,
            range(done + 1, item.epochs + 1),
            ledger,
            preempt=lambda: os._exit(PREEMPTED),
            marker=work / "async.preempted",
            each=commit,
        )
        return search.finish(item, {run: workload.score(config, item.epochs) for run in item.runs})

    pull(search, trained, poll_s=poll_s)
