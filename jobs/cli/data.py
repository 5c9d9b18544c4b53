"""``seqjobs data``: list, fetch (or stage by hand) and locate data sets.

Compute nodes often have no internet, so every failure here says what to run
where; ``fetch --from`` is how a file copied from another machine gets in.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from seqtasks import data
from seqtasks.errors import UserError

#: the columns of ``data list``; the last two (long free text) are cut to what the terminal leaves
LIST_COLUMNS = ("name", "kind", "cached", "size", "source", "licence")

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_datasets() -> None:
    """Show every known data set, whether it is cached, and where the cache is."""
    rows = []
    for name, dataset in data.DATASETS.items():
        path = data.cached_path(name)
        size = _human(data.entry_size(path)) if path else "-"
        source = " or ".join(_short(s.describe()) for s in dataset.sources)
        rows.append((name, dataset.kind, "yes" if path else "no", size, source, dataset.licence))
    console = Console()
    table = Table(show_lines=False)
    for column in LIST_COLUMNS[:4]:
        table.add_column(column, no_wrap=True, justify="right" if column == "size" else "left")
    # one line per data set even at 80 columns: what does not fit ends in "…" (`data fetch` errors give whole URLs)
    for column, width in zip(LIST_COLUMNS[4:], _text_widths(rows, console.width)):
        table.add_column(column, no_wrap=True, overflow="ellipsis", width=width)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(f"cache: {data.data_home()}", soft_wrap=True)


def _text_widths(rows: Sequence[tuple[str, ...]], total: int) -> tuple[int, int]:
    """Widths of the source and licence columns: what the other columns and the borders leave, 3:2."""
    widest = [max(len(cell) for cell in cells) for cells in zip(LIST_COLUMNS, *rows)]
    left = total - sum(widest[:4]) - (3 * len(widest) + 1)
    source = min(widest[4], max(12, left * 3 // 5))
    return source, min(widest[5], max(8, left - source))


def _short(source: str) -> str:
    """``https://host/a/b/file.txt`` as ``file.txt (host)``: the file first, where a narrow terminal cuts the cell."""
    return re.sub(r"https?://([^/\s]+)/(?:\S*/)?([^/\s]+)", lambda m: f"{m[2]} ({m[1]})", source)


@app.command()
def fetch(
    names: Annotated[
        list[str], typer.Argument(help="Data set names (see `seqjobs data list`).", metavar="NAME", show_default=False)
    ],
    from_path: Annotated[
        Optional[Path],
        typer.Option(
            "--from",
            help="Stage this local file, folder or tarball instead of downloading "
            "(for machines without internet); only with one NAME.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Download data sets (or stage one with --from) into the cache, verifying checksums."""
    if from_path is not None and len(names) != 1:
        raise UserError(
            f"--from stages one data set, got {len(names)} ({' '.join(names)}); "
            f"run: seqjobs data fetch NAME --from PATH once per data set"
        )
    for name in names:  # a typo in the last name should not cost a download of the first
        data.get_dataset(name)
    for name in names:
        start = time.monotonic()
        path = data.fetch(name, from_path)
        typer.echo(f"{name}: {path} ({_human(data.entry_size(path))}, verified, {time.monotonic() - start:.1f} s)")


@app.command()
def path(
    name: Annotated[
        str, typer.Argument(help="Data set name (see `seqjobs data list`).", metavar="NAME", show_default=False)
    ],
) -> None:
    """Print the cached path of a data set, for scripts: wc -c $(seqjobs data path moby-dick)."""
    typer.echo(str(data.dataset_path(name)))


def _human(size: int) -> str:
    """A byte count the way people read it (1.2 MB)."""
    if size < 1000:
        return f"{size} B"
    value = size / 1000
    for unit in ("kB", "MB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"
