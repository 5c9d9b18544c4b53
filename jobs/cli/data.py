"""``seqjobs data``: list, fetch (or stage by hand) and locate data sets.

Compute nodes often have no internet, so every failure here says what to run
where; ``fetch --from`` is how a file copied from another machine gets in.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from seqtasks import data
from seqtasks.errors import UserError

app = typer.Typer(help="Fetch, stage and locate data sets (offline-first cache).", no_args_is_help=True)


@app.command("list")
def list_datasets() -> None:
    """Show every known data set, whether it is cached, and where the cache is."""
    table = Table(show_lines=False)
    table.add_column("name", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("cached", no_wrap=True)
    table.add_column("size", no_wrap=True, justify="right")
    table.add_column("source", overflow="fold", ratio=3)
    table.add_column("licence", ratio=2)
    for name, dataset in data.DATASETS.items():
        path = data.cached_path(name)
        table.add_row(
            name,
            dataset.kind,
            "yes" if path else "no",
            _human(data.entry_size(path)) if path else "-",
            " or ".join(source.describe() for source in dataset.sources),
            dataset.licence,
        )
    console = Console()
    console.print(table)
    console.print(f"cache: {data.data_home()}", soft_wrap=True)


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
