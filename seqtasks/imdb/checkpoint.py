"""End-of-epoch bookkeeping for the sentiment task, on the shared commit protocol.

Each epoch :func:`seqtasks.checkpoint.commit` appends the metrics row, saves
the model with its optimizer state, updates ``best.keras`` (the best epoch
by validation accuracy) and writes the commit record last
(:mod:`seqtasks.rundir.epochs`). :func:`seqtasks.checkpoint.restore` rolls
the folder back to the last commit, so a run killed anywhere ends with exactly
one row per epoch.
"""

from __future__ import annotations

import time

import keras  # noqa: E402 -- train-side module, imported only when a run starts

from seqtasks import checkpoint, tfsetup  # noqa: F401 -- tfsetup quiets TensorFlow's logs before keras loads
from seqtasks.checkpoint import BEST, Progress
from seqtasks.imdb import model as _model  # noqa: E402,F401 -- registers LastWord, so checkpoints load
from seqtasks.rundir import RunDir
from seqtasks.training_options import Monitor

__all__ = ["BEST", "MONITOR", "EpochCommit"]

#: what the best epoch (the tested model), early stopping and ``--lr-schedule plateau`` go by
MONITOR = Monitor("val_accuracy", higher=True)


class EpochCommit(keras.callbacks.Callback):
    """Writes the metrics row of every epoch, then commits its checkpoint."""

    def __init__(self, run_dir: RunDir, progress: Progress) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.progress = progress
        self.started = 0.0
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        seconds = time.perf_counter() - self.started
        self.seconds.append(seconds)
        row = {
            "epoch": epoch + 1,
            **{k: round(float(logs[k]), 6) for k in ("loss", "accuracy", "val_loss", "val_accuracy")},
        }
        checkpoint.commit(self.run_dir, self.model, self.progress, {**row, "seconds": round(seconds, 3)}, MONITOR, logs)
