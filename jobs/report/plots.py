"""The report's figures, drawn with matplotlib's object API and saved as PNG atomically.

Figures are built as ``matplotlib.figure.Figure`` objects, never through
pyplot: no global figure state, no GUI backend, nothing to close, so a report
renders the same on a login node without a display. Every function takes
tables from :mod:`jobs.report.data` and writes one PNG; seeds of one
parameter combination are drawn as a mean line with a shaded min-max band.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # savefig must never look for a display

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FixedLocator, MaxNLocator, NullLocator  # noqa: E402

from jobs.report.data import groups, show, spread  # noqa: E402
from seqtasks import atomic  # noqa: E402

DPI = 110
BAND = "shaded: min-max over seeds"
Panel = tuple[str, list[tuple[str, str]]]  # (y-axis label, [(metric column, "training"/"validation")])
#: a line style as matplotlib takes it: a name, or (offset, dash pattern)
LineStyle = Any
#: an RGBA colour
Colour = tuple[float, float, float, float]
STYLES: dict[str, LineStyle] = {"training": "-", "validation": "--"}
REFERENCE_STYLES: list[LineStyle] = [":", "--", "-.", (0, (3, 1, 1, 1, 1, 1))]
#: a figure's legend names every group (configuration) only up to this many
MAX_LEGEND = 12
#: a legend right of the plots takes its width from its longest label; longer ones go below
MAX_SIDE_LABEL = 40


def save(fig: Figure, path: Path) -> Path:
    """Render ``fig`` to PNG in memory, then write it atomically (no torn image on a kill)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return atomic.write_bytes(path, buf.getvalue())


def colours(n: int) -> list[Colour]:
    """Distinct colours: tab10 for up to ten groups, an even sweep of viridis beyond."""
    cmap = matplotlib.colormaps["tab10" if n <= 10 else "viridis"]
    return [cmap(i) for i in range(n)] if n <= 10 else [cmap(x) for x in np.linspace(0, 0.95, n)]


def band(ax: Axes, table: pd.DataFrame, colour: Colour, style: LineStyle = "-", label: str | None = None) -> None:
    """Mean line, with the min-max band where there is more than one seed."""
    ax.plot(table.index, table["mean"], linestyle=style, color=colour, marker="o", markersize=3, label=label)
    if (table["count"] > 1).any():
        ax.fill_between(table.index, table["min"], table["max"], color=colour, alpha=0.2, linewidth=0)


def legend(fig: Figure, handles: Sequence[Artist], keys: Sequence[Artist] = ()) -> None:
    """One legend right of the plots: the groups' ``handles``, then ``keys`` (line styles).

    It goes below the plots when a label is longer than :data:`MAX_SIDE_LABEL`
    (a Markov reference line named with its smoothing method left a char-LSTM
    plot half its width) or when there are more than :data:`MAX_LEGEND`
    groups; then it names the first ones and counts the rest: a random search
    makes a group of every configuration, and 27 long names right of the plot
    left the axes no width at all.
    """
    longest = max((len(str(h.get_label())) for h in [*handles, *keys]), default=0)
    if len(handles) <= MAX_LEGEND and longest <= MAX_SIDE_LABEL:
        fig.legend(handles=[*handles, *keys], loc="outside right upper", fontsize="small")
        return
    shown = list(handles)
    if len(handles) > MAX_LEGEND:
        more = len(handles) - (MAX_LEGEND - 1)
        note = Line2D([], [], color="none", label=f"... and {more} more (see the summary table)")
        shown = [*handles[: MAX_LEGEND - 1], note]
    fig.set_figheight(fig.get_figheight() + 0.17 * (len(shown) + len(keys)))
    fig.legend(handles=[*shown, *keys], loc="outside lower center", fontsize="x-small")


def learning_curves(epochs: pd.DataFrame, params: list[str], panels: list[Panel], title: str, path: Path) -> Path:
    """One panel per quantity (loss, accuracy): a colour per parameter combination, solid training, dashed validation."""
    fig = Figure(figsize=(5.2 * len(panels) + 2.5, 4.2), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    parts = groups(epochs, params)
    palette = colours(len(parts))
    for ax, (ylabel, metrics) in zip(axes, panels):
        for (name, rows), colour in zip(parts, palette):
            for metric, kind in metrics:
                if metric in rows and rows[metric].notna().any():
                    band(ax, spread(rows, "epoch", metric), colour, STYLES[kind])
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    handles = [Line2D([], [], color=c, label=name) for (name, _), c in zip(parts, palette)]
    legend(fig, handles, [Line2D([], [], color="black", linestyle=s, label=k) for k, s in STYLES.items()])
    fig.suptitle(f"{title}\n({BAND})", fontsize="medium")
    return save(fig, path)


def bits_with_references(epochs: pd.DataFrame, params: list[str], refs: pd.DataFrame, path: Path) -> Path:
    """Validation bits per character by epoch, Markov chains on the same text as horizontal lines."""
    fig = Figure(figsize=(8.5, 4.5), layout="constrained")
    ax = fig.subplots()
    parts = groups(epochs, params)
    handles = []
    for (name, rows), colour in zip(parts, colours(len(parts))):
        band(ax, spread(rows, "epoch", "val_bits_per_char"), colour)
        handles.append(Line2D([], [], color=colour, marker="o", markersize=3, label=name))
    corpora = refs["data_name"].nunique() if not refs.empty else 0
    greys = matplotlib.colormaps["Greys"](np.linspace(0.45, 0.9, max(len(refs), 1)))
    keys = []
    for i, ref in enumerate(refs.itertuples()):
        style = REFERENCE_STYLES[i % len(REFERENCE_STYLES)]
        context = ", ".join(part for part in (ref.data_name if corpora > 1 else "", ref.variant) if part)
        text = f"Markov order {ref.order}" + (f" ({context})" if context else "") + f": {ref.bits:.3f}"
        ax.axhline(ref.bits, color=greys[i], linestyle=style, linewidth=1.4)
        keys.append(Line2D([], [], color=greys[i], linestyle=style, label=text))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation bits per character")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    legend(fig, handles, keys)
    note = "grey lines: char-level Markov chains (best order), held-out bits on the same text"
    if not corpora:
        note = "no Markov sweep of this text given"
    ax.set_title(f"char-LSTM: validation bits per character\n({BAND})\n{note}", fontsize="medium")
    return save(fig, path)


def metric_against(
    runs: pd.DataFrame,
    x: str,
    y: str,
    lines: list[str],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    path: Path,
    log2: bool = False,
) -> Path:
    """Final figure ``y`` against parameter ``x``, one line per combination of ``lines``."""
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    frame = runs.assign(**{x: pd.to_numeric(runs[x], errors="coerce")}).dropna(subset=[x])
    parts = groups(frame, lines)
    for (name, rows), colour in zip(parts, colours(len(parts))):
        band(ax, spread(rows, x, y), colour, label=name)
    ticks = sorted(frame[x].unique())
    if log2:
        ax.set_xscale("log", base=2)
        ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.set_xticklabels([show(t) for t in ticks])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    legend(fig, ax.get_legend_handles_labels()[0])
    ax.set_title(f"{title}\n({BAND})", fontsize="medium")
    return save(fig, path)


def heatmap(
    runs: pd.DataFrame,
    rows: str,
    cols: str,
    value: str,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    label: str,
    path: Path,
) -> Path:
    """Mean of ``value`` over a ``rows`` x ``cols`` grid, each cell annotated with its mean and run count."""
    frame = runs.assign(**{value: pd.to_numeric(runs[value], errors="coerce")})
    means = frame.pivot_table(index=rows, columns=cols, values=value, aggfunc="mean").sort_index().sort_index(axis=1)
    counts = frame.pivot_table(index=rows, columns=cols, values=value, aggfunc="count").reindex_like(means)
    fig = Figure(figsize=(1.3 * means.shape[1] + 3.5, 0.9 * means.shape[0] + 2.5), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(means.to_numpy(dtype=float), cmap="viridis", origin="lower", aspect="auto")
    lo, hi = np.nanmin(means.to_numpy(dtype=float)), np.nanmax(means.to_numpy(dtype=float))
    for (i, j), mean in np.ndenumerate(means.to_numpy(dtype=float)):
        if np.isnan(mean):
            continue
        light = hi == lo or (mean - lo) / (hi - lo) < 0.6  # white text on viridis' dark end
        ax.text(
            j,
            i,
            f"{mean:.3f}\nn={int(counts.iat[i, j])}",
            ha="center",
            va="center",
            color="white" if light else "black",
            fontsize="small",
        )
    ax.set_xticks(range(means.shape[1]), [show(c) for c in means.columns])
    ax.set_yticks(range(means.shape[0]), [show(r) for r in means.index])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.colorbar(image, ax=ax, label=label)
    ax.set_title(title, fontsize="medium")
    return save(fig, path)


def halving_legend(ends: list[tuple[str, Any, bool]]) -> list[Line2D]:
    """Legend entries of a halving figure: every configuration when they are few; else those that reached the
    last rung, and one entry counting the others (48 names would run off the figure)."""
    if len(ends) <= MAX_LEGEND:
        return [Line2D([], [], color=colour, label=name) for name, colour, _ in ends]
    handles = [Line2D([], [], color=colour, marker="*", label=name) for name, colour, final in ends if final]
    stopped = sum(1 for _, _, final in ends if not final)
    if stopped:
        handles.append(
            Line2D(
                [],
                [],
                color="grey",
                marker="x",
                linestyle="",
                label=f"{stopped} other configurations, stopped earlier (x)",
            )
        )
    return handles


def halving_curves(epochs: pd.DataFrame, params: list[str], metric: str, higher: bool, path: Path) -> Path:
    """A halving sweep: ``metric`` against epochs, one line per configuration, ending where it stopped.

    Dotted verticals mark the rungs' epochs; a configuration that reached the
    last rung ends in a star, one stopped earlier in a cross.
    """
    fig = Figure(figsize=(8.5, 4.6), layout="constrained")
    ax = fig.subplots()
    parts = groups(epochs, params)
    palette = colours(len(parts))
    last = int(epochs["epoch"].max())
    ends: list[tuple[str, Any, bool]] = []
    for (name, rows), colour in zip(parts, palette):
        table = spread(rows, "epoch", metric)
        if table.empty:
            continue
        band(ax, table, colour, "-", name)
        end = table.index[-1]
        ax.plot([end], [table["mean"].iloc[-1]], marker="*" if end == last else "x", markersize=10, color=colour)
        ends.append((name, colour, end == last))
    for rung in sorted(pd.to_numeric(epochs["stopped_at_epoch"], errors="coerce").dropna().unique()):
        ax.axvline(rung, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{metric} ({'higher' if higher else 'lower'} is better)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    handles = halving_legend(ends)
    # two columns of long names (a random search names every sampled option) run off both sides: then one
    wide = max((len(str(h.get_label())) for h in handles), default=0) > 2 * MAX_SIDE_LABEL
    if wide:
        fig.set_figheight(fig.get_figheight() + 0.17 * len(handles))
    fig.legend(handles=handles, loc="outside lower center", ncols=1 if wide else 2, fontsize="small")
    fig.suptitle(
        f"Successive halving: validation {metric} by epoch, one line per configuration\n({BAND})", fontsize="medium"
    )
    return save(fig, path)
