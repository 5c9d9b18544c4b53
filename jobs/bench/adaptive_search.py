"""The adaptive benchmark's real search: sentiment on rt-snippets, each way training the same configurations.

The synthetic workloads (:mod:`jobs.bench.adaptive_ways`) isolate
scheduling; this one asks whether the pick holds up when the training is
real. Every way searches the same configurations -- drawn by seqjobs' own
sampler (:func:`jobs.engine.sampling.draw_trials`) from :data:`SAMPLES` --
with the same seeds, rungs, eta and slots (each slot one TensorFlow thread):

- **full grid**, **sync halving** and **async halving**: ``seqjobs sweep``
  itself on the local executor (``--array-parallelism`` slots,
  ``--cpus-per-task 1``, ``--wait``), in a child process, as a user runs it;
  its wall clock is the command's, which looks for the end every 3 s;
- **Optuna**'s ``SuccessiveHalvingPruner`` on a ``JournalFileBackend`` with
  ``slots`` worker processes, and **Ray Tune**'s ``ASHAScheduler`` with
  ``slots`` trials at a time: a trial trains its configuration's seeds
  through ``seqjobs.run`` (the same task, run folders and checkpoints: at
  each rung the seeds' folders resume and train only the new epochs) and
  reports their mean figure at each rung, as a user of those tools would
  plug seqjobs' task in.

The figure a way ranks by is the task's validation accuracy (its best over
the epochs trained, mean over the seeds), as seqjobs' halving ranks. The
pick: the configuration with the best figure among those trained to the
last rung; its quality: the mean test accuracy of its seeds, each the best
validation epoch's model tested once. Busy: the seconds runs held a slot
(seqjobs: each run's attempts, ``elapsed_s``; the anchors: each call of
``seqjobs.run``), over slots x wall clock.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from jobs.bench import adaptive_anchors
from jobs.bench.adaptive_ways import Ledger, Plan, busy_row
from jobs.bench.harness import Row, Stat, Target
from jobs.bench.report import ways_table

#: the space, as ``--sample`` options: the issue's model, embedding, depth, dropout and learning rate
SAMPLES = (
    "model=choice(lstm,bilstm,bow)",
    "embedding-dim=choice(32,64,128,256)",
    "layers=int(1,2)",
    "dropout=uniform(0,0.5)",
    "lr=loguniform(3e-4,1e-2)",
)
SAMPLER_SEED = 25
STUDY = "search"
#: the ways, in the order they run and are reported
WAYS = ("async", "sync", "grid", "optuna", "ray")
ANCHORS = ("optuna", "ray")


@dataclass(frozen=True)
class Search:
    """The search every way runs: data, space size, seeds, rungs (epochs), eta and slots."""

    trials: int
    seeds: int
    rungs: tuple[int, ...]
    eta: int
    slots: int
    dataset: str = "rt-snippets"
    val_fraction: float = 0.2
    #: use only the first N training and test reviews (0: all); a tiny search for the tests
    limit: int = 0

    def task_options(self) -> dict[str, Any]:
        """The task's options every run shares, by their Python names."""
        return {"dataset": self.dataset, "val_fraction": self.val_fraction, "limit": self.limit}

    def cli_options(self) -> list[str]:
        """The same options, and the space, as ``seqjobs sweep imdb`` takes them."""
        shared = ["--dataset", self.dataset, "--val-fraction", str(self.val_fraction), "--limit", str(self.limit)]
        space = [arg for item in SAMPLES for arg in ("--sample", item)]
        return [*shared, *space, "--trials", str(self.trials), "--seeds", str(self.seeds)]

    def plan(self) -> Plan:
        """The halving plan, as the synthetic workloads' anchors take it."""
        return Plan(list(self.rungs), self.eta, self.slots)

    def configurations(self) -> list[dict[str, Any]]:
        """The trials' values, exactly as ``seqjobs sweep --sample ... --sampler-seed`` draws them."""
        import dataclasses

        from jobs.engine.sampling import draw_trials, parse_samples
        from seqtasks.imdb.config import ImdbConfig

        base = dataclasses.replace(ImdbConfig(), **self.task_options())
        space = parse_samples(list(SAMPLES), ImdbConfig, base, set())
        return draw_trials(space, self.trials, SAMPLER_SEED, ImdbConfig)


FULL = Search(trials=27, seeds=2, rungs=(1, 3, 9), eta=3, slots=2)


@dataclass
class Result:
    """What one way did: wall clock to its pick, epochs trained, busy share, the pick and its test accuracy."""

    way: str
    wall_s: float
    epochs: int
    busy: float
    pick: str
    val_accuracy: float
    test_accuracy: float
    note: str = ""
    #: every configuration trained to the last rung with all its seeds: (validation, test accuracy), means
    finished: dict[str, tuple[float, float]] = field(default_factory=dict)


def trial_key(index: int) -> str:
    """A configuration's name, as the sweeps name its runs (``trial=001``)."""
    from jobs.engine.sampling import trial_name

    return trial_name(index + 1)


def measure(search: Search, work: Path, ways: tuple[str, ...] = WAYS) -> dict[str, Result | str]:
    """Every way in ``ways`` under ``work``: its result, or why an anchor did not run."""
    done: dict[str, Result | str] = {}
    for way in ways:
        folder = work / way
        folder.mkdir(parents=True)
        if way not in ANCHORS:
            done[way] = seqjobs_way(way, search, folder)
            continue
        try:
            done[way] = _ANCHOR_WAYS[way](search, folder)
        except Exception as err:  # an anchor that cannot run here (not installed: the bench extra) is reported
            lines = str(err).strip().splitlines()
            done[way] = f"{way} did not run here: {type(err).__name__}: {lines[-1] if lines else ''}"
    return done


# -- seqjobs' own ways --------------------------------------------------------------------------------


def seqjobs_way(way: str, search: Search, work: Path) -> Result:
    """``seqjobs sweep imdb`` as the full grid, synchronous or asynchronous halving; its figures once it returned."""
    last = search.rungs[-1]
    halving = ["--halving", "--min-epochs", str(search.rungs[0]), "--max-epochs", str(last), "--eta", str(search.eta)]
    mode = {"grid": ["--epochs", str(last)], "sync": halving, "async": [*halving, "--halving-mode", "async"]}[way]
    args = [
        *("sweep", "imdb", *search.cli_options(), "--sampler-seed", str(SAMPLER_SEED), *mode),
        *("--executor", "local", "--array-parallelism", str(search.slots), "--cpus-per-task", "1"),
        *("--root", str(work), "--name", way, "--wait"),
    ]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "jobs", *args], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"seqjobs sweep ({way}) failed: {(done.stderr or done.stdout).strip()[-2000:]}")
    from seqjobs import collect

    table = collect(work / way)
    runs = [
        (str(row["run"]).split("_seed=")[0], int(row["epochs_done"]), row["best_val_accuracy"], row["test_accuracy"])
        for _, row in table.iterrows()
    ]
    busy = float(table["elapsed_s"].sum()) / (search.slots * wall)
    name = {"grid": "full grid", "sync": "sync halving (seqjobs)", "async": "async halving (seqjobs)"}[way]
    return _result(name, search, runs, wall, busy, f"{len(table)} runs")


def _result(
    name: str, search: Search, runs: list[tuple[str, int, float, float]], wall: float, busy: float, note: str
) -> Result:
    """A way's figures from its runs ``(configuration, epochs trained, best val accuracy, test accuracy)``."""
    last = search.rungs[-1]
    finished: dict[str, list[tuple[float, float]]] = {}
    for config, epochs, val, test in runs:
        if epochs >= last:
            finished.setdefault(config, []).append((float(val), float(test)))
    complete = {c: figures for c, figures in finished.items() if len(figures) == search.seeds}
    if not complete:
        raise RuntimeError(f"{name}: no configuration was trained to the last rung ({last} epochs) with every seed")
    means = {c: (statistics.fmean(v for v, _ in f), statistics.fmean(t for _, t in f)) for c, f in complete.items()}
    pick = max(sorted(means), key=lambda c: means[c][0])
    epochs = sum(epochs for _, epochs, _, _ in runs)
    return Result(name, wall, epochs, busy, pick, *means[pick], note, means)


# -- the anchors: a trial trains through seqjobs.run -------------------------------------------------


def train_rungs(
    search: Search,
    params: dict[str, Any],
    folder: Path,
    ledger: Ledger,
    index: int,
    go_on: Callable[[int, float], bool],
) -> list[dict[str, Any]]:
    """Train a configuration's seeds rung by rung in ``folder`` (``seed=N`` each); after each rung
    ``go_on(epochs, mean best validation accuracy)`` decides whether to go on. The seeds' last results."""
    import seqjobs

    os.environ["SEQJOBS_THREADS"] = "1"  # one slot, one thread, as --cpus-per-task 1 gives seqjobs' ways
    results: list[dict[str, Any]] = []
    done = 0
    for epochs in search.rungs:
        start = time.perf_counter()
        results = [
            seqjobs.run(
                "imdb", out=folder / f"seed={seed}", **search.task_options(), **params, seed=seed, epochs=epochs
            )
            for seed in range(search.seeds)
        ]
        ledger.add(index, (epochs - done) * search.seeds, time.perf_counter() - start)
        done = epochs
        if not go_on(epochs, statistics.fmean(float(r["best_val_accuracy"]) for r in results)):
            break
    return results


def _anchor_runs(work: Path) -> list[tuple[str, int, float, float]]:
    """``(configuration, epochs, best val accuracy, test accuracy)`` of every run an anchor's trials trained."""
    import json

    runs = []
    for result in sorted(work.glob("trial=*/seed=*/result.json")):
        record = json.loads(result.read_text())
        epochs = int(record.get("epochs_done", 0))
        runs.append((result.parent.parent.name, epochs, record["best_val_accuracy"], record["test_accuracy"]))
    return runs


def _anchor_result(name: str, search: Search, work: Path, ledger: Ledger, wall: float, note: str) -> Result:
    _, busy_s, _ = ledger.totals()
    return _result(name, search, _anchor_runs(work), wall, busy_s / (search.slots * wall), note)


def optuna_way(search: Search, work: Path) -> Result:
    """Optuna's pruner, ``search.slots`` worker processes on one journal file; its figures once all have ended."""
    import optuna

    journal, ledger = work / "optuna.journal", Ledger(work / "optuna.ledger")
    study = adaptive_anchors.optuna_study(journal, search.trials)  # the same configurations, in the same order
    # spawned: each worker starts TensorFlow of its own
    wall = adaptive_anchors.optuna_workers(_optuna_worker, (journal, work, search, ledger), search.slots, "spawn")
    note = f"{adaptive_anchors.pruned_count(study)} trials pruned"
    return _anchor_result(f"Optuna {optuna.__version__} SuccessiveHalvingPruner", search, work, ledger, wall, note)


def _optuna_worker(journal: Path, work: Path, search: Search, ledger: Ledger) -> None:
    """Trials until no enqueued configuration is left: report each rung, stop when the pruner says so."""
    configurations = search.configurations()
    for trial, index in adaptive_anchors.optuna_trials(journal, search.plan(), search.trials):
        reached: list[tuple[int, float]] = []

        def go_on(epochs: int, score: float) -> bool:
            trial.report(score, epochs)
            reached.append((epochs, score))
            return epochs == search.rungs[-1] or not trial.should_prune()

        train_rungs(search, configurations[index], work / trial_key(index), ledger, index, go_on)
        last, score = reached[-1]
        adaptive_anchors.tell(trial, last, search.plan(), score)


def ray_way(search: Search, work: Path) -> Result:
    """Ray Tune's ASHA scheduler, ``search.slots`` trials at a time; its figures once the tuner has returned.

    The clock includes starting the local Ray instance (its note says how long that took).
    """
    from ray import tune

    ledger = Ledger(work / "ray.ledger")
    configurations = search.configurations()

    def trainable(params: dict[str, Any]) -> None:
        index = int(params["config"])

        def go_on(epochs: int, score: float) -> bool:
            tune.report({"score": score, "epoch": epochs})
            return True  # the scheduler stops the trial itself

        train_rungs(search, configurations[index], work / trial_key(index), ledger, index, go_on)

    _, wall, started, version = adaptive_anchors.ray_asha(
        trainable, search.trials, search.plan(), work / "ray", "epoch"
    )
    note = f"Ray started in {started:.1f} s (in the wall clock)"
    return _anchor_result(f"Ray {version} Tune ASHAScheduler", search, work, ledger, wall, note)


_ANCHOR_WAYS: dict[str, Callable[[Search, Path], Result]] = {"optuna": optuna_way, "ray": ray_way}


# -- the rows and the table ---------------------------------------------------------------------------

#: the rows of the real search, in order
ROW_KEYS = (
    "adaptive_r_quality_sync",
    "adaptive_r_wall_sync",
    "adaptive_r_epochs_optuna",
    "adaptive_r_wall_optuna",
    "adaptive_r_busy",
    "adaptive_r_wall_grid",
    "adaptive_r_wall_ray",
)
TAG = "(r) rt-snippets sentiment search"


def rows(search: Search | None, done: dict[str, Result | str] | None) -> list[Row]:
    """The goals on the real search (the pick's quality, Optuna's epochs and wall clock, busy slots), then what
    is reported only; every row skipped when the search did not run."""
    if search is None or done is None:
        return [Row(key, f"{TAG}: not run", "", None, None, None, skipped="skipped: not run") for key in ROW_KEYS]
    mine = done["async"]
    assert isinstance(mine, Result)

    def versus(
        key: str, other: str, what: str, unit: str, figure: Callable[[Result], float], target: Target | None
    ) -> Row:
        theirs = done.get(other)
        ours = Stat.once(round(figure(mine), 2))
        title = f"{TAG}: {what}, {theirs.way if isinstance(theirs, Result) else other} vs async halving"
        if not isinstance(theirs, Result):
            return Row(key, title, unit, None, ours, target, skipped=f"skipped: {theirs or other + ' not run'}")
        return Row(key, title, unit, Stat.once(round(figure(theirs), 2)), ours, target, note=_note(mine, theirs))

    quality = versus(
        "adaptive_r_quality_sync",
        "sync",
        "the pick's test accuracy",
        "%",
        lambda r: 100 * r.test_accuracy,
        Target("async within 0.5 point"),
    )
    sync = done.get("sync")
    if isinstance(sync, Result):
        quality.checks["within 0.5 point"] = 100 * mine.test_accuracy >= 100 * sync.test_accuracy - 0.5
    others = {r.way: r.busy for r in done.values() if isinstance(r, Result) and r is not mine}
    busy = busy_row("adaptive_r_busy", TAG, mine.busy, others)
    wall, epochs = (lambda r: r.wall_s), (lambda r: float(r.epochs))
    return [
        quality,
        versus("adaptive_r_wall_sync", "sync", "wall clock to the pick", "s", wall, None),
        versus("adaptive_r_epochs_optuna", "optuna", "epochs", "epochs", epochs, Target(">= 1x (no more)", 1.0)),
        versus("adaptive_r_wall_optuna", "optuna", "wall clock to the pick", "s", wall, Target(">= 1x", 1.0)),
        busy,
        versus("adaptive_r_wall_grid", "grid", "wall clock to the pick", "s", wall, None),
        versus("adaptive_r_wall_ray", "ray", "wall clock to the pick", "s", wall, None),
    ]


def _note(mine: Result, theirs: Result) -> str:
    return (
        f"picks: async {mine.pick} (validation {mine.val_accuracy:.4f}, test {mine.test_accuracy:.4f}), "
        f"{theirs.way} {theirs.pick} (validation {theirs.val_accuracy:.4f}, test {theirs.test_accuracy:.4f}); "
        f"epochs {mine.epochs} and {theirs.epochs}; busy {100 * mine.busy:.0f}% and {100 * theirs.busy:.0f}%"
    )


def table(search: Search, done: dict[str, Result | str]) -> list[str]:
    """Every way's figures on the real search, as Markdown lines."""
    space = ", ".join(f"`{item}`" for item in SAMPLES)
    return [
        f"### (r) {search.dataset} sentiment search: {search.trials} configurations x {search.seeds} seed(s) on "
        f"{search.slots} slots, real training",
        "",
        f"Space: {space} (seqjobs' sampler, `--sampler-seed {SAMPLER_SEED}`); validation: a {search.val_fraction:g} "
        f"share of the training reviews; rungs {' -> '.join(map(str, search.rungs))} epochs, eta {search.eta}; "
        "a configuration's figure: its best validation accuracy, mean over its seeds; the pick: the best "
        "configuration trained to the last rung; its test accuracy: the mean over its seeds of the best "
        "validation epoch's model, tested once."
        + (f" Only the first {search.limit} reviews of each split." if search.limit else ""),
        "",
        *ways_table(
            ["way", "wall clock to the pick", "epochs", "busy", "pick", "its validation accuracy", "its test accuracy"]
            + ["note"],
            done,
            lambda r: [
                r.way,
                f"{r.wall_s:.1f} s",
                str(r.epochs),
                f"{100 * r.busy:.0f}%",
                r.pick,
                f"{r.val_accuracy:.4f}",
                f"{r.test_accuracy:.4f}",
                r.note,
            ],
        ),
    ]
