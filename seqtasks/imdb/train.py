"""Train the sentiment LSTM into a run folder, resumably, and test it once at the end.

Validation is a held-out part of the training split (``--val-fraction``,
drawn with ``--seed``); the test split is touched once, after training, by
the best epoch's model (highest validation accuracy, the earliest on a tie;
the same figure ``--patience`` stops on), which is also what ``seqjobs
eval`` re-evaluates. Besides the shared run-folder files this task writes
``vocab.json`` (the word index ``predict`` needs) and ``best.keras``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np

from seqtasks import atomic, tfsetup, training_options
from seqtasks.errors import UserError
from seqtasks.imdb.batches import Batches
from seqtasks.imdb.config import ImdbConfig
from seqtasks.imdb.loaders import load, resolve
from seqtasks.rundir import RunDir

EVAL_BATCH = 512  # evaluation needs no gradients: big batches are cheap and fast
VOCAB = "vocab.json"


def split_validation(data: Batches, fraction: float, seed: int) -> tuple[Batches, Batches]:
    """Hold a random ``fraction`` of the training reviews out for validation."""
    n_val = int(round(len(data) * fraction))
    if n_val < 1 or n_val >= len(data):
        raise UserError(
            f"{len(data)} training reviews cannot be split with --val-fraction {fraction}; "
            "use more data (--limit) or another fraction"
        )
    order = np.random.default_rng(seed).permutation(len(data))
    pick = lambda idx: Batches([data.seqs[i] for i in idx], data.labels[idx], data.maxlen, data.bucket)  # noqa: E731
    return pick(order[n_val:]), pick(order[:n_val])


def as_dataset(batches: Callable[[], Iterator[Any]], count: int) -> Any:
    """A ``tf.data`` pipeline over ``count`` ``(x, y)`` batches of any width.

    The count is declared so Keras knows where a pass ends (no "ran out of
    data" warnings) and one generator serves all remaining epochs.
    """
    import tensorflow as tf

    spec = (tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None,), tf.float32))
    dataset = tf.data.Dataset.from_generator(batches, output_signature=spec)
    return dataset.apply(tf.data.experimental.assert_cardinality(count)).prefetch(2)


def evaluate(model: Any, data: Batches) -> tuple[float, float]:
    """``(loss, accuracy)`` of ``model`` on ``data`` in one pass."""
    batches = as_dataset(lambda: data.evaluation(EVAL_BATCH), data.steps(EVAL_BATCH))
    scores = model.evaluate(batches, verbose=0, return_dict=True)
    return float(scores["loss"]), float(scores["accuracy"])


def run(config: ImdbConfig, run_dir: RunDir) -> dict[str, Any]:
    """Load, train (or resume), test; return the run's figures."""
    source = resolve(config.dataset)
    data = load(source, config)
    run_dir.record_data(source.name, source.sha256(), kind=source.kind, path=str(source.path.resolve()))
    run_dir.write_text(VOCAB, atomic.json_bytes(data.vocab.to_json()).decode())

    tfsetup.setup(config.seed, config.mixed_precision)
    import keras

    from seqtasks.checkpoint import restore
    from seqtasks.imdb.checkpoint import BEST, MONITOR, EpochCommit
    from seqtasks.imdb.model import build_model
    from seqtasks.training_callbacks import callbacks

    labelled = Batches(data.x_train, data.y_train, config.maxlen, config.bucket)
    train, val = split_validation(labelled, config.val_fraction, config.seed)
    test = Batches(data.x_test, data.y_test, config.maxlen, config.bucket)
    model, progress = restore(run_dir)
    model = model or build_model(config)
    commit = EpochCommit(run_dir, progress)
    rows = run_dir.metrics_rows()
    if progress.epoch < config.epochs and not training_options.watch(rows, MONITOR, config.patience).stopped_epoch:
        epochs, steps = range(progress.epoch, config.epochs), train.steps(config.batch_size)
        model.fit(
            as_dataset(lambda: train.training(config.batch_size, config.seed, epochs), steps * len(epochs)),
            steps_per_epoch=steps,
            validation_data=as_dataset(lambda: val.evaluation(EVAL_BATCH), val.steps(EVAL_BATCH)),
            shuffle=False,  # the batches come shuffled (and bucketed) already
            initial_epoch=progress.epoch,
            epochs=config.epochs,
            callbacks=[commit, *callbacks(config, MONITOR, rows)],  # commit first: it records the epoch
            verbose=2,
        )
    best = keras.models.load_model(run_dir.file(BEST))
    test_loss, test_accuracy = evaluate(best, test)
    rows = run_dir.metrics_rows()
    best_row = rows[progress.best_epoch - 1]
    per_epoch = sum(float(row["seconds"]) for row in rows) / len(rows)
    return {
        "test_accuracy": round(test_accuracy, 6),
        "test_loss": round(test_loss, 6),
        "best_epoch": progress.best_epoch,  # the epoch the test figures are of
        "best_val_accuracy": float(best_row["val_accuracy"]),
        "best_val_loss": float(best_row["val_loss"]),
        "epochs_done": progress.epoch,
        "param_count": int(best.count_params()),
        "seconds_per_epoch": round(per_epoch, 3),
        "samples_per_sec": round(len(train) / per_epoch, 1),
        "train_size": len(train),
        "val_size": len(val),
        "test_size": len(test),
        "dataset": source.name,
        "vocab_words": len(data.vocab.word_index),
        "bucket": config.bucket,
        **training_options.outcome(rows, MONITOR, config),
    }
