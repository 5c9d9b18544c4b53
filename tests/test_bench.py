"""``seqjobs bench --quick``: the table is produced and well-formed (no timing assertions).

One run of the real command (a subprocess, as CI would run it) feeds every
check; the harness's own arithmetic and the Markov baseline's equality check
are tested directly.
"""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.bench.harness import Row, Stat, Target
from tests.helpers import REPO, assert_one_line_error, seqjobs

#: the groups that need no cluster, run by the tests of every tier; ``jobs`` (its SLURM job) and ``packing``
#: submit to the cluster, so they run in the SLURM tier only, never beside the SLURM tests' jobs
LOCAL_GROUPS = ("markov", "charlm", "imdb", "scale")
CLUSTER_GROUPS = ("jobs", "packing")


def run_bench(out: Path, groups: tuple[str, ...]) -> str:
    """``seqjobs bench --quick --only GROUP... -o OUT``; its stdout."""
    only = [arg for group in groups for arg in ("--only", group)]
    return seqjobs("bench", "--quick", *only, "-o", str(out), cwd=out.parent, timeout=900, check=True).stdout


@pytest.fixture(scope="module")
def quick_bench(tmp_path_factory: pytest.TempPathFactory, moby_dick: Path) -> tuple[Path, str]:
    """``seqjobs bench --quick`` of the groups that need no cluster, run once: ``(csv path, stdout)``."""
    out = tmp_path_factory.mktemp("bench") / "bench.csv"
    return out, run_bench(out, LOCAL_GROUPS)


def expected_items(groups: tuple[str, ...]) -> list[str]:
    from jobs.bench import packing, scale
    from jobs.bench.overhead import ITEMS
    from jobs.bench.run import item_keys
    from jobs.bench.sizes import QUICK

    keys = {**item_keys(QUICK), "jobs": ITEMS, "scale": scale.item_keys(QUICK), "packing": packing.item_keys(QUICK)}
    return [key for group in groups for key in keys[group]]


def wellformed_rows(out: Path, groups: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """The bench's CSV rows by item, after checking each: every item of ``groups`` once, in order, and every
    figure consistent (min <= median <= max, the ratio the medians'); a skipped row says why."""
    from jobs.bench.report import COLUMNS

    with out.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == COLUMNS
        rows = list(reader)
    assert [r["item"] for r in rows] == expected_items(groups)
    for r in rows:
        assert r["met"] in {"yes", "no", "n/a", "skipped"}, r
        if r["met"] == "skipped":
            assert r["note"].startswith("skipped:"), r
            continue
        ours = float(r["seqjobs_median"])
        assert 0 < float(r["seqjobs_min"]) <= ours <= float(r["seqjobs_max"]), r
        assert int(r["repeats"]) >= 1
        if r["baseline_median"]:
            base = float(r["baseline_median"])
            assert 0 < float(r["baseline_min"]) <= base <= float(r["baseline_max"]), r
            assert float(r["ratio"]) == pytest.approx(base / ours, rel=1e-3), r
        else:
            assert r["ratio"] == "" and (r["target"].startswith(("<=", "= ")) or r["met"] == "n/a"), r
    return {r["item"]: r for r in rows}


@pytest.mark.slow
def test_quick_bench_writes_one_wellformed_row_per_item(quick_bench: tuple[Path, str]) -> None:
    by_item = wellformed_rows(quick_bench[0], LOCAL_GROUPS)
    assert "identical to the tutorial's dict: yes" in by_item["markov_fit"]["note"]
    assert by_item["charlm_throughput_b512"]["met"] == "n/a"  # reported only
    assert "mean test accuracy after 1 epoch: tutorial " in by_item["imdb_epoch"]["note"]  # side by side


@pytest.mark.slurm
@pytest.mark.slow
def test_the_job_and_packing_items_measure_the_cluster(tmp_path: Path, moby_dick: Path) -> None:
    """The items that submit jobs, on the test cluster: measured, not skipped, and every target checked."""
    out = tmp_path / "bench.csv"
    run_bench(out, CLUSTER_GROUPS)
    by_item = wellformed_rows(out, CLUSTER_GROUPS)
    measured = ["job_local", "job_slurm", *(key for key in by_item if key.startswith("packing_"))]
    assert all(by_item[key]["met"] in ("yes", "no", "n/a") for key in measured), [by_item[k] for k in measured]
    assert by_item["packing_collect_rows_k1"]["met"] == "yes", by_item["packing_collect_rows_k1"]  # one row a run


@pytest.mark.slow
def test_quick_bench_prints_and_writes_the_markdown_table(quick_bench: tuple[Path, str]) -> None:
    out, stdout = quick_bench
    assert "baseline (tutorial's way)" in stdout and "met?" in stdout
    md = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "| item | baseline (tutorial's way) | seqjobs | ratio | target | met? |" in md
    assert "stand in for nietzsche" in md and "synthetic IMDB-shaped" in md
    with out.open(newline="", encoding="utf-8") as fh:
        titles = [r["title"] for r in csv.DictReader(fh)]
    table = [line for line in md.splitlines() if line.startswith("| ")][1:]
    assert [line.split(" | ")[0].lstrip("| ") for line in table] == titles


@pytest.mark.slow
def test_unknown_group_is_one_line_error(tmp_path: Path) -> None:
    proc = seqjobs("bench", "--quick", "--only", "gpu", "-o", str(tmp_path / "b.csv"), cwd=tmp_path)
    assert_one_line_error(proc, "--only", "gpu")
    assert not (tmp_path / "b.csv").exists()


def test_ratio_and_met() -> None:
    both = Row("x", "x", "s", Stat.of([4.0, 2.0, 6.0]), Stat.of([1.0, 2.0]), Target(">= 2x", min_ratio=2))
    assert both.baseline.median == 4.0 and both.seqjobs.median == 1.5
    assert both.ratio == pytest.approx(4.0 / 1.5) and both.met == "yes"
    both.checks["identical counts"] = False
    assert both.met == "no"
    absolute = Row("y", "y", "s", None, Stat.of([1.2, 1.6, 1.4]), Target("<= 1.5 s", max_value=1.5))
    assert absolute.ratio is None and absolute.met == "yes"
    assert Row("z", "z", "s", None, None, absolute.target, skipped="skipped: no cluster").met == "skipped"
    assert Row("w", "w", "s", both.baseline, both.seqjobs, None).met == "n/a"


def test_a_count_reads_in_full_and_a_measurement_to_four_digits() -> None:
    from jobs.bench.report import cell

    assert cell(Stat.once(10_000.0), "jobs") == "10,000 jobs"  # not 1e+04
    assert cell(Stat.once(5239.18), "s") == "5239 s"
    assert cell(Stat.of([0.97, 0.95, 1.02]), "s") == "0.97 s (0.95-1.02)"


def test_markov_baseline_counts_match_the_task(small_text: Path) -> None:
    from jobs.bench import tutorial
    from jobs.bench.markov_items import as_tutorial_counts, fit_chain

    text = small_text.read_text(encoding="utf-8").lower()
    counts, probabilities = tutorial.markov_fit(text)
    assert as_tutorial_counts(fit_chain(text)) == counts
    values, probs = probabilities["a"]
    assert sum(probs) == pytest.approx(1.0) and len(values) == len(counts["a"])


# -- the adaptive group (seqjobs bench --only adaptive) -----------------------------------------------


def test_the_adaptive_workload_is_fixed_by_its_seed_and_ranks_against_the_truth() -> None:
    from jobs.bench.adaptive_workload import Workload

    one, again = Workload(40, 9, 1.0, 5.0), Workload(40, 9, 1.0, 5.0)
    assert [one.duration(c, 3) for c in range(40)] == [again.duration(c, 3) for c in range(40)]
    assert one.rank(one.true_order[0]) == 1 and one.preempted == one.true_order[0]
    assert sorted(one.true_order) == list(range(40))


@pytest.mark.slow
def test_tiny_adaptive_ways_each_pick_and_report_their_figures(tmp_path: Path) -> None:
    """Every way of workload (a) and both scales of (b), tiny, with Optuna when installed (Ray is slow to start:
    it runs only in the benchmark itself); no figure is judged, each is only checked to be there and sane."""
    from jobs.bench import adaptive

    tiny = adaptive.AdaptiveSizes(configs=9, slots=3, epoch_s=0.01, scales=((27, 3), (54, 6)))
    anchors = ("optuna",) if importlib.util.find_spec("optuna") else ()
    rows, markdown = adaptive.measure(tiny, tmp_path, anchors)
    assert [r.item for r in rows] == adaptive.item_keys()
    for row in rows:
        assert row.met in {"yes", "no", "n/a", "skipped"}, row
        assert row.skipped or (row.seqjobs is not None and row.seqjobs.median > 0), row
    assert ("skipped" == rows[2].met) == (not anchors)
    assert rows[6].met == "skipped" and "ray not run" in rows[6].skipped
    assert "files read per decision" in markdown
    lines = [line for line in markdown.splitlines() if line.startswith("| async halving (seqjobs) |")]
    assert len(lines) == 3  # (a) and both scales of (b)


@pytest.mark.slow
def test_the_real_search_trains_the_same_configurations_the_same_way_in_seqjobs_and_optuna(
    tmp_path: Path, rt_snippets: Path
) -> None:
    """The real search at its smallest (3 configurations, one seed, rungs 1 -> 3, 300 reviews): seqjobs' async
    halving promotes one configuration, and Optuna's pruner (when installed), training through ``seqjobs.run``,
    gets the same figures for every configuration both trained to the last rung -- one task, one training."""
    from jobs.bench import adaptive_search

    search = adaptive_search.Search(trials=3, seeds=1, rungs=(1, 3), eta=3, slots=2, limit=300)
    optuna = importlib.util.find_spec("optuna") is not None
    done = adaptive_search.measure(search, tmp_path, ("async", "optuna") if optuna else ("async",))
    mine = done["async"]
    assert isinstance(mine, adaptive_search.Result), mine
    assert mine.epochs == 3 * 1 + 2 and list(mine.finished) == [mine.pick], mine  # eta 3: one of three goes on
    assert mine.pick in {adaptive_search.trial_key(i) for i in range(3)} and 0 < mine.busy <= 1, mine
    assert 0.0 <= mine.test_accuracy <= 1.0 and mine.val_accuracy == mine.finished[mine.pick][0]
    rows = adaptive_search.rows(search, done)
    assert [r.item for r in rows] == list(adaptive_search.ROW_KEYS)
    assert rows[0].met == "skipped" and rows[4].met in {"yes", "no"}  # sync did not run here; busy is judged
    if optuna:
        theirs = done["optuna"]
        assert isinstance(theirs, adaptive_search.Result), theirs
        both = set(mine.finished) & set(theirs.finished)
        assert both and all(mine.finished[c] == theirs.finished[c] for c in both), (mine, theirs)
        assert theirs.epochs >= mine.epochs and rows[2].met in {"yes", "no"}
    table = "\n".join(adaptive_search.table(search, done))
    assert "| async halving (seqjobs) |" in table and "first 300 reviews" in table


def test_the_simulation_drives_the_real_protocol_and_counts_its_reads(tmp_path: Path) -> None:
    from jobs.bench.adaptive import scale_b
    from seqtasks.rundir.ashadir import AshaDir

    scale = scale_b(27, 3, 60.0, tmp_path / "b")
    mine = scale.outcomes[0]
    assert mine.way == "async halving (seqjobs)" and 1 <= mine.rank <= 27 and 0 < mine.busy <= 1
    assert len(list(AshaDir(tmp_path / "b" / "sim").path.glob("rung-0/*.result.json"))) == 27
    assert scale.reads.per_decision() > 0 and len(scale.reads.by_tenth()) <= 10


def test_adaptive_runs_only_when_named_and_imports_no_anchor_otherwise() -> None:
    from jobs.cli.bench import DEFAULT_GROUPS, GROUPS

    assert "adaptive" in GROUPS and "adaptive" not in DEFAULT_GROUPS
    code = "import sys, jobs.cli.bench, jobs.bench.run; print('optuna' in sys.modules or 'ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "False"
