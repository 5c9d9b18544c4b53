"""End-of-epoch bookkeeping and exact resume for the sentiment task.

At the end of every epoch, in this order:

1. the metrics row is appended to ``metrics.csv``;
2. the model, with its optimizer state, is saved as ``checkpoints/epoch-NNNN.keras``;
3. if ``val_loss`` improved, that file is copied to ``best.keras``;
4. ``checkpoints/state.json`` (epochs done, best epoch, best ``val_loss``) is
   written -- the commit point: nothing counts until it is there.

Every write is atomic. A run killed anywhere resumes from the last commit:
``metrics.csv`` is cut back to it, and ``best.keras`` is restored from the
best epoch's checkpoint (kept for that reason), since steps 1-3 of an
uncommitted epoch may already have run. Keras' ``BackupAndRestore`` deletes
its backup when training ends, which would not let ``--epochs`` grow on a
finished run; hence this small callback.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import keras  # a train-side module: imported only once a run starts

from seqtasks import atomic
from seqtasks.errors import UserError
from seqtasks.rundir import RunDir, read_json

BEST = "best.keras"
STATE = "state.json"


@dataclass
class Progress:
    """What the last commit says: epochs done and the best epoch so far (0: none yet)."""

    epoch: int = 0
    best_epoch: int = 0
    best_val_loss: float = 0.0


def model_path(run_dir: RunDir, epoch: int) -> Path:
    """The checkpoint file of ``epoch``."""
    return run_dir.checkpoints / f"epoch-{epoch:04d}.keras"


def save_model(model: Any, path: Path) -> None:
    """``model.save`` atomically (Keras wants the ``.keras`` suffix on the temporary name too)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.keras")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def resume(run_dir: RunDir) -> tuple[Any, Progress]:
    """The model and progress of the last commit, or ``(None, Progress())`` on a fresh folder."""
    record = read_json(run_dir.checkpoints / STATE)
    if record is None:
        run_dir.truncate_metrics(0)
        return None, Progress()
    progress = Progress(**record)
    latest, best = model_path(run_dir, progress.epoch), model_path(run_dir, progress.best_epoch)
    if not (latest.is_file() and best.is_file()):
        raise UserError(f"{run_dir.path}: checkpoint files are missing; start again with another --out")
    run_dir.truncate_metrics(progress.epoch)
    atomic.write_bytes(run_dir.file(BEST), best.read_bytes())
    return keras.models.load_model(latest), progress


class EpochCommit(keras.callbacks.Callback):
    """Writes the metrics row, checkpoint, ``best.keras`` and commit record of every epoch."""

    def __init__(self, run_dir: RunDir, progress: Progress) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.progress = progress
        self.started = 0.0
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        logs = logs or {}
        seconds = time.perf_counter() - self.started
        self.seconds.append(seconds)
        done = epoch + 1
        row = {"epoch": done, **{k: round(float(logs[k]), 6) for k in ("loss", "accuracy", "val_loss", "val_accuracy")}}
        self.run_dir.append_metrics({**row, "seconds": round(seconds, 3)})
        path = model_path(self.run_dir, done)
        save_model(self.model, path)
        p = self.progress
        if p.best_epoch == 0 or row["val_loss"] < p.best_val_loss:
            p.best_epoch, p.best_val_loss = done, row["val_loss"]
            atomic.write_bytes(self.run_dir.file(BEST), path.read_bytes())
        p.epoch = done
        atomic.write_json(self.run_dir.checkpoints / STATE, asdict(p))  # the commit
        for old in self.run_dir.checkpoints.glob("epoch-*.keras"):
            if old not in (path, model_path(self.run_dir, p.best_epoch)):
                old.unlink(missing_ok=True)
