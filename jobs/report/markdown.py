"""Markdown pieces: tables and generated text, escaped so that any content renders.

Every text a run folder gave -- a run's name, a config value, an error line,
a model's sample -- enters the page through :func:`escape`, so that it reads
as the text it is: no link, image, HTML tag, emphasis or table-cell break of
its own. ``pandas.DataFrame.to_markdown`` needs the optional ``tabulate``
package; a pipe table is a few lines, so the report writes its own and adds
no dependency.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from jobs.report.data import pick_epochs
from jobs.text import shown

#: what would start markup: backslash escapes, code, emphasis (``_`` inside a word cannot), links and images,
#: headings, strikethrough, HTML tags and entities, cell breaks, and the text GitHub links by itself
#: (``://``, ``www.``, ``@``)
MARKUP = re.compile(r"[\\`*\[\]#~<>!&|@]|(?<!\w)_|_(?!\w)|:(?=//)|(?<=www)\.", re.IGNORECASE)


def escape(text: str) -> str:
    """``text`` as Markdown that shows exactly it, on one line (control characters as :func:`jobs.text.shown` writes them)."""
    return MARKUP.sub(lambda m: "\\" + m[0], shown(text))


def cell(value: Any) -> str:
    """A table cell: numbers to 4 decimals, empty for NaN, any text through :func:`escape`."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    return escape(str(value))


def table(frame: pd.DataFrame) -> str:
    """``frame`` as a GitHub pipe table (numeric columns right-aligned)."""
    head = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---:" if pd.api.types.is_numeric_dtype(frame[c]) else "---" for c in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def generated(text: str) -> str:
    """Model-written text inside a table cell: shown verbatim, newlines as visible breaks."""
    return "<br>".join(escape(line) for line in text.split("\n")) or " "


def samples_table(records: list[dict[str, Any]]) -> str:
    """First / middle / last epoch across, the seed text then one row per temperature: how the text improves."""
    epochs = pick_epochs([int(r["epoch"]) for r in records])
    temperatures = sorted({float(r["temperature"]) for r in records})
    text = {(int(r["epoch"]), float(r["temperature"])): str(r["text"]) for r in records}
    seeds = {int(r["epoch"]): str(r.get("seed_text", "")) for r in records}
    head = "| temperature | " + " | ".join(f"epoch {e}" for e in epochs) + " |"
    rule = "|---:|" + "|".join("---" for _ in epochs) + "|"
    seed_row = "| seed text | " + " | ".join(generated(seeds[e]) for e in epochs) + " |"
    body = [f"| {t} | " + " | ".join(generated(text.get((e, t), "")) for e in epochs) + " |" for t in temperatures]
    return "\n".join([head, rule, seed_row, *body])


def image(name: str, caption: str) -> str:
    """An image line and its caption (the file sits beside report.md)."""
    return f"![{caption}]({name})\n\n*{caption}*"
