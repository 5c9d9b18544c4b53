"""The Keras side of exact resume: load the last committed model, commit a trained epoch.

The commit protocol itself (what is written in which order, how a folder
rolls back to its last commit) belongs to the run folder:
:mod:`seqtasks.rundir.epochs`. This module adds what needs Keras --
saving and loading models -- and the check that a folder holds a trained
model, shared by every task that trains (charlm, imdb).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seqtasks.errors import UserError
from seqtasks.rundir import Damaged, RunDir
from seqtasks.rundir import epochs
from seqtasks.rundir.epochs import BEST, Progress
from seqtasks.training_options import Monitor, lr_cell

__all__ = ["BEST", "Progress", "commit", "restore", "trained_config"]


def trained_config(path: Path, task: str, cls: type, command: str) -> tuple[RunDir, dict[str, Any], Any]:
    """``(run dir, config record, config)`` of a ``task`` run with a ``best.keras``; one clear line otherwise.

    What ``generate``, ``eval`` and ``predict`` check before loading anything heavy.
    """
    from seqtasks.config import from_dict

    run_dir = RunDir(path)
    try:
        record = run_dir.config()
    except Damaged as err:
        raise UserError(f"{err}; give the --out folder of a run of task '{task}'") from None
    if record is None:
        raise UserError(f"{path} is not a run folder (no config.json); give the --out folder of a run of task '{task}'")
    if record.get("task") != task:
        raise UserError(f"{path} holds a run of task '{record.get('task')}'; {command} needs a run of task '{task}'")
    if not (run_dir.file(BEST).is_file() and run_dir.file("vocab.json").is_file()):
        raise UserError(f"{path} has no trained model yet (best.keras); let at least one epoch finish")
    return run_dir, record, from_dict(cls, record["config"])


def restore(run_dir: RunDir) -> tuple[Any, Progress]:
    """The folder rolled back to its last commit, and that commit's compiled model (optimizer state
    included); ``(None, Progress())`` when no epoch was committed yet."""
    progress = epochs.rollback(run_dir)
    if progress.epoch == 0:
        return None, progress
    import keras

    return keras.models.load_model(epochs.model_path(run_dir, progress.epoch)), progress


def commit(run_dir: RunDir, model: Any, progress: Progress, row: dict[str, Any], monitor: Monitor,
           logs: dict[str, Any]) -> None:
    """Commit the epoch after ``progress.epoch``: its metrics row, then the model (see :mod:`seqtasks.rundir.epochs`).

    The row gains ``lr``, the learning rate the epoch trained with. The best
    epoch is the one whose recorded ``monitor`` figure is best; that recorded
    (rounded) figure also goes into ``logs``, so Keras' early stopping and
    plateau callbacks after this one decide on exactly what a resumed run
    replays from ``metrics.csv``.
    """
    import keras

    row = {**row, "lr": lr_cell(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))}
    rows = run_dir.metrics_rows()
    best = monitor.value(rows[progress.best_epoch - 1]) if progress.best_epoch else None
    logs[monitor.column] = monitor.value(row)
    improved = monitor.improves(logs[monitor.column], best)
    epochs.commit(run_dir, progress, row, float(row["val_loss"]), lambda path: model.save(path), improved)
