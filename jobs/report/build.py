"""Put a report together: status, summary table, runs left out, then one section per task, into report.md.

Each task has one section function returning Markdown lines and writing its
PNGs beside the page, so links in report.md are bare file names and the
folder can be moved or zipped as a whole.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pandas as pd

from jobs.monitor.collect import describe, summarise
from jobs.monitor.reading import problem
from jobs.monitor.status import summary
from jobs.report import data as rd
from jobs.report import markdown as md
from jobs.report import plots
from jobs.text import count
from seqtasks import atomic
from seqtasks.config import cli_name
from seqtasks.errors import UserError
from seqtasks.rundir import Damaged
from seqtasks.rundir.states import RunState
from seqtasks.tasks import TASKS

PAGE = "report.md"
MAX_SAMPLE_RUNS = 6  # samples of the best few combinations; a 50-run page must stay readable


def header(data: rd.ReportData) -> list[str]:
    """Title, sources, the run count by state, and what the tables among the sources could not give."""
    names = md.escape(", ".join(Path(p).resolve().name for p in data.paths))
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    sources = md.escape(", ".join(map(str, data.paths)))
    missing = data.not_completed()
    warning = (
        f" {count(len(missing), 'run')} {'is' if len(missing) == 1 else 'are'} not in the plots: see *Runs not in this report* below."
        if missing
        else ""
    )
    counts = [summary(data.states)] if data.states or not data.found.tables else []
    counts += [md.escape(describe(data.found))] if data.found.tables else []
    return [
        f"# Report: {names}",
        "",
        f"Generated {stamp} from {sources}.",
        "",
        f"**{'; '.join(counts)}.**{warning}",
        "",
        *tables_note(data),
    ]


def tables_note(data: rd.ReportData) -> list[str]:
    """What the runs from tables lack here: samples of text (only a run folder has them), and curves without an epochs table."""
    if not data.found.tables:
        return []
    note = (
        "Runs from tables are drawn from the tables alone: their samples of text and their models stay in their "
        "run folders and are not in this report"
    )
    if data.found.without_epochs:
        note += "; no per-epoch table (.epochs.csv) beside " + ", ".join(data.found.without_epochs)
        note += ", so their runs have no learning curves"
    return [md.escape(note) + ".", ""]


def left_out(data: rd.ReportData) -> list[str]:
    """Runs that are not in the plots, with their error line: a failed sweep must say so."""
    rows = data.not_completed()
    if not rows:
        return []
    failed = sum(r.state == RunState.FAILED for r in rows)
    lines = [f"## Runs not in this report ({len(rows)}: {failed} failed)", ""]
    lines.append("| run folder | task | state | error | log |")
    lines.append("|---|---|---|---|---|")
    for r in rows:
        lines.append("| " + " | ".join(md.cell(v) for v in (r.path, r.task, r.state, r.error, r.log)) + " |")
    return lines + [""]


def summary_tables(data: rd.ReportData) -> list[str]:
    """``collect``'s summary over seeds, one table per task, best configuration first."""
    lines = ["## Summary (mean over seeds, best first)", ""]
    for task in data.tasks():
        spec = TASKS[task]
        table = summarise(data.task(task)).drop(columns="task")
        better = "higher" if spec.higher_is_better else "lower"
        lines += [f"### {task}: `{spec.main_metric}` ({better} is better)", "", md.table(table), ""]
    return lines


def markov_section(data: rd.ReportData, out: Path) -> list[str]:
    """Held-out bits per symbol against the chain's order, one line per level."""
    runs = data.task("markov")
    line_params = rd.varied(runs, "markov", exclude=("order",))
    if "level" not in line_params:
        line_params = ["level", *line_params]
    plots.metric_against(
        runs,
        "order",
        "heldout_bits_per_symbol",
        line_params,
        path=out / "markov_bits_by_order.png",
        title="Markov chains: held-out bits per symbol",
        xlabel="order k (previous symbols used)",
        ylabel="held-out bits per symbol\n(per character or per word)",
    )
    caption = "Held-out bits per symbol against order; lower is better (char and word levels count different symbols)."
    return ["## Markov chains", "", md.image("markov_bits_by_order.png", caption), ""]


def imdb_section(data: rd.ReportData, out: Path) -> list[str]:
    """Learning curves, then test accuracy over embedding size x depth (heatmap and lines)."""
    runs, epochs = data.task("imdb"), data.task_epochs("imdb")
    lines = ["## IMDB sentiment (Embedding + LSTM)", ""] + curves_block(
        "imdb",
        runs,
        epochs,
        "Sentiment LSTM: learning curves",
        [
            ("loss (binary cross-entropy, nats)", [("loss", "training"), ("val_loss", "validation")]),
            ("accuracy (fraction)", [("accuracy", "training"), ("val_accuracy", "validation")]),
        ],
        out,
    )
    others = rd.varied(runs, "imdb", exclude=("embedding_dim", "layers"))
    averaged = "".join(f"{cli_name(p)}, " for p in others) + "seeds"
    plots.heatmap(
        runs,
        "layers",
        "embedding_dim",
        "test_accuracy",
        path=out / "imdb_accuracy_heatmap.png",
        title=f"Mean test accuracy by embedding size and depth\n(averaged over {averaged})",
        xlabel="embedding size (--embedding-dim)",
        ylabel="depth (--layers, stacked LSTMs)",
        label="mean test accuracy (fraction)",
    )
    plots.metric_against(
        runs,
        "embedding_dim",
        "test_accuracy",
        ["layers", *others],
        path=out / "imdb_accuracy_by_embedding.png",
        title="Test accuracy against embedding size",
        xlabel="embedding size (vector length, log2 scale)",
        ylabel="test accuracy (fraction)",
        log2=True,
    )
    return lines + [
        md.image(
            "imdb_accuracy_heatmap.png", f"Mean test accuracy over embedding size x depth (averaged over {averaged})."
        ),
        "",
        md.image("imdb_accuracy_by_embedding.png", "Test accuracy against embedding size, one line per depth."),
        "",
    ]


def charlm_section(data: rd.ReportData, out: Path) -> list[str]:
    """Learning curves, validation bits per character against the Markov chains, then samples."""
    runs, epochs = data.task("charlm"), data.task_epochs("charlm")
    lines = ["## Character-level LSTM", ""] + curves_block(
        "charlm",
        runs,
        epochs,
        "char-LSTM: learning curves",
        [("loss (cross-entropy, nats per character)", [("loss", "training"), ("val_loss", "validation")])],
        out,
    )
    if "val_bits_per_char" in epochs:
        refs = rd.markov_references(data.runs, runs)
        plots.bits_with_references(epochs, rd.varied(runs, "charlm"), refs, out / "charlm_val_bits.png")
        note = (
            "the best order of each Markov chain of the same text as a horizontal line"
            if not refs.empty
            else (
                "give a char-level `markov` sweep of the same text among the paths to draw Markov chains for comparison"
            )
        )
        lines += [md.image("charlm_val_bits.png", f"Validation bits per character by epoch; {note}."), ""]
    return lines + samples_block(runs, data.from_tables(runs))


def halving_section(data: rd.ReportData, task: str, out: Path) -> list[str]:
    """The halving picture of ``task``'s halving runs (none: nothing)."""
    epochs = data.task_epochs(task)
    if "rung" not in epochs or epochs["rung"].isna().all():
        return []
    epochs = epochs[epochs["rung"].notna()]
    metric, higher = TASKS[task].val_metrics[0]
    name = f"{task}_halving.png"
    plots.halving_curves(epochs, rd.varied(epochs, task, exclude=("epochs",)), metric, higher, out / name)
    return [
        f"### {task}: successive halving",
        "",
        md.image(
            name,
            f"Validation {metric} by epoch, one line per configuration (mean over seeds), ending "
            "where halving stopped it; dotted lines: the rungs.",
        ),
        "",
    ]


def curves_block(
    task: str, runs: pd.DataFrame, epochs: pd.DataFrame, title: str, panels: list[plots.Panel], out: Path
) -> list[str]:
    """The learning-curves figure of ``task``, or a line saying why there is none."""
    if epochs.empty:
        return ["No metrics.csv rows in these runs: no learning curves.", ""]
    name = f"{task}_curves.png"
    plots.learning_curves(epochs, rd.varied(runs, task), panels, title, out / name)
    caption = "Learning curves: one colour per parameter combination, mean over seeds with min-max shaded."
    return [md.image(name, caption), ""]


def samples_block(runs: pd.DataFrame, from_tables: pd.Series) -> list[str]:
    """Generated text of the first, a middle and the last epoch: the best run of each of the best combinations.

    ``from_tables``: the runs that came from a table, whose samples stay in their folders (:func:`tables_note`).
    """
    params = rd.varied(runs, "charlm")
    metric = TASKS["charlm"].main_metric
    runs = runs[~from_tables]
    if runs.empty:
        return []
    ranked = runs.sort_values([metric, "seed"]) if metric in runs else runs.sort_values("seed")
    picked = ranked.drop_duplicates(subset=params) if params else ranked.head(1)
    lines = ["### Samples: the text at the first, a middle and the last epoch", ""]
    if len(picked) > MAX_SAMPLE_RUNS:
        lines += [f"Showing the {MAX_SAMPLE_RUNS} best of {len(picked)} parameter combinations.", ""]
    shown = 0
    for _, run in picked.head(MAX_SAMPLE_RUNS).iterrows():
        try:
            records = rd.samples(run["path"])
        except Damaged as err:
            lines += [
                f"Samples of run {md.escape(run['run'])} not shown: {md.escape(problem(err, Path(run['path'])))}.",
                "",
            ]
            continue
        if not records:
            continue
        shown += 1
        lines += [
            f"#### {md.escape(rd.label(params, tuple(run[p] for p in params)))} (run {md.escape(run['run'])})",
            "",
            md.samples_table(records),
            "",
        ]
    return lines if shown else lines + ["No samples.jsonl in these runs.", ""]


def own_task_section(data: rd.ReportData, task: str, out: Path) -> list[str]:
    """A user's task: its learning curves, one panel per figure logged both for training and validation."""
    runs, epochs = data.task(task), data.task_epochs(task)
    panels: list[plots.Panel] = [
        (name, [(name, "training"), (f"val_{name}", "validation")])
        for name in epochs.columns
        if f"val_{name}" in epochs.columns
    ]
    lines = [f"## {task}: {TASKS[task].summary}", ""]
    if not panels:
        return lines + ["No figure logged for both training and validation: no learning curves.", ""]
    return lines + curves_block(task, runs, epochs, f"{task}: learning curves", panels, out)


SECTIONS: dict[str, Callable[[rd.ReportData, Path], list[str]]] = {
    "markov": markov_section,
    "imdb": imdb_section,
    "charlm": charlm_section,
}


def write_report(paths: list[Path], out: Path) -> Path:
    """Write ``out/report.md`` and its PNGs for the runs under ``paths``; return the page's path."""
    return render(rd.load(paths), out)


def render(data: rd.ReportData, out: Path) -> Path:
    """Write ``out/report.md`` and its PNGs for ``data``; return the page's path."""
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file; give -o a folder for report.md and its plots")
    out.mkdir(parents=True, exist_ok=True)
    lines = header(data)
    if data.runs.empty:
        lines += ["No completed runs yet: nothing to plot.", ""] + left_out(data)
    else:
        lines += summary_tables(data) + left_out(data)
        for task in data.tasks():
            section = SECTIONS[task](data, out) if task in SECTIONS else own_task_section(data, task, out)
            lines += section + halving_section(data, task, out)
    return atomic.write_text(out / PAGE, "\n".join(lines).rstrip() + "\n")
