"""The adaptive benchmark's workload (a) searched three ways on the same slots: full grid, synchronous and
asynchronous halving.

"Training" an epoch sleeps its duration (:mod:`jobs.bench.adaptive_workload`),
so wall clocks are real and the machine's two cores are not what is measured:
how each way keeps its slots busy is. Every way records what it trained in a
:class:`Ledger` (one line per stretch of training, from any process), and
ends with an :class:`Outcome`.

- **Full grid**: every configuration to the last epoch, ``slots`` at a time.
- **Synchronous halving**: rung by rung, ``slots`` at a time; a rung ends
  when its slowest configuration has; the best ``max(1, n // eta)`` go on
  (:func:`jobs.engine.halving.kept`). Played twice: as seqjobs' synchronous
  mode runs it -- between two rungs a promotion job must start and submit
  the next rung's array, one wait in the queue, taken as long as the
  requeue's -- and as an ideal barrier with no wait at all.
- **Asynchronous halving**: ``slots`` worker processes running seqjobs' own
  loop and protocol (:func:`jobs.engine.asha.worker.pull` over
  :class:`jobs.engine.asha.search.Search`, on a sweep folder of the
  workload), :mod:`jobs.bench.adaptive_async`.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from jobs.bench.adaptive_workload import PREEMPT_AT, Workload
from jobs.bench.harness import Row, Stat, Target
from jobs.engine.halving import kept


@dataclass(frozen=True)
class Plan:
    """The halving plan every way follows: epochs per rung, eta, and the slots (workers, trials at once)."""

    rungs: list[int]
    eta: int
    slots: int


@dataclass
class Outcome:
    """What one way did: wall clock to its final pick, epochs trained, busy share of the slots, the pick."""

    way: str
    wall_s: float
    epochs: int
    busy: float
    pick: int
    rank: int
    note: str = ""
    #: the longest a configuration this way trained to the last epoch needs for its epochs back to back (no
    #: way of scheduling ends before its last configuration has trained)
    chain_s: float = 0.0


class Ledger:
    """Stretches of training, appended as lines ``config epochs busy_s`` by any process (``O_APPEND``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.write_text("")

    def add(self, config: int, epochs: int, busy_s: float) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, f"{config} {epochs} {busy_s:.6f}\n".encode())
        finally:
            os.close(fd)

    def totals(self) -> tuple[int, float, dict[int, int]]:
        """Epochs trained, seconds busy, and epochs trained per configuration, over every line."""
        epochs, busy, per_config = 0, 0.0, dict[int, int]()
        for line in self.path.read_text().splitlines():
            config, n, seconds = line.split()
            epochs, busy = epochs + int(n), busy + float(seconds)
            per_config[int(config)] = per_config.get(int(config), 0) + int(n)
        return epochs, busy, per_config


def preemption_due(workload: Workload, config: int, marker: Path) -> bool:
    """True exactly once over every process: the first time the preempted configuration is trained."""
    if config != workload.preempted:
        return False
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def train(
    workload: Workload,
    config: int,
    epochs: range,
    ledger: Ledger,
    preempt: Callable[[], None],
    marker: Path,
    each: Callable[[int], bool] = lambda epoch: True,
) -> int:
    """Sleep through ``epochs`` of ``config``, each in the ledger; the last epoch trained.

    The one preemption (:func:`preemption_due`) costs the epoch's first half,
    then ``preempt()``: it waits the requeue (threads, trials), or ends the
    process (an asynchronous worker). ``each(epoch)`` after every epoch:
    False stops (a pruned trial).
    """
    last = epochs.start - 1
    for epoch in epochs:
        seconds = workload.duration(config, epoch)
        if preemption_due(workload, config, marker):
            time.sleep(seconds * PREEMPT_AT)
            ledger.add(config, 0, seconds * PREEMPT_AT)
            preempt()
        time.sleep(seconds)
        ledger.add(config, 1, seconds)
        last = epoch
        if not each(epoch):
            break
    return last


def waits_requeue(workload: Workload) -> Callable[[], None]:
    """The preemption of a thread or a trial: its slot waits for the requeue, then the epoch starts again."""
    return lambda: time.sleep(workload.requeue_s)


def best(workload: Workload, configs: list[int], epoch: int) -> list[int]:
    """``configs`` best first by their figure after ``epoch`` epochs; ties by id."""
    return sorted(configs, key=lambda c: (-workload.score(c, epoch), c))


def grid(workload: Workload, plan: Plan, work: Path) -> Outcome:
    """Every configuration to the last rung's epochs; the pick: the best at the end."""
    ledger, marker = Ledger(work / "grid.ledger"), work / "grid.preempted"
    last = plan.rungs[-1]
    start = time.perf_counter()
    with ThreadPoolExecutor(plan.slots) as pool:
        list(
            pool.map(
                lambda c: train(workload, c, range(1, last + 1), ledger, waits_requeue(workload), marker),
                range(workload.configs),
            )
        )
    pick = best(workload, list(range(workload.configs)), last)[0]
    return outcome("full grid", workload, plan, ledger, time.perf_counter() - start, pick)


def synchronous(workload: Workload, plan: Plan, work: Path, gap_s: float) -> Outcome:
    """Rung by rung with a barrier, ``gap_s`` between a rung's end and the next one's start; the pick: the best
    at the last rung."""
    ledger, marker = Ledger(work / f"sync-{gap_s:g}.ledger"), work / f"sync-{gap_s:g}.preempted"
    entrants, done = list(range(workload.configs)), 0
    start = time.perf_counter()
    with ThreadPoolExecutor(plan.slots) as pool:
        for level, epochs in enumerate(plan.rungs):
            span = range(done + 1, epochs + 1)
            list(pool.map(lambda c: train(workload, c, span, ledger, waits_requeue(workload), marker), entrants))
            ranked = best(workload, entrants, epochs)
            if level + 1 < len(plan.rungs):
                entrants = ranked[: kept(len(ranked), plan.eta)]
                time.sleep(gap_s)
            done = epochs
    return outcome(sync_name(gap_s), workload, plan, ledger, time.perf_counter() - start, ranked[0])


def sync_name(gap_s: float) -> str:
    """How the report names a synchronous way: seqjobs' (a wait between rungs) or the ideal barrier."""
    return "sync halving (seqjobs: a queue wait per rung)" if gap_s else "sync halving (ideal barrier)"


def outcome(
    way: str, workload: Workload, plan: Plan, ledger: Ledger, wall_s: float, pick: int, note: str = ""
) -> Outcome:
    """The figures of a way that has ended."""
    epochs, busy_s, per_config = ledger.totals()
    last = plan.rungs[-1]
    chains = [sum(workload.duration(c, e) for e in range(1, last + 1)) for c, n in per_config.items() if n >= last]
    busy = busy_s / (plan.slots * wall_s)
    return Outcome(way, wall_s, epochs, busy, pick, workload.rank(pick), note, max(chains, default=0.0))


def busy_row(item: str, tag: str, busy: float, others: dict[str, float], note: str = "") -> Row:
    """The goal of slots kept busy (>= 90%) by async halving, every other way's share (``others``) in the note."""
    return Row(
        item,
        f"{tag}: busy share of the slots, async halving",
        "%",
        None,
        Stat.once(round(100 * busy, 1)),
        Target(">= 90%"),
        checks={">= 90%": busy >= 0.9},
        note=(f"{note}; " if note else "")
        + "the other ways: "
        + ", ".join(f"{way} {100 * share:.0f}%" for way, share in others.items()),
    )
