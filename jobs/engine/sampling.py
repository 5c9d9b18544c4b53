"""Random search: ``--sample NAME=DIST`` drawn ``--trials N`` times from a recorded seed, crossed with the grid.

A trial is one draw of every sampled parameter. Its runs are the sweep's
grid points (``--grid``/``--zip``) times ``--seeds`` with those values put
in, named ``trial=007`` plus the grid part and seed
(``trial=007_layers=2_seed=1``); the values themselves go into each run's
config like any other parameter, so ``collect`` shows them as columns and
groups seeds of a trial together.

Why it is built this way:

- Each (trial, parameter) draws from a generator of its own (numpy's PCG64,
  seeded by the sampler seed, the trial number and the parameter's name).
  Trial 7 gets the same values whatever the grid, the other sampled
  parameters or ``--trials``: raising ``--trials`` keeps the earlier trials
  and adds new ones, so running the command again continues the search and
  submits nothing twice.
- The sampler seed is recorded in ``sweep.json``; a command on an existing
  sweep folder without ``--sampler-seed`` reuses it.
- A trial that repeats an earlier trial's values draws again (an integer or
  choice space would otherwise train one configuration twice); a space with
  fewer points than ``--trials`` is refused.
- Bounds are checked against the config's own ``validate()`` before anything
  is drawn (a range whose ends are invalid is refused, naming the rule), and
  every trial's configs are validated again (rules between fields).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NoReturn

from jobs.engine.sweep import MAX_RUNS, run_name
from jobs.text import refuse_control
from seqtasks.config import (
    MAX_SEED,
    check_range,
    choices,
    cli_name,
    field_name,
    fields,
    number,
    parse_value,
    type_label,
    validate,
)
from seqtasks.errors import UserError
from seqtasks.rundir import Damaged, SweepDir

#: distribution -> an example of its spelling, shown in every message about it
EXAMPLES = {
    "uniform": "uniform(0.1,0.5)",
    "loguniform": "loguniform(1e-4,1e-2)",
    "int": "int(1,4)",
    "choice": "choice(V1,V2)",
}
#: the distributions a field of each type can be sampled from, the one its examples use first (other types: choice)
KINDS_FOR: dict[Any, tuple[str, ...]] = {float: ("loguniform", "uniform", "int", "choice"), int: ("int", "choice")}
ALIASES = {"randint": "int"}
#: the largest bound ``int(a,b)`` takes: numpy draws 64-bit integers
INT_DRAW_MAX = 2**63 - 1
SPELLING = "uniform(a,b), loguniform(a,b), int(a,b) or choice(v1,v2,...)"
#: how many draws one trial may take to find values no earlier trial has, before the space counts as used up
MAX_REDRAWS = 10_000
_DIST = re.compile(r"^\s*([A-Za-z_]+)\s*\((.*)\)\s*$", re.DOTALL)
#: raises the one-line message about a bad ``--sample`` item (see :func:`_failing`)
Fail = Callable[..., NoReturn]


@dataclass(frozen=True)
class Distribution:
    """One sampled parameter: its field, the distribution's kind and its typed arguments."""

    name: str
    kind: str  # uniform | loguniform | int | choice
    args: tuple[Any, ...]  # (low, high), or the choices

    def __str__(self) -> str:
        """The canonical spelling (``order=int(1,4)``), recorded in ``sweep.json`` and compared on a re-run."""
        return f"{cli_name(self.name)}={self.kind}({','.join(map(str, self.args))})"

    def points(self) -> int | None:
        """How many different values it can give; ``None`` for a continuous range."""
        if self.kind == "int":
            return int(self.args[1]) - int(self.args[0]) + 1
        return len(self.args) if self.kind == "choice" else None

    def draw(self, rng: Any, cls: type) -> Any:
        """One value, of the field's own type (a Python int or float, never a numpy scalar)."""
        low, high = self.args[0], self.args[-1]
        if self.kind == "uniform":
            value: Any = float(rng.uniform(low, high))
        elif self.kind == "loguniform":
            value = float(math.exp(rng.uniform(math.log(low), math.log(high))))
        elif self.kind == "int":
            value = int(rng.integers(low, high, endpoint=True))
        else:
            return self.args[int(rng.integers(len(self.args)))]
        return parse_value(cls, self.name, value)


def example(cls: type, name: str | None = None, kind: str | None = None) -> str:
    """A correct ``--sample`` for this task, e.g. ``--sample 'lr=loguniform(1e-4,1e-2)'``.

    For field ``name`` where it can be sampled (else for the first float
    field), of ``kind`` where that suits the field (else what does): a
    message about a mistake ends with something that works.
    """
    sampleable: dict[str, Any] = {n: f.type for n, f in fields(cls).items() if n != "seed" and _sampleable(f.type)}
    if name not in sampleable:
        name = next((n for n, tp in sampleable.items() if tp is float), next(iter(sampleable)))
    tp = sampleable[name]
    if kind is None or kind not in KINDS_FOR.get(tp, ("choice",)):
        kind = KINDS_FOR.get(tp, ("choice",))[0]
    allowed = choices(tp) or {bool: ("true", "false"), int: ("1", "2"), float: ("0.1", "0.5")}.get(tp)
    spec = f"choice({','.join(allowed[:2])})" if kind == "choice" and allowed else EXAMPLES[kind]
    return f"--sample '{cli_name(name)}={spec}'"


def _sampleable(tp: Any) -> bool:
    """Whether a field of type ``tp`` holds one value (a list-valued field is varied with ``--grid``)."""
    return tp in (int, float, bool, str) or choices(tp) is not None


def parse_sample(item: str, cls: type) -> Distribution:
    """``"lr=loguniform(1e-4,1e-2)"`` -> a :class:`Distribution`, its name, kind and bounds checked against the field."""
    refuse_control("--sample", item)
    raw_name, sep, spec = item.partition("=")
    found = _DIST.match(spec) if sep and raw_name.strip() else None
    if found is None:
        raise UserError(
            f"--sample '{item}' must look like NAME=DIST, DIST one of {SPELLING}; "
            f"e.g. {example(cls, field_name(raw_name.strip()))}"
        )
    shown_name, kind = raw_name.strip(), found.group(1).lower()
    kind = ALIASES.get(kind, kind)
    if kind not in EXAMPLES:
        raise UserError(
            f"--sample '{item}': unknown distribution '{found.group(1)}'; use {SPELLING}, "
            f"e.g. {example(cls, field_name(shown_name))}"
        )
    name = field_name(shown_name)
    flds = fields(cls)
    if name not in flds:
        known = ", ".join(cli_name(n) for n in flds)
        raise UserError(
            f"--sample '{item}': unknown parameter '{shown_name}' for this task; known: {known}; e.g. {example(cls)}"
        )
    fail = _failing(item, example(cls, name, kind))
    if name == "seed":
        raise UserError(f"--sample '{item}': the seed is not sampled; repeat every trial over seeds with --seeds N")
    tp = flds[name].type
    if not _sampleable(tp):
        raise UserError(
            f"--sample '{item}': --{shown_name} takes a list of values and cannot be sampled; "
            f"vary it with --grid {shown_name}=..."
        )
    suited = KINDS_FOR.get(tp, ("choice",))
    if kind not in suited:
        allowed = choices(tp)
        what = f"one of {'|'.join(allowed)}" if allowed else f"of type {type_label(tp)}"
        fail(
            f"--{shown_name} is {what}, which {kind} cannot draw; use {' or '.join(f'{k}(...)' for k in suited)}",
            example(cls, name),
        )
    values = [v.strip() for v in found.group(2).split(",") if v.strip()]
    if kind == "choice":
        args = tuple(_typed(cls, name, v, fail) for v in values)
        if len(set(args)) != len(args) or len(args) < 2:
            fail("choice needs at least two different values (for one value, give --" + shown_name + " V)")
        return Distribution(name, kind, args)
    if len(values) != 2:
        fail(f"{kind} takes two bounds, low and high (got {len(values)})")
    low, high = (_bound(cls, name, kind, v, fail) for v in values)
    if not low < high:
        fail(f"the low bound must be smaller than the high one (got {low} and {high})")
    if kind == "loguniform" and not low > 0:
        fail(f"loguniform needs bounds above 0 (got {low})")
    return Distribution(name, kind, (low, high))


def _failing(item: str, fix: str) -> Fail:
    """A raiser of one-line messages about ``item`` that end with a correct example (``fix``, unless given one)."""

    def fail(problem: str, other: str | None = None) -> NoReturn:
        raise UserError(f"--sample '{item}': {problem}; e.g. {other or fix}")

    return fail


def _typed(cls: type, name: str, raw: str, fail: Fail) -> Any:
    """``raw`` parsed as field ``name``'s value, a bad one reported as part of the ``--sample`` item."""
    try:
        return parse_value(cls, name, raw)
    except UserError as err:
        fail(str(err))


def _bound(cls: type, name: str, kind: str, raw: str, fail: Fail) -> Any:
    """A range's bound: an integer for ``int``, else a finite float (parsed as the field's value)."""
    if kind != "int":
        return float(_typed(cls, name, raw, fail))
    try:
        value = number(int, raw)
    except ValueError:
        fail(f"int takes whole-number bounds, written without '_' (got '{raw}')")
    if abs(value) > INT_DRAW_MAX:
        fail(f"int draws 64-bit integers: its bounds lie within -{INT_DRAW_MAX} and {INT_DRAW_MAX} (got '{raw}')")
    return value


def parse_samples(items: list[str], cls: type, base: Any, varied: set[str]) -> list[Distribution]:
    """Every ``--sample``, parsed, none given twice nor also in ``--grid``/``--zip``, its values allowed by the config.

    The bounds (or choices) are put into ``base`` one at a time and the
    config's ``validate()`` asked: a range that can produce values no run
    could use (``dropout=uniform(0,1.5)``) is refused here, naming the bound
    and the rule, before anything is drawn or written.
    """
    out: dict[str, Distribution] = {}
    for item in items:
        dist = parse_sample(item, cls)
        flag = cli_name(dist.name)
        if dist.name in out:
            raise UserError(
                f"--sample: parameter '{flag}' is given twice; give one distribution, e.g. "
                f"{example(cls, dist.name, dist.kind)}"
            )
        if dist.name in varied:
            raise UserError(f"--sample '{item}': '{flag}' is also given in --grid or --zip; vary it one way only")
        for value in dist.args if dist.kind == "choice" else dist.args[:2]:
            try:
                validate(dataclasses.replace(base, **{dist.name: parse_value(cls, dist.name, value)}))
            except UserError as err:
                raise UserError(
                    f"--sample '{item}': {value} is not a value --{flag} accepts ({err}); "
                    f"keep the range inside what --{flag} accepts"
                ) from None
        out[dist.name] = dist
    return list(out.values())


def draw_trials(space: list[Distribution], trials: int, seed: int, cls: type) -> list[dict[str, Any]]:
    """``trials`` different draws of every parameter of ``space``, trial ``i`` from its own generators.

    Trial ``i``'s values depend only on the seed, ``i`` and the trials
    before it (whose values it must not repeat), never on the grid, the
    order of ``--sample`` options or how many trials follow.
    """
    import numpy as np

    sizes = [dist.points() for dist in space]
    if all(size is not None for size in sizes) and trials > math.prod(sizes):  # type: ignore[arg-type]
        size = math.prod(sizes)  # type: ignore[arg-type]
        raise UserError(
            f"--trials {trials} is more than the {size} different points of the --sample space; "
            f"ask --trials {size} or fewer (or use --grid for a space this small)"
        )
    seen: set[tuple[Any, ...]] = set()
    out = []
    for trial in range(1, trials + 1):
        rngs = [
            np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(trial, _key(d.name)))))
            for d in space
        ]
        for _ in range(MAX_REDRAWS):
            values = tuple(dist.draw(rng, cls) for dist, rng in zip(space, rngs))
            if values not in seen:
                break
        else:
            raise UserError(
                f"trial {trial} found no values that an earlier trial did not draw; "
                "ask fewer --trials or widen the --sample ranges"
            )
        seen.add(values)
        out.append({dist.name: value for dist, value in zip(space, values)})
    return out


def _key(name: str) -> int:
    """A stable number for a parameter's name (Python's ``hash`` of a string changes from process to process)."""
    return zlib.crc32(name.encode())


def trial_name(trial: int) -> str:
    """``trial=007``: three digits and more past 999, so a name never changes when ``--trials`` grows."""
    return f"trial={trial:03d}"


def sampler_seed(given: int | None, sweep_dir: Path, space: list[Distribution]) -> int:
    """The seed to draw with: ``given``, else the one ``sweep_dir``'s manifest records, else a fresh one.

    An existing random search is continued only with the seed and the
    distributions it was drawn from: anything else would give its trial
    folders other values, so it is refused here, saying what was recorded.
    """
    if given is not None:
        check_range("--sampler-seed", given, 0, MAX_SEED)
    try:
        manifest = SweepDir(sweep_dir).manifest() if sweep_dir.is_dir() else None
    except Damaged as err:
        raise UserError(f"{err}; repair or move it away before adding to this sweep") from None
    recorded = manifest.sweep_options if manifest is not None else {}
    seed, spelled = recorded.get("sampler_seed"), recorded.get("sample")
    if isinstance(seed, int) and isinstance(spelled, list):
        if given is not None and given != seed:
            raise UserError(
                f"{sweep_dir} was sampled with --sampler-seed {seed}; give that seed (or none) to "
                "continue it, or choose another --name for a new search"
            )
        if sorted(spelled) != sorted(map(str, space)):
            was = " ".join(f"--sample '{s}'" for s in spelled)
            raise UserError(
                f"{sweep_dir} was sampled from {was}; give the same --sample options to continue it, "
                "or choose another --name for a new search"
            )
        return seed
    return given if given is not None else int.from_bytes(os.urandom(4), "big")


def sample_runs(
    base: Any,
    grid_runs: list[tuple[str, Any]],
    items: list[str],
    trials: int | None,
    seed: int | None,
    varied: set[str],
    sweep_dir: Path,
) -> tuple[list[tuple[str, Any]], dict[str, Any]]:
    """The sweep's runs with ``--sample`` applied, and what ``sweep.json`` records of it.

    ``grid_runs`` are the runs of ``--grid``/``--zip``/``--seeds`` alone;
    each trial repeats all of them with its values put in. Without
    ``--sample`` they come back unchanged (and ``--trials`` or
    ``--sampler-seed`` alone is refused).
    """
    if not items:
        if trials is not None or seed is not None:
            flag = "--trials" if trials is not None else "--sampler-seed"
            raise UserError(f"{flag} needs --sample, e.g. {example(type(base))} --trials 20")
        return grid_runs, {}
    cls = type(base)
    space = parse_samples(items, cls, base, varied)
    if trials is None:
        raise UserError(f"--sample needs --trials N, how many draws to make, e.g. --sample '{space[0]}' --trials 20")
    check_range("--trials", trials, 1, MAX_RUNS)
    if trials * len(grid_runs) > MAX_RUNS:
        raise UserError(
            f"the sweep has {trials * len(grid_runs)} runs ({trials} trials x {len(grid_runs)}), "
            f"more than {MAX_RUNS}; split it into several sweeps"
        )
    seed = sampler_seed(seed, sweep_dir, space)
    runs = []
    plain = run_name({})
    for trial, values in enumerate(draw_trials(space, trials, seed, cls), start=1):
        prefix = trial_name(trial)
        for name, config in grid_runs:
            sampled = dataclasses.replace(config, **values)
            try:
                validate(sampled)
            except UserError as err:
                shown = ", ".join(f"{cli_name(k)}={v}" for k, v in values.items())
                raise UserError(
                    f"--sample: {prefix} drew {shown}, which the config refuses ({err}); narrow the --sample ranges"
                ) from None
            runs.append((prefix if name == plain else f"{prefix}_{name}", sampled))
    return runs, {"sample": [str(dist) for dist in space], "trials": trials, "sampler_seed": seed}
