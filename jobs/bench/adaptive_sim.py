"""The adaptive benchmark's workload (b): thousands of workers on a simulated clock, over seqjobs' real protocol.

Each of ``slots`` simulated workers is a real :class:`~jobs.engine.asha.search.Search`
handle (its own reads, its own view) on a real ``.asha/`` folder in a
temporary sweep: every lease, result and decision is the file a real worker
would write, decided by :mod:`jobs.engine.asha.rule`. Only time is
simulated: training a piece of work takes the workload's epoch durations on
a clock that jumps from one finish to the next, so 10,000 configurations on
1,000 slots take minutes of CPU, not days. What a real worker does when
idle -- look again every few seconds -- is played as: after each result,
idle workers look in turn until one finds nothing (the others, with the
same view, would find nothing either).

Synchronous halving and the full grid are played on the same clock and
durations (list scheduling, a barrier per rung). Files read per decision:
every listing, stat and file every handle read while asking for work
(:attr:`seqtasks.rundir.ashadir.AshaDir.reads`), over the decisions written,
in each tenth of the looks for work: flat if a decision's cost does not
grow with the results already there.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from jobs.bench.adaptive_async import config_of, make_sweep
from jobs.bench.adaptive_ways import Outcome, Plan, best, sync_name
from jobs.bench.adaptive_workload import PREEMPT_AT, Workload
from jobs.engine.asha.search import Item, Search
from jobs.engine.halving import kept
from seqtasks.rundir.ashadir import RungDecision

#: tenths of the search the reads per decision are reported for
PARTS = 10


@dataclass
class Reads:
    """What the workers read: per look for work, the files read and the decisions it wrote."""

    looks: list[tuple[int, int]] = field(default_factory=list)
    #: entries of the rung folders' listings once the search is complete
    listed: int = 0

    def per_decision(self) -> float:
        """Files read over decisions written, the whole search."""
        return sum(r for r, _ in self.looks) / max(1, sum(d for _, d in self.looks))

    def per_look(self) -> float:
        """Files read per look for work, decided something or not."""
        return sum(r for r, _ in self.looks) / max(1, len(self.looks))

    def by_tenth(self) -> list[float]:
        """:meth:`per_decision` in each tenth of the looks, in order (flat: no growth with the results on file)."""
        size = max(1, -(-len(self.looks) // PARTS))
        parts = [self.looks[i : i + size] for i in range(0, len(self.looks), size)]
        return [sum(r for r, _ in part) / max(1, sum(d for _, d in part)) for part in parts]


def simulate_async(workload: Workload, plan: Plan, work: Path) -> tuple[Outcome, Reads]:
    """Asynchronous halving with ``plan.slots`` simulated workers; its figures and its reads."""
    sweep = work / "sim"
    make_sweep(sweep, workload, plan)
    workers = [Search.open(sweep) for _ in range(plan.slots)]
    counted, reads = DecisionCount(workers), Reads()
    done: dict[str, int] = {}  # configuration -> epochs committed
    last: list[tuple[int, str] | None] = [None] * plan.slots
    running: list[tuple[float, int, int, Item]] = []  # (finish time, tie, worker, item)
    idle = deque(range(plan.slots))
    clock = busy = 0.0
    epochs, tie, preempted = 0, 0, False
    while True:
        while idle:
            slot = idle[0]
            before, decisions_before = workers[slot].folder.reads, counted.count
            item = workers[slot].next_item(prefer=last[slot])
            reads.looks.append((workers[slot].folder.reads - before, counted.count - decisions_before))
            if item is None:
                break
            idle.popleft()
            config = config_of(item.runs[0])
            span = range(done.get(item.config, 0) + 1, item.epochs + 1)
            seconds, wait = sum(workload.duration(config, e) for e in span), 0.0
            if not preempted and config == workload.preempted:  # half an epoch lost, then the requeue's wait
                preempted, wait = True, workload.requeue_s
                seconds += workload.duration(config, span.start) * PREEMPT_AT
            busy += seconds
            epochs += len(span)
            done[item.config] = item.epochs
            tie += 1
            heapq.heappush(running, (clock + seconds + wait, tie, slot, item))
        if not running:
            break
        clock, _, slot, item = heapq.heappop(running)
        config = config_of(item.runs[0])
        workers[slot].finish(item, {run: workload.score(config, item.epochs) for run in item.runs})
        last[slot] = (item.rung, item.config)
        idle.appendleft(slot)
    top = Search.open(sweep, compact=False)
    pick = best(workload, [config_of(top.configs[c][0]) for c in top.views()[-1].scores], plan.rungs[-1])[0]
    reads.listed = sum(len(list(top.folder.rung_path(k).iterdir())) for k in range(len(plan.rungs)))
    outcome = Outcome("async halving (seqjobs)", clock, epochs, busy / (plan.slots * clock), pick, workload.rank(pick))
    return outcome, reads


def simulate_sync(workload: Workload, plan: Plan, gap_s: float) -> Outcome:
    """Synchronous halving on the simulated clock: each rung list-scheduled on the slots, then a barrier and
    ``gap_s`` before the next rung starts."""
    entrants, done, clock, busy, epochs = list(range(workload.configs)), 0, 0.0, 0.0, 0
    preempted = False
    for level, rung_epochs in enumerate(plan.rungs):
        free = [clock] * plan.slots
        for config in entrants:
            start = heapq.heappop(free)
            seconds = sum(workload.duration(config, e) for e in range(done + 1, rung_epochs + 1))
            busy += seconds
            if not preempted and config == workload.preempted:
                preempted = True
                lost = workload.duration(config, done + 1) * PREEMPT_AT
                busy += lost
                seconds += lost + workload.requeue_s
            epochs += rung_epochs - done
            heapq.heappush(free, start + seconds)
        clock = max(free)
        ranked = best(workload, entrants, rung_epochs)
        if level + 1 < len(plan.rungs):
            entrants = ranked[: kept(len(ranked), plan.eta)]
            clock += gap_s
        done = rung_epochs
    pick = ranked[0]
    return Outcome(sync_name(gap_s), clock, epochs, busy / (plan.slots * clock), pick, workload.rank(pick))


def simulate_grid(workload: Workload, plan: Plan) -> Outcome:
    """The full grid on the simulated clock: every configuration to the last epoch."""
    last = plan.rungs[-1]
    free, busy = [0.0] * plan.slots, 0.0
    for config in range(workload.configs):
        start = heapq.heappop(free)
        seconds = sum(workload.duration(config, e) for e in range(1, last + 1))
        busy += seconds
        if config == workload.preempted:
            busy += workload.duration(config, 1) * PREEMPT_AT
            seconds += workload.duration(config, 1) * PREEMPT_AT + workload.requeue_s
        heapq.heappush(free, start + seconds)
    clock = max(free)
    pick = best(workload, list(range(workload.configs)), last)[0]
    return Outcome("full grid", clock, workload.configs * last, busy / (plan.slots * clock), pick, workload.rank(pick))


class DecisionCount:
    """Decisions written by any worker: each worker's ``decide`` is counted (the simulation's own tally, not a
    read of the folder)."""

    def __init__(self, workers: list[Search]) -> None:
        self.count = 0
        for worker in workers:
            worker.folder.decide = self._counted(worker.folder.decide)  # type: ignore[method-assign,assignment]

    def _counted(self, decide: Callable[[RungDecision], bool]) -> Callable[[RungDecision], bool]:
        def counted(decision: RungDecision) -> bool:
            written = decide(decision)
            self.count += written
            return written

        return counted
