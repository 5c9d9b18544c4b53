"""Successive halving: the plan (epochs per rung), the ranking, and the decision after a rung.

Pure functions over names, parameters and figures, so the arithmetic is
tested without training or a scheduler; :mod:`jobs.engine.promotion` reads
the run folders, calls these, and submits.

Rung 0 trains every configuration (times seeds) for ``min_epochs``; rung k
trains to ``min(min_epochs * eta**k, max_epochs)``, the last rung to
``max_epochs``. After each rung the best ``max(1, n // eta)`` of its ``n``
configurations go on, resumed in their own folders (a run asked for more
epochs trains only the new ones). A configuration is its parameters without
``seed`` and ``epochs``; its figure is the mean over its seeds of each run's
best validation figure so far (the tasks keep their best epoch), in the
metric's own direction. A configuration with a failed seed, or one without a
figure, ranks last; ties are broken by the parameters, so the decision is
the same whoever makes it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Optional

from seqtasks.errors import UserError
from seqtasks.tasks import TaskSpec

#: parameters that do not make a configuration: the seed (averaged over) and the epochs (the rung's)
NOT_CONFIGURATION = ("seed", "epochs")


def rung_epochs(min_epochs: int, max_epochs: int, eta: int) -> list[int]:
    """Epochs each rung trains to: ``min_epochs``, times ``eta`` each rung, the last ``max_epochs``."""
    if min_epochs < 1:
        raise UserError(f"--min-epochs must be >= 1 (got {min_epochs})")
    if max_epochs < min_epochs:
        raise UserError(f"--max-epochs ({max_epochs}) must be >= --min-epochs ({min_epochs})")
    if eta < 2:
        raise UserError(f"--eta must be >= 2: each rung keeps the best 1/eta (got {eta})")
    epochs = [min_epochs]
    while epochs[-1] < max_epochs:
        epochs.append(min(epochs[-1] * eta, max_epochs))
    return epochs


def kept(configurations: int, eta: int) -> int:
    """How many of a rung's ``configurations`` go on: the best 1/eta, at least one."""
    return max(1, configurations // eta)


def validation_metric(task: TaskSpec, name: Optional[str]) -> tuple[str, bool]:
    """The metric a halving sweep of ``task`` ranks by (default: the task's first), with its direction."""
    if not task.val_metrics:
        raise UserError(f"--halving needs a task trained in epochs (charlm, imdb); '{task.name}' has none")
    if name is None:
        return task.val_metrics[0]
    known = dict(task.val_metrics)
    if name not in known:
        raise UserError(f"--metric '{name}' is not a validation figure of {task.name}; use one of {', '.join(known)}")
    return name, known[name]


def configuration(params: dict[str, Any]) -> str:
    """The key of a run's configuration: its parameters but seed and epochs, as sorted JSON."""
    return json.dumps({k: v for k, v in params.items() if k not in NOT_CONFIGURATION}, sort_keys=True)


def run_score(rows: list[dict[str, str]], metric: str, higher: bool, epochs: int) -> float | None:
    """The run's best ``metric`` over its first ``epochs`` epochs of ``metrics.csv`` (``None``: none there)."""
    values = []
    for row in rows:
        try:
            epoch, value = int(row.get("epoch") or 0), float(row.get(metric) or "nan")
        except ValueError:
            continue
        if epoch <= epochs and math.isfinite(value):
            values.append(value)
    if not values:
        return None
    return max(values) if higher else min(values)


@dataclass(frozen=True)
class Standing:
    """One configuration after a rung: its runs (one per seed) and its figure (``None``: ranks last)."""

    key: str
    runs: tuple[str, ...]
    score: float | None


@dataclass(frozen=True)
class Decision:
    """What goes on after a rung, and what stops there (run names); ``ranking`` best first."""

    promoted: list[str]
    stopped: list[str]
    failed: list[str]
    ranking: list[Standing]


def standings(params: dict[str, dict[str, Any]], scores: dict[str, float | None]) -> list[Standing]:
    """Runs grouped by configuration; a configuration's figure is its seeds' mean, ``None`` if any seed has none."""
    groups: dict[str, list[str]] = {}
    for run in sorted(params):
        groups.setdefault(configuration(params[run]), []).append(run)
    out = []
    for key, runs in groups.items():
        figures = [scores.get(run) for run in runs]
        score = None if any(f is None for f in figures) else sum(figures) / len(figures)  # type: ignore[arg-type]
        out.append(Standing(key, tuple(runs), score))
    return out


def rank(configurations: list[Standing], higher: bool) -> list[Standing]:
    """Best first in the metric's direction; configurations without a figure last; ties by parameters."""

    def order(s: Standing) -> tuple[bool, float, str]:
        if s.score is None:
            return (True, 0.0, s.key)
        return (False, -s.score if higher else s.score, s.key)

    return sorted(configurations, key=order)


def decide(params: dict[str, dict[str, Any]], scores: dict[str, float | None], higher: bool, eta: int) -> Decision:
    """The rung's decision: the best 1/eta of its configurations go on, never one without a figure.

    ``params``: every run of the rung by name; ``scores``: each run's figure
    (``None``: the run failed, was cancelled, or has no figure at the rung's
    epochs).
    """
    ranking = rank(standings(params, scores), higher)
    best = [s for s in ranking[: kept(len(ranking), eta)] if s.score is not None]
    promoted = [run for s in best for run in s.runs]
    stopped = sorted(set(params) - set(promoted))
    failed = sorted(run for run in params if scores.get(run) is None)
    return Decision(promoted, stopped, failed, ranking)
