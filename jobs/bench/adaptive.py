"""``seqjobs bench --only adaptive``: asynchronous halving against synchronous halving, the full grid, Optuna and Ray.

Two workloads, one plan (rungs 1 -> 3 -> 9 epochs, eta 3), each way on the
same slots and the same budget of configurations:

- **(a)** :mod:`jobs.bench.adaptive_workload` for real: ``slots`` at once,
  epochs slept through (:mod:`jobs.bench.adaptive_ways`,
  :mod:`jobs.bench.adaptive_async`, :mod:`jobs.bench.adaptive_anchors`);
- **(b)** the same kind of workload at 10,000 configurations on 1,000 slots
  (and a tenth of that, to see what grows), on a simulated clock over the
  real protocol (:mod:`jobs.bench.adaptive_sim`);
- **(r)** a real search, sentiment on rt-snippets trained for real, where
  the pick's test accuracy is what counts (:mod:`jobs.bench.adaptive_search`).

Per way: wall clock to the final pick, epochs trained, busy share of the
slots, the pick's rank in the true ordering; for (b) also files read per
decision. The rows judge the goals; the Markdown below the table has every
way's figures.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from jobs.bench import adaptive_search
from jobs.bench.adaptive_search import Search
from jobs.bench.adaptive_sim import Reads, simulate_async, simulate_grid, simulate_sync
from jobs.bench.adaptive_ways import Outcome, Plan, busy_row, grid, synchronous
from jobs.bench.adaptive_workload import STRAGGLER_FACTOR, STRAGGLER_SHARE, Workload
from jobs.bench.harness import Row, Stat, Target
from jobs.bench.report import ways_table
from jobs.bench.sizes import Sizes

RUNGS = [1, 3, 9]
ETA = 3
#: a requeue (and, in synchronous halving, the start of each rung's jobs) waits this many median epochs
QUEUE_EPOCHS = 5.0
#: an idle worker looks again after this share of a median epoch (3 s against a one-minute epoch)
POLL_EPOCHS = 0.05
ANCHORS = ("optuna", "ray")


@dataclass(frozen=True)
class AdaptiveSizes:
    """(a): configurations, slots and the median epoch's seconds; (b): (configurations, slots) per scale."""

    configs: int
    slots: int
    epoch_s: float
    scales: tuple[tuple[int, int], ...]
    #: the median epoch of (b) on its simulated clock
    sim_epoch_s: float = 600.0
    #: (r): the real search, if it runs at these sizes
    search: Search | None = None


#: (b): the last two scales share their slots, so what grows between them is the number of runs alone
FULL = AdaptiveSizes(
    configs=256,
    slots=16,
    epoch_s=0.5,
    scales=((1_000, 100), (2_000, 1_000), (10_000, 1_000)),
    search=adaptive_search.FULL,
)
QUICK = AdaptiveSizes(
    configs=27,
    slots=4,
    epoch_s=0.02,
    scales=((60, 6), (100, 20), (300, 20)),
    search=Search(trials=3, seeds=1, rungs=(1, 3), eta=3, slots=2, limit=300),
)


def item_keys() -> list[str]:
    """The rows this group reports, in order."""
    return [
        "adaptive_a_wall_sync",
        "adaptive_a_busy",
        "adaptive_a_epochs_optuna",
        "adaptive_a_wall_optuna",
        "adaptive_a_wall_ideal_sync",
        "adaptive_a_wall_grid",
        "adaptive_a_wall_ray",
        "adaptive_b_reads",
        "adaptive_b_wall_sync",
        *adaptive_search.ROW_KEYS,
    ]


def adaptive_report(sizes: Sizes) -> tuple[list[Row], str]:
    """Rows and the Markdown of every way, at the full sizes or the quick ones, in temporary folders: (a) on
    the disk, (b) in memory where there is some (tens of thousands of files, whose fsyncs are no part of a
    simulated clock)."""
    memory = Path("/dev/shm")
    with (
        tempfile.TemporaryDirectory(prefix="seqjobs-adaptive-") as disk,
        tempfile.TemporaryDirectory(prefix="seqjobs-adaptive-", dir=memory if memory.is_dir() else None) as fast,
    ):
        return measure(FULL if sizes.label == "full" else QUICK, Path(disk), ANCHORS, simulated=Path(fast))


def measure(
    size: AdaptiveSizes, work: Path, anchors: tuple[str, ...], simulated: Path | None = None
) -> tuple[list[Row], str]:
    """Run both workloads, (a) under ``work`` and (b) under ``simulated`` (default: ``work`` too); ``anchors``:
    which of Optuna and Ray to run."""
    workload = Workload(size.configs, RUNGS[-1], size.epoch_s, QUEUE_EPOCHS * size.epoch_s)
    plan = Plan(RUNGS, ETA, size.slots)
    a = ways_a(workload, plan, work / "a", anchors, poll_s=POLL_EPOCHS * size.epoch_s)
    sim = simulated or work
    b = [scale_b(configs, slots, size.sim_epoch_s, sim / f"b{configs}") for configs, slots in size.scales]
    r = None
    if size.search is not None:
        r = adaptive_search.measure(size.search, work / "r", ("async", "sync", "grid", *anchors))
    markdown = appendix(workload, plan, a, b, size)
    if size.search is not None and r is not None:
        markdown += "\n" + "\n".join(adaptive_search.table(size.search, r)) + "\n"
    return rows_a(a, workload) + rows_b(b) + adaptive_search.rows(size.search, r), markdown


def ways_a(
    workload: Workload, plan: Plan, work: Path, anchors: tuple[str, ...], poll_s: float
) -> dict[str, Outcome | str]:
    """Every way on workload (a): its outcome, or why it did not run."""
    from jobs.bench.adaptive_async import asynchronous

    runs: dict[str, Callable[[Path], Outcome]] = {
        "async": lambda w: asynchronous(workload, plan, w, poll_s),
        "sync": lambda w: synchronous(workload, plan, w, gap_s=workload.requeue_s),
        "ideal": lambda w: synchronous(workload, plan, w, gap_s=0.0),
        "grid": lambda w: grid(workload, plan, w),
    }
    if "optuna" in anchors:
        runs["optuna"] = lambda w: _anchor("optuna", workload, plan, w)
    if "ray" in anchors:
        runs["ray"] = lambda w: _anchor("ray", workload, plan, w)
    done: dict[str, Outcome | str] = {}
    for name, run in runs.items():
        folder = work / name
        folder.mkdir(parents=True)
        try:
            done[name] = run(folder)
        except Exception as err:  # an anchor that cannot run here is reported, not fatal
            if name not in ANCHORS:
                raise
            lines = str(err).strip().splitlines()
            done[name] = f"{name} did not run here: {type(err).__name__}: {lines[-1] if lines else ''}"
    return done


def _anchor(name: str, workload: Workload, plan: Plan, work: Path) -> Outcome:
    """An anchor's outcome; ImportError when it is not installed (``pip install 'seqjobs[bench]'``)."""
    from jobs.bench import adaptive_anchors

    return (adaptive_anchors.optuna_way if name == "optuna" else adaptive_anchors.ray_way)(workload, plan, work)


@dataclass
class Scale:
    """Workload (b) at one scale: each way's outcome, and what the asynchronous workers read."""

    configs: int
    slots: int
    outcomes: list[Outcome]
    reads: Reads


def scale_b(configs: int, slots: int, epoch_s: float, work: Path) -> Scale:
    """The simulated ways at ``configs`` configurations on ``slots`` slots."""
    workload = Workload(configs, RUNGS[-1], epoch_s, QUEUE_EPOCHS * epoch_s)
    plan = Plan(RUNGS, ETA, slots)
    work.mkdir(parents=True)
    outcome, reads = simulate_async(workload, plan, work)
    others = [simulate_sync(workload, plan, workload.requeue_s), simulate_sync(workload, plan, 0.0)]
    return Scale(configs, slots, [outcome, *others, simulate_grid(workload, plan)], reads)


def rows_a(a: dict[str, Outcome | str], workload: Workload) -> list[Row]:
    """The goals on workload (a), then what is reported only."""
    mine = a["async"]
    assert isinstance(mine, Outcome)
    tag = f"(a) {workload.configs} configurations"

    def versus(item: str, other: str, what: str, target: Target | None, epochs: bool = False) -> Row:
        theirs = a.get(other)
        unit = "epochs" if epochs else "s"
        ours = Stat.once(mine.epochs if epochs else round(mine.wall_s, 2))
        title = f"{tag}: {what}, {theirs.way if isinstance(theirs, Outcome) else other} vs async halving"
        if not isinstance(theirs, Outcome):
            return Row(item, title, unit, None, ours, target, skipped=f"skipped: {theirs or other + ' not run'}")
        base = Stat.once(theirs.epochs if epochs else round(theirs.wall_s, 2))
        row = Row(item, title, unit, base, ours, target, note=_note(mine, theirs))
        if target is not None and not epochs and other == "sync":
            row.checks["pick ranked no worse"] = mine.rank <= theirs.rank
        return row

    others = {o.way: o.busy for o in a.values() if isinstance(o, Outcome) and o is not mine}
    busy = busy_row("adaptive_a_busy", tag, mine.busy, others, mine.note)
    return [
        versus("adaptive_a_wall_sync", "sync", "wall clock to the pick", Target(">= 1.5x, same pick", min_ratio=1.5)),
        busy,
        versus("adaptive_a_epochs_optuna", "optuna", "epochs", Target(">= 1x (no more)", min_ratio=1.0), True),
        versus("adaptive_a_wall_optuna", "optuna", "wall clock to the pick", Target(">= 1x", min_ratio=1.0)),
        versus("adaptive_a_wall_ideal_sync", "ideal", "wall clock to the pick", None),
        versus("adaptive_a_wall_grid", "grid", "wall clock to the pick", None),
        versus("adaptive_a_wall_ray", "ray", "wall clock to the pick", None),
    ]


def _note(mine: Outcome, theirs: Outcome) -> str:
    return (
        f"picks ranked {mine.rank} (async) and {theirs.rank} ({theirs.way}) in the true ordering; epochs "
        f"{mine.epochs} and {theirs.epochs}; busy {100 * mine.busy:.0f}% and {100 * theirs.busy:.0f}%"
    )


def rows_b(b: list[Scale]) -> list[Row]:
    """Files read per decision, the last two scales (the same slots) against each other; wall clock against sync
    at the largest."""
    small, large = b[-2], b[-1]
    reads = Row(
        "adaptive_b_reads",
        f"(b) files read per decision, {small.configs:,} vs {large.configs:,} configurations",
        "files",
        Stat.once(round(small.reads.per_decision(), 1)),
        Stat.once(round(large.reads.per_decision(), 1)),
        Target(">= 0.8x: does not grow with the runs", min_ratio=0.8),
        note=f"{large.configs:,} configurations on {large.slots:,} slots against {small.configs:,} on "
        f"{small.slots:,}; per look for work (deciding something or not): {small.reads.per_look():.1f} and "
        f"{large.reads.per_look():.1f}; at {large.configs:,}, per decision by tenth of the search: "
        + ", ".join(f"{x:.0f}" for x in large.reads.by_tenth())
        + f"; a listing is one read, but it lists every file: {large.reads.listed:,} entries at the end",
    )
    mine, sync = large.outcomes[0], large.outcomes[1]
    wall = Row(
        "adaptive_b_wall_sync",
        f"(b) {large.configs:,} configurations on {large.slots:,} slots (simulated clock): wall clock, "
        "sync halving vs async",
        "h",
        Stat.once(round(sync.wall_s / 3600, 2)),
        Stat.once(round(mine.wall_s / 3600, 2)),
        None,
        note=_note(mine, sync),
    )
    return [reads, wall]


def _where_the_time_goes(a: dict[str, Outcome | str]) -> list[str]:
    """The measured reasons behind the wall clocks of (a), in words, from its figures."""
    mine, sync, ideal = a["async"], a["sync"], a["ideal"]
    if not (isinstance(mine, Outcome) and isinstance(sync, Outcome) and isinstance(ideal, Outcome)):
        return []
    bound = mine.wall_s / max(mine.chain_s, 1e-9)
    return [
        "",
        f"Where the time goes: async halving took {mine.wall_s:.1f} s, {bound:.1f}x its "
        f"longest chain ({mine.chain_s:.1f} s); sync halving {sync.wall_s:.1f} s "
        f"({ideal.wall_s:.1f} s with no wait between rungs). With a fixed budget of configurations both end only "
        "when their last configuration has trained to the last rung, and both must wait for every configuration "
        "of a rung before deciding the ones not promoted early (async: when the rung closes), so the slowest "
        "configurations that go on -- stragglers, the preempted one -- set the end of both. Async halving fills "
        "the slots while a rung's last runs finish, and saves the waits between rungs, but it also promotes on "
        f"incomplete information ({mine.epochs} epochs against {sync.epochs}) and starts the last new "
        "configurations later than a rung-by-rung search does, since promotions go first.",
    ]


def appendix(workload: Workload, plan: Plan, a: dict[str, Outcome | str], b: list[Scale], size: AdaptiveSizes) -> str:
    """Every way's figures, per workload, as Markdown."""
    lines = [
        "## Every way",
        "",
        f"Plan: rungs {' -> '.join(map(str, plan.rungs))} epochs, eta {plan.eta}, min competitors {plan.eta} "
        f"(async), the pick: the best configuration at the last rung; its rank in the true ordering (1 = best). "
        f"Workload: score curves a*(1-exp(-k*epoch)) that cross; lognormal epoch durations; "
        f"{100 * STRAGGLER_SHARE:.0f}% stragglers ({STRAGGLER_FACTOR:g}x slower); the true best configuration "
        f"preempted once half-way through an epoch, waiting {QUEUE_EPOCHS:g} median epochs in the queue; "
        f"sync halving as seqjobs runs it waits as long between rungs (a promotion job, then the next rung's "
        f"array); async workers look again every {POLL_EPOCHS:g} median epochs when idle.",
        "",
        f"### (a) {workload.configs} configurations on {plan.slots} slots, median epoch {size.epoch_s:g} s "
        f"({workload.stragglers()} stragglers), real time",
        "",
        *ways_table(
            ["way", "wall clock to the pick", "epochs", "busy", "pick's rank", "longest chain", "note"],
            a,
            lambda o: [
                o.way,
                f"{o.wall_s:.1f} s",
                str(o.epochs),
                f"{100 * o.busy:.0f}%",
                f"{o.rank} of {workload.configs}",
                f"{o.chain_s:.1f} s",
                o.note,
            ],
        ),
    ]
    lines += [
        "",
        "Longest chain: the epochs of the slowest configuration the way trained to the last rung, back to back "
        "-- no schedule ends before that configuration has trained, so a wall clock near it is bound by one "
        "configuration's training, not by the slots.",
        *_where_the_time_goes(a),
    ]
    for scale in b:
        lines += [
            "",
            f"### (b) {scale.configs:,} configurations on {scale.slots:,} slots, median epoch "
            f"{size.sim_epoch_s / 60:g} min, simulated clock",
            "",
            "| way | wall clock to the pick | epochs | busy | pick's rank | files read per decision (per look) |",
            "|---|---|---|---|---|---|",
        ]
        for o in scale.outcomes:
            reads = scale.reads
            per = f"{reads.per_decision():.1f} ({reads.per_look():.1f})" if o is scale.outcomes[0] else "-"
            lines.append(
                f"| {o.way} | {o.wall_s / 3600:.2f} h | {o.epochs:,} | {100 * o.busy:.0f}% | "
                f"{o.rank} of {scale.configs:,} | {per} |"
            )
        lines.append("")
        decisions = sum(d for _, d in scale.reads.looks)
        lines.append(
            f"Async: {decisions:,} decisions, {sum(r for r, _ in scale.reads.looks):,} files read (listings, stats, "
            f"records) in {len(scale.reads.looks):,} looks for work; per decision by tenth of the search: "
            + ", ".join(f"{x:.0f}" for x in scale.reads.by_tenth())
            + "."
        )
    return "\n".join(lines) + "\n"
