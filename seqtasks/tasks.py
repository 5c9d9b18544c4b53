"""The table of tasks: what the CLI can run, and where each task's code lives.

Config classes are imported eagerly (they are plain dataclasses); each task's
``run`` function is named as ``"module:function"`` and imported only when a
run starts, so listing tasks or building the CLI never imports TensorFlow.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from seqtasks.charlm.config import CharLMConfig
from seqtasks.errors import UserError
from seqtasks.imdb.config import ImdbConfig
from seqtasks.markov.config import MarkovConfig


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


TASKS: dict[str, TaskSpec] = {
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


def get_task(name: str) -> TaskSpec:
    """The task called ``name``, or a :class:`UserError` listing the known ones."""
    if name not in TASKS:
        raise UserError(f"unknown task '{name}'; known tasks: {', '.join(TASKS)}")
    return TASKS[name]
