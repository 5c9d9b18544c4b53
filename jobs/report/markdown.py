"""Markdown pieces: tables and generated text, escaped so that any content renders.

``pandas.DataFrame.to_markdown`` needs the optional ``tabulate`` package; a
pipe table is a few lines, so the report writes its own and adds no
dependency.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from jobs.report.data import pick_epochs

MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]#~<>!])")


def cell(value: Any) -> str:
    """A table cell: numbers to 4 decimals, empty for NaN, pipes and line breaks made harmless."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(frame: pd.DataFrame) -> str:
    """``frame`` as a GitHub pipe table (numeric columns right-aligned)."""
    head = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---:" if pd.api.types.is_numeric_dtype(frame[c]) else "---" for c in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def generated(text: str) -> str:
    """Model-written text inside a table cell: shown verbatim, newlines as visible breaks."""
    escaped = MARKDOWN_PUNCTUATION.sub(r"\\\1", text.replace("&", "&amp;")).replace("|", "\\|")
    return "<br>".join(escaped.split("\n")) or " "


def samples_table(records: list[dict[str, Any]]) -> str:
    """First / middle / last epoch across, the seed text then one row per temperature: how the text improves."""
    epochs = pick_epochs([int(r["epoch"]) for r in records])
    temperatures = sorted({float(r["temperature"]) for r in records})
    text = {(int(r["epoch"]), float(r["temperature"])): str(r["text"]) for r in records}
    seeds = {int(r["epoch"]): str(r.get("seed_text", "")) for r in records}
    head = "| temperature | " + " | ".join(f"epoch {e}" for e in epochs) + " |"
    rule = "|---:|" + "|".join("---" for _ in epochs) + "|"
    seed_row = "| seed text | " + " | ".join(generated(seeds[e]) for e in epochs) + " |"
    body = [
        f"| {t} | " + " | ".join(generated(text.get((e, t), "")) for e in epochs) + " |" for t in temperatures
    ]
    return "\n".join([head, rule, seed_row, *body])


def image(name: str, caption: str) -> str:
    """An image line and its caption (the file sits beside report.md)."""
    return f"![{caption}]({name})\n\n*{caption}*"
