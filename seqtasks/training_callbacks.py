"""Keras' own callbacks for the shared training options, resumed from a run's committed metrics.

``EarlyStopping`` and ``ReduceLROnPlateau`` reset their state in
``on_train_begin``; the subclasses here set it back afterwards to what
:func:`seqtasks.training_options.watch` and
:func:`~seqtasks.training_options.plateau` replay from ``metrics.csv``.
They must come after the task's epoch-end callback in ``fit``'s list: that
one commits the epoch (reading the learning rate the epoch trained with,
before a reduction) and puts the recorded, rounded figure in the logs these
decide on. Imported only when a run trains.
"""

from __future__ import annotations

from typing import Any, Sequence

import keras

from seqtasks import training_options as opts
from seqtasks.training_options import Monitor, Plateau, Watch


class ResumedEarlyStopping(keras.callbacks.EarlyStopping):
    """``EarlyStopping`` on the run's monitor, starting from the committed epochs' state."""

    def __init__(self, monitor: Monitor, patience: int, resumed: Watch) -> None:
        super().__init__(monitor=monitor.column, mode=monitor.mode, patience=patience, min_delta=0)
        self.resumed = resumed

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_begin(logs)
        self.best, self.wait = self.resumed.best, self.resumed.wait
        self.best_epoch = max(self.resumed.best_epoch - 1, 0)  # Keras counts from 0


class ResumedPlateau(keras.callbacks.ReduceLROnPlateau):
    """``ReduceLROnPlateau`` on the run's monitor, starting from the committed epochs' state and rate.

    The checkpoint holds the rate an epoch trained with (it is saved before
    this callback may lower it), so the resumed rate comes from the replay.
    """

    def __init__(self, monitor: Monitor, config: Any, resumed: Plateau) -> None:
        super().__init__(
            monitor=monitor.column,
            mode=monitor.mode,
            factor=config.lr_factor,
            patience=config.lr_patience,
            min_delta=0,
            cooldown=0,
            min_lr=0.0,
        )
        self.resumed = resumed

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_begin(logs)
        self.best, self.wait = self.resumed.best, self.resumed.wait
        self.model.optimizer.learning_rate = self.resumed.lr


def callbacks(config: Any, monitor: Monitor, rows: Sequence[dict[str, Any]]) -> list[Any]:
    """The schedule and early-stopping callbacks ``config`` asks for, resumed after the committed ``rows``."""
    out: list[Any] = []
    if config.lr_schedule == "cosine":
        out.append(
            keras.callbacks.LearningRateScheduler(lambda epoch, lr: opts.cosine_lr(config.lr, epoch, config.epochs))
        )
    elif config.lr_schedule == "plateau":
        out.append(ResumedPlateau(monitor, config, opts.plateau(rows, monitor, config)))
    if config.patience:
        out.append(ResumedEarlyStopping(monitor, config.patience, opts.watch(rows, monitor, config.patience)))
    return out
