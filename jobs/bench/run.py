"""The benchmark groups: what each task-level group reports, and running any group."""

from __future__ import annotations

from jobs.bench.harness import Row
from jobs.bench.sizes import Sizes
from jobs.bench.standins import TEXT_STAND_IN, stand_in_text


def item_keys(sizes: Sizes) -> dict[str, list[str]]:
    """The items each group reports, in order (one row each)."""
    return {
        "markov": ["markov_fit", "markov_sample"],
        "charlm": [
            "charlm_input_memory",
            "charlm_peak_rss",
            *(f"charlm_throughput_b{b}" for b in sizes.batches),
            "charlm_samples",
        ],
        "imdb": ["imdb_epoch", "imdb_evaluate"],
    }


def stand_ins(sizes: Sizes) -> str:
    """What data the task items ran on, for the report."""
    return (
        f"text: the first {sizes.text_chars:,} characters of {TEXT_STAND_IN} (lowercased) stand in for nietzsche; "
        f"reviews: {sizes.reviews:,} train + {sizes.reviews:,} test synthetic IMDB-shaped reviews "
        "(seqtasks.imdb.synthetic: log-normal lengths, median ~180 words, ~9% past 500; label words mixed in), "
        "read through the imdb task's CSV loader (5,000-word vocabulary), stand in for the Keras IMDB data"
    )


def group_rows(group: str, sizes: Sizes) -> list[Row]:
    """Rows of one group: a task-level one (markov, charlm or imdb) in :func:`item_keys` order, jobs, scale or packing."""
    if group == "jobs":
        from jobs.bench.overhead import job_rows  # submitit: only when the job items run

        return job_rows(sizes)
    if group == "scale":
        from jobs.bench.overhead import scale_group_rows

        return scale_group_rows(sizes)
    if group == "packing":
        from jobs.bench.overhead import packing_group_rows

        return packing_group_rows(sizes)
    if group == "markov":
        from jobs.bench.markov_items import markov_rows

        return markov_rows(stand_in_text(sizes.text_chars), sizes)
    if group == "charlm":
        from jobs.bench.charlm_items import charlm_rows

        return charlm_rows(stand_in_text(sizes.text_chars), sizes)
    from jobs.bench.imdb_items import imdb_rows

    return imdb_rows(sizes)


def group_report(group: str, sizes: Sizes) -> tuple[list[Row], str]:
    """Rows of any group, and the Markdown it adds below the table (only ``adaptive`` adds any: every way's
    figures). Optuna and Ray are imported only when the adaptive group runs."""
    if group == "adaptive":
        from jobs.bench.adaptive import adaptive_report

        return adaptive_report(sizes)
    return group_rows(group, sizes), ""
