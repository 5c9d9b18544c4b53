"""Resume a user's Keras model from its run folder, and commit every epoch it trains.

The same commit protocol as the built-in tasks (:mod:`seqtasks.rundir.epochs`):
each epoch appends its ``metrics.csv`` row, saves the model with its optimizer
and random state, keeps the best epoch's model as ``best.keras``, and writes
the commit record last. A kill or a preemption at any moment leaves the
folder at its last commit, and :func:`restore` resumes from there: a
requeued job trains only the epochs that are missing, as an uninterrupted
run would have. A task that does not use this module still runs; it starts
again from scratch when its job is requeued.

Imported by a task's ``run`` only (it imports Keras)::

    model, progress = restore(run_dir)
    model = model or build(config)
    model.fit(..., validation_data=..., initial_epoch=progress.epoch, epochs=config.epochs,
              callbacks=[EpochCommits(run_dir, progress, monitor="val_accuracy")])
"""

from __future__ import annotations

import numbers
import time
from typing import Any

import keras

from seqtasks.checkpoint import BEST, Progress, restore
from seqtasks.checkpoint import commit as _commit
from seqtasks.errors import UserError
from seqtasks.rundir import RunDir
from seqtasks.training_options import Monitor

__all__ = ["BEST", "EpochCommits", "Progress", "restore"]


class EpochCommits(keras.callbacks.Callback):
    """Commits every epoch: its row (every figure Keras logged, and its seconds), then its checkpoint.

    ``monitor`` names the logged validation figure the best epoch goes by
    (``higher``: its direction; a loss is lower-is-better). ``fit`` needs
    ``validation_data``: a commit records the epoch's ``val_loss``.
    """

    def __init__(self, run_dir: RunDir, progress: Progress, *, monitor: str = "val_loss", higher: bool = False) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.progress = progress
        self.monitor = Monitor(monitor, higher=higher)
        self.started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs if logs is not None else {}
        for needed in {"val_loss", self.monitor.column}:
            if needed not in logs:
                raise UserError(f"epoch {epoch + 1} logged no {needed}: give model.fit validation_data")
        row = {"epoch": epoch + 1, **{k: round(float(v), 6) for k, v in logs.items() if isinstance(v, numbers.Real)}}
        row["seconds"] = round(time.perf_counter() - self.started, 3)
        _commit(self.run_dir, self.model, self.progress, row, self.monitor, logs)
