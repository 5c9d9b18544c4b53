"""``seqjobs report``: plots and a Markdown page for one or more sweeps.

matplotlib is imported inside the command only, so ``seqjobs --help`` and
every other command start without it. The output folder is checked before
any run is read; a damaged run is one warning, counted as unreadable in the
page, never a crash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from jobs.cli.common import check_output_folder


def report(
    paths: Annotated[list[Path], typer.Argument(help="Sweep folders (or run folders, or runs/) to report on.")],
    output: Annotated[
        Optional[Path],
        typer.Option(
            "-o", "--output", help="Folder for report.md and its PNGs. Default: PATH/report for one path, else ./report."
        ),
    ] = None,
) -> None:
    """Write report.md with learning curves, accuracy grids, Markov baselines and samples (PNG plots)."""
    from jobs.monitor.status import check_readable, warnings
    from jobs.report import data as rd
    from jobs.report.build import render

    out = output or (paths[0] / "report" if len(paths) == 1 else Path("report"))
    check_output_folder("-o", out)
    data = rd.load(paths)
    for line in warnings(data.states):
        typer.echo(line, err=True)
    check_readable(data.states, ", ".join(map(str, paths)))
    page = render(data, out)
    pictures = sorted(p.name for p in out.glob("*.png"))
    typer.echo(f"wrote {page} and {len(pictures)} plot(s) beside it" + (f": {', '.join(pictures)}" if pictures else ""))
