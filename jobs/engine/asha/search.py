"""The asynchronous halving protocol over the sweep's ``.asha/`` folder: hand out work, record what was done.

A worker asks :meth:`Search.next_item` for something to train and gets an
:class:`Item` -- a configuration and the rung to train it to, with that
rung's lease held -- or ``None``. The order (ASHA's, scanning rungs top-down):

0. a lease this very job held in an earlier attempt (a requeued worker:
   same job id, the old process gone): its configuration is resumed first,
   from its run folders' last commit, before any new work -- the lease is
   its own, and leaving it to the end would hold up the rung it is in;
1. the configuration the worker just finished, if it may go on now (it goes
   on in this worker: no queue, no reload of TensorFlow);
2. for each rung from the top: a configuration promoted to it that nobody
   trains (its promoter died between decision and lease), then one
   promotable at it, decided (``ID.decision.json``, created exclusively:
   of two workers racing for it one wins, the other looks further);
3. the next new configuration at rung 0, in the sweep's order;
4. closing the lowest rung that can get no more results (then again from 1);
5. a lease whose owner is provably gone (a killed worker whose job the
   scheduler does not have queued again): taken over, and the
   configuration resumed from its run folders' last commit.

Every lease taken is checked again after its exclusive create: a result
already there (a stale listing hid it) gives the lease back, and a rung above
0 is trained only with a promotion decision on file. So no configuration is
trained past its rung without a decision, none twice at a rung, none lost.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from jobs.engine.asha import rule
from jobs.engine.asha.workers import worker_alive
from jobs.engine.halving import configuration
from seqtasks.rundir import Claimed, Damaged, SweepDir, now_iso, owner_alive
from seqtasks.rundir.ashadir import COMPACT_EVERY, PROMOTED, AshaDir, RungDecision, RungResult, RungView, config_id
from seqtasks.rundir.claim import JobAlive, OwnerFile, current_job_id
from seqtasks.rundir.records import ClaimRecord, HalvingRecord


@dataclass(frozen=True)
class Plan:
    """What the rule needs of a sweep: epochs per rung, eta, the minimum competitors, the metric's direction."""

    epochs: list[int]
    eta: int
    min_competitors: int
    metric: str
    higher: bool


@dataclass
class Item:
    """A configuration to train to ``rung``'s epochs; its lease is held until :meth:`Search.finish` or
    :meth:`Search.give_back`."""

    rung: int
    config: str
    runs: list[str]
    epochs: int
    lease: OwnerFile = field(repr=False)


def worker_name() -> str:
    """How records name a worker: its job id where it has one, else host and pid."""
    return current_job_id() or f"{socket.gethostname()}:{os.getpid()}"


def configurations(manifest_runs: list[Any]) -> dict[str, list[str]]:
    """Configuration id -> its run folder names (one per seed), in the sweep's order (by first run name)."""
    groups: dict[str, list[str]] = {}
    for row in sorted(manifest_runs, key=lambda r: str(r.get("name")) if isinstance(r, dict) else ""):
        if isinstance(row, dict) and isinstance(row.get("name"), str) and isinstance(row.get("params"), dict):
            groups.setdefault(config_id(configuration(row["params"])), []).append(row["name"])
    return groups


def plan_of(record: HalvingRecord, sweep_options: dict[str, Any]) -> Plan:
    """The plan a sweep recorded: its halving record, and the minimum competitors of its options."""
    minimum = sweep_options.get("min_competitors")
    return Plan(
        epochs=[int(e) for e in record.epochs],
        eta=record.eta,
        min_competitors=minimum if isinstance(minimum, int) else record.eta,
        metric=record.metric,
        higher=record.higher_is_better,
    )


class Search:
    """One worker's (or view's) handle on an asynchronous halving sweep."""

    def __init__(
        self,
        sweep_path: Path,
        plan: Plan,
        configs: dict[str, list[str]],
        job_alive: JobAlive | None = None,
        compact: bool = True,
    ) -> None:
        self.sweep_path = Path(sweep_path)
        self.folder = AshaDir(sweep_path)
        self.plan = plan
        self.configs = configs
        self.order = list(configs)
        self.job_alive = job_alive
        self.compact = compact
        #: configurations this worker leaves to others (their run folders are held by another live process)
        self.skip: set[str] = set()
        #: lease owners read, by (rung, configuration): a lease file names one owner for its life, so an idle
        #: worker looking for a dead one reads each lease once, not every lease in flight at every look
        self.owners: dict[tuple[int, str], ClaimRecord | None] = {}

    @classmethod
    def open(cls, sweep_path: Path, job_alive: JobAlive | None = None, compact: bool = True) -> Search:
        """The search recorded in ``sweep_path``'s ``sweep.json`` (:class:`Damaged` when it is not one)."""
        sweep = SweepDir(sweep_path)
        manifest = sweep.manifest()
        record = sweep.halving()
        if manifest is None or record is None:
            raise Damaged(sweep.path / "sweep.json", "is not an asynchronous halving sweep's")
        return cls(
            sweep.path, plan_of(record, manifest.sweep_options), configurations(manifest.runs), job_alive, compact
        )

    # -- reading -------------------------------------------------------------------------------
    def views(self) -> list[RungView]:
        """Every rung as it stands, compacting a rung's summary when many files are not in it yet."""
        views = []
        for level in range(len(self.plan.epochs)):
            view = self.folder.view(level)
            if self.compact and view.unsummarised >= COMPACT_EVERY:
                self.folder.compact(level, view)
            views.append(view)
        return views

    def complete(self, views: list[RungView] | None = None) -> bool:
        return rule.complete(self.order, _rungs(views if views is not None else self.views()))

    def in_flight(self, views: list[RungView]) -> bool:
        """Is some configuration being trained (a lease without a result)?"""
        return any(c not in view.scores for view in views for c in view.leases)

    # -- handing out work -------------------------------------------------------------------------
    def next_item(self, prefer: Optional[tuple[int, str]] = None) -> Optional[Item]:
        """The next piece of work, its lease held (see the module doc); ``None``: nothing to do now."""
        while True:
            views = self.views()
            rungs = _rungs(views)
            item = (
                self._held_before(views)
                or (self._go_on(prefer, views, rungs) if prefer else None)
                or self._promoted_or_promotable(views, rungs)
                or self._new(views)
            )
            if item is not None:
                return item
            if not self._close(views, rungs):
                return self._orphan(views, rungs)

    def _held_before(self, views: list[RungView]) -> Optional[Item]:
        """A configuration whose lease names this job but another process: an earlier attempt's, taken back."""
        job = current_job_id()
        if job is None:
            return None
        me = (socket.gethostname(), os.getpid())
        for level in reversed(range(len(views))):
            for config in sorted(views[level].leases - set(views[level].scores)):
                owner = self._owner(level, config)
                if owner is None or owner.job_id != job or (owner.host, owner.pid) == me:
                    continue
                item = self._take(level, config)
                if item is not None:
                    return item
        return None

    def _go_on(self, done: tuple[int, str], views: list[RungView], rungs: list[rule.Rung]) -> Optional[Item]:
        level, config = done
        if level + 1 >= len(views):
            return None
        if config in rule.promotable(rungs[level], self.plan.eta, self.plan.min_competitors, self.plan.higher):
            return self._promote(level, config, views[level], closing=False)
        return None

    def _promoted_or_promotable(self, views: list[RungView], rungs: list[rule.Rung]) -> Optional[Item]:
        for level in reversed(range(len(views))):
            if level > 0:
                for config in rule.entrants(level, self.order, rungs):
                    if config not in views[level].scores and config not in views[level].leases:
                        item = self._take(level, config)
                        if item is not None:
                            return item
            if level + 1 < len(views):
                for config in rule.promotable(rungs[level], self.plan.eta, self.plan.min_competitors, self.plan.higher):
                    item = self._promote(level, config, views[level], closing=False)
                    if item is not None:
                        return item
        return None

    def _new(self, views: list[RungView]) -> Optional[Item]:
        for config in self.order:
            if config not in views[0].scores and config not in views[0].leases:
                item = self._take(0, config)
                if item is not None:
                    return item
        return None

    def _orphan(self, views: list[RungView], rungs: list[rule.Rung]) -> Optional[Item]:
        """A configuration whose lease's owner is provably gone (or whose lease was given back)."""
        for level, config in rule.unfinished(self.order, rungs):
            if config in views[level].leases and not self._gone(self._owner(level, config)):
                continue  # its owner trains it, will be back for it, or cannot be told gone: not ours
            item = self._take(level, config)
            if item is not None:
                return item
        return None

    def _owner(self, level: int, config: str) -> ClaimRecord | None:
        """Who holds the lease, as read once (forgotten when this worker fails to take it or takes it)."""
        if (level, config) not in self.owners:
            self.owners[(level, config)] = self.folder.lease_owner(level, config)
        return self.owners[(level, config)]

    def _gone(self, owner: ClaimRecord | None) -> bool:
        """Is a lease's owner gone for good? Its process dead is not enough while its job, one of the sweep's
        workers, is queued again (SLURM) or about to be restarted (a live local controller): a requeued worker
        takes its own lease back first, on any node -- the same one included."""
        if owner_alive(owner, self.job_alive) is not False:
            return False
        if owner is None or not owner.job_id or owner.job_id == current_job_id():
            return True
        job = next((job for job in self.folder.workers() if str(job.get("job_id")) == owner.job_id), None)
        return job is None or not worker_alive(job)

    def _promote(self, level: int, config: str, view: RungView, closing: bool) -> Optional[Item]:
        """Decide ``config`` promoted at ``level`` (once, whoever wins), then take it to the next rung."""
        if config in self.skip or not self._decide(level, config, PROMOTED, view, closing):
            return None
        return self._take(level + 1, config)

    def _decide(self, level: int, config: str, outcome: str, view: RungView, closing: bool) -> bool:
        rank, keep, threshold = rule.position(config, _rung(view), self.plan.eta, self.plan.higher, closing)
        decision = RungDecision(
            config=config,
            rung=level,
            outcome=outcome,
            competitors=len(view.scores),
            kept=keep,
            rank=rank,
            threshold=threshold,
            basis={"summary": view.version, "extra": list(view.extra)},
            closing=closing,
            by=worker_name(),
            decided_at=now_iso(),
        )
        return self.folder.decide(decision)

    def _close(self, views: list[RungView], rungs: list[rule.Rung]) -> bool:
        """Decide every undecided configuration of the lowest rung that can get no more results; True if any was."""
        level = rule.to_close(self.order, rungs)
        if level is None:
            return False
        outcomes = rule.closing(rungs[level], self.plan.eta, self.plan.higher)
        return any([self._decide(level, c, outcome, views[level], closing=True) for c, outcome in outcomes.items()])

    def _take(self, level: int, config: str) -> Optional[Item]:
        """The lease of ``config`` at ``level``, if free or its owner gone, re-checked after the exclusive create."""
        if config in self.skip:
            return None
        self.owners.pop((level, config), None)  # taken, or held by another: read it again next time
        lease = self.folder.lease(level, config)
        try:
            lease.acquire(self.job_alive)
        except Claimed:
            return None
        try:
            stale = self.folder.result(level, config) is not None or (
                level > 0 and getattr(self.folder.decision(level - 1, config), "outcome", None) != PROMOTED
            )
        except Damaged:
            stale = True
        if stale:  # finished meanwhile (a stale listing), or never promoted here: not ours to train
            lease.release()
            return None
        return Item(level, config, self.configs[config], self.plan.epochs[level], lease)

    # -- recording ---------------------------------------------------------------------------------
    def finish(self, item: Item, figures: dict[str, Optional[float]]) -> RungResult:
        """Record ``item``'s result (its seeds' figures; the mean is its score), then give its lease back."""
        values = [figures.get(run) for run in item.runs]
        score = None if any(v is None for v in values) else sum(values) / len(values)  # type: ignore[arg-type]
        result = RungResult(
            config=item.config,
            rung=item.rung,
            epochs=item.epochs,
            runs={run: figures.get(run) for run in item.runs},
            score=score,
            worker=worker_name(),
            finished_at=now_iso(),
        )
        self.folder.write_result(result)
        item.lease.release()
        return result

    def give_back(self, item: Item, skip: bool = False) -> None:
        """Leave ``item`` for another worker (``skip``: this one will not take it again)."""
        if skip:
            self.skip.add(item.config)
        item.lease.release()


def _rung(view: RungView) -> rule.Rung:
    return rule.Rung(scores=view.scores, outcomes=view.outcomes)


def _rungs(views: list[RungView]) -> list[rule.Rung]:
    return [_rung(view) for view in views]
