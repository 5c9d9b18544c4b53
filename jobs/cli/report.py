"""``seqjobs report``: plots and a Markdown page for one or more sweeps.

matplotlib is imported inside the command only, so ``seqjobs --help`` and
every other command start without it. The output folder is checked before
any run is read; a damaged run is one warning, counted as unreadable in the
page, never a crash. Tables ``collect`` wrote are reported like folders
(:mod:`jobs.report.data`); a damaged one is one warning, and left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from jobs.cli.common import check_output_folder, output_path
from jobs.text import say
from seqtasks.errors import UserError

#: the folder ``report PATH`` writes into by default: the one place inside a run or sweep folder a command writes
OWN_FOLDER = "report"


def report(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Sweep folders (or run folders, or runs/), and tables collect wrote, to report on."),
    ],
    output: Annotated[
        Optional[Path],
        typer.Option(
            "-o",
            "--output",
            help="Folder for report.md and its PNGs (replaced there). Default: PATH/report for one folder, "
            "NAME-report beside one table NAME.csv, else ./report.",
            parser=output_path,
        ),
    ] = None,
) -> None:
    out = output or _default_folder(paths)
    page = make_report(paths, out)
    pictures = sorted(p.name for p in out.glob("*.png"))
    say(f"wrote {page} and {len(pictures)} plot(s) beside it" + (f": {', '.join(pictures)}" if pictures else ""))


def make_report(paths: list[Path], out: Path) -> Path:
    """Check ``out``, read the runs under ``paths``, write ``out/report.md`` and its plots; the page's path.

    What ``report`` and ``Sweep.report`` both do; a damaged run or table is one warning line.
    """
    from jobs.monitor.status import check_readable, warnings
    from jobs.report import data as rd
    from jobs.report.build import render

    check_output_folder("-o", out, own=[p / OWN_FOLDER for p in paths])
    data = rd.load(paths)
    for line in [*warnings(data.states), *data.found.notes]:
        say(line, err=True)
    if not data.found.tables:
        check_readable(data.states, ", ".join(map(str, paths)))
    elif data.runs.empty:
        raise UserError(f"no completed runs in {', '.join(map(str, paths))}; see the warnings above")
    return render(data, out)


def _default_folder(paths: list[Path]) -> Path:
    """Where the page goes without ``-o``: into one folder's ``report/``, beside one table, else ``./report``."""
    if len(paths) != 1:
        return Path(OWN_FOLDER)
    if paths[0].is_dir():
        return paths[0] / OWN_FOLDER
    return paths[0].with_name(f"{paths[0].stem}-{OWN_FOLDER}")
