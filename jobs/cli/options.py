"""Typer options generated from dataclass fields: a task's config, and the executor settings.

``run``, ``submit`` and ``sweep`` take the same task options; writing them
out by hand three times per task would drift. Instead each command is built
from the config's fields (name, type, default, help) plus the command's own
extra parameters, and receives a ready, validated config. ``submit`` and
``sweep`` add the executor options, generated the same way from
:class:`jobs.engine.options.ExecutorOptions`.
"""

from __future__ import annotations

import inspect
import typing
from typing import Annotated, Any, Callable

import typer
import typer.main
from typer.core import TyperGroup

from seqtasks import config as cfg
from seqtasks.tasks import TASKS, TaskSpec, get_task


def config_parameters(cls: type, *, panel: str = "Task options") -> list[inspect.Parameter]:
    """One keyword-only Typer option per config field, defaults shown in ``--help``.

    Every non-flag option reaches the command as text and is parsed by
    :func:`seqtasks.config.parse_value`, exactly as ``--grid``/``--zip`` values
    and stored configs are: ``--order abc`` and ``--grid order=abc`` get the
    same message, and NaN or infinity is refused for every float.
    """
    params = []
    for name, f in cfg.fields(cls).items():
        flag = "--" + cfg.cli_name(name)
        help_text = f.metadata.get("help", "")
        if f.type is bool:
            flags = f"{flag}/--no-{cfg.cli_name(name)}"
            ann: Any = Annotated[bool, typer.Option(flags, help=help_text, rich_help_panel=panel)]
            params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=ann))
        else:
            default = ",".join(map(str, f.default)) if isinstance(f.default, tuple) else str(f.default)
            params.append(_text_option(name, f.type, default, help_text, panel))
    return params


def executor_parameters(panel: str) -> list[inspect.Parameter]:
    """One text option per executor setting, ``None`` when not given (so a ``--profile`` value stands).

    Values reach the command as text and are parsed by
    :func:`jobs.engine.options.parse_setting`, as profile values are.
    """
    from jobs.engine import options as executor_opts

    return [
        _text_option(name, executor_opts.SETTING_TYPES[name], None, f.metadata["help"], panel)
        for name, f in executor_opts.FIELDS.items()
    ]


def _text_option(name: str, tp: Any, default: str | None, help_text: str, panel: str) -> inspect.Parameter:
    """A keyword-only option that reaches the command as text, its ``--help`` metavar from ``tp``."""
    flag = "--" + cfg.cli_name(name)
    text: Any = str if default is not None else typing.Optional[str]
    ann = Annotated[text, typer.Option(flag, help=help_text, rich_help_panel=panel, metavar=_metavar(tp))]
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=ann)


def _metavar(tp: Any) -> str:
    """What ``--help`` shows after an option: its choices, or its type."""
    allowed = cfg.choices(tp)
    if allowed is not None:
        return "[" + "|".join(allowed) + "]"
    if typing.get_origin(tp) is tuple:
        return _metavar(typing.get_args(tp)[0]) + ",..."
    return {int: "INTEGER", float: "FLOAT"}.get(tp, "TEXT")


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
        config: Any = cfg.from_dict(spec.config_cls, kwargs)
        cfg.validate(config)
        body(spec, config, **own)

    command.__signature__ = inspect.Signature(config_parameters(spec.config_cls) + extra)  # type: ignore[attr-defined]
    command.__doc__ = doc or spec.summary
    command.__name__ = spec.name
    return command


def task_app(build: Callable[[TaskSpec], Callable[..., None]]) -> typer.Typer:
    """A command group with one command per task, ``build(spec)`` each: the built-in and installed tasks listed,
    and a task named ``module:function`` (a user's quick try) built when it is asked for.

    An installed task that does not load is left out of the list; naming it,
    like naming a broken ``module:function``, gets its one-line error.
    """

    class TaskGroup(TyperGroup):
        def get_command(self, ctx: Any, cmd_name: str) -> Any:
            found = super().get_command(ctx, cmd_name)
            if found is not None or (":" not in cmd_name and cmd_name not in TASKS.keys()):
                return found
            one = typer.Typer(add_completion=False)
            one.command(cmd_name)(build(get_task(cmd_name)))  # a broken task raises its UserError here
            return typer.main.get_command(one)

    app = typer.Typer(cls=TaskGroup, no_args_is_help=True)
    for spec in TASKS.usable():
        app.command(spec.name)(build(spec))
    return app


def strict_int(text: str | int) -> int:
    """An integer option's value, digits grouped with ``_`` refused (:func:`seqtasks.config.number`)."""
    if isinstance(text, int):  # a default
        return text
    try:
        return int(cfg.number(int, text))
    except ValueError as err:  # Click would drop the reason
        raise typer.BadParameter(str(err) if "_" in text else f"'{text}' is not an integer") from None


def option(
    name: str, annotation: Any, default: Any, help: str, panel: str, *decls: str, parser: Any = None
) -> inspect.Parameter:
    """A keyword-only extra option for :func:`task_command` (``parser``: Typer's, for values a type cannot refuse)."""
    flags = decls or ("--" + cfg.cli_name(name),)
    metavar = None
    if parser is None and annotation in (int, typing.Optional[int]):  # Click's int() would read 1_0 as 10
        parser, metavar = strict_int, "INTEGER"
    ann = Annotated[annotation, typer.Option(*flags, help=help, rich_help_panel=panel, parser=parser, metavar=metavar)]
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=ann)


#: ``--no-snapshot``: jobs import the installed code when they start (see :mod:`jobs.engine.snapshot`)
NO_SNAPSHOT_HELP = (
    "Jobs import the installed code as it is when they start, not a frozen snapshot of the code "
    "(recorded in each run's config.json)."
)


def no_snapshot_option(panel: str) -> inspect.Parameter:
    """The ``--no-snapshot`` flag of ``submit`` and ``sweep``."""
    return option("no_snapshot", bool, False, NO_SNAPSHOT_HELP, panel, "--no-snapshot")
