"""``seqjobs bench --quick``: the table is produced and well-formed (no timing assertions).

One run of the real command (a subprocess, as CI would run it) feeds every
check; the harness's own arithmetic and the Markov baseline's equality check
are tested directly.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from jobs.bench.harness import Row, Stat, Target
from tests.helpers import assert_one_line_error, seqjobs


@pytest.fixture(scope="module")
def quick_bench(tmp_path_factory: pytest.TempPathFactory, moby_dick: Path) -> tuple[Path, str]:
    """``seqjobs bench --quick -o OUT/bench.csv`` run once: ``(csv path, stdout)``."""
    out = tmp_path_factory.mktemp("bench") / "bench.csv"
    proc = seqjobs("bench", "--quick", "-o", str(out), cwd=out.parent, timeout=900, check=True)
    return out, proc.stdout


def expected_items() -> list[str]:
    from jobs.bench import packing, scale
    from jobs.bench.overhead import ITEMS
    from jobs.bench.run import item_keys
    from jobs.bench.sizes import QUICK

    return (
        [key for keys in item_keys(QUICK).values() for key in keys]
        + ITEMS
        + scale.item_keys(QUICK)
        + packing.item_keys(QUICK)
    )


@pytest.mark.slow
def test_quick_bench_writes_one_wellformed_row_per_item(quick_bench: tuple[Path, str]) -> None:
    from jobs.bench.report import COLUMNS

    out, stdout = quick_bench
    with out.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == COLUMNS
        rows = list(reader)
    assert [r["item"] for r in rows] == expected_items()
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
    by_item = {r["item"]: r for r in rows}
    if os.environ.get("SEQJOBS_REQUIRE_SLURM") == "1":  # tests/run.sh started the cluster: it must be used
        assert by_item["job_slurm"]["met"] != "skipped", by_item["job_slurm"]
    assert "identical to the tutorial's dict: yes" in by_item["markov_fit"]["note"]
    assert by_item["charlm_throughput_b512"]["met"] == "n/a"  # reported only
    assert "mean test accuracy after 1 epoch: tutorial " in by_item["imdb_epoch"]["note"]  # side by side


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
