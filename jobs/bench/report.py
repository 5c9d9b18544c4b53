"""The benchmark table: on the terminal, as CSV (one row per item) and as Markdown.

Both files are written atomically. The CSV keeps every number (medians and
min-max of each side, the ratio ``baseline / seqjobs``); the Markdown is the
same table for reading, with what each item measured below it.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

from jobs.bench.harness import Row, Stat
from seqtasks import atomic

T = TypeVar("T")

COLUMNS = [
    "item",
    "title",
    "unit",
    "baseline_median",
    "baseline_min",
    "baseline_max",
    "seqjobs_median",
    "seqjobs_min",
    "seqjobs_max",
    "repeats",
    "ratio",
    "target",
    "met",
    "note",
]


def _num(value: float | None, digits: int = 6) -> str:
    return "" if value is None else f"{value:.{digits}g}"


def _side(stat: Stat | None) -> list[str]:
    return ["", "", ""] if stat is None else [_num(stat.median), _num(stat.lo), _num(stat.hi)]


def csv_text(rows: list[Row]) -> str:
    """The table as CSV text, :data:`COLUMNS` in order."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.item,
                r.title,
                r.unit,
                *_side(r.baseline),
                *_side(r.seqjobs),
                r.seqjobs.n if r.seqjobs else "",
                _num(r.ratio, 4),
                r.target.text if r.target else "",
                r.met,
                r.skipped or r.note,
            ]
        )
    return buf.getvalue()


def figure(value: float) -> str:
    """A figure for reading: 4 significant digits, a count of thousands in full (``10,000 jobs``, not ``1e+04``)."""
    value = float(value)  # a median of int repeats is an int, which has no is_integer() before Python 3.12
    return f"{int(value):,}" if value.is_integer() and abs(value) >= 1000 else f"{value:.4g}"


def cell(stat: Stat | None, unit: str) -> str:
    """``median unit (min-max)`` for reading."""
    if stat is None:
        return "-"
    text = f"{figure(stat.median)} {unit}"
    return text if stat.n == 1 or stat.lo == stat.hi else f"{text} ({stat.lo:.3g}-{stat.hi:.3g})"


def readable(rows: list[Row]) -> list[list[str]]:
    """Item, baseline, seqjobs, ratio, target, met? -- as strings."""
    return [
        [
            r.title,
            cell(r.baseline, r.unit),
            cell(r.seqjobs, r.unit) if not r.skipped else r.skipped,
            f"{r.ratio:.3g}x" if r.ratio is not None else "-",
            r.target.text if r.target else "report only",
            r.met,
        ]
        for r in rows
    ]


HEADER = ["item", "baseline (tutorial's way)", "seqjobs", "ratio", "target", "met?"]


def markdown(rows: list[Row], meta: dict[str, Any], appendix: str = "") -> str:
    """The Markdown report: what ran where, the table, each item's note, then what a group adds (``appendix``)."""
    lines = ["# seqjobs benchmark", ""]
    lines += [f"- **{k}**: {v}" for k, v in meta.items()]
    lines += ["", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in cells) + " |" for cells in readable(rows)]
    lines += [
        "",
        "Medians of alternating repeats (min-max in brackets); ratio = baseline / seqjobs.",
        "",
        "## Notes",
        "",
    ]
    lines += [f"- **{r.title}**: {r.skipped or r.note}" for r in rows if r.skipped or r.note]
    return "\n".join(lines) + "\n" + ("\n" + appendix if appendix else "")


def print_table(rows: list[Row], echo: Any = print) -> None:
    """The table on the terminal."""
    table = [HEADER, *readable(rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADER))]
    for n, row in enumerate(table):
        echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if n == 0:
            echo("  ".join("-" * w for w in widths))


def write(rows: list[Row], csv_path: Path, meta: dict[str, Any], appendix: str = "") -> tuple[Path, Path]:
    """Write ``csv_path`` and the Markdown beside it (same name, ``.md``)."""
    md_path = csv_path.with_suffix(".md")
    atomic.write_text(csv_path, csv_text(rows))
    atomic.write_text(md_path, markdown(rows, meta, appendix))
    return csv_path, md_path


def ways_table(header: list[str], done: Mapping[str, T | str], cells: Callable[[T], list[str]]) -> list[str]:
    """A Markdown table with a row per way: ``cells(outcome)`` for a way that ran, dashes and the reason for one
    that did not (an anchor not installed)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, done_as in done.items():
        row = [name, *["-"] * (len(header) - 2), done_as] if isinstance(done_as, str) else cells(done_as)
        lines.append("| " + " | ".join(row) + " |")
    return lines
