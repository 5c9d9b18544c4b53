"""Random search (``sweep --sample NAME=DIST --trials N``): parsing, bad input, draws, names, manifest, end to end.

The parsing and drawing tests use the real task configs and numpy's real
generator, and write nothing; the bad-input cases run the real CLI in
process in an empty folder and check that it stays empty. The end-to-end
tests (marked slow) run real Markov sweeps through the local executor, then
``collect`` them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

import pytest

from jobs.engine.sampling import Distribution, draw_trials, parse_sample, parse_samples, sample_runs
from jobs.engine.sweep import expand
from seqtasks.errors import UserError
from seqtasks.imdb.config import ImdbConfig
from seqtasks.markov.config import MarkovConfig
from seqtasks.rundir import SweepDir
from tests.helpers import assert_one_line_error, seqjobs

# -- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "item", "expected"),
    [
        (ImdbConfig, "dropout=uniform(0,0.5)", Distribution("dropout", "uniform", (0.0, 0.5))),
        (ImdbConfig, "lr=loguniform(1e-4,1e-2)", Distribution("lr", "loguniform", (1e-4, 1e-2))),
        (ImdbConfig, "layers=int(1,3)", Distribution("layers", "int", (1, 3))),
        (ImdbConfig, "layers=randint(1,3)", Distribution("layers", "int", (1, 3))),  # the alias
        (ImdbConfig, "embedding-dim=choice(16,64)", Distribution("embedding_dim", "choice", (16, 64))),
        (ImdbConfig, "model=choice(lstm,bow)", Distribution("model", "choice", ("lstm", "bow"))),
        (ImdbConfig, "bucket=choice(yes,no)", Distribution("bucket", "choice", (True, False))),
        (ImdbConfig, "lr=int(1,2)", Distribution("lr", "int", (1, 2))),  # integers drawn for a float field
        (MarkovConfig, " smoothing = Uniform( 0.5 , 2 ) ", Distribution("smoothing", "uniform", (0.5, 2.0))),
        (
            MarkovConfig,
            "smoothing-method=choice(dirichlet,kneser-ney)",
            Distribution("smoothing_method", "choice", ("dirichlet", "kneser-ney")),
        ),
    ],
)
def test_each_distribution_is_parsed_with_the_fields_own_types(cls: type, item: str, expected: Distribution) -> None:
    dist = parse_sample(item, cls)
    assert dist == expected
    assert [type(a) for a in dist.args] == [type(a) for a in expected.args]


def test_the_recorded_spelling_is_canonical() -> None:
    assert str(parse_sample("embedding-dim=randint( 8,64)", ImdbConfig)) == "embedding-dim=int(8,64)"
    assert str(parse_sample("lr=loguniform(1e-4,0.01)", ImdbConfig)) == "lr=loguniform(0.0001,0.01)"


# -- bad input: one line, exit 2, a correct example, nothing written --------------------------------

SWEEP = ("sweep", "markov", "--length", "20", "--executor", "local", "--name", "rs")

BAD = [
    (["--sample", "order"], ["must look like NAME=DIST", "e.g. --sample 'order=int(1,4)'"]),
    (["--sample", "order=int(1,4"], ["must look like NAME=DIST", "e.g. --sample 'order=int(1,4)'"]),
    (["--sample", "=int(1,4)"], ["must look like NAME=DIST", "e.g. --sample '"]),
    (["--sample", "order=normal(1,2)"], ["unknown distribution 'normal'", "e.g. --sample 'order=int(1,4)'"]),
    (["--sample", "colour=uniform(0,1)"], ["unknown parameter 'colour'", "known: corpus, order", "e.g. --sample '"]),
    (["--sample", "order=uniform(1,4)"], ["--order is of type int", "e.g. --sample 'order=int(1,4)'"]),
    (["--sample", "order=loguniform(1,4)"], ["--order is of type int", "e.g. --sample 'order=int(1,4)'"]),
    (["--sample", "level=int(1,2)"], ["--level is one of char|word", "e.g. --sample 'level=choice(char,word)'"]),
    (["--sample", "keep-case=uniform(0,1)"], ["--keep-case", "e.g. --sample 'keep-case=choice(true,false)'"]),
    (["--sample", "order=int(1.5,3)"], ["whole-number bounds", "e.g. --sample 'order=int(1,4)'"]),
    (["--sample", "order=int(4,1)"], ["low bound must be smaller", "e.g. --sample 'order=int(1,4)'"]),
    (["--sample", "order=int(2,2)"], ["low bound must be smaller"]),
    (["--sample", "order=int(1,2,3)"], ["two bounds", "(got 3)"]),
    (["--sample", "smoothing=uniform(1)"], ["two bounds", "(got 1)", "e.g. --sample 'smoothing=uniform(0.1,0.5)'"]),
    (["--sample", "smoothing=uniform(a,1)"], ["'a' is not a valid value", "expected finite float"]),
    (["--sample", "smoothing=uniform(0.1,nan)"], ["'nan' is not a valid value"]),
    (
        ["--sample", "smoothing=loguniform(0,1)"],
        ["loguniform needs bounds above 0", "e.g. --sample 'smoothing=loguniform(1e-4,1e-2)'"],
    ),
    (["--sample", "smoothing=uniform(0,2)"], ["0.0 is not a value --smoothing accepts", "--smoothing must be > 0"]),
    (["--sample", "val-fraction=uniform(0.5,1.5)"], ["1.5 is not a value --val-fraction accepts", "between 0 and 1"]),
    (["--sample", "order=int(1,30)"], ["30 is not a value --order accepts", "--order must be <= 20"]),
    (["--sample", "order=choice(1,25)"], ["25 is not a value --order accepts"]),
    (["--sample", "level=choice(char)"], ["at least two different values", "e.g. --sample 'level=choice(char,word)'"]),
    (["--sample", "order=choice(1,1)"], ["at least two different values", "e.g. --sample 'order=choice(1,2)'"]),
    (["--sample", "level=choice(char,sentence)"], ["'sentence' is not a valid value", "char|word"]),
    (["--sample", "seed=int(1,3)"], ["seed is not sampled", "--seeds N"]),
    (["--sample", "start=choice(a\nb,c)"], ["control character"]),
    (
        ["--sample", "order=int(1,3)", "--sample", "order=int(1,2)"],
        ["'order' is given twice", "e.g. --sample 'order=int(1,4)'"],
    ),
    (["--sample", "order=int(1,3)", "--grid", "order=1,2"], ["also given in --grid or --zip"]),
    (["--sample", "order=int(1,3)", "--zip", "order=1,2"], ["also given in --grid or --zip"]),
    (["--sample", "order=int(1,3)"], ["--sample needs --trials N", "--trials 20"]),
    (["--trials", "3"], ["--trials needs --sample", "e.g. --sample '"]),
    (["--sampler-seed", "3"], ["--sampler-seed needs --sample"]),
    (["--sample", "order=int(1,3)", "--trials", "0"], ["--trials must be >= 1"]),
    (["--sample", "order=int(1,3)", "--trials", "4"], ["--trials 4 is more than the 3 different points", "--trials 3"]),
    (["--sample", "order=int(1,3)", "--trials", "2", "--sampler-seed", "-1"], ["--sampler-seed must be >= 0"]),
    (["--sample", "order=int(1,3)", "--trials", "2", "--sampler-seed", "x"], ["--sampler-seed", "'x'"]),
    (["--sample", "smoothing=uniform(1,2)", "--trials", "60000", "--seeds", "2"], ["120000 runs", "split it"]),
]


@pytest.mark.parametrize(("extra", "fragments"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_sample_input_is_one_line_and_writes_nothing(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: list[str], fragments: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(cli(*SWEEP, *extra), *fragments, only=True)
    assert list(tmp_path.iterdir()) == []


# -- draws -------------------------------------------------------------------------------------


def space(cls: type, *items: str) -> list[Distribution]:
    return parse_samples(list(items), cls, cls(), set())


IMDB_SPACE = ("lr=loguniform(1e-4,1e-1)", "layers=int(1,3)", "dropout=uniform(0,0.5)", "model=choice(lstm,bilstm,bow)")


def test_the_same_seed_draws_the_same_trials_and_another_seed_others() -> None:
    sp = space(ImdbConfig, *IMDB_SPACE)
    assert draw_trials(sp, 20, 7, ImdbConfig) == draw_trials(sp, 20, 7, ImdbConfig)
    first, other = draw_trials(sp, 20, 7, ImdbConfig), draw_trials(sp, 20, 8, ImdbConfig)
    assert [t["lr"] for t in first] != [t["lr"] for t in other]


def test_a_trials_values_do_not_depend_on_how_many_trials_follow_or_on_the_other_parameters() -> None:
    sp = space(ImdbConfig, *IMDB_SPACE)
    assert draw_trials(sp, 30, 11, ImdbConfig)[:10] == draw_trials(sp, 10, 11, ImdbConfig)
    lr_alone = [t["lr"] for t in draw_trials(space(ImdbConfig, "lr=loguniform(1e-4,1e-1)"), 10, 11, ImdbConfig)]
    reordered = draw_trials(space(ImdbConfig, *reversed(IMDB_SPACE)), 10, 11, ImdbConfig)
    assert [t["lr"] for t in reordered] == lr_alone == [t["lr"] for t in draw_trials(sp, 10, 11, ImdbConfig)]


def test_drawn_values_stay_in_bounds_have_the_fields_type_and_spread_over_decades() -> None:
    trials = draw_trials(space(ImdbConfig, *IMDB_SPACE), 300, 3, ImdbConfig)
    lrs = [t["lr"] for t in trials]
    assert all(type(v) is float and 1e-4 <= v <= 1e-1 for v in lrs)
    decades = [sum(10.0 ** -(d + 1) <= v < 10.0**-d for v in lrs) for d in (1, 2, 3)]
    assert all(n >= 60 for n in decades), decades  # about 100 in each of the three decades, not most in the top one
    assert all(type(t["layers"]) is int for t in trials) and {t["layers"] for t in trials} == {1, 2, 3}  # both ends
    assert all(type(t["dropout"]) is float and 0 <= t["dropout"] < 0.5 for t in trials)
    assert {t["model"] for t in trials} == {"lstm", "bilstm", "bow"}
    as_floats = draw_trials(space(ImdbConfig, "lr=int(1,3)"), 3, 3, ImdbConfig)
    assert sorted(t["lr"] for t in as_floats) == [1.0, 2.0, 3.0] and all(type(t["lr"]) is float for t in as_floats)


def test_no_trial_repeats_another_and_a_space_with_every_point_drawn_is_used_up() -> None:
    sp = space(MarkovConfig, "order=int(1,3)", "level=choice(char,word)")
    trials = draw_trials(sp, 6, 5, MarkovConfig)
    assert sorted((t["order"], t["level"]) for t in trials) == [(o, lv) for o in (1, 2, 3) for lv in ("char", "word")]
    with pytest.raises(UserError, match="--trials 7 is more than the 6 different points"):
        draw_trials(sp, 7, 5, MarkovConfig)


# -- crossed with the grid and seeds ---------------------------------------------------------------------


def test_each_trial_is_crossed_with_the_grid_and_seeds_keeping_its_values(tmp_path: Path) -> None:
    base = ImdbConfig(epochs=1)
    grid_runs = expand(ImdbConfig, base, {"layers": [1, 2]}, {}, 2)
    runs, recorded = sample_runs(
        base, grid_runs, ["lr=loguniform(1e-4,1e-2)", "dropout=uniform(0,0.5)"], 3, 42, {"layers"}, tmp_path / "sw"
    )
    assert [name for name, _ in runs] == [
        f"trial={t:03d}_layers={layers}_seed={seed}" for t in (1, 2, 3) for layers in (1, 2) for seed in (0, 1)
    ]
    by_trial: dict[str, set[tuple[float, float]]] = {}
    for name, config in runs:
        by_trial.setdefault(name[:9], set()).add((config.lr, config.dropout))
        assert config.epochs == 1 and f"layers={config.layers}_seed={config.seed}" in name
    assert all(len(values) == 1 for values in by_trial.values())  # one draw per trial, over its grid points and seeds
    assert len({v for values in by_trial.values() for v in values}) == 3
    assert recorded == {
        "sample": ["lr=loguniform(0.0001,0.01)", "dropout=uniform(0.0,0.5)"],
        "trials": 3,
        "sampler_seed": 42,
    }
    alone, _ = sample_runs(
        base, expand(ImdbConfig, base, {}, {}, 1), ["lr=loguniform(1e-4,1e-2)"], 2, 42, set(), tmp_path
    )
    assert [name for name, _ in alone] == ["trial=001", "trial=002"]


def test_a_trial_the_config_refuses_is_named_with_its_values(tmp_path: Path) -> None:
    base = ImdbConfig()
    items = ["skip-top=int(0,1000)", "top-words=int(10,20)"]  # each range alone is valid; most pairs are not
    with pytest.raises(
        UserError,
        match=r"--sample: trial=\d{3} drew skip-top=\d+, top-words=\d+, which the config "
        r"refuses \(--skip-top .* leaves no word",
    ):
        sample_runs(base, [("run", base)], items, 5, 1, set(), tmp_path)


# -- the sampler seed: drawn, recorded, reused --------------------------------------------------------------


def record(sweep_dir: Path, options: dict[str, Any]) -> None:
    """A sweep.json as ``sweep`` writes it, through SweepDir."""
    sweep = SweepDir(sweep_dir)
    with sweep.locked():
        sweep.record("markov", {}, {}, {}, {"grid": [], "zip": [], "seeds": 1, **options}, {})


def test_a_sweep_folder_that_recorded_a_seed_is_continued_with_it(tmp_path: Path) -> None:
    base = MarkovConfig()
    items = ["order=int(1,4)", "smoothing=loguniform(0.01,10)"]
    _, fresh = sample_runs(base, [("run", base)], items, 3, None, set(), tmp_path / "new")
    _, other = sample_runs(base, [("run", base)], items, 3, None, set(), tmp_path / "new")
    assert fresh["sampler_seed"] != other["sampler_seed"]  # drawn anew where nothing is recorded
    record(tmp_path / "rs", fresh)
    again, reused = sample_runs(base, [("run", base)], items, 4, None, set(), tmp_path / "rs")
    assert reused["sampler_seed"] == fresh["sampler_seed"] and reused["trials"] == 4
    first, _ = sample_runs(base, [("run", base)], items, 3, fresh["sampler_seed"], set(), tmp_path / "new")
    assert again[:3] == first
    with pytest.raises(UserError, match=f"was sampled with --sampler-seed {fresh['sampler_seed']}; give that seed"):
        sample_runs(base, [("run", base)], items, 3, fresh["sampler_seed"] + 1, set(), tmp_path / "rs")
    with pytest.raises(UserError, match=r"was sampled from --sample 'order=int\(1,4\)' .*give the same --sample"):
        sample_runs(base, [("run", base)], ["order=int(1,5)", items[1]], 3, None, set(), tmp_path / "rs")
    record(tmp_path / "grid", {})  # a plain grid sweep's folder: a search there draws its own seed
    _, own = sample_runs(base, [("run", base)], items, 2, 5, set(), tmp_path / "grid")
    assert own["sampler_seed"] == 5


# -- end to end ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_random_search_runs_collects_and_is_continued_not_repeated(tmp_path: Path, small_text: Path) -> None:
    args = [
        "sweep",
        "markov",
        "--corpus",
        str(small_text),
        "--length",
        "20",
        "--sample",
        "order=int(1,4)",
        "--sample",
        "smoothing=loguniform(0.01,10)",
        "--executor",
        "local",
        "--name",
        "rs",
    ]
    first = seqjobs(*args, "--trials", "5", "--wait", cwd=tmp_path, check=True, timeout=300)
    assert "submitted 5 of 5 runs" in first.stdout and "5 runs: 5 completed" in first.stdout
    manifest = json.loads((tmp_path / "runs/rs/sweep.json").read_text())
    seed = manifest["sweep_options"]["sampler_seed"]
    assert f"--sampler-seed {seed}" in first.stdout
    assert manifest["sweep_options"]["sample"] == ["order=int(1,4)", "smoothing=loguniform(0.01,10.0)"]
    assert sorted(r["name"] for r in manifest["runs"]) == [f"trial={t:03d}" for t in range(1, 6)]

    seqjobs("collect", "runs/rs", "-o", "rs.csv", cwd=tmp_path, check=True)
    import pandas as pd

    table = pd.read_csv(tmp_path / "rs.csv")
    assert len(table) == 5 and sorted(table["run"]) == [f"trial={t:03d}" for t in range(1, 6)]
    for _, row in table.iterrows():
        config = json.loads((tmp_path / "runs/rs" / row["run"] / "config.json").read_text())["config"]
        assert row["order"] == config["order"] and math.isclose(row["smoothing"], config["smoothing"])
        assert 1 <= row["order"] <= 4 and 0.01 <= row["smoothing"] <= 10
    assert table[["order", "smoothing"]].drop_duplicates().shape[0] == 5
    assert len(pd.read_csv(tmp_path / "rs.summary.csv")) == 5

    again = seqjobs(*args, "--trials", "5", cwd=tmp_path, check=True)  # no --sampler-seed: the recorded one
    assert "nothing to submit: 5 runs in runs/rs, 5 completed" in again.stdout
    more = seqjobs(*args, "--trials", "6", "--wait", cwd=tmp_path, check=True, timeout=300)
    assert "submitted 1 of 6 runs (5 completed, 0 active)" in more.stdout and f"--sampler-seed {seed}" in more.stdout
    assert (tmp_path / "runs/rs/trial=006/config.json").exists()
    assert_one_line_error(
        seqjobs(*args, "--trials", "5", "--sampler-seed", str(seed + 1), cwd=tmp_path),
        f"was sampled with --sampler-seed {seed}",
    )


@pytest.mark.slow
def test_a_search_over_a_grid_and_seeds_is_summarised_per_trial_and_grid_point(
    tmp_path: Path, small_text: Path
) -> None:
    seqjobs(
        "sweep",
        "markov",
        "--corpus",
        str(small_text),
        "--length",
        "20",
        "--sample",
        "smoothing=uniform(0.5,2)",
        "--trials",
        "2",
        "--grid",
        "order=1,2",
        "--seeds",
        "2",
        "--sampler-seed",
        "3",
        "--executor",
        "local",
        "--name",
        "gs",
        "--wait",
        cwd=tmp_path,
        check=True,
        timeout=300,
    )
    seqjobs("collect", "runs/gs", "-o", "gs.csv", cwd=tmp_path, check=True)
    import pandas as pd

    runs, summary = pd.read_csv(tmp_path / "gs.csv"), pd.read_csv(tmp_path / "gs.summary.csv")
    assert len(runs) == 8 and runs["smoothing"].nunique() == 2
    assert len(summary) == 4 and (summary["heldout_bits_per_symbol_count"] == 2).all()  # seeds of a trial together
    assert {"order", "smoothing"} <= set(summary.columns)


@pytest.mark.slow
def test_a_random_search_runs_as_successive_halving(tmp_path: Path, rt_snippets: Path) -> None:
    """``--sample`` with ``--halving``: the trials are the configurations ranked; the best half trains on."""
    import pandas as pd

    args = [
        "sweep",
        "imdb",
        "--dataset",
        "rt-snippets",
        "--limit",
        "300",
        "--units",
        "8",
        "--embedding-dim",
        "8",
        "--sample",
        "lr=loguniform(1e-3,1e-2)",
        "--trials",
        "4",
        "--sampler-seed",
        "7",
        "--halving",
        "--min-epochs",
        "1",
        "--max-epochs",
        "2",
        "--eta",
        "2",
        "--executor",
        "local",
        "--name",
        "sh",
    ]
    seqjobs(*args, "--wait", cwd=tmp_path, check=True, timeout=600)
    seqjobs("collect", "runs/sh", "-o", "sh.csv", cwd=tmp_path, check=True)
    table = pd.read_csv(tmp_path / "sh.csv").set_index("run")
    assert sorted(table.index) == [f"trial={t:03d}" for t in range(1, 5)]
    assert sorted(table["stopped_at_epoch"]) == [1, 1, 2, 2] and sorted(table["epochs_done"]) == [1, 1, 2, 2]
    first_epoch = {
        run: float(pd.read_csv(tmp_path / "runs/sh" / run / "metrics.csv")["val_accuracy"][0]) for run in table.index
    }
    promoted, stopped = table.index[table["rung"] == 1], table.index[table["rung"] == 0]
    assert min(first_epoch[r] for r in promoted) >= max(first_epoch[r] for r in stopped)
    again = seqjobs(*args, cwd=tmp_path, check=True)
    assert "nothing to submit" in again.stdout
