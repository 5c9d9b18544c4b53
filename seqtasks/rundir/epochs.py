"""The epoch commit: what a training run writes at the end of every epoch, and how it rolls back.

At the end of every epoch, in this order (each write atomic):

1. the epoch's own files (samples: ``samples/epoch_NNN.txt``, ``samples.jsonl``);
2. its row of ``metrics.csv``;
3. the model, with its optimizer state, as ``checkpoints/epoch-NNNN.keras``;
4. ``best.keras``, if the epoch beat the best so far on the task's validation figure;
5. ``checkpoints/state.json`` (epochs done, best epoch, best ``val_loss``,
   and the random state training goes on from) -- **the commit**: nothing
   of the epoch counts until it is there;
6. ``state.json`` learns the committed count; older checkpoint files go.

Step 5 is refused (:class:`~seqtasks.rundir.folder.AttemptClosed`) once
``state.json`` no longer says this process's attempt is running: a
preemption that ended the attempt is final, even where its exit was lost.

:func:`rollback` puts a folder back to its last commit: every per-epoch file
of a later epoch is cut away and ``best.keras`` is the best committed epoch's
model again. A kill anywhere above therefore loses at most the epoch in
progress, and the redone epoch appears once. Keras' ``BackupAndRestore``
is not used: it writes its backup on its own, not as one step of this
ordered commit with the epoch's samples and metrics row (and by default
deletes it when training ends). Shared by every task that trains.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Optional

from seqtasks import atomic
from seqtasks.errors import UserError
from seqtasks.rundir.folder import RunDir
from seqtasks.rundir.records import dump, load
from seqtasks.rundir.safe import Damaged, read_object

BEST = "best.keras"
COMMIT = "state.json"  # inside checkpoints/
SAMPLES_JSONL = "samples.jsonl"

#: ``save(path)`` writes the model to a ``.keras`` path (the caller's framework)
SaveModel = Callable[[Path], None]

#: random generator name -> its state (two integers), as the training framework keeps it
RandomState = dict[str, list[int]]


@dataclass
class Progress:
    """What the last commit says: epochs done, the best epoch so far (0: none yet) and its ``val_loss``.

    ``rng``: the state of every random generator training draws from (dropout
    masks), as it was when the epoch ended. A model checkpoint does not hold
    it, and without it a resumed run would draw other masks than one that
    went on uninterrupted. ``None`` (a commit without it): the generators
    start from the run's seed, as for a new model.
    """

    FORMAT: ClassVar[int] = 2

    epoch: int = 0
    best_epoch: int = 0
    best_val_loss: float = 0.0
    rng: Optional[RandomState] = None  # noqa: UP045 -- records.load reads typing.Optional, not X | None


def model_path(run: RunDir, epoch: int) -> Path:
    """The checkpoint file of ``epoch``."""
    return run.checkpoints / f"epoch-{epoch:04d}.keras"


def sample_name(epoch: int) -> str:
    """An epoch's readable sample file, relative to the run folder."""
    return f"samples/epoch_{epoch:03d}.txt"


def committed(run: RunDir) -> Progress | None:
    """The last commit; ``None`` when no epoch was ever committed. :class:`Damaged` if unreadable."""
    path = run.checkpoints / COMMIT
    obj = read_object(path, run.path)
    if obj is None:
        return None
    try:
        progress = load(Progress, obj)
    except ValueError as err:
        raise Damaged(path, str(err)) from None
    if not 1 <= progress.best_epoch <= progress.epoch:
        raise Damaged(path, f"best epoch {progress.best_epoch} is not within 1..{progress.epoch}")
    for name, state in (progress.rng or {}).items():
        if not (isinstance(state, list) and len(state) == 2 and all(type(v) is int for v in state)):
            raise Damaged(path, f"random state '{name}' is {state!r:.60}, not two integers")
    return progress


def rollback(run: RunDir) -> Progress:
    """Cut the folder back to its last commit and return it (``Progress()`` when none)."""
    try:
        progress = committed(run) or Progress()
    except Damaged as err:
        raise UserError(f"{err}; the run cannot resume: start again with another --out") from None
    done = progress.epoch
    if done:
        latest, best = model_path(run, done), model_path(run, progress.best_epoch)
        if not (latest.is_file() and best.is_file()):
            raise UserError(
                f"{run.path}: checkpoint files of the last commit are missing; start again with another --out"
            )
        atomic.write_bytes(run.file(BEST), best.read_bytes())
    else:
        atomic.remove(run.file(BEST))  # only an uncommitted first epoch can have written it
    try:
        run.truncate_metrics(done)
        if len(run.metrics_rows()) != done:
            raise UserError(
                f"{run.file('metrics.csv')} has fewer rows than the {done} committed epochs; start again with another --out"
            )
    except Damaged as err:
        raise UserError(f"{err}; the run cannot resume: start again with another --out") from None
    _cut_samples(run, done)
    for old in run.checkpoints.glob("epoch-*.keras"):
        if old not in (model_path(run, done), model_path(run, progress.best_epoch)):
            atomic.remove(old)
    run.note_committed(done)
    return progress


def _cut_samples(run: RunDir, epoch: int) -> None:
    """Samples of epochs after ``epoch`` (written by an attempt that did not commit them) go."""
    path = run.file(SAMPLES_JSONL)
    if path.exists():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [ln for ln in lines if ln.strip() and json.loads(ln)["epoch"] <= epoch]
        if len(kept) != len(lines):
            atomic.write_text(path, "".join(kept))
    for old in run.samples.glob("epoch_*.txt"):
        if int(old.stem.split("_")[1]) > epoch:
            atomic.remove(old)


def commit(
    run: RunDir,
    progress: Progress,
    row: dict[str, object],
    val_loss: float,
    save: SaveModel,
    improved: bool,
    rng: RandomState,
) -> None:
    """Steps 2-6 above for the epoch after ``progress.epoch``; updates ``progress`` in place.

    ``improved``: the epoch is the best so far by the task's own validation
    figure (see :class:`seqtasks.training_options.Monitor`). ``rng``: the
    random generators' state at the end of the epoch, committed with it.
    """
    done = progress.epoch + 1
    run.append_metrics(row)
    path = model_path(run, done)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic.temporary_path(path, ".keras")  # Keras wants the suffix
    try:
        save(tmp)
        atomic.move(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    if progress.best_epoch == 0 or improved:
        # a diverged (NaN) first epoch is "best so far" with the largest float: JSON has no NaN
        progress.best_epoch, progress.best_val_loss = done, val_loss if math.isfinite(val_loss) else sys.float_info.max
        atomic.write_bytes(run.file(BEST), path.read_bytes())
    progress.epoch, progress.rng = done, rng
    run.check_attempt_open()  # last, as close to the commit as can be: a requeue may have ended the attempt meanwhile
    atomic.write_json(run.checkpoints / COMMIT, dump(progress))  # the commit
    run.note_committed(done)
    for old in run.checkpoints.glob("epoch-*.keras"):
        if old not in (path, model_path(run, progress.best_epoch)):
            atomic.remove(old)
