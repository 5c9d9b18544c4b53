"""Asynchronous halving without training: the rule, the file protocol, kills at every step, workers racing.

The workers here run the real loop (:func:`jobs.engine.asha.worker.pull`)
and the real protocol (:class:`jobs.engine.asha.search.Search` over
``.asha/``) with a stand-in for training that records a made-up figure, so
thousands of protocol steps take seconds. The real local search, with
TensorFlow, is in tests/test_asha_local.py.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from jobs import scheduler
from jobs.engine.asha import rule
from jobs.engine.asha import search as search_module
from jobs.engine.asha.search import Item, Search, configurations
from jobs.engine.asha.worker import pull
from seqtasks import atomic
from seqtasks.rundir import SweepDir
from seqtasks.rundir.ashadir import LEASE, PROMOTED, STOPPED, AshaDir
from seqtasks.rundir.records import HalvingRecord

PROMOTE, STOP = PROMOTED, STOPPED


# -- the rule --------------------------------------------------------------------------------------


def test_promotable_is_the_best_one_eta_of_those_finished_once_enough_have() -> None:
    rung = rule.Rung(scores={"a": 0.9, "b": 0.5, "c": 0.7})
    assert rule.promotable(rung, eta=3, min_competitors=3, higher=True) == ["a"]
    assert rule.promotable(rung, eta=3, min_competitors=4, higher=True) == []  # too few to stop anyone yet
    assert rule.promotable(rung, eta=3, min_competitors=3, higher=False) == ["b"]  # lower is better
    rung.outcomes["a"] = PROMOTE
    assert rule.promotable(rung, eta=3, min_competitors=3, higher=True) == []  # never twice


def test_a_configuration_without_a_figure_ranks_last_and_is_never_promoted() -> None:
    rung = rule.Rung(scores={"a": None, "b": 0.1, "c": 0.2, "d": 0.3})
    assert rule.ranked(rung.scores, higher=True) == ["d", "c", "b", "a"]
    assert rule.closing(rule.Rung(scores={"a": None}), eta=3, higher=True) == {"a": STOP}


def test_ties_are_broken_by_id_whatever_the_order_read() -> None:
    assert rule.ranked({"b": 1.0, "a": 1.0, "c": 2.0}, higher=True) == ["c", "a", "b"]


def test_a_closed_rung_decides_every_undecided_configuration_keeping_at_least_one() -> None:
    rung = rule.Rung(scores={"a": 0.1, "b": 0.2}, outcomes={})
    assert rule.closing(rung, eta=3, higher=True) == {"a": STOP, "b": PROMOTE}
    early = rule.Rung(scores={"a": 0.1, "b": 0.2, "c": 0.3}, outcomes={"a": PROMOTE})  # promoted on less
    assert rule.closing(early, eta=3, higher=True) == {"b": STOP, "c": PROMOTE}


def test_a_rung_closes_only_when_nothing_below_or_in_it_can_change() -> None:
    configs = ["a", "b", "c"]
    rungs = [rule.Rung(scores={"a": 0.1, "b": 0.2}), rule.Rung(), rule.Rung()]
    assert rule.to_close(configs, rungs) is None  # c still trains at rung 0
    rungs[0].scores["c"] = 0.3
    assert rule.to_close(configs, rungs) == 0
    rungs[0].outcomes.update(a=STOP, b=STOP, c=PROMOTE)
    assert rule.unfinished(configs, rungs) == [(1, "c")] and rule.to_close(configs, rungs) is None
    rungs[1].scores["c"] = 0.4
    assert rule.to_close(configs, rungs) == 1
    rungs[1].outcomes["c"] = PROMOTE
    assert not rule.complete(configs, rungs)
    rungs[2].scores["c"] = 0.5
    assert rule.complete(configs, rungs)


# -- the protocol, driven without training ------------------------------------------------------------


def make_sweep(folder: Path, configs: int = 9, seeds: int = 1, epochs: tuple[int, ...] = (1, 3, 9)) -> Path:
    """An asynchronous halving sweep's manifest: ``configs`` configurations (lr) times ``seeds``."""
    runs = {
        f"lr={i}_seed={s}": {"lr": float(i), "seed": s, "epochs": epochs[0]}
        for i in range(configs)
        for s in range(seeds)
    }
    plan = HalvingRecord(
        metric="val_accuracy",
        higher_is_better=True,
        min_epochs=epochs[0],
        max_epochs=epochs[-1],
        eta=3,
        epochs=list(epochs),
    )
    sweep = SweepDir(folder)
    with sweep.locked():
        sweep.record("imdb", runs, {}, {}, {"halving": "async", "min_competitors": 3}, {}, plan)
    return folder


def figure(run: str, rung: int) -> float:
    """A made-up figure: lr=i is better the larger i, a little better each rung, the seed adding noise."""
    lr, seed = (float(part.split("=")[1]) for part in run.split("_"))
    return lr + 0.1 * rung + 0.01 * seed


def fake_train(search: Search, trained: list[tuple[int, str]] | None = None) -> Callable[[Item], Any]:
    def train(item: Item) -> Any:
        if trained is not None:
            trained.append((item.rung, item.config))
        return search.finish(item, {run: figure(run, item.rung) for run in item.runs})

    return train


def work(folder: Path, trained: list[tuple[int, str]] | None = None) -> list[Any]:
    search = Search.open(folder)
    return pull(search, fake_train(search, trained))


def check_invariants(folder: Path) -> dict[str, list[str]]:
    """Every configuration: a result at each rung it entered, a decision at each below the last, entered a rung
    above 0 only by a promotion; no lease left; the search complete. Returns each configuration's outcomes."""
    search = Search.open(folder, compact=False)
    asha = AshaDir(folder)
    views = search.views()
    last = len(views) - 1
    assert search.complete(views)
    outcomes = {}
    for config in search.configs:
        rung, said = 0, []
        while True:
            assert config in views[rung].scores and asha.result(rung, config) is not None, (config, rung)
            if rung == last:
                break
            decision = asha.decision(rung, config)
            assert decision is not None and decision.outcome == views[rung].outcomes[config], (config, rung)
            assert decision.closing or decision.competitors >= search.plan.min_competitors
            said.append(decision.outcome)
            if decision.outcome != PROMOTE:
                break
            rung += 1
        for above in range(rung + 1, last + 1):  # never trained or decided past its rung
            assert config not in views[above].scores and config not in views[above].outcomes
        outcomes[config] = said
    for lease in asha.path.glob(f"rung-*/*{LEASE}"):  # only a worker killed between its result and its release
        assert lease.name.removesuffix(LEASE) in views[int(lease.parent.name.split("-")[1])].scores
    return outcomes


def test_one_worker_runs_the_whole_search_each_rung_once_and_the_best_reaches_the_top(tmp_path: Path) -> None:
    folder = make_sweep(tmp_path / "sw", configs=9, seeds=2)
    trained: list[tuple[int, str]] = []
    work(folder, trained)
    assert len(trained) == len(set(trained))  # nothing trained twice at a rung
    outcomes = check_invariants(folder)
    best = configurations(SweepDir(folder).manifest().runs)  # type: ignore[union-attr]
    top = next(c for c, runs in best.items() if runs[0].startswith("lr=8_"))
    assert outcomes[top] == [PROMOTE, PROMOTE]
    assert sum(o[:1] == [PROMOTE] for o in outcomes.values()) >= 3  # rung 0 keeps at least 9 // 3
    result = AshaDir(folder).result(0, top)
    assert result is not None and result.score == pytest.approx((8.0 + 8.01) / 2)  # the mean over its seeds
    again = work(folder)
    assert again == []  # a complete search hands out nothing


def test_a_decision_names_its_competitors_and_can_be_replayed_from_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "COMPACT_EVERY", 2)
    folder = make_sweep(tmp_path / "sw", configs=9)
    work(folder)
    check_invariants(folder)
    asha = AshaDir(folder)
    summary = asha.summary(0)
    assert summary.version >= 2  # compacted along the way
    for config in summary.results:
        decision = asha.decision(0, config)
        assert decision is not None
        basis = {c for c, e in summary.results.items() if e["added_in"] <= decision.basis["summary"]}
        basis |= set(decision.basis["extra"])
        assert len(basis) == decision.competitors


def test_two_workers_racing_for_one_promotion_promote_it_once(tmp_path: Path) -> None:
    folder = make_sweep(tmp_path / "sw", configs=3, epochs=(1, 3))
    first, second = Search.open(folder), Search.open(folder)
    for _ in range(3):
        item = first.next_item()
        assert item is not None and item.rung == 0
        first.finish(item, {run: figure(run, 0) for run in item.runs})
    view = second.views()[0]  # both decide on this view: the best of the three is promotable
    best = rule.promotable(rule.Rung(view.scores, view.outcomes), eta=3, min_competitors=3, higher=True)
    won = [s._promote(0, best[0], view, closing=False) for s in (first, second)]
    assert sum(item is not None for item in won) == 1
    assert len(list(AshaDir(folder).path.glob("rung-0/*.decision.json"))) == 1


def test_a_lease_held_by_a_live_worker_is_never_taken_and_a_dead_ones_is(tmp_path: Path) -> None:
    folder = make_sweep(tmp_path / "sw", configs=1, epochs=(1, 3))
    held = Search.open(folder).next_item()
    assert held is not None
    assert Search.open(folder).next_item() is None  # alive: left alone
    held.lease.release()
    as_if_dead(folder)
    work(folder)
    check_invariants(folder)


# -- kills at every step -----------------------------------------------------------------------------


class Killed(BaseException):
    """A kill: nothing after it is written (every later change fails too)."""


class Faults:
    def __init__(self, kill_at: int | None = None) -> None:
        self.count = 0
        self.kill_at = kill_at

    def wrap(self, real: Callable[[Callable[[], None], Path], None]) -> Callable[[Callable[[], None], Path], None]:
        def publish(change: Callable[[], None], path: Path) -> None:
            self.count += 1
            if self.kill_at is not None and self.count >= self.kill_at:
                raise Killed(self.count)
            real(change, path)

        return publish


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[Faults]:
    f = Faults()
    monkeypatch.setattr(atomic, "_publish", f.wrap(atomic._publish))
    monkeypatch.setattr(search_module, "COMPACT_EVERY", 3)  # compactions happen, and are killed too
    yield f


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def as_if_dead(folder: Path) -> None:
    """What the kernel and the clock do for a killed worker: its flocks go, its leases and locks name a dead
    process, a take-over lock it left grows old."""
    pid = dead_pid()
    for path in (folder / ".asha").glob("rung-*/*"):
        if path.name.endswith((LEASE, ".lock")):
            record = json.loads(path.read_text())
            record.update(pid=pid, pid_start=None)
            path.write_text(json.dumps(record))
        elif path.name.endswith(".takeover"):
            old = time.time() - 3600
            os.utime(path, (old, old))


def killed_worker(folder: Path) -> None:
    """A worker that dies at the fault: its open lease files are closed, as the kernel would."""
    search = Search.open(folder)
    items: list[Item] = []

    def train(item: Item) -> Any:
        items.append(item)
        return search.finish(item, {run: figure(run, item.rung) for run in item.runs})

    original = search._take

    def take(level: int, config: str) -> Item | None:
        item = original(level, config)
        if item is not None:
            items.append(item)
        return item

    search._take = take  # type: ignore[method-assign]
    try:
        pull(search, train)
    except Killed:
        for item in items:
            if item.lease._fd is not None:
                os.close(item.lease._fd)
                item.lease._fd = None
        raise


@pytest.mark.slow
def test_a_kill_at_any_step_loses_nothing_and_decides_nothing_twice(tmp_path: Path, faults: Faults) -> None:
    straight = make_sweep(tmp_path / "straight", configs=6, seeds=2)
    faults.count = 0
    work(straight)
    reference = check_invariants(straight)
    changes = faults.count
    assert changes > 40
    for kill_at in range(1, changes + 1):
        folder = make_sweep(tmp_path / f"k{kill_at}", configs=6, seeds=2)
        faults.count = 0
        faults.kill_at = kill_at
        with pytest.raises(Killed):
            killed_worker(folder)
        faults.kill_at = None
        as_if_dead(folder)
        work(folder)  # the next worker resumes the search
        outcomes = check_invariants(folder)
        assert set(outcomes) == set(reference)


# -- workers in several processes --------------------------------------------------------------------


def _racing_worker(folder: str, seed: int, out: Any) -> None:
    rng = random.Random(seed)
    search = Search.open(Path(folder))
    trained: list[tuple[int, str]] = []

    def train(item: Item) -> Any:
        trained.append((item.rung, item.config))
        time.sleep(rng.uniform(0, 0.02))
        return search.finish(item, {run: figure(run, item.rung) for run in item.runs})

    pull(search, train)
    out.put(trained)


@pytest.mark.slow
def test_workers_in_several_processes_share_the_search_without_training_anything_twice(tmp_path: Path) -> None:
    folder = make_sweep(tmp_path / "sw", configs=27, epochs=(1, 3, 9, 27))
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    procs = [context.Process(target=_racing_worker, args=(str(folder), i, out)) for i in range(4)]
    for proc in procs:
        proc.start()
    trained = [pair for _ in procs for pair in out.get(timeout=300)]
    for proc in procs:
        proc.join(timeout=60)
    assert len(trained) == len(set(trained))
    outcomes = check_invariants(folder)
    assert sum(o == [PROMOTE] * 3 for o in outcomes.values()) >= 1


# -- a requeued worker -------------------------------------------------------------------------------


def test_a_requeued_worker_takes_back_the_configuration_it_held_before_any_new_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same job id, the old process gone (a preemption's requeue): its lease is its own, resumed first."""
    folder = make_sweep(tmp_path / "sw", configs=4, epochs=(1, 3))
    monkeypatch.setenv("SUBMITIT_LOCAL_JOB_ID", "4242")
    held = Search.open(folder).next_item()
    assert held is not None and held.rung == 0
    assert held.lease._fd is not None
    os.close(held.lease._fd)  # the attempt is gone: the kernel drops its flock ...
    as_if_dead(folder)  # ... and its pid is dead
    monkeypatch.setenv("SUBMITIT_LOCAL_JOB_ID", "999")  # another worker: new work first, the lease is not its own
    other = Search.open(folder).next_item()
    assert other is not None and other.config != held.config
    other.lease.release()
    monkeypatch.setenv("SUBMITIT_LOCAL_JOB_ID", "4242")  # the requeued attempt of the job that held it
    again = Search.open(folder).next_item()
    assert again is not None and (again.rung, again.config) == (0, held.config)
    again.lease.release()
    work(folder)
    check_invariants(folder)


def test_a_dead_workers_lease_is_left_while_its_job_is_queued_again_and_taken_once_the_job_has_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same host does not make a dead pid enough: a requeued job comes back for its lease."""
    folder = make_sweep(tmp_path / "sw", configs=1, epochs=(1, 3))
    AshaDir(folder).record_workers([{"job_id": "4242_0", "executor": "slurm"}])
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "4242")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "0")
    held = Search.open(folder).next_item()
    assert held is not None and held.lease._fd is not None
    os.close(held.lease._fd)
    as_if_dead(folder)
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "1")  # another worker of the array
    state = {"4242_0": {"state": "pending"}}
    monkeypatch.setattr(scheduler, "job_states", lambda ids: {i: state[i] for i in ids if i in state})
    assert Search.open(folder).next_item() is None  # queued again: left to it
    state["4242_0"] = {"state": "cancelled"}  # the job has ended for good
    taken = Search.open(folder).next_item()
    assert taken is not None and (taken.rung, taken.config) == (0, held.config)
