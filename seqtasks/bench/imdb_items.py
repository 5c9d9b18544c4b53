"""IMDB items: a training epoch (test accuracy side by side) and evaluation on the test set.

seqjobs' side is the imdb task's own code: :class:`Batches` (length
bucketing: each batch padded to its longest review, padding masked),
:func:`as_dataset`, :func:`build_model` and :func:`evaluate` (large,
length-sorted batches), called as :func:`seqtasks.imdb.train.run` calls them.
The tutorial's side pads every review to 500 words and calls
``fit(batch_size=64)`` and ``evaluate()`` (Keras' default batch of 32).

Each repeat is one seed: both sides start from the same initial weights,
train one whole epoch on the same reviews, then score the same test reviews;
the tutorial's side goes first. Epoch time is the ``fit`` call's wall time
(tracing included, as in any run's first epoch; the tutorial's per-epoch
validation on the test set is left out and timed as evaluation instead).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seqtasks import tfsetup
from seqtasks.bench import tutorial
from seqtasks.bench.harness import Row, Stat, Target
from seqtasks.bench.sizes import Sizes
from seqtasks.bench.standins import stand_in_reviews
from seqtasks.imdb.config import ImdbConfig

ACCURACY_GAP = 0.005  # the two ways must reach the same test accuracy within half a point


@dataclass(frozen=True)
class Outcome:
    """One side's repeat: epoch seconds, evaluation seconds, test accuracy."""

    epoch_s: float
    eval_s: float
    accuracy: float


@dataclass(frozen=True)
class Reviews:
    """The same reviews in both forms: padded arrays (tutorial) and ``Batches`` (seqjobs)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    train: Any  # seqtasks.imdb.batches.Batches
    test: Any


def tutorial_repeat(config: ImdbConfig, initial: list[Any], data: Reviews) -> Outcome:
    """The tutorial's fit (every review padded to 500, batch 64) and evaluate (batch 32)."""
    model = tutorial.imdb_model(config.top_words, config.maxlen, config.embedding_dim)
    model.set_weights(initial)
    start = time.perf_counter()
    model.fit(data.x_train, data.y_train, epochs=1, batch_size=config.batch_size, verbose=0)
    epoch_s = time.perf_counter() - start
    start = time.perf_counter()
    scores = model.evaluate(data.x_test, data.y_test, verbose=0)
    return Outcome(epoch_s, time.perf_counter() - start, float(scores[1]))


def seqjobs_repeat(config: ImdbConfig, initial: list[Any], data: Reviews, seed: int) -> Outcome:
    """The imdb task's fit (bucketed, masked) and evaluate (length-sorted batches of 512)."""
    from seqtasks.imdb.model import build_model
    from seqtasks.imdb.train import as_dataset, evaluate

    model = build_model(config)
    model.set_weights(initial)
    steps = data.train.steps(config.batch_size)
    start = time.perf_counter()
    batches = as_dataset(lambda: data.train.training(config.batch_size, seed, range(0, 1)), steps)
    model.fit(batches, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)
    epoch_s = time.perf_counter() - start
    start = time.perf_counter()
    _, accuracy = evaluate(model, data.test)
    return Outcome(epoch_s, time.perf_counter() - start, accuracy)


def prepare(sizes: Sizes, config: ImdbConfig) -> Reviews:
    """The stand-in reviews, padded the tutorial's way and batched seqjobs' way."""
    from seqtasks.imdb.batches import Batches

    with tempfile.TemporaryDirectory(prefix="seqjobs-bench-") as tmp:
        enc = stand_in_reviews(Path(tmp), sizes.reviews, config)
    return Reviews(
        tutorial.pad_reviews(enc.x_train, config.maxlen), enc.y_train,
        tutorial.pad_reviews(enc.x_test, config.maxlen), enc.y_test,
        Batches(enc.x_train, enc.y_train, config.maxlen, bucket=True),
        Batches(enc.x_test, enc.y_test, config.maxlen, bucket=True),
    )


def imdb_rows(sizes: Sizes) -> list[Row]:
    """``imdb_epoch`` and ``imdb_evaluate``."""
    config = ImdbConfig(maxlen=sizes.review_maxlen)  # defaults: the tutorial's model, batch 64, Adam 1e-3, bucketing
    data = prepare(sizes, config)
    pairs = []
    for seed in range(config.seed, config.seed + sizes.imdb_seeds):
        tfsetup.setup(seed)
        initial = tutorial.imdb_model(config.top_words, config.maxlen, config.embedding_dim).get_weights()
        pairs.append((tutorial_repeat(config, initial, data), seqjobs_repeat(config, initial, data, seed)))
    base, ours = [b for b, _ in pairs], [o for _, o in pairs]
    acc_base, acc_ours = (statistics.fmean(o.accuracy for o in side) for side in (base, ours))
    per_seed = "; ".join(f"seed {config.seed + i}: {b.accuracy:.2%} vs {o.accuracy:.2%}" for i, (b, o) in enumerate(pairs))
    lengths = data.test.lengths
    epoch = Row(
        "imdb_epoch", f"IMDB epoch, {len(data.train):,} x {config.maxlen}, tutorial model", "s",
        Stat.of([o.epoch_s for o in base]), Stat.of([o.epoch_s for o in ours]),
        Target(">= 2x, test accuracy within 0.5 pt", min_ratio=2),
        {"accuracy within 0.5 pt": abs(acc_base - acc_ours) <= ACCURACY_GAP},
        note=f"whole epochs, one seed a repeat, same initial weights; mean test accuracy after one epoch: tutorial "
        f"{acc_base:.2%}, seqjobs {acc_ours:.2%} ({per_seed}); synthetic IMDB-shaped reviews (test: median "
        f"{np.median(lengths):.0f} words, {np.mean(lengths >= config.maxlen):.0%} cut at {config.maxlen})",
    )
    evaluation = Row(
        "imdb_evaluate", f"IMDB evaluate, {len(data.test):,} reviews", "s",
        Stat.of([o.eval_s for o in base]), Stat.of([o.eval_s for o in ours]), Target(">= 2x", min_ratio=2),
        note="tutorial: padded to 500, batch 32 (evaluate's default); seqjobs: length-sorted batches of 512 "
        "padded to their longest, padding masked; the models just trained",
    )
    return [epoch, evaluation]
