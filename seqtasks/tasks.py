"""The table of tasks: what the CLI can run, and where each task's code lives.

Config classes are imported eagerly (they are plain dataclasses); each task's
``run`` function is named as ``"module:function"`` and imported only when a
run starts, so listing tasks or building the CLI never imports TensorFlow.

Besides the built-in tasks, a user's own task is found two ways, and gets
everything a built-in one has:

- installed: a package declares ``name = "module:function"`` in the entry
  point group :data:`ENTRY_POINT_GROUP` (``seqjobs.tasks``); read-only
  commands (``status``, ``collect``, ``report``) know it too, since an
  installed package is code the user chose to run;
- a quick try: the ``module:function`` itself as the task's name, on
  ``run``, ``submit`` and ``sweep``. Read-only commands never import a module
  a run folder names: a run folder is data, and a hostile one must not make
  ``status`` execute code. They list such runs as made by a task that is not
  installed.

The function is ``run(config, run_dir) -> dict``; its first parameter's
annotation is its config dataclass, and :func:`task` (``seqjobs.task``) says
which of its figures ranks runs, since a silently wrong ``best_*`` is worse
than a refusal.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import os
import sys
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Callable, Literal, TypeVar

from seqtasks.charlm.config import CharLMConfig
from seqtasks.errors import UserError
from seqtasks.imdb.config import ImdbConfig
from seqtasks.markov.config import MarkovConfig

#: the entry point group in which an installed package names its tasks
ENTRY_POINT_GROUP = "seqjobs.tasks"
#: the attribute :func:`task` sets on a run function
DECLARATION = "__seqjobs_task__"

F = TypeVar("F", bound=Callable[..., Any])

#: the top-level modules of the user tasks loaded in this process: code snapshots carry them
_USER_MODULES: set[str] = set()
#: the quick-try tasks (``module:function``) this process was asked to run, by name
_TRIED: dict[str, TaskSpec] = {}


@dataclass(frozen=True)
class TaskSpec:
    """One task: its config class, its entry point and how to rank its runs.

    ``ranked_apart`` names the config fields that change what the main figure
    measures (a Markov chain's level: bits per character or per word); runs
    are only ranked against runs with the same values of them.

    ``val_metrics`` are the validation columns of ``metrics.csv`` that a
    halving sweep may rank by, each with its direction (``True``: higher is
    better), the default first; a task without epochs has none.
    """

    name: str
    summary: str
    config_cls: type
    entry: str
    main_metric: str
    higher_is_better: bool
    ranked_apart: tuple[str, ...] = ()
    val_metrics: tuple[tuple[str, bool], ...] = ()

    def load(self) -> Callable[[Any, Any], dict[str, Any]]:
        """Import and return the task's ``run(config, run_dir) -> dict`` function."""
        module, func = self.entry.split(":")
        return getattr(importlib.import_module(module), func)


BUILT_IN: dict[str, TaskSpec] = {
    "markov": TaskSpec(
        name="markov",
        summary="Fit a k-th order Markov chain (char or word level) on a text and sample it.",
        config_cls=MarkovConfig,
        entry="seqtasks.markov.fit:run",
        main_metric="heldout_bits_per_symbol",
        higher_is_better=False,
        ranked_apart=("level",),
    ),
    "charlm": TaskSpec(
        name="charlm",
        summary="Train a character-level LSTM language model, sampling every epoch.",
        config_cls=CharLMConfig,
        entry="seqtasks.charlm.train:run",
        main_metric="best_val_bits_per_char",
        higher_is_better=False,
        val_metrics=(("val_bits_per_char", False), ("val_loss", False)),
    ),
    "imdb": TaskSpec(
        name="imdb",
        summary="Train and evaluate a sentiment classifier: "
        "Embedding + LSTM (the tutorial's), a BiLSTM or a bag of n-grams.",
        config_cls=ImdbConfig,
        entry="seqtasks.imdb.train:run",
        main_metric="test_accuracy",
        higher_is_better=True,
        val_metrics=(("val_accuracy", True), ("val_loss", False)),
    ),
}


def task(
    *,
    main_metric: str,
    higher_is_better: bool,
    summary: str | None = None,
    ranked_apart: tuple[str, ...] = (),
    val_metrics: tuple[tuple[str, bool], ...] = (),
) -> Callable[[F], F]:
    """Declare a user's ``run(config, run_dir) -> dict`` a seqjobs task, and how its runs are ranked.

    ``main_metric`` names the figure of the returned dict that ``collect``
    ranks by (``higher_is_better`` its direction); ``summary`` defaults to the
    first line of the function's docstring. See :class:`TaskSpec` for
    ``ranked_apart`` and ``val_metrics``.
    """

    def declare(run: F) -> F:
        setattr(
            run,
            DECLARATION,
            {
                "main_metric": main_metric,
                "higher_is_better": higher_is_better,
                "summary": summary,
                "ranked_apart": tuple(ranked_apart),
                "val_metrics": tuple(val_metrics),
            },
        )
        return run

    return declare


def user_task(name: str, entry: str) -> TaskSpec:
    """The spec of a user's task ``name`` whose function is ``entry`` (``module:function``), checked.

    Every way a task can be broken (its module does not import, the function
    is missing or takes other parameters, its config is not a dataclass of
    fields seqjobs can parse, it declares no main metric) is one
    :class:`UserError` naming the task and the fix.
    """
    module, _, attr = entry.partition(":")
    if not module or not attr or not all(part.isidentifier() for part in (*module.split("."), attr)):
        raise UserError(f"task '{name}': '{entry}' is not module:function (e.g. mypackage.train:run)")
    if module.split(".")[0] in ("jobs", "seqtasks", "seqjobs"):
        raise UserError(f"task '{name}': {module} is part of seqjobs; name a module of your own")
    try:
        function = getattr(importlib.import_module(module), attr)
    except ImportError as err:
        raise UserError(f"task '{name}': cannot import {module} ({err}); is its package installed here?") from None
    except AttributeError:
        raise UserError(f"task '{name}': {module} has no {attr}") from None
    except Exception as err:  # the user's module raised while it was imported
        raise UserError(f"task '{name}': importing {module} failed: {type(err).__name__}: {err}") from None
    config_cls = _config_class(name, entry, function)
    declared = getattr(function, DECLARATION, None)
    if declared is None:
        raise UserError(
            f"task '{name}': {entry} does not say which figure ranks its runs; decorate it with "
            "@seqjobs.task(main_metric='...', higher_is_better=...)"
        )
    _USER_MODULES.add(module.split(".")[0])
    doc = (inspect.getdoc(function) or "").strip().splitlines()
    summary = declared["summary"] or (doc[0] if doc else f"Your task {entry}.")
    return TaskSpec(
        name=name,
        summary=summary,
        config_cls=config_cls,
        entry=entry,
        main_metric=declared["main_metric"],
        higher_is_better=bool(declared["higher_is_better"]),
        ranked_apart=declared["ranked_apart"],
        val_metrics=declared["val_metrics"],
    )


def _config_class(name: str, entry: str, function: Any) -> type:
    """The dataclass ``function``'s first parameter is annotated with; every field parseable and defaulted."""
    try:
        params = list(inspect.signature(function).parameters.values())
        hints = typing.get_type_hints(function)
    except (TypeError, ValueError, NameError) as err:
        raise UserError(f"task '{name}': cannot read the signature of {entry} ({err})") from None
    if len(params) != 2 or any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params):
        raise UserError(f"task '{name}': {entry} must take exactly (config, run_dir)")
    config_cls = hints.get(params[0].name)
    if not (isinstance(config_cls, type) and dataclasses.is_dataclass(config_cls)):
        raise UserError(
            f"task '{name}': the config parameter of {entry} must be annotated with a dataclass, "
            f"not {getattr(config_cls, '__name__', config_cls)!r}"
        )
    field_hints = typing.get_type_hints(config_cls)
    for f in dataclasses.fields(config_cls):
        if not _parseable(field_hints[f.name]):
            raise UserError(
                f"task '{name}': field '{f.name}' of {config_cls.__name__} is a {field_hints[f.name]}, which seqjobs "
                "cannot read from a command line; use int, float, str, bool, Literal[...] or tuple[T, ...]"
            )
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise UserError(f"task '{name}': field '{f.name}' of {config_cls.__name__} needs a default")
    return config_cls


def _parseable(tp: Any) -> bool:
    """Can :func:`seqtasks.config.parse_value` read a value of type ``tp``?"""
    if tp in (int, float, str, bool):
        return True
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return all(isinstance(a, str) for a in args)
    return origin is tuple and len(args) == 2 and args[1] is Ellipsis and args[0] in (int, float, str, bool)


class TaskTable(Mapping[str, TaskSpec]):
    """The built-in tasks, then the installed ones (:data:`ENTRY_POINT_GROUP`), looked up when first asked for.

    Finding the installed tasks reads every distribution's metadata, which
    ``status`` on built-in runs never needs to pay; a broken installed task
    fails only the commands that use it (:meth:`broken`).
    """

    def __getitem__(self, name: str) -> TaskSpec:
        if name in BUILT_IN:
            return BUILT_IN[name]
        if name in _TRIED:  # this process was asked to run it (``sweep --wait`` then reads its runs)
            return _TRIED[name]
        entry = _installed().get(name)
        if entry is None:
            raise KeyError(name)
        return _installed_spec(name, entry)

    def __iter__(self) -> Iterator[str]:
        yield from BUILT_IN
        yield from (name for name in _installed() if name not in BUILT_IN)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def get(self, name: str, default: Any = None) -> Any:
        """The task called ``name``; ``default`` when there is none, or when it is broken."""
        try:
            return self[name]
        except (KeyError, UserError):
            return default

    def usable(self) -> Iterator[TaskSpec]:
        """Every task that loads (a broken one's error is for the command that names it)."""
        for name in self:
            spec = self.get(name)
            if spec is not None:
                yield spec


@functools.cache
def _installed() -> dict[str, str]:
    """``name -> module:function`` of every task an installed package declares."""
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


@functools.cache
def _installed_spec(name: str, entry: str) -> TaskSpec:
    return user_task(name, entry)


TASKS = TaskTable()


def get_task(name: str) -> TaskSpec:
    """The task called ``name`` (built-in, installed, or ``module:function``), else a :class:`UserError`."""
    if ":" in name:
        return _tried(name)
    try:
        return TASKS[name]
    except KeyError:
        raise UserError(f"unknown task '{name}'; known tasks: {', '.join(TASKS)}, or module:function") from None


def _tried(entry: str) -> TaskSpec:
    """A quick try's task: its module found as ``python -m`` would, the working folder last on the path."""
    if entry not in _TRIED:
        here = os.getcwd()
        if here not in sys.path and "" not in sys.path:
            sys.path.append(here)
        _TRIED[entry] = user_task(entry, entry)
    return _TRIED[entry]


def user_modules() -> tuple[str, ...]:
    """The top-level modules of the user tasks this process loaded, which a code snapshot must carry."""
    return tuple(sorted(_USER_MODULES))
