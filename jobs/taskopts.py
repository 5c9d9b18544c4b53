"""Typer options generated from a task's config dataclass.

``run``, ``submit`` and ``sweep`` take the same task options; writing them
out by hand three times per task would drift. Instead each command is built
from the config's fields (name, type, default, help) plus the command's own
extra parameters, and receives a ready, validated config.
"""

from __future__ import annotations

import enum
import inspect
from typing import Annotated, Any, Callable

import typer

from seqtasks import config as cfg
from seqtasks.tasks import TaskSpec


def config_parameters(cls: type, *, panel: str = "Task options") -> list[inspect.Parameter]:
    """One keyword-only Typer option per config field, defaults shown in ``--help``."""
    params = []
    for name, f in cfg.fields(cls).items():
        flag = "--" + cfg.cli_name(name)
        help_text = f.metadata.get("help", "")
        default = f.default
        allowed = cfg.choices(f.type)
        if f.type is bool:
            ann: Any = Annotated[bool, typer.Option(f"{flag}/--no-{cfg.cli_name(name)}", help=help_text, rich_help_panel=panel)]
        elif allowed is not None:  # Typer shows an Enum as a choice list
            choice = enum.Enum(f"{cls.__name__}_{name}", {v: v for v in allowed}, type=str)  # type: ignore[misc]
            ann = Annotated[choice, typer.Option(flag, help=help_text, rich_help_panel=panel)]
            default = choice(default)
        elif f.type in (int, float, str):
            ann = Annotated[f.type, typer.Option(flag, help=help_text, rich_help_panel=panel)]
        else:  # tuples travel as comma-separated text and are parsed by the config module
            ann = Annotated[str, typer.Option(flag, help=help_text, rich_help_panel=panel)]
            default = ",".join(str(x) for x in default)
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=ann))
    return params


def task_command(
    spec: TaskSpec,
    body: Callable[..., None],
    extra: list[inspect.Parameter],
    *,
    doc: str | None = None,
) -> Callable[..., None]:
    """A Typer command for ``spec`` whose options are the config's plus ``extra``.

    ``body(spec, config, **extra_values)`` is called with the parsed config;
    a bad value raises :class:`~seqtasks.errors.UserError` (one line, exit 2).
    """
    extra_names = {p.name for p in extra}

    def command(**kwargs: Any) -> None:
        own = {k: kwargs.pop(k) for k in list(kwargs) if k in extra_names}
        kwargs = {k: v.value if isinstance(v, enum.Enum) else v for k, v in kwargs.items()}
        config = cfg.from_dict(spec.config_cls, kwargs)
        cfg.validate(config)
        body(spec, config, **own)

    command.__signature__ = inspect.Signature(config_parameters(spec.config_cls) + extra)  # type: ignore[attr-defined]
    command.__doc__ = doc or spec.summary
    command.__name__ = spec.name
    return command


def option(name: str, annotation: Any, default: Any, help: str, panel: str, *decls: str) -> inspect.Parameter:
    """A keyword-only extra option for :func:`task_command`."""
    flags = decls or ("--" + cfg.cli_name(name),)
    ann = Annotated[annotation, typer.Option(*flags, help=help, rich_help_panel=panel)]
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=ann)
