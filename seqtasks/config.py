"""Task configs: plain frozen dataclasses whose fields carry their own CLI help.

A task's config is the single source of truth for its parameters: the CLI
builds ``run``/``submit`` options from the fields, ``sweep --grid`` parses
values with :func:`parse_value`, and run folders store :func:`to_dict`.
Nothing here imports Typer or TensorFlow.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from dataclasses import field
from types import MappingProxyType
from typing import Any, Literal, Mapping, TypeVar

from seqtasks.errors import UserError

C = TypeVar("C")

#: the largest seed every random generator a task seeds accepts (numpy's legacy ``np.random.seed``, via Keras)
MAX_SEED = 2**32 - 1


def option(default: Any, help: str, *, resumable: bool = False) -> Any:
    """A config field with its CLI help text.

    ``resumable`` marks a field that may change when a run folder is resumed
    (``epochs``: train a finished run for longer) without counting as a
    different config.
    """
    return field(default=default, metadata={"help": help, "resumable": resumable})


def cli_name(name: str) -> str:
    """``embedding_dim`` -> ``embedding-dim``, the spelling used on the command line."""
    return name.replace("_", "-")


def field_name(name: str) -> str:
    """Inverse of :func:`cli_name`."""
    return name.replace("-", "_")


def fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    """The config's fields by name, with string annotations resolved to types."""
    return dict(_resolved_fields(cls))


def fields_by_name(cls: type) -> Mapping[str, dataclasses.Field[Any]]:
    """:func:`fields`, read only and not copied: for a check made per run of a large sweep."""
    return MappingProxyType(_resolved_fields(cls))


@functools.cache
def _resolved_fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    """Resolved once per class: ``get_type_hints`` costs about 0.2 ms a call, and ``status`` asks per run and field."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        f.type = hints[f.name]
        out[f.name] = f
    return out


def choices(tp: Any) -> tuple[str, ...] | None:
    """The allowed values of a ``Literal[...]`` type, else ``None``."""
    return tuple(typing.get_args(tp)) if typing.get_origin(tp) is Literal else None


def parse_value(cls: type, name: str, raw: Any) -> Any:
    """Convert ``raw`` (a string from the command line, or a JSON value) to field ``name``'s type.

    Raises :class:`UserError` naming the option and the expected type. Floats
    must be finite: a NaN or an infinity would run and record NaN figures.
    """
    flds = fields(cls)
    if name not in flds:
        known = ", ".join(cli_name(n) for n in flds)
        raise UserError(f"unknown parameter '{cli_name(name)}' for this task; known: {known}")
    tp = flds[name].type
    allowed = choices(tp)
    try:
        if allowed is not None:
            if str(raw) not in allowed:
                raise ValueError
            return str(raw)
        if typing.get_origin(tp) is tuple:
            items = raw if isinstance(raw, (list, tuple)) else [s for s in str(raw).split(",") if s.strip()]
            inner = typing.get_args(tp)[0]
            return tuple(_scalar(inner, x) for x in items)
        return _scalar(tp, raw)
    except (TypeError, ValueError, OverflowError):
        want = "one of " + "|".join(allowed) if allowed else type_label(tp)
        if "_" in str(raw) and ("int" in want or "float" in want):
            want += ", written without '_'"
        text = str(raw) if len(str(raw)) <= 80 else str(raw)[:80] + "..."
        raise UserError(f"--{cli_name(name)}: '{text}' is not a valid value (expected {want})") from None


def _scalar(tp: Any, raw: Any) -> Any:
    """``raw`` as a ``bool``, ``int``, finite ``float`` or ``str``; ``ValueError`` when it is not one."""
    if isinstance(raw, (dict, list, tuple)):
        raise ValueError(raw)
    if tp is bool:
        if isinstance(raw, bool):
            return raw
        low = str(raw).strip().lower()
        if low in {"1", "true", "yes", "on"}:
            return True
        if low in {"0", "false", "no", "off"}:
            return False
        raise ValueError(raw)
    if tp in (int, float) and isinstance(raw, bool):
        raise ValueError(raw)  # JSON true is not the number 1
    if tp is int:
        if isinstance(raw, float):
            if not raw.is_integer():
                raise ValueError(raw)
            return int(raw)
        return raw if isinstance(raw, int) else number(int, str(raw))
    if tp is float:
        value = float(raw) if isinstance(raw, (int, float)) else number(float, str(raw))
        if not math.isfinite(value):
            raise ValueError(raw)
        return value
    return str(raw)


def number(tp: type, text: str) -> Any:
    """``text`` as ``tp`` (``int`` or ``float``); ``ValueError`` also for digits grouped with ``_``.

    Python reads ``1_0`` as 10: a user who typed ``uniform(1_0,2_0)`` or
    ``--grid order=1_0`` meant something else, and must be told, not given 10.
    """
    text = text.strip()
    if "_" in text:
        raise ValueError(f"'{text}': write numbers without '_'")
    return tp(text)


def type_label(tp: Any) -> str:
    """A short human name of a field type, for messages and help."""
    if typing.get_origin(tp) is tuple:
        return f"comma-separated {type_label(typing.get_args(tp)[0])}s"
    if tp is float:
        return "finite float"
    return getattr(tp, "__name__", str(tp))


def check_range(flag: str, value: float, low: float | None = None, high: float | None = None) -> None:
    """Raise :class:`UserError` unless ``low <= value <= high`` (either bound may be left open).

    Written as ``not value >= low`` so that a NaN fails too.
    """
    if low is not None and not value >= low:
        raise UserError(f"{flag} must be >= {low} (got {value})")
    if high is not None and not value <= high:
        raise UserError(f"{flag} must be <= {high} (got {value})")


def check_positive(flag: str, value: float) -> None:
    """Raise :class:`UserError` unless ``value > 0`` (a NaN fails too)."""
    if not value > 0:
        raise UserError(f"{flag} must be > 0 (got {value})")


def check_fraction(flag: str, value: float) -> None:
    """Raise :class:`UserError` unless ``0 < value < 1``."""
    if not 0.0 < value < 1.0:
        raise UserError(f"{flag} must be between 0 and 1, exclusive (got {value})")


def check_seed(value: int) -> None:
    """Raise :class:`UserError` unless ``value`` is a seed every generator accepts (before any folder exists)."""
    check_range("--seed", value, 0, MAX_SEED)


def from_dict(cls: type[C], values: dict[str, Any]) -> C:
    """Build a config from a dict of (possibly string) values; defaults fill the rest."""
    parsed = {field_name(k): parse_value(cls, field_name(k), v) for k, v in values.items()}
    return cls(**parsed)


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of every parameter (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


@functools.cache
def _defaults(cls: type) -> dict[str, Any]:
    return to_dict(cls())


def with_defaults(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (a run's stored parameters), plus the default of every field they lack.

    A field added to a config after a run was made defaults to what runs did
    before it existed, so an older ``config.json`` means the same run with it
    filled in: resuming it is not "a different config", and ``collect``
    shows its value instead of a blank.
    """
    return {**_defaults(cls), **values}


def resumable_fields(cls: type) -> set[str]:
    """Fields allowed to differ when an existing run folder is resumed."""
    return {n for n, f in fields(cls).items() if f.metadata.get("resumable")}


def validate(config: Any) -> None:
    """Refuse non-finite floats, then run the config's own ``validate()`` (both raise :class:`UserError`).

    Configs are also built with ``dataclasses.replace`` (sweeps), which skips
    :func:`parse_value`, so finiteness is checked here once more for all of them.
    """
    types = fields(type(config))
    for name, value in dataclasses.asdict(config).items():
        values = value if isinstance(value, (list, tuple)) else [value]
        if any(isinstance(v, float) and not math.isfinite(v) for v in values):
            want, got = type_label(types[name].type), ",".join(map(str, values))
            raise UserError(f"--{cli_name(name)}: '{got}' is not a valid value (expected {want})")
    check = getattr(config, "validate", None)
    if check is not None:
        check()


def check_data(config: Any) -> None:
    """Run the config's own ``check_data()``: is its data set or file there, without loading it.

    What ``run``, ``submit`` and ``sweep`` call before anything is written, so
    a typo in a path is one line, not a failed job.
    """
    check = getattr(config, "check_data", None)
    if check is not None:
        check()
