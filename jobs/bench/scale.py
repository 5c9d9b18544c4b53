"""``seqjobs bench``'s scale items: ``status`` and ``collect`` over sweeps of 10,000 and 100,000 runs.

Each size is one sweep folder of copies of one real completed Markov run (made
by a local job of seqjobs, as a user's runs are). The copies are
hard links: a view reads them exactly as it reads separate files, and 100,000
runs then take seconds to lay out and no disk. Each command is timed as a
user runs it -- a whole ``python -m jobs`` process, wall time, output to a
file -- and checked: the table names the right count of runs, ``--json`` has
a line per run, ``collect`` writes a row per run.

Each command is timed twice over: at a *first look* (an empty index of ended
runs, :mod:`jobs.monitor.index`: every folder is read) and at a *repeat look*
(the index of the previous look in place: only signatures are checked), since
a user runs ``status`` again and again while a sweep goes on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from jobs.bench.harness import Row, Stat, Target
from jobs.bench.sizes import Sizes

#: the goals, in seconds per 10,000 runs (a view a user runs again and again must answer at once): the table,
#: --json, collect; a smaller (quick) sweep is held to the 10,000-run goal
GOALS_PER_10K = {"status": 1.0, "status_json": 2.0, "collect": 2.0}
TIMEOUT_S = 1800
#: links made to one file before the next runs link to a fresh copy (ext4 allows 65,000)
LINKS_PER_SOURCE = 50_000


#: (row key part, title part, whether the index of a previous look is in place)
LOOKS = (("first", "first look", False), ("repeat", "repeat look", True))


#: ``collect`` merging tables: this many runs a table, and tables (fewer in a quick run); the goal in seconds
MERGE_RUNS = 1_000
MERGE_TABLES = {"full": 100, "quick": 10}
MERGE_GOAL_S = 5.0


def item_keys(sizes: Sizes) -> list[str]:
    """The rows this group reports, in order."""
    views = [f"{kind}_{look}_{n}" for n in sizes.scale_runs for kind in GOALS_PER_10K for look, _, _ in LOOKS]
    return [*views, _merge_key(sizes)]


def _merge_key(sizes: Sizes) -> str:
    return f"collect_tables_{MERGE_TABLES[sizes.label]}x{MERGE_RUNS}"


def lay_out(template: Path, sweep: Path, count: int) -> Path:
    """``count`` run folders in ``sweep``: hard-linked copies of ``template`` (its ``.submitit`` logs left out).

    A file may have at most 65,000 links on ext4: every :data:`LINKS_PER_SOURCE`
    runs, the next ones link to a real copy of the previous run instead.
    """
    source = template
    for i in range(count):
        run = sweep / f"run-{i}"
        fresh = i and i % LINKS_PER_SOURCE == 0
        shutil.copytree(
            source, run, copy_function=shutil.copy2 if fresh else os.link, ignore=shutil.ignore_patterns(".submitit")
        )
        if fresh:
            source = run
    return sweep


def timed_command(args: list[str], out: Path, repeats: int, cache: Path, warm: bool) -> Stat:
    """Wall seconds of ``python -m jobs ARGS`` (stdout to ``out``), ``repeats`` times.

    ``warm``: after one untimed call that fills the index in ``cache``; else each call starts with it empty.
    """
    env = {**os.environ, "SEQJOBS_CACHE_DIR": str(cache)}
    env.pop("SEQJOBS_NO_INDEX", None)
    shutil.rmtree(cache, ignore_errors=True)
    if warm:
        _call(args, out, env)
        _wait_for_index(cache)
    seconds = []
    for _ in range(repeats):
        if not warm:
            shutil.rmtree(cache, ignore_errors=True)
        seconds.append(_call(args, out, env))
    return Stat.of(seconds)


def _wait_for_index(cache: Path) -> None:
    """Until the index the last look left to a detached writer is in place (as it is for a user's next look)."""
    folder = cache / "index"
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        names = os.listdir(folder) if folder.is_dir() else []
        if names and not any(name.endswith(".tmp") for name in names):
            return
        time.sleep(0.05)
    raise TimeoutError(f"no index was written in {folder}")


def _call(args: list[str], out: Path, env: dict[str, str]) -> float:
    with out.open("wb") as sink:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "jobs", *args],
            stdout=sink,
            stderr=subprocess.DEVNULL,
            check=True,
            timeout=TIMEOUT_S,
            env=env,
        )
        return time.perf_counter() - start


def scale_rows(sizes: Sizes, work: Path, template: Path) -> list[Row]:
    """Rows for every size of :attr:`Sizes.scale_runs`; each sweep is removed once measured."""
    rows = []
    for n in sizes.scale_runs:
        sweep = lay_out(template, work / f"sweep-{n}", n)
        repeats = max(1, sizes.repeats // 2) if n >= 100_000 else sizes.repeats
        out = work / "out.txt"
        commands = {
            "status": (["status", str(sweep)], f"{n:,} runs: {n:,} completed"),
            "status_json": (["status", str(sweep), "--json"], None),
            "collect": (["collect", str(sweep), "-o", str(work / "collected.csv")], None),
        }
        for kind, (args, expect) in commands.items():
            for look, look_title, warm in LOOKS:
                stat = timed_command(args, out, repeats, work / "cache", warm)
                checks = {"output": _output_ok(kind, out, work / "collected.csv", n, expect)}
                goal = GOALS_PER_10K[kind] * max(n, 10_000) / 10_000  # goals exist for 10,000 runs and up
                title = {"status": "status, table", "status_json": "status --json", "collect": "collect -o CSV"}[kind]
                rows.append(
                    Row(
                        f"{kind}_{look}_{n}",
                        f"{title}, {n:,} runs, {look_title}",
                        "s",
                        None,
                        stat,
                        Target(f"<= {goal:g} s", max_value=goal),
                        checks,
                        note="one sweep folder of hard-linked copies of a real completed Markov run; whole "
                        f"process, wall time, {stat.n} repeat(s)",
                    )
                )
        shutil.rmtree(sweep)
    return [*rows, merge_row(sizes, work, template)]


def merge_row(sizes: Sizes, work: Path, template: Path) -> Row:
    """``collect`` of many tables into one: a sweep of :data:`MERGE_RUNS` runs collected once, copied under as
    many sweep names as there are tables (so every row is a run of its own), then merged, timed as a user runs it."""
    count = MERGE_TABLES[sizes.label]
    sweep = lay_out(template, work / "merge-sweep", MERGE_RUNS)
    first = work / "tables" / "t000.csv"
    first.parent.mkdir()
    _call(["collect", str(sweep), "-o", str(first)], work / "out.txt", dict(os.environ))
    text = first.read_text(encoding="utf-8")
    tables = [first]
    for k in range(1, count):
        tables.append(first.with_name(f"t{k:03d}.csv"))
        tables[-1].write_text(text.replace(sweep.name, f"{sweep.name}-{k:03d}"), encoding="utf-8")
    merged = work / "merged.csv"
    stat = timed_command(
        ["collect", *map(str, tables), "-o", str(merged)], work / "out.txt", sizes.repeats, work / "cache", False
    )
    n = count * MERGE_RUNS
    shutil.rmtree(sweep)
    return Row(
        _merge_key(sizes),
        f"collect -o CSV of {count} tables x {MERGE_RUNS:,} runs ({n:,} rows)",
        "s",
        None,
        stat,
        Target(f"<= {MERGE_GOAL_S:g} s", max_value=MERGE_GOAL_S),
        {"output": _output_ok("collect", work / "out.txt", merged, n, None)},
        note="tables written by collect from one sweep of hard-linked copies of a real Markov run, each under "
        f"its own sweep name; whole process, wall time, {stat.n} repeat(s)",
    )


def _output_ok(kind: str, out: Path, csv_path: Path, n: int, expect: str | None) -> bool:
    """Did the command show what it should (every run counted, listed or collected)?"""
    if kind == "status":
        return expect is not None and expect in out.read_text(encoding="utf-8")
    if kind == "status_json":
        with out.open("rb") as fh:
            return sum(1 for _ in fh) == n
    with csv_path.open("rb") as fh:
        return sum(1 for _ in fh) == n + 1
