"""Task configs: plain frozen dataclasses whose fields carry their own CLI help.

A task's config is the single source of truth for its parameters: the CLI
builds ``run``/``submit`` options from the fields, ``sweep --grid`` parses
values with :func:`parse_value`, and run folders store :func:`to_dict`.
Nothing here imports Typer or TensorFlow.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import MISSING, field
from typing import Any, Literal, TypeVar

from seqtasks.errors import UserError

C = TypeVar("C")


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

    Raises :class:`UserError` naming the option and the expected type.
    """
    flds = fields(cls)
    if name not in flds:
        known = ", ".join(cli_name(n) for n in flds)
        raise UserError(f"unknown parameter '{cli_name(name)}' for this task; known: {known}")
    tp = flds[name].type
    opt = f"--{cli_name(name)}"
    allowed = choices(tp)
    try:
        if allowed is not None:
            if str(raw) not in allowed:
                raise ValueError
            return str(raw)
        if tp is bool:
            if isinstance(raw, bool):
                return raw
            low = str(raw).strip().lower()
            if low in {"1", "true", "yes", "on"}:
                return True
            if low in {"0", "false", "no", "off"}:
                return False
            raise ValueError
        if tp is int:
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError
            return int(str(raw).strip()) if not isinstance(raw, (int, float)) else int(raw)
        if tp is float:
            return float(raw)
        if typing.get_origin(tp) is tuple:
            items = raw if isinstance(raw, (list, tuple)) else [s for s in str(raw).split(",") if s.strip()]
            inner = typing.get_args(tp)[0]
            return tuple(inner(x) for x in items)
        return str(raw)
    except (TypeError, ValueError):
        want = "one of " + "|".join(allowed) if allowed else type_label(tp)
        raise UserError(f"{opt}: '{raw}' is not a valid value (expected {want})") from None


def type_label(tp: Any) -> str:
    """A short human name of a field type, for messages and help."""
    if typing.get_origin(tp) is tuple:
        return f"comma-separated {typing.get_args(tp)[0].__name__}s"
    return getattr(tp, "__name__", str(tp))


def from_dict(cls: type[C], values: dict[str, Any]) -> C:
    """Build a config from a dict of (possibly string) values; defaults fill the rest."""
    parsed = {field_name(k): parse_value(cls, field_name(k), v) for k, v in values.items()}
    return cls(**parsed)


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of every parameter (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def defaults(cls: type) -> dict[str, Any]:
    """Default value of every field."""
    return {n: (f.default if f.default is not MISSING else None) for n, f in fields(cls).items()}


def resumable_fields(cls: type) -> set[str]:
    """Fields allowed to differ when an existing run folder is resumed."""
    return {n for n, f in fields(cls).items() if f.metadata.get("resumable")}


def validate(config: Any) -> None:
    """Run the config's own ``validate()`` (it raises :class:`UserError`)."""
    check = getattr(config, "validate", None)
    if check is not None:
        check()
