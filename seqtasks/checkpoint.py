"""Exact resume: what is committed at the end of an epoch, and how a run picks it up.

At the end of every epoch, after that epoch's metrics row and samples:

1. the model, with its optimizer state, is saved as ``checkpoints/epoch-NNNN.keras``;
2. if ``val_loss`` improved, that file is copied to ``best.keras``;
3. ``checkpoints/state.json`` (epochs done, best epoch, best ``val_loss``) is
   written -- the commit point: nothing of the epoch counts until it is there;
4. older checkpoint files go, except the best epoch's.

Every write is atomic. :func:`restore` returns the last commit and puts
``best.keras`` back to the best committed epoch (an uncommitted epoch may
have replaced it); the caller cuts its own per-epoch files back to
``progress.epoch``. Keras' ``BackupAndRestore`` is not used: it deletes its
backup when training ends, so ``--epochs`` could not grow on a finished run.
Shared by every task that trains (charlm, imdb).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

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


def trained_config(path: Path, task: str, cls: type, command: str) -> tuple[RunDir, dict[str, Any], Any]:
    """``(run dir, config record, config)`` of a ``task`` run with a ``best.keras``; one clear line otherwise.

    What ``generate``, ``eval`` and ``predict`` check before loading anything heavy.
    """
    from seqtasks.config import from_dict

    run_dir = RunDir(path)
    record = run_dir.config()
    if record is None:
        raise UserError(f"{path} is not a run folder (no config.json); give the --out folder of a {task} run")
    if record.get("task") != task:
        raise UserError(f"{path} holds a '{record.get('task')}' run; {command} needs a {task} run")
    if not (run_dir.file(BEST).is_file() and run_dir.file("vocab.json").is_file()):
        raise UserError(f"{path} has no trained model yet (best.keras); let at least one epoch finish")
    return run_dir, record, from_dict(cls, record["config"])


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


def restore(run_dir: RunDir) -> tuple[Any, Progress]:
    """The compiled model (optimizer state included) and progress of the last commit; ``(None, Progress())`` if none."""
    record = read_json(run_dir.checkpoints / STATE)
    if record is None:
        run_dir.file(BEST).unlink(missing_ok=True)  # only an uncommitted first epoch can have written it
        return None, Progress()
    progress = Progress(**record)
    latest, best = model_path(run_dir, progress.epoch), model_path(run_dir, progress.best_epoch)
    if not (latest.is_file() and best.is_file()):
        raise UserError(f"{run_dir.path}: checkpoint files are missing; start again with another --out")
    atomic.write_bytes(run_dir.file(BEST), best.read_bytes())
    import keras

    return keras.models.load_model(latest), progress


def commit(run_dir: RunDir, model: Any, progress: Progress, val_loss: float) -> None:
    """Steps 1-4 above for the epoch after ``progress.epoch``; updates ``progress`` in place."""
    done = progress.epoch + 1
    path = model_path(run_dir, done)
    save_model(model, path)
    if progress.best_epoch == 0 or val_loss < progress.best_val_loss:
        progress.best_epoch, progress.best_val_loss = done, val_loss
        atomic.write_bytes(run_dir.file(BEST), path.read_bytes())
    progress.epoch = done
    atomic.write_json(run_dir.checkpoints / STATE, asdict(progress))  # the commit
    keep = {path, model_path(run_dir, progress.best_epoch)}
    for old in run_dir.checkpoints.glob("epoch-*.keras"):
        if old not in keep:
            old.unlink(missing_ok=True)
