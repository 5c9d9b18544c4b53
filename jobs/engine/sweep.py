"""Sweeps: ``--grid``/``--zip``/``--seeds`` expanded into named runs.

A run's folder name is built from the parameters the sweep varies
(``order=2_level=word_seed=1``), so the same sweep command always maps to
the same folders: running it again finds the completed ones and skips them.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs.engine.options import ExecutorOptions
from jobs.text import NAME_MAX, refuse_control
from seqtasks.config import cli_name, field_name, parse_value, validate
from seqtasks.errors import UserError

#: more runs than this in one sweep is a typo in --seeds or a grid, not an experiment
MAX_RUNS = 100_000


@dataclass(frozen=True)
class SweepRequest:
    """One sweep command, whatever its mode: the record the CLI builds and each mode's start takes.

    ``runs`` are (folder name, config) pairs; ``base`` is the config they
    vary from; ``options`` is what ``sweep.json`` records of how the runs
    were chosen (grid, zip, seeds, sampling, ``no_snapshot``), which a rerun
    must match.
    """

    task: str
    folder: Path
    runs: list[tuple[str, Any]]
    opts: ExecutorOptions
    base: Any
    options: dict[str, Any]


def parse_assignments(items: list[str], cls: type, flag: str) -> dict[str, list[Any]]:
    """``["order=1,2", "level=char"]`` -> ``{"order": [1, 2], "level": ["char"]}``, typed."""
    out: dict[str, list[Any]] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise UserError(f"{flag} '{item}' must look like NAME=V1,V2,... (e.g. {flag} order=1,2,3)")
        values = [v.strip() for v in raw.split(",") if v.strip()]
        if not values:
            raise UserError(f"{flag} {name}= has no values; give at least one, e.g. {flag} {name}=1,2")
        key = field_name(name.strip())
        if key in out:
            raise UserError(f"{flag}: parameter '{cli_name(key)}' is given twice")
        out[key] = [parse_value(cls, key, v) for v in values]
    return out


def expand(
    cls: type, base: Any, grid: dict[str, list[Any]], zipped: dict[str, list[Any]], seeds: int
) -> list[tuple[str, Any]]:
    """Every ``(run name, config)`` of the sweep: grid product x zipped rows x seeds."""
    both = set(grid) & set(zipped)
    if both:
        raise UserError(f"parameter(s) {', '.join(map(cli_name, both))} given in both --grid and --zip")
    if "seed" in grid or "seed" in zipped:
        if seeds != 1:
            raise UserError("vary the seed with either --seeds N or --grid seed=..., not both")
    lengths = {len(v) for v in zipped.values()}
    if len(lengths) > 1:
        raise UserError(
            f"--zip lists must have equal lengths (got {', '.join(f'{cli_name(k)}: {len(v)}' for k, v in zipped.items())})"
        )
    if seeds < 1:
        raise UserError(f"--seeds must be >= 1 (got {seeds})")
    size = math.prod(len(v) for v in grid.values()) * (lengths.pop() if lengths else 1) * seeds
    if size > MAX_RUNS:
        raise UserError(f"the sweep has {size} runs, more than {MAX_RUNS}; split it into several sweeps")
    grid_rows = [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())]
    zip_rows = [dict(zip(zipped, combo)) for combo in zip(*zipped.values())] if zipped else [{}]
    vary_seed = seeds > 1
    runs = []
    for g, z in itertools.product(grid_rows, zip_rows):
        for s in range(seeds):
            changes = {**g, **z}
            if vary_seed:
                changes["seed"] = base.seed + s
            config = dataclasses.replace(base, **changes)
            validate(config)
            runs.append((run_name(changes), config))
    names = [n for n, _ in runs]
    if len(set(names)) != len(names):
        raise UserError("the sweep repeats a parameter combination; remove duplicate values")
    return runs


def run_name(changes: dict[str, Any]) -> str:
    """Folder name of a run: the varied parameters as ``name=value`` joined by ``_``.

    Refuses a value that holds a control character, or that would make the
    name longer than a file name may be, naming the value.
    """
    if not changes:
        return "run"
    parts = []
    for k, v in changes.items():
        text = ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)
        refuse_control(f"--grid/--zip {cli_name(k)}: the value", text)
        parts.append(f"{cli_name(k)}={text}".replace("/", "-").replace(" ", ""))
    name = "_".join(parts)
    if len(os.fsencode(name)) > NAME_MAX:
        k, part = max(zip(changes, parts), key=lambda kp: len(os.fsencode(kp[1])))
        raise UserError(
            f"--grid/--zip {cli_name(k)}: the value '{part.partition('=')[2][:40]}...' makes the run folder name "
            f"{len(os.fsencode(name))} bytes long, more than a file name may be ({NAME_MAX}); use a shorter value"
        )
    return name
