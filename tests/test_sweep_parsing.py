"""Config values and sweep grids, parsed and expanded without running anything.

``parse_value`` is the one place a parameter's text (from the command line, a
``--grid`` item or a stored config.json) becomes its typed value; ``--grid`` /
``--zip`` / ``--seeds`` expand through :func:`jobs.engine.sweep.expand` into
named runs. No TensorFlow is imported: the task configs are plain dataclasses.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from jobs.engine.sweep import MAX_RUNS, expand, parse_assignments, run_name
from seqtasks.charlm.config import CharLMConfig
from seqtasks.config import parse_value
from seqtasks.errors import UserError
from seqtasks.markov.config import MarkovConfig

# -- one value ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "name", "raw", "value"),
    [
        (MarkovConfig, "order", "3", 3),
        (MarkovConfig, "order", " 3 ", 3),
        (MarkovConfig, "order", 3, 3),
        (MarkovConfig, "order", 3.0, 3),  # a JSON 3.0 is the integer 3
        (MarkovConfig, "smoothing", "0.5", 0.5),
        (MarkovConfig, "smoothing", 2, 2.0),
        (MarkovConfig, "level", "word", "word"),
        (MarkovConfig, "keep_case", "yes", True),
        (MarkovConfig, "keep_case", "OFF", False),
        (MarkovConfig, "keep_case", "1", True),
        (MarkovConfig, "keep_case", False, False),
        (MarkovConfig, "corpus", "moby-dick", "moby-dick"),
        (CharLMConfig, "temperatures", "0.2,1.0", (0.2, 1.0)),
        (CharLMConfig, "temperatures", [0.5, 1], (0.5, 1.0)),  # from a config.json list
        (CharLMConfig, "temperatures", "0.5,,1", (0.5, 1.0)),
        (CharLMConfig, "sampler", "stateful", "stateful"),
    ],
)
def test_values_are_parsed_to_their_fields_type(cls: type, name: str, raw: Any, value: Any) -> None:
    parsed = parse_value(cls, name, raw)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(
    ("cls", "name", "raw", "fragments"),
    [
        (MarkovConfig, "order", "two", ["--order: 'two'", "expected int"]),
        (MarkovConfig, "order", "2.5", ["--order", "expected int"]),
        (MarkovConfig, "order", 2.5, ["--order", "expected int"]),
        (MarkovConfig, "order", True, ["--order", "expected int"]),  # JSON true is not the number 1
        (MarkovConfig, "order", [1], ["--order", "expected int"]),
        (MarkovConfig, "smoothing", "nan", ["--smoothing", "expected finite float"]),
        (MarkovConfig, "smoothing", "inf", ["--smoothing", "expected finite float"]),
        (MarkovConfig, "smoothing", 1e999, ["--smoothing", "expected finite float"]),
        (MarkovConfig, "level", "sentence", ["--level: 'sentence'", "one of char|word"]),
        (MarkovConfig, "keep_case", "maybe", ["--keep-case", "maybe"]),
        (MarkovConfig, "colour", "red", ["unknown parameter 'colour'", "known:", "order"]),
        (CharLMConfig, "temperatures", "0.5,hot", ["--temperatures", "comma-separated finite floats"]),
        (CharLMConfig, "sampler", "abc", ["--sampler: 'abc'", "one of window|stateful"]),
    ],
)
def test_bad_values_name_the_option_and_the_expected_type(cls: type, name: str, raw: Any, fragments: list[str]) -> None:
    with pytest.raises(UserError) as err:
        parse_value(cls, name, raw)
    message = str(err.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_a_long_bad_value_is_cut_in_the_message() -> None:
    with pytest.raises(UserError) as err:
        parse_value(MarkovConfig, "order", "9" * 500 + "x")
    assert len(str(err.value)) < 200 and "..." in str(err.value)


# -- --grid / --zip items ----------------------------------------------------------------------


def test_assignments_accept_cli_spelling_and_strip_blanks() -> None:
    assert parse_assignments(["keep-case=yes, no", "order= 1 ,2,"], MarkovConfig, "--grid") == {
        "keep_case": [True, False],
        "order": [1, 2],
    }


@pytest.mark.parametrize(
    ("items", "fragments"),
    [
        (["order"], ["--grid 'order' must look like NAME=V1,V2"]),
        (["=1,2"], ["must look like NAME=V1,V2"]),
        (["order=,"], ["--grid order= has no values"]),
        (["order=1", "order=2"], ["'order' is given twice"]),
        (["order=1", "order=2".replace("order", " order")], ["'order' is given twice"]),
        (["keep_case=1", "keep-case=0"], ["'keep-case' is given twice"]),
        (["order=1,x"], ["--order: 'x'", "expected int"]),
    ],
)
def test_bad_assignments_are_one_line_errors(items: list[str], fragments: list[str]) -> None:
    with pytest.raises(UserError) as err:
        parse_assignments(items, MarkovConfig, "--grid")
    for fragment in fragments:
        assert fragment in str(err.value), (fragment, str(err.value))


# -- expansion ---------------------------------------------------------------------------------


def names(runs: list[tuple[str, Any]]) -> list[str]:
    return [name for name, _ in runs]


def test_the_grid_is_a_product_in_the_order_given() -> None:
    runs = expand(MarkovConfig, MarkovConfig(), {"order": [1, 2], "level": ["char", "word"]}, {}, 1)
    assert names(runs) == ["order=1_level=char", "order=1_level=word", "order=2_level=char", "order=2_level=word"]
    assert [(c.order, c.level) for _, c in runs] == [(1, "char"), (1, "word"), (2, "char"), (2, "word")]


def test_zip_goes_row_by_row_under_each_grid_point() -> None:
    runs = expand(
        MarkovConfig, MarkovConfig(), {"level": ["char", "word"]}, {"order": [1, 3], "smoothing": [0.5, 2.0]}, 1
    )
    assert [(c.level, c.order, c.smoothing) for _, c in runs] == [
        ("char", 1, 0.5),
        ("char", 3, 2.0),
        ("word", 1, 0.5),
        ("word", 3, 2.0),
    ]


def test_seeds_count_up_from_the_base_seed() -> None:
    runs = expand(MarkovConfig, MarkovConfig(seed=7), {"order": [2]}, {}, 3)
    assert names(runs) == ["order=2_seed=7", "order=2_seed=8", "order=2_seed=9"]
    assert [c.seed for _, c in runs] == [7, 8, 9]


def test_no_variation_is_one_run_named_run_with_the_base_config() -> None:
    base = MarkovConfig(order=4)
    assert expand(MarkovConfig, base, {}, {}, 1) == [("run", base)]


def test_a_seed_grid_is_a_sweep_over_seeds() -> None:
    assert names(expand(MarkovConfig, MarkovConfig(), {"seed": [1, 5]}, {}, 1)) == ["seed=1", "seed=5"]


def test_tuple_values_are_named_with_commas() -> None:
    runs = expand(CharLMConfig, CharLMConfig(), {}, {"temperatures": [(0.5,), (0.2, 1.0)]}, 1)
    assert names(runs) == ["temperatures=0.5", "temperatures=0.2,1.0"]


@pytest.mark.parametrize(
    ("grid", "zipped", "seeds", "fragment"),
    [
        ({"order": [1]}, {"order": [2]}, 1, "order given in both --grid and --zip"),
        ({"seed": [1, 2]}, {}, 2, "either --seeds N or --grid seed"),
        ({}, {"seed": [1, 2]}, 3, "either --seeds N or --grid seed"),
        (
            {},
            {"order": [1, 2], "smoothing": [1.0]},
            1,
            "--zip lists must have equal lengths (got order: 2, smoothing: 1)",
        ),
        ({}, {}, 0, "--seeds must be >= 1 (got 0)"),
        ({"order": [1, 1]}, {}, 1, "repeats a parameter combination"),
        ({"order": [0, 1]}, {}, 1, "--order must be >= 1"),
        ({"smoothing": [math.nan]}, {}, 1, "--smoothing: 'nan' is not a valid value"),
        ({"order": list(range(1, 1001)), "seed": list(range(101))}, {}, 1, f"more than {MAX_RUNS}"),
    ],
)
def test_bad_sweeps_are_refused_before_any_run(grid: dict, zipped: dict, seeds: int, fragment: str) -> None:
    with pytest.raises(UserError) as err:
        expand(MarkovConfig, MarkovConfig(), grid, zipped, seeds)
    assert fragment in str(err.value), str(err.value)


def test_run_names_are_safe_folder_names() -> None:
    assert run_name({"corpus": "data/my text.txt", "keep_case": True}) == "corpus=data-mytext.txt_keep-case=True"
    with pytest.raises(UserError, match="control character"):
        run_name({"corpus": "a\nb"})
    with pytest.raises(UserError, match="more than a file name may be"):
        run_name({"corpus": "x" * 300})


# -- moved from test_jobs.py (which starts processes) ----------------------------------------------


def test_grid_and_zip_parsing() -> None:
    grid = parse_assignments(["order=1,2,3", "level=char,word"], MarkovConfig, "--grid")
    assert grid == {"order": [1, 2, 3], "level": ["char", "word"]}
    zipped = parse_assignments(["order=1,2", "smoothing=0.5,2"], MarkovConfig, "--zip")
    runs = expand(MarkovConfig, MarkovConfig(), grid={"level": ["char", "word"]}, zipped=zipped, seeds=2)
    assert len(runs) == 2 * 2 * 2
    names = [n for n, _ in runs]
    assert names[0] == "level=char_order=1_smoothing=0.5_seed=0"
    assert {(c.order, c.smoothing) for _, c in runs} == {(1, 0.5), (2, 2.0)}
    assert run_name({}) == "run"


@pytest.mark.parametrize(
    ("items", "flag", "message"),
    [
        (["nope=1"], "--grid", "unknown parameter 'nope'"),
        (["order=x"], "--grid", "expected int"),
        (["order="], "--grid", "has no values"),
        (["order"], "--grid", "must look like NAME=V1,V2"),
        (["level=char,sentence"], "--grid", "one of char|word"),
    ],
)
def test_bad_grid_values(items: list[str], flag: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_assignments(items, MarkovConfig, flag)


def test_zip_lists_must_have_equal_length() -> None:
    zipped = parse_assignments(["order=1,2", "smoothing=1"], MarkovConfig, "--zip")
    with pytest.raises(UserError, match="equal lengths"):
        expand(MarkovConfig, MarkovConfig(), {}, zipped, 1)
