"""Properties of the parsers, checked on inputs hypothesis draws: ``--grid``/``--zip``/``--seeds``, ``--sample``,
the executor settings, SLURM's durations.

The parametrised cases in test_sweep_parsing.py and test_sampling.py pin
spellings someone thought of; these check the rules for every spelling:
a grid written from values parses back to those values, a sweep has the
product of its lists' lengths in runs, in order, none twice, a sampling
distribution's canonical spelling parses back to it, and text of any kind
either parses or raises :class:`UserError` (one ``error:`` line at the
CLI), never another exception (a traceback). Nothing runs or is written;
few examples each, so this stays in the fast tier.
"""

from __future__ import annotations

import itertools
import math
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from jobs.engine import options as executor_options
from jobs.engine.sampling import EXAMPLES, KINDS_FOR, Distribution, draw_trials, parse_sample, parse_samples
from jobs.engine.sweep import expand, parse_assignments
from jobs.scheduler.limits import NO_LIMIT, parse_minutes
from seqtasks.charlm.config import CharLMConfig
from seqtasks.config import choices, cli_name, fields
from seqtasks.errors import UserError
from seqtasks.imdb.config import ImdbConfig
from seqtasks.markov.config import MAX_ORDER, MarkovConfig

#: no example database (nothing written into the checkout), no deadline (a shared machine may pause any example)
FAST = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
#: for text of any kind, most of which is refused early: more examples, so that enough get past the first checks
WIDE = settings(FAST, max_examples=150)
CONFIGS = (MarkovConfig, CharLMConfig, ImdbConfig)
BASE = MarkovConfig(corpus="unused")  # sweeps validate configs but never look for their data here


def only_user_errors(call: Any, *args: Any) -> Any:
    """``call(*args)``, or ``None`` where it refused with a :class:`UserError` that says something.

    Any other exception propagates: it would reach the user as a traceback.
    """
    try:
        return call(*args)
    except UserError as err:
        assert str(err).strip(), f"an empty message for {args!r}"
        return None


# -- --grid / --zip / --seeds ------------------------------------------------------------------

#: valid values of some Markov parameters, each list without repeats
GRID_VALUES: dict[str, st.SearchStrategy[list[Any]]] = {
    "order": st.lists(st.integers(1, MAX_ORDER), min_size=1, max_size=4, unique=True),
    "smoothing": st.lists(st.floats(1e-6, 1e6, allow_nan=False), min_size=1, max_size=3, unique=True),
    "level": st.permutations(["char", "word"]).flatmap(lambda p: st.integers(1, 2).map(lambda n: p[:n])),
    "keep_case": st.permutations([True, False]).flatmap(lambda p: st.integers(1, 2).map(lambda n: p[:n])),
    "length": st.lists(st.integers(0, 10_000_000), min_size=1, max_size=3, unique=True),
}
#: how a user may write a boolean
BOOL_SPELLINGS = {True: ("true", "yes", "on", "1", "True"), False: ("false", "no", "off", "0", "FALSE")}


@st.composite
def grids(draw: st.DrawFn, names: tuple[str, ...] = tuple(GRID_VALUES)) -> dict[str, list[Any]]:
    """Some of ``names`` (in a drawn order), each with a list of distinct valid values."""
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    return {name: draw(GRID_VALUES[name]) for name in chosen}


@st.composite
def written(draw: st.DrawFn, grid: dict[str, list[Any]]) -> list[str]:
    """``grid`` as ``--grid`` items a user could type: any spelling of a boolean, blanks around values."""
    items = []
    for name, values in grid.items():
        texts = [
            draw(st.sampled_from(BOOL_SPELLINGS[v])) if isinstance(v, bool) else repr(v).strip("'") for v in values
        ]
        pad = draw(st.sampled_from(["", " "]))
        items.append(f"{cli_name(name)}=" + ",".join(pad + text + pad for text in texts))
    return items


@FAST
@given(st.data())
def test_a_grid_written_from_values_parses_back_to_those_values(data: st.DataObject) -> None:
    grid = data.draw(grids())
    assert parse_assignments(data.draw(written(grid)), MarkovConfig, "--grid") == grid


@FAST
@given(grid=grids(), seeds=st.integers(1, 3))
def test_a_grid_sweep_is_the_ordered_product_of_its_lists_each_run_once(grid: dict[str, list[Any]], seeds: int) -> None:
    runs = expand(MarkovConfig, BASE, grid, {}, seeds)
    assert len(runs) == math.prod(len(v) for v in grid.values()) * seeds
    names = [name for name, _ in runs]
    assert len(set(names)) == len(names)
    combos = [combo for combo in itertools.product(*grid.values()) for _ in range(seeds)]
    assert [tuple(getattr(config, k) for k in grid) for _, config in runs] == combos  # first list varies slowest
    if seeds > 1:
        assert [config.seed for _, config in runs] == [BASE.seed + s for s in range(seeds)] * (len(runs) // seeds)
    varied = set(grid) | ({"seed"} if seeds > 1 else set())
    for _, config in runs:  # what no list names keeps the base config's value
        assert all(getattr(config, k) == getattr(BASE, k) for k in fields(MarkovConfig) if k not in varied)


@FAST
@given(grid=grids(("order", "level", "keep_case")), rows=st.integers(1, 4), data=st.data())
def test_zipped_lists_stay_paired_and_multiply_the_grid(
    grid: dict[str, list[Any]], rows: int, data: st.DataObject
) -> None:
    zipped = {
        "length": data.draw(st.lists(st.integers(0, 10_000_000), min_size=rows, max_size=rows, unique=True)),
        "smoothing": data.draw(st.lists(st.floats(1e-6, 1e6), min_size=rows, max_size=rows)),
    }
    runs = expand(MarkovConfig, BASE, grid, zipped, 1)
    assert len(runs) == math.prod(len(v) for v in grid.values()) * rows
    pairs = list(zip(zipped["length"], zipped["smoothing"]))
    assert [(c.length, c.smoothing) for _, c in runs] == pairs * (len(runs) // rows)
    assert len({name for name, _ in runs}) == len(runs)


@FAST
@given(grid=grids(("order", "length")), extra=st.integers(1, 3), data=st.data())
def test_zipped_lists_of_different_lengths_are_refused(
    grid: dict[str, list[Any]], extra: int, data: st.DataObject
) -> None:
    short = data.draw(st.lists(st.floats(1e-6, 1e6), min_size=1, max_size=3))
    long = data.draw(
        st.lists(st.sampled_from(["char", "word"]), min_size=len(short) + extra, max_size=len(short) + extra)
    )
    with pytest.raises(UserError, match="equal lengths"):
        expand(MarkovConfig, BASE, {}, {"smoothing": short, "level": long}, 1)


@FAST
@given(grid=grids(("order", "smoothing", "length")), data=st.data())
def test_a_value_given_twice_in_a_list_is_refused(grid: dict[str, list[Any]], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(grid)))
    values = grid[name]
    grid = {**grid, name: values + [data.draw(st.sampled_from(values))]}
    with pytest.raises(UserError, match="repeats a parameter combination"):
        expand(MarkovConfig, BASE, grid, {}, 1)


#: names and values a user might type, right or wrong: known and unknown names, numbers, words, junk
NAMES = st.sampled_from([cli_name(n) for n in fields(MarkovConfig)] + ["", " ", "nope", "seed", "order ", "-x"])
VALUE = st.one_of(
    st.integers(-3, 25).map(str),
    st.integers(-(10**30), 10**30).map(str),
    st.floats().map(repr),
    st.sampled_from(["char", "word", "yes", "1_0", "nan", "inf", "-0", "", " ", "a/b", "x" * 300]),
    st.text(max_size=12),
)
#: a --grid item: mostly one a user meant to be right (a known name, ``=``, values), some of them wrong
ITEM = st.one_of(
    grids().flatmap(written).map(lambda items: items[0]),
    st.builds(lambda n, vs: f"{n}={','.join(vs)}", NAMES, st.lists(VALUE, max_size=4)),
    st.builds(
        lambda n, vs, sep: f"{n}{sep}{','.join(vs)}",
        NAMES,
        st.lists(VALUE, max_size=4),
        st.sampled_from(["==", ":", ""]),
    ),
    st.text(max_size=30),
)


@WIDE
@given(items=st.lists(ITEM, max_size=2), zipped=st.lists(ITEM, max_size=1), seeds=st.integers(-1, 3))
def test_any_grid_text_parses_or_is_one_user_error(items: list[str], zipped: list[str], seeds: int) -> None:
    grid = only_user_errors(parse_assignments, items, MarkovConfig, "--grid")
    rows = only_user_errors(parse_assignments, zipped, MarkovConfig, "--zip")
    if grid is not None and rows is not None:
        runs = only_user_errors(expand, MarkovConfig, BASE, grid, rows, seeds)
        assert runs is None or len(runs) >= 1


# -- --sample ----------------------------------------------------------------------------------


@st.composite
def distributions(draw: st.DrawFn) -> tuple[type, Distribution]:
    """A valid distribution of a sampleable parameter of one of the tasks, bounds inside what the task accepts."""
    kind = draw(st.sampled_from(sorted(EXAMPLES)))
    if kind == "int":
        low = draw(st.integers(1, MAX_ORDER - 1))
        return MarkovConfig, Distribution("order", "int", (low, draw(st.integers(low + 1, MAX_ORDER))))
    if kind == "choice":
        name, pool = draw(
            st.sampled_from(
                [("order", list(range(1, MAX_ORDER + 1))), ("level", ["char", "word"]), ("keep_case", [True, False])]
            )
        )
        return MarkovConfig, Distribution(name, "choice", tuple(draw(st.permutations(pool))[: draw(st.integers(2, 4))]))
    low = draw(st.floats(1e-6, 0.5))
    high = draw(st.floats(low + 0.05, 0.9))  # wide enough to hold more distinct floats than any test asks for
    return ImdbConfig, Distribution("dropout" if kind == "uniform" else "lr", kind, (low, high))


@FAST
@given(distributions())
def test_a_distributions_canonical_spelling_parses_back_to_it(drawn: tuple[type, Distribution]) -> None:
    cls, dist = drawn
    assert parse_sample(str(dist), cls) == dist  # the spelling sweep.json records, compared on a re-run


@FAST
@given(
    space=st.lists(distributions(), min_size=1, max_size=3, unique_by=lambda d: d[1].name).filter(
        lambda s: len({cls for cls, _ in s}) == 1
    ),
    trials=st.integers(1, 6),
    more=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_trials_are_in_bounds_typed_distinct_and_kept_when_more_are_asked(
    space: list[tuple[type, Distribution]], trials: int, more: int, seed: int
) -> None:
    cls, dists = space[0][0], [d for _, d in space]
    points = [d.points() for d in dists]
    assume(None in points or math.prod(points) >= trials + more)  # type: ignore[arg-type]
    drawn = draw_trials(dists, trials, seed, cls)
    assert draw_trials(dists, trials + more, seed, cls)[:trials] == drawn  # raising --trials keeps the earlier ones
    assert draw_trials(dists, trials, seed, cls) == drawn  # the recorded seed gives the same trials again
    assert len({tuple(t.values()) for t in drawn}) == trials
    for trial in drawn:
        for dist in dists:
            value = trial[dist.name]
            if dist.kind == "choice":
                assert value in dist.args
            else:
                assert type(value) is fields(cls)[dist.name].type
                assert dist.args[0] <= value <= dist.args[1]


KINDS = st.sampled_from(sorted(EXAMPLES) + ["randint"]) | st.sampled_from(["Uniform", "normal", "", "int "])
BOUND = st.one_of(
    st.integers(-3, 30).map(str),
    st.floats(-0.5, 1.5).map(repr),
    st.sampled_from(["1e-4", "1e-2"]),
    st.integers(-(2**62), 2**62).map(str),
    st.floats().map(repr),
    st.sampled_from(["1_0", "char", "word", "true", "lstm", "", " "]),
    st.text(max_size=6),
)


@st.composite
def sample_items(draw: st.DrawFn, cls: type) -> str:
    """A ``--sample`` item for ``cls``: mostly one a user meant to be right, bounds of every size; some junk."""
    roll = draw(st.integers(0, 9))
    if roll == 0:
        return draw(st.text(max_size=30))
    if roll <= 2:  # any known or unknown name, any distribution, any arguments
        name = draw(st.sampled_from([cli_name(n) for n in fields(cls)] + ["", "nope", "seed"]))
        args = ",".join(draw(st.lists(BOUND, min_size=1, max_size=4)))
        return f"{name}={draw(KINDS)}({args}{draw(st.sampled_from([')', '', '))']))}"
    name, tp = draw(st.sampled_from([(n, f.type) for n, f in fields(cls).items() if n != "seed"]))
    kind = draw(st.sampled_from(KINDS_FOR.get(tp, ("choice",))))
    if kind == "choice":
        pool = list(choices(tp) or []) + ["true", "false", "1", "2", "0.5", "x"]
        picked = draw(st.lists(st.sampled_from(pool), min_size=2, max_size=4, unique=True))
        return f"{cli_name(name)}=choice({','.join(picked)})"
    whole = st.one_of(st.integers(-3, 30), st.integers(-(2**62), 2**62))
    fraction = st.one_of(st.floats(-0.5, 1.5), st.floats(1e-6, 1e-1), st.floats(allow_nan=False))
    bounds = draw(
        st.lists(whole if kind == "int" else fraction, min_size=2, max_size=2)
        | st.lists(st.one_of(whole, fraction), min_size=1, max_size=3)
    )
    if draw(st.integers(0, 3)):
        bounds.sort()
    return f"{cli_name(name)}={kind}({','.join(map(str, bounds))})"


@WIDE
@given(cls=st.sampled_from(CONFIGS), trials=st.integers(1, 4), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_any_sample_text_parses_and_draws_or_is_one_user_error(
    cls: type, trials: int, seed: int, data: st.DataObject
) -> None:
    items = data.draw(st.lists(sample_items(cls), min_size=1, max_size=2))
    space = only_user_errors(parse_samples, items, cls, cls(), set())
    if space is not None:
        drawn = only_user_errors(draw_trials, space, trials, seed, cls)
        assert drawn is None or len(drawn) == trials


def test_an_int_range_past_64_bits_is_one_user_error() -> None:
    """The property above draws bounds within 2**62; past 64 bits numpy cannot draw, and the parser says so."""
    with pytest.raises(UserError, match="int draws 64-bit integers"):
        parse_samples(["max-chars=int(0,99999999999999999999999)"], CharLMConfig, CharLMConfig(), set())


# -- executor settings (command line, profiles, job.json) -------------------------------------

INT_SETTINGS = sorted(n for n, tp in executor_options.SETTING_TYPES.items() if tp is int)


@FAST
@given(
    name=st.sampled_from(INT_SETTINGS), value=st.integers(0, executor_options.MAX_INT), pad=st.sampled_from(["", " "])
)
def test_an_integer_setting_written_as_text_parses_back_to_its_value(name: str, value: int, pad: str) -> None:
    minimum = executor_options.FIELDS[name].metadata["minimum"]
    assume(value >= minimum)
    assert executor_options.parse_setting(name, f"{pad}{value}{pad}") == value
    assert executor_options.parse_setting(name, value) == value  # a profile's TOML integer


@FAST
@given(
    name=st.sampled_from(INT_SETTINGS),
    value=st.one_of(st.integers(max_value=0), st.integers(min_value=executor_options.MAX_INT + 1)),
)
def test_an_integer_setting_out_of_range_is_refused_naming_the_option(name: str, value: int) -> None:
    assume(value < executor_options.FIELDS[name].metadata["minimum"] or value > executor_options.MAX_INT)
    for raw in (value, str(value)):
        with pytest.raises(UserError, match=executor_options.flag(name)):
            executor_options.parse_setting(name, raw)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@FAST
@given(name=st.sampled_from(sorted(executor_options.FIELDS)), raw=JSONISH)
def test_any_setting_value_parses_or_is_one_user_error(name: str, raw: Any) -> None:
    """Whatever a profile's TOML or a damaged job.json holds for a setting, it is read or refused, by name."""
    try:
        value = executor_options.parse_setting(name, raw)
    except UserError as err:
        assert executor_options.flag(name) in str(err)
        return
    if raw is None:
        assert value is None
    else:
        assert type(value) in (int, str)


# -- SLURM durations (sinfo's DefaultTime / MaxTime) -------------------------------------------

PART = st.integers(0, 99)


@FAST
@given(days=st.integers(0, 400), hours=st.integers(0, 23), minutes=st.integers(0, 59), seconds=st.integers(0, 59))
def test_every_form_of_a_duration_gives_its_whole_minutes(days: int, hours: int, minutes: int, seconds: int) -> None:
    total = days * 1440 + hours * 60 + minutes
    forms = {
        f"{minutes}": minutes,
        f"{minutes}:{seconds:02d}": minutes,  # M, M:S: seconds dropped
        f"{hours}:{minutes:02d}:{seconds:02d}": hours * 60 + minutes,  # H:M:S
        f"{days}-{hours}": days * 1440 + hours * 60,
        f"{days}-{hours}:{minutes:02d}": total,
        f"{days}-{hours:02d}:{minutes:02d}:{seconds:02d}": total,
    }
    for text, expected in forms.items():
        assert parse_minutes(text) == expected, text
        assert parse_minutes(f" {text}\n") == expected, text  # as sinfo's columns come


@FAST
@given(days=PART, hours=PART, minutes=PART, later=st.integers(1, 10_000))
def test_a_longer_duration_is_never_fewer_minutes(days: int, hours: int, minutes: int, later: int) -> None:
    def spelled(total: int) -> str:
        d, rest = divmod(total, 1440)
        return f"{d}-{rest // 60:02d}:{rest % 60:02d}:00"

    start = days * 1440 + hours * 60 + minutes
    assert parse_minutes(spelled(start)) == start
    assert parse_minutes(spelled(start + later)) == start + later > parse_minutes(spelled(start))


@FAST
@given(
    text=st.one_of(
        st.text(max_size=20),
        st.text(alphabet=string.digits + "-: ", max_size=14),
        st.sampled_from(sorted(NO_LIMIT)).map(str.upper),
    )
)
def test_any_duration_text_is_minutes_or_none_never_an_exception(text: str) -> None:
    minutes = parse_minutes(text)
    assert minutes is None or (type(minutes) is int and minutes >= 0)
    if text.strip().lower() in NO_LIMIT:
        assert minutes is None
