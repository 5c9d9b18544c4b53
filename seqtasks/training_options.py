"""The training options charlm and imdb share, and the rules that make them resume exactly.

The learning rate and its schedule, dropout, gradient clipping, early
stopping, batch size, epochs, the validation share, mixed precision and the
seed are config fields of both trained tasks: :class:`TrainingConfig` is
their common base, which checks them, and the ``*_option`` factories below
give each its help (and default, where the tasks agree). Nothing here imports
TensorFlow: configs import this module, and read-only commands import configs.

Early stopping and ``--lr-schedule plateau`` are Keras' own callbacks
(:mod:`seqtasks.training_callbacks`), which keep their state (best value,
wait counter) in memory and reset it when ``fit`` starts. A resumed run
gets that state back by replaying Keras' rules over the committed
``metrics.csv`` rows (:func:`watch`, :func:`plateau`), and the live callbacks
decide on the same rounded values that ``metrics.csv`` holds (the task's
epoch-end callback puts them in the logs first), so a run killed and resumed
stops, and lowers its learning rate, at exactly the epochs an uninterrupted
run does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Sequence

from seqtasks.config import check_fraction, check_positive, check_range, check_seed, option
from seqtasks.errors import UserError

Schedule = Literal["constant", "cosine", "plateau"]

# Upper bounds far above any sensible run, low enough that a typo is refused
# before the run folder exists instead of failing inside TensorFlow.
MAX_PATIENCE = 1_000_000
MAX_BATCH = 1 << 20
MAX_EPOCHS = 1_000_000


def lr_option(default: float, optimizer: str) -> Any:
    """``--lr``: the task's optimizer's learning rate (each task keeps the tutorial's default)."""
    return option(default, f"{optimizer} learning rate.")


def dropout_option() -> Any:
    """``--dropout``: on each LSTM layer's inputs."""
    return option(0.0, "Dropout on each LSTM layer's inputs (GPUs keep the fused cuDNN kernel).")


def recurrent_dropout_option() -> Any:
    """``--recurrent-dropout``: on each LSTM layer's state; costs cuDNN."""
    return option(
        0.0,
        "Dropout on each LSTM layer's recurrent state; any value > 0 makes Keras leave "
        "the fused cuDNN kernel on GPUs for its generic, slower one.",
    )


def clipnorm_option(optimizer: str) -> Any:
    """``--clipnorm``: Keras' per-gradient ``clipnorm`` of the task's optimizer."""
    return option(0.0, f"Clip each weight's gradient to this L2 norm ({optimizer}'s clipnorm; 0: no clipping).")


def patience_option(metric: str) -> Any:
    """``--patience``: early stopping on the task's validation figure."""
    return option(
        0,
        f"Early stopping: end the run once {metric} has not improved for N epochs; "
        "the figures come from the best epoch (0: train every epoch).",
    )


def lr_schedule_option() -> Any:
    """``--lr-schedule``: constant, cosine or plateau."""
    return option(
        "constant",
        "constant: --lr throughout; cosine: lr * (1 + cos(pi * e / epochs)) / 2 at epoch "
        "e = 0, 1, ... (decays towards 0 over --epochs); plateau: multiply by --lr-factor "
        "after --lr-patience epochs without a better validation figure.",
    )


def lr_factor_option() -> Any:
    """``--lr-factor``: ReduceLROnPlateau's factor."""
    return option(0.5, "--lr-schedule plateau: factor the learning rate is multiplied by.")


def lr_patience_option() -> Any:
    """``--lr-patience``: ReduceLROnPlateau's patience."""
    return option(2, "--lr-schedule plateau: epochs without improvement before the learning rate drops.")


def epochs_option(default: int) -> Any:
    """``--epochs``: resumable, so that a finished run folder can be trained on."""
    return option(default, "Total epochs; raise it on an existing run folder to train on.", resumable=True)


def mixed_precision_option() -> Any:
    """``--mixed-precision``: Keras' mixed float16/bfloat16 policy."""
    return option(False, "Compute in float16/bfloat16 with float32 weights (for GPUs).")


def seed_option(seeds: str) -> Any:
    """``--seed``, naming what it seeds in the task."""
    return option(0, f"Random seed ({seeds}).")


class TrainingConfig:
    """The fields every trained task's config has, and their checks: the base of charlm's and imdb's configs.

    Deliberately not a dataclass with fields of its own: dataclass inheritance
    puts a base's fields first, and a config's field order is the order of
    its options in ``--help``, of the keys in ``config.json`` and of the
    parameter columns ``collect`` and ``report`` show, each task's data and
    model options first. So each task declares these fields itself, where
    they belong in its order, from the factories above; what they share --
    help, bounds, checks -- is defined here once, and the annotations below
    let the checks (and mypy) rely on every field being there.
    """

    dropout: float
    recurrent_dropout: float
    lr: float
    clipnorm: float
    lr_schedule: Schedule
    lr_factor: float
    lr_patience: int
    patience: int
    batch_size: int
    epochs: int
    val_fraction: float
    mixed_precision: bool
    seed: int

    def validate(self) -> None:
        """The shared fields' values, one clear line per bad value (a task's ``validate`` checks its own, then this)."""
        check_range("--batch-size", self.batch_size, 1, MAX_BATCH)
        check_range("--epochs", self.epochs, 1, MAX_EPOCHS)
        check_positive("--lr", self.lr)
        for flag, value in (("--dropout", self.dropout), ("--recurrent-dropout", self.recurrent_dropout)):
            if not 0.0 <= value < 1.0:
                raise UserError(f"{flag} must be in [0, 1) (got {value})")
        check_range("--clipnorm", self.clipnorm, 0)
        check_range("--patience", self.patience, 0, MAX_PATIENCE)
        check_fraction("--lr-factor", self.lr_factor)
        check_range("--lr-patience", self.lr_patience, 1, MAX_PATIENCE)
        check_fraction("--val-fraction", self.val_fraction)
        check_seed(self.seed)


def clipnorm(config: TrainingConfig) -> float | None:
    """The optimizer's ``clipnorm`` argument: ``None`` (Keras' no clipping) for 0."""
    return config.clipnorm or None


@dataclass(frozen=True)
class Monitor:
    """The validation figure a task picks its best epoch by, stops early on and lowers its lr on.

    ``column`` names it in ``metrics.csv`` and in the Keras logs. Improvement
    is strict, as Keras' callbacks with ``min_delta=0``: a tie keeps the
    earlier epoch. A NaN (a diverged epoch) reads as the worst value, so a
    later finite epoch beats it.
    """

    column: str
    higher: bool

    @property
    def mode(self) -> str:
        """Keras' ``mode`` argument."""
        return "max" if self.higher else "min"

    def improves(self, value: float, best: float | None) -> bool:
        """Whether ``value`` beats ``best`` (anything beats ``None``)."""
        if best is None:
            return True
        return value > best if self.higher else value < best

    def value(self, row: dict[str, Any]) -> float:
        """The figure in a ``metrics.csv`` row (or a row about to be written); NaN as the worst value."""
        value = float(row[self.column])
        if math.isnan(value):
            return -math.inf if self.higher else math.inf
        return value


@dataclass
class Watch:
    """Keras ``EarlyStopping``'s state after some epochs; ``stopped_epoch`` (1-based) when patience ran out."""

    best: float | None = None
    best_epoch: int = 0
    wait: int = 0
    stopped_epoch: int = 0


def watch(rows: Sequence[dict[str, Any]], monitor: Monitor, patience: int) -> Watch:
    """Replay ``EarlyStopping(patience, min_delta=0)`` over committed rows, as its ``on_epoch_end`` does.

    ``patience`` 0 never stops (the best epoch is still tracked).
    """
    state = Watch()
    for index, row in enumerate(rows):
        value = monitor.value(row)
        state.wait += 1
        if monitor.improves(value, state.best):
            state.best, state.best_epoch, state.wait = value, index + 1, 0
        elif patience and state.wait >= patience and index > 0:
            state.stopped_epoch = index + 1
            break
    return state


def as_float32(value: float) -> float:
    """``value`` as the float32 an optimizer's learning-rate variable holds."""
    import numpy as np  # here, not at the top: read-only commands import this module via the configs

    return float(np.float32(value))


def lr_cell(value: float) -> float:
    """A learning rate for ``metrics.csv``: the shortest decimal that reads back as the same float32."""
    import numpy as np

    return float(str(np.float32(value)))


def cosine_lr(lr: float, epoch: int, epochs: int) -> float:
    """The learning rate of 0-based ``epoch`` under ``--lr-schedule cosine``: a function of the index alone."""
    return lr * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))


@dataclass
class Plateau:
    """Keras ``ReduceLROnPlateau``'s state after some epochs, and the learning rate of the next one."""

    best: float | None
    wait: int
    lr: float


def plateau(rows: Sequence[dict[str, Any]], monitor: Monitor, config: TrainingConfig) -> Plateau:
    """Replay ``ReduceLROnPlateau(factor, patience, min_delta=0, cooldown=0, min_lr=0)`` over committed rows.

    Each row's ``lr`` is the rate the epoch trained with; as Keras does, a
    reduction multiplies the float32 rate and stores a float32 again.
    """
    state = Plateau(None, 0, as_float32(config.lr))
    for row in rows:
        value, lr = monitor.value(row), as_float32(float(row["lr"]))
        if monitor.improves(value, state.best):
            state.best, state.wait = value, 0
        else:
            state.wait += 1
            if state.wait >= config.lr_patience and lr > 0.0:
                lr, state.wait = as_float32(lr * config.lr_factor), 0
        state.lr = lr
    return state


def outcome(rows: Sequence[dict[str, Any]], monitor: Monitor, config: TrainingConfig) -> dict[str, Any]:
    """The result fields of early stopping: ``early_stopped`` and, when it did, ``early_stopped_epoch``.

    A run whose patience ran out is complete whatever ``--epochs`` says,
    also when that happened at its last epoch (it would not train on).
    """
    stopped = watch(rows, monitor, config.patience).stopped_epoch
    return {"early_stopped": True, "early_stopped_epoch": stopped} if stopped else {"early_stopped": False}
