"""An asynchronous halving sweep's protocol folder, ``.asha/`` in the sweep folder: every rung result and decision.

Workers of an asynchronous halving sweep (:mod:`jobs.engine.asha`) share
nothing but this folder, which lives on the cluster's shared file system
(NFS, Lustre). Its primitives are the ones those honour: a file created
exclusively (``link(2)`` of a complete temporary file, :func:`seqtasks.atomic.create_exclusive`)
and a rename; never an ``flock`` alone. One folder per rung holds, per
configuration (named by its id, :func:`config_id`):

- ``ID.lease``: the lease of whoever trains the configuration to the rung's
  epochs (an :class:`~seqtasks.rundir.claim.OwnerFile`: owner host, pid,
  start time and job, so a dead owner's lease is taken over, never a live one's);
- ``ID.result.json`` (:class:`RungResult`): the configuration finished the
  rung, with each seed's figure and their mean; created once;
- ``ID.decision.json`` (:class:`RungDecision`): promoted or stopped, with the
  competitors it was based on; created once, so a configuration is never
  promoted twice, nor promoted and stopped;
- ``summary.json`` (:class:`RungSummary`): the results and decisions so far,
  compacted by a worker (under ``compact.lock``) every :data:`COMPACT_EVERY`
  new files and replaced atomically, so that a worker new to the search
  reads one summary and a few new files instead of every result. A worker
  reads each result and decision once (they never change) and the summary
  again only when a stat shows it replaced.

Lease, result and decision of a rung share one folder on purpose: an NFS
client revalidates a folder it has just created a file in, so a result that
a stale listing missed is seen when a worker re-checks it right after
taking the lease. Summary entries carry the version that added them, and a
decision names the summary version and the files it read beyond it: the
exact set of competitors can be replayed from the folder at any time.

Besides the rungs: ``workers.json`` (the worker jobs of the last
submission, written by the sweep command under the sweep's lock) and
``paused`` (``seqjobs cancel``: workers take no more work).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Optional

from seqtasks import atomic
from seqtasks.rundir.claim import Claimed, OwnerFile
from seqtasks.rundir.records import ClaimRecord, dump, load
from seqtasks.rundir.safe import MAX_MANIFEST_BYTES, Damaged, read_object
from seqtasks.rundir.time import now_iso

FOLDER = ".asha"
PAUSED = "paused"
WORKERS = "workers.json"
SUMMARY = "summary.json"
COMPACT_LOCK = "compact.lock"
RESULT = ".result.json"
DECISION = ".decision.json"
LEASE = ".lease"
#: a worker compacts a rung's summary once this many result or decision files are not in it
COMPACT_EVERY = 32
PROMOTED = "promoted"
STOPPED = "stopped"


def config_id(key: str) -> str:
    """A configuration's file name: a digest of its key (its parameters but seed and epochs, as sorted JSON).

    Parameter values may hold any character and be long; the id is short and
    safe in a file name, and each record names the configuration's runs.
    """
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass
class RungResult:
    """``ID.result.json``: a configuration finished a rung; ``score`` is the mean over its seeds (``None``: a
    seed failed or has no figure: ranks last, never promoted)."""

    FORMAT: ClassVar[int] = 2

    config: str
    rung: int
    epochs: int
    #: run folder name -> its figure at the rung (``None``: failed, cancelled, or no figure)
    runs: dict[str, Any]
    score: Optional[float]
    worker: str
    finished_at: str


@dataclass
class RungDecision:
    """``ID.decision.json``: what became of a configuration after a rung, and what it was decided on.

    ``competitors``: how many configurations had finished the rung in the
    decider's view; ``basis``: that view, ``{"summary": version, "extra":
    [ids read beyond it]}`` (the summary's entries of that version or older,
    plus those); ``rank`` (1 = best) and ``kept`` (how many of the
    competitors the rule kept); ``closing``: decided once the rung could
    get no more results (every configuration still undecided is decided then).
    """

    FORMAT: ClassVar[int] = 2

    config: str
    rung: int
    outcome: str
    competitors: int
    kept: int
    rank: int
    basis: dict[str, Any]
    closing: bool
    by: str
    decided_at: str
    threshold: Optional[float] = None


@dataclass
class RungSummary:
    """``summary.json``: the rung's results (id -> ``score``, ``added_in``) and decisions (id -> ``outcome``,
    ``competitors``, ``added_in``) up to ``version``."""

    FORMAT: ClassVar[int] = 2

    rung: int
    version: int = 0
    results: dict[str, Any] = field(default_factory=dict)
    decisions: dict[str, Any] = field(default_factory=dict)


@dataclass
class RungView:
    """What a reader knows of a rung now: results and decisions (summary + newer files), leases listed."""

    rung: int
    scores: dict[str, Optional[float]] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)
    competitors: dict[str, int] = field(default_factory=dict)
    leases: set[str] = field(default_factory=set)
    version: int = 0
    #: result files read beyond the summary (a decision's ``basis``)
    extra: list[str] = field(default_factory=list)
    #: files not yet in the summary (results and decisions)
    unsummarised: int = 0


@dataclass(frozen=True)
class _Summarised:
    """A summary as views use it: its version and its entries as plain maps, copied into each view."""

    version: int
    scores: dict[str, Optional[float]]
    outcomes: dict[str, str]
    competitors: dict[str, int]

    @classmethod
    def of(cls, summary: RungSummary) -> _Summarised:
        return cls(
            version=summary.version,
            scores={c: e.get("score") for c, e in summary.results.items()},
            outcomes={c: e["outcome"] for c, e in summary.decisions.items()},
            competitors={c: e["competitors"] for c, e in summary.decisions.items()},
        )


#: summaries parsed, by path: the file's identity and its content. Shared by the handles of a process (a file
#: once parsed is the same for every reader), so that a simulation of a thousand workers in one process holds
#: each summary once; each handle still counts the read it makes (:attr:`AshaDir.reads`).
_PARSED: dict[Path, tuple[tuple[int, int, int], _Summarised]] = {}


class AshaDir:
    """The ``.asha/`` folder of one sweep."""

    def __init__(self, sweep_path: str | Path) -> None:
        self.path = Path(sweep_path) / FOLDER
        #: files, listings and stats this handle has read: what a decision costs on a shared file system,
        #: where each is a round trip (``seqjobs bench --only adaptive`` reports it per decision)
        self.reads = 0
        #: what this handle read of each rung beyond its summary: result and decision files are created once
        #: and never changed, so each is read once (dropped once a summary holds it)
        self._scores: dict[int, dict[str, Optional[float]]] = {}
        self._outcomes: dict[int, dict[str, tuple[str, int]]] = {}
        #: the identity of each rung's summary this handle read last
        self._summary_keys: dict[int, tuple[int, int, int]] = {}

    def rung_path(self, rung: int) -> Path:
        return self.path / f"rung-{rung}"

    def exists(self) -> bool:
        return self.path.is_dir()

    # -- rungs ---------------------------------------------------------------------------------
    def view(self, rung: int) -> RungView:
        """The rung as it stands: one listing, the summary, and the files newer than it.

        Read for the first time, that is the summary and every file beyond it;
        after that, a stat of the summary (read again only when it was
        replaced) and the files this handle has not read yet: a decision costs
        the same few reads whether the rung holds ten results or ten thousand
        (the listing itself grows with the rung). Temporary files (their names
        start with a dot; nothing else here does) are skipped.
        """
        folder = self.rung_path(rung)
        self.reads += 1
        try:
            names = [n for n in os.listdir(folder) if not n.startswith(".")]
        except FileNotFoundError:
            return RungView(rung)
        summary = self._current_summary(rung)
        view = RungView(rung, version=summary.version)
        view.scores, view.outcomes = dict(summary.scores), dict(summary.outcomes)
        view.competitors = dict(summary.competitors)
        results, decisions = [], []
        for name in names:
            if name.endswith(LEASE):
                view.leases.add(name[: -len(LEASE)])
            elif name.endswith(RESULT) and name[: -len(RESULT)] not in view.scores:
                results.append(name[: -len(RESULT)])
            elif name.endswith(DECISION) and name[: -len(DECISION)] not in view.outcomes:
                decisions.append(name[: -len(DECISION)])
        scores, outcomes = self._scores.setdefault(rung, {}), self._outcomes.setdefault(rung, {})
        for config in sorted(results):
            if config not in scores:
                result = self.result(rung, config)
                if result is None:
                    continue
                scores[config] = result.score
            view.scores[config] = scores[config]
            view.extra.append(config)
            view.unsummarised += 1
        for config in sorted(decisions):
            if config not in outcomes:
                decision = self.decision(rung, config)
                if decision is None:
                    continue
                outcomes[config] = (decision.outcome, decision.competitors)
            view.outcomes[config], view.competitors[config] = outcomes[config]
            view.unsummarised += 1
        return view

    def summary(self, rung: int) -> RungSummary:
        """The rung's compacted summary (an empty one before the first compaction)."""
        path = self.rung_path(rung) / SUMMARY
        self.reads += 1
        obj = read_object(path, self.path, MAX_MANIFEST_BYTES)
        if obj is None:
            return RungSummary(rung)
        try:
            return load(RungSummary, obj)
        except ValueError as err:
            raise Damaged(path, str(err)) from None

    def _current_summary(self, rung: int) -> _Summarised:
        """:meth:`summary`, read again only when its file is another than the one this handle read last."""
        path = self.rung_path(rung) / SUMMARY
        self.reads += 1
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            return _Summarised.of(RungSummary(rung))
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        parsed = _PARSED.get(path)
        if parsed is None or parsed[0] != key:
            parsed = (key, _Summarised.of(self.summary(rung)))
            _PARSED[path] = parsed
        elif self._summary_keys.get(rung) != key:
            self.reads += 1  # parsed by another handle of this process: this one reads it all the same
        if self._summary_keys.get(rung) != key:
            self._summary_keys[rung] = key
            self._forget(rung, parsed[1])
        return parsed[1]

    def _forget(self, rung: int, summary: _Summarised) -> None:
        """Drop what this handle read of ``rung`` beyond an older summary that ``summary`` now holds."""
        scores, outcomes = self._scores.get(rung, {}), self._outcomes.get(rung, {})
        for config in set(scores) & set(summary.scores):
            del scores[config]
        for config in set(outcomes) & set(summary.outcomes):
            del outcomes[config]

    def compact(self, rung: int, view: RungView) -> bool:
        """Fold the files ``view`` read beyond the summary into a new one; False when another worker is at it.

        Under ``compact.lock`` (an owner file: a dead compactor's lock is taken
        over), so versions never fork. The summary is a cache of the result
        and decision files, which stay: a summary lost or behind costs reads, never a result.
        """
        lock = OwnerFile(self.rung_path(rung) / COMPACT_LOCK, f"the summary of rung {rung} in {self.path}")
        try:
            lock.acquire()
        except Claimed:
            return False
        try:
            summary = self.summary(rung)
            version = summary.version + 1
            for config, score in view.scores.items():
                summary.results.setdefault(config, {"score": score, "added_in": version})
            for config, outcome in view.outcomes.items():
                summary.decisions.setdefault(
                    config, {"outcome": outcome, "competitors": view.competitors[config], "added_in": version}
                )
            summary.version = version
            atomic.write_json(self.rung_path(rung) / SUMMARY, dump(summary))
        finally:
            lock.release()
        return True

    def write_result(self, result: RungResult) -> bool:
        """Record that a configuration finished a rung; False when a result was there already (it stands)."""
        return atomic.create_exclusive(self._file(result.rung, result.config, RESULT), atomic.json_bytes(dump(result)))

    def result(self, rung: int, config: str) -> RungResult | None:
        record: RungResult | None = self._record(self._file(rung, config, RESULT), RungResult)
        return record

    def decide(self, decision: RungDecision) -> bool:
        """Record a decision, once: False when the configuration was decided at this rung already (that one stands)."""
        path = self._file(decision.rung, decision.config, DECISION)
        return atomic.create_exclusive(path, atomic.json_bytes(dump(decision)))

    def decision(self, rung: int, config: str) -> RungDecision | None:
        record: RungDecision | None = self._record(self._file(rung, config, DECISION), RungDecision)
        return record

    def lease(self, rung: int, config: str) -> OwnerFile:
        """The lease of training ``config`` to rung ``rung``'s epochs (acquire it; a dead owner's is taken over)."""
        self.rung_path(rung).mkdir(parents=True, exist_ok=True)
        return OwnerFile(self._file(rung, config, LEASE), f"configuration {config} at rung {rung}")

    def lease_owner(self, rung: int, config: str) -> ClaimRecord | None:
        """Who holds the lease (``None``: nobody, or a lease being written)."""
        self.reads += 1
        try:
            return OwnerFile(self._file(rung, config, LEASE), "").read()
        except Damaged:
            return None

    def _file(self, rung: int, config: str, suffix: str) -> Path:
        return self.rung_path(rung) / (config + suffix)

    def _record(self, path: Path, cls: type) -> Any:
        self.reads += 1
        obj = read_object(path, self.path)
        if obj is None:
            return None
        try:
            return load(cls, obj)
        except ValueError as err:
            raise Damaged(path, str(err)) from None

    # -- the sweep's workers -----------------------------------------------------------------------
    def paused(self) -> bool:
        return (self.path / PAUSED).exists()

    def pause(self) -> None:
        """``seqjobs cancel``: workers finish nothing more and take no more work."""
        atomic.write_text(self.path / PAUSED, now_iso() + "\n")

    def unpause(self) -> None:
        atomic.remove(self.path / PAUSED)

    def workers(self) -> list[dict[str, Any]]:
        """The worker jobs of the last submission: ``job_id``, ``executor``, ``started`` (local), ``submitted_at``."""
        obj = read_object(self.path / WORKERS, self.path)
        jobs = obj.get("jobs") if obj else None
        return [job for job in jobs if isinstance(job, dict)] if isinstance(jobs, list) else []

    def record_workers(self, jobs: list[dict[str, Any]]) -> None:
        """Note the worker jobs just submitted (the sweep command, under the sweep's lock)."""
        atomic.write_json(self.path / WORKERS, {"format": 2, "jobs": jobs, "recorded_at": now_iso()})
