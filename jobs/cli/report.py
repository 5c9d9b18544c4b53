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

from jobs.cli.common import check_output_folder, output_path
from jobs.text import say

#: the folder ``report PATH`` writes into by default: the one place inside a run or sweep folder a command writes
OWN_FOLDER = "report"


def report(
    paths: Annotated[list[Path], typer.Argument(help="Sweep folders (or run folders, or runs/) to report on.")],
    output: Annotated[
        Optional[Path],
        typer.Option(
            "-o",
            "--output",
            help="Folder for report.md and its PNGs (replaced there). Default: PATH/report for one path, else ./report.",
            parser=output_path,
        ),
    ] = None,
) -> None:
    from jobs.monitor.status import check_readable, warnings
    from jobs.report import data as rd
    from jobs.report.build import render

    out = output or (paths[0] / OWN_FOLDER if len(paths) == 1 else Path(OWN_FOLDER))
    check_output_folder("-o", out, own=[p / OWN_FOLDER for p in paths])
    data = rd.load(paths)
    for line in warnings(data.states):
        say(line, err=True)
    check_readable(data.states, ", ".join(map(str, paths)))
    page = render(data, out)
    pictures = sorted(p.name for p in out.glob("*.png"))
    say(f"wrote {page} and {len(pictures)} plot(s) beside it" + (f": {', '.join(pictures)}" if pictures else ""))
