"""``seqjobs bench``: time seqjobs against the tutorial's way, item by item, and write the table.

The items come from :mod:`jobs.bench` (task-level items, and the job-overhead
items of :mod:`jobs.bench.overhead`). The table goes to the terminal, to a
CSV (one row per item) and to a Markdown file beside it.
"""

from __future__ import annotations

import os
import platform
import socket
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from jobs.cli.common import check_output_file, output_path
from seqtasks.errors import UserError

GROUPS = ("markov", "charlm", "imdb", "jobs", "scale", "packing", "adaptive")
#: what runs without --only: adaptive needs the bench extra (Optuna, Ray) and runs only when named
DEFAULT_GROUPS = tuple(g for g in GROUPS if g != "adaptive")
METHOD = (
    "every item alternates baseline and seqjobs runs in one process (peak RSS: fresh child processes); "
    "figures are medians with min-max; char-LSTM training speed is timed on a fixed number of steps after "
    "warm-up steps, IMDB: the tutorial's 3 whole epochs per seed, each run in parts, the two ways in turn; as each note says"
)


def bench(
    quick: Annotated[
        bool,
        typer.Option("--quick", help="Small sizes, about a minute (CI smoke test); default: the tutorial's sizes."),
    ] = False,
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            help="CSV to write (a file there is replaced); the Markdown table goes beside it (.md).",
            parser=output_path,
        ),
    ] = Path("results/bench.csv"),
    only: Annotated[
        Optional[list[str]],
        typer.Option(
            "--only",
            help=f"Run only these groups (repeatable): {', '.join(GROUPS)}. adaptive (halving against its anchors, "
            "Optuna and Ray: the bench extra of seqjobs' install) runs only when named.",
        ),
    ] = None,
) -> None:
    groups = list(only or DEFAULT_GROUPS)
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        raise UserError(f"--only: unknown group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    check_output_file("-o", output)  # refused now, not after the whole benchmark ran; first: the .md is named after it
    check_output_file("-o", output.with_suffix(".md"))

    from jobs.bench import report, run
    from jobs.bench.harness import Row
    from jobs.bench.sizes import FULL, QUICK
    from seqtasks.rundir import now_iso
    from seqtasks.tfsetup import job_threads
    from seqtasks.version import library_versions

    sizes = QUICK if quick else FULL
    started, load_before = now_iso(), os.getloadavg()[0]
    typer.echo(f"seqjobs bench ({sizes.label} sizes): {', '.join(g for g in GROUPS if g in groups)}", err=True)
    rows: list[Row] = []
    appendix = ""
    for group in (g for g in GROUPS if g in groups):
        start = time.perf_counter()
        group_rows, added = run.group_report(group, sizes)
        rows, appendix = rows + group_rows, appendix + added
        typer.echo(f"  {group} done in {time.perf_counter() - start:.0f} s", err=True)
    meta = {
        "command": "seqjobs bench"
        + (" --quick" if quick else "")
        + f" -o {output}"
        + "".join(f" --only {g}" for g in only or []),
        "sizes": sizes.label + (" (a smoke test: the targets are set for the full, tutorial sizes)" if quick else ""),
        "started": started,
        "ended": now_iso(),
        "machine": f"{socket.gethostname()}, {os.cpu_count()} cores, TensorFlow threads: {job_threads() or 'all'}; "
        f"load average (1 min) {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end",
        "software": f"Python {platform.python_version()}, "
        + ", ".join(f"{k} {v}" for k, v in library_versions().items()),
        "data": "the synthetic workloads below, and rt-snippets (the real search)"
        if groups == ["adaptive"]
        else run.stand_ins(sizes),
        "method": METHOD,
    }
    report.print_table(rows, typer.echo)
    csv_path, md_path = report.write(rows, output, meta, appendix)
    typer.echo(
        f"wrote {csv_path} and {md_path}; targets met: "
        f"{sum(r.met == 'yes' for r in rows)}, missed: {sum(r.met == 'no' for r in rows)}",
        err=True,
    )
