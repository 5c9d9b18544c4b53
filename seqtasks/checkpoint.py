"""The Keras side of exact resume: load the last committed model, commit a trained epoch.

The commit protocol itself (what is written in which order, how a folder
rolls back to its last commit) belongs to the run folder:
:mod:`seqtasks.rundir.epochs`. This module adds what needs Keras --
saving and loading models, and their random state -- and the check that a
folder holds a trained model, shared by every task that trains (charlm, imdb).

The random state: Keras 3 layers draw their dropout masks from
``keras.random.SeedGenerator`` s, each a ``[seed, counter]`` variable that
advances with every training step; a ``.keras`` file does not save them,
and a loaded model starts them afresh (a Bidirectional layer even swaps the
seeds of its two halves). So every commit records them all, with Keras'
global generator (what ``keras.random`` draws from without a seed), and a
resume sets them back: the epochs after it draw the masks an uninterrupted
run would have drawn. Data order and samples need nothing here: they are
keyed by ``(seed, epoch)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from seqtasks.errors import UserError
from seqtasks.rundir import Damaged, RunDir, epochs
from seqtasks.rundir.epochs import BEST, Progress, RandomState
from seqtasks.rundir.records import ConfigRecord
from seqtasks.training_options import Monitor, lr_cell

__all__ = ["BEST", "Progress", "commit", "restore", "trained_config"]


def trained_config(path: Path, task: str, cls: type, command: str) -> tuple[RunDir, ConfigRecord, Any]:
    """``(run dir, config record, config)`` of a ``task`` run with a ``best.keras``; one clear line otherwise.

    What ``generate``, ``eval`` and ``predict`` check before loading anything heavy.
    """
    from seqtasks.config import from_dict

    run_dir = RunDir(path)
    try:
        record = run_dir.config_record()
    except Damaged as err:
        raise UserError(f"{err}; give the --out folder of a run of task '{task}'") from None
    if record is None:
        raise UserError(f"{path} is not a run folder (no config.json); give the --out folder of a run of task '{task}'")
    if record.task != task:
        raise UserError(f"{path} holds a run of task '{record.task}'; {command} needs a run of task '{task}'")
    if not (run_dir.file(BEST).exists() and run_dir.file("vocab.json").exists()):  # a FIFO: named when read
        raise UserError(f"{path} has no trained model yet (best.keras); let at least one epoch finish")
    return run_dir, record, from_dict(cls, record.config)


#: the key of Keras' global generator in a random state (layer paths never start with ``:``)
GLOBAL_GENERATOR = ":global"


def _generators(layer: Any, path: str) -> Iterator[tuple[str, Any]]:
    """``(name, generator)`` of every SeedGenerator of ``layer`` and the layers inside it.

    Named by the chain of layer names and the generator's position in its
    layer: the same for a model as built and as loaded from a checkpoint
    (Keras' own variable paths are not).
    """
    for i, generator in enumerate(layer._seed_generators):
        yield f"{path}/{i}", generator
    for inner in layer._layers:
        yield from _generators(inner, f"{path}/{inner.name}")


def _global_generator(create: bool) -> Any:
    """Keras' global SeedGenerator (``None`` when it does not exist and ``create`` is false)."""
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator

    if create:
        return seed_generator.global_seed_generator()
    return global_state.get_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR)


def random_state(model: Any) -> RandomState:
    """The state of every random generator ``model``'s training draws from, by name."""
    import keras

    state = {name: keras.ops.convert_to_numpy(gen.state.value).tolist() for name, gen in _generators(model, model.name)}
    shared = _global_generator(create=False)
    if shared is not None:
        state[GLOBAL_GENERATOR] = keras.ops.convert_to_numpy(shared.state.value).tolist()
    return state


def set_random_state(model: Any, state: RandomState) -> None:
    """Put ``model``'s generators (and the global one, if recorded) back to ``state``.

    :class:`ValueError` when the model's generators are not the recorded
    ones: it is not the model the state was taken from.
    """
    import numpy as np

    generators = dict(_generators(model, model.name))
    if set(generators) != set(state) - {GLOBAL_GENERATOR}:
        raise ValueError(
            f"it records the random state of {sorted(set(state) - {GLOBAL_GENERATOR})}, "
            f"but the model has {sorted(generators)}"
        )
    if GLOBAL_GENERATOR in state:
        generators[GLOBAL_GENERATOR] = _global_generator(create=True)
    for name, generator in generators.items():
        generator.state.assign(np.asarray(state[name], dtype=generator.state.dtype))


@contextmanager
def random_state_kept(model: Any) -> Iterator[None]:
    """Run the block (inference, such as sampling) without moving ``model``'s random generators.

    Keras' recurrent layers draw their dropout masks at every call, even
    when not training, so every forward pass advances their generators.
    Inference inside the block then changes nothing of what training draws
    next: the masks do not depend on how much is sampled, nor on the
    sampler's warm-up that each attempt (a resumed one too) begins with.
    """
    state = random_state(model)
    try:
        yield
    finally:
        set_random_state(model, state)


def restore(run_dir: RunDir) -> tuple[Any, Progress]:
    """The folder rolled back to its last commit, and that commit's compiled model (optimizer state
    and random generators included); ``(None, Progress())`` when no epoch was committed yet.

    A commit without a random state leaves the generators as a loaded model
    starts them, from the run's seed.
    """
    progress = epochs.rollback(run_dir)
    if progress.epoch == 0:
        return None, progress
    import keras

    model = keras.models.load_model(epochs.model_path(run_dir, progress.epoch))
    if progress.rng is not None:
        try:
            set_random_state(model, progress.rng)
        except ValueError as err:
            raise UserError(f"{run_dir.checkpoints / epochs.COMMIT}: {err}; start again with another --out") from None
    return model, progress


def commit(
    run_dir: RunDir, model: Any, progress: Progress, row: dict[str, Any], monitor: Monitor, logs: dict[str, Any]
) -> None:
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
    epochs.commit(
        run_dir, progress, row, float(row["val_loss"]), lambda path: model.save(path), improved, random_state(model)
    )
