"""IMDB items: training epochs (test accuracy side by side) and evaluation on the test set.

seqjobs' side is the imdb task's own code: :class:`Batches` (length
bucketing: each batch 'post'-padded to its longest review, the model reading
each review's last word), :func:`as_dataset`, :func:`build_model` and
:func:`evaluate` (large, length-sorted batches), called as
:func:`seqtasks.imdb.train.run` calls them. The tutorial's side pads every
review to 500 words and calls ``fit(batch_size=64)`` and ``evaluate()``
(Keras' default batch of 32).

Each repeat is one seed: both sides start from the same initial weights and
train the tutorial's 3 epochs on the same reviews, then each scores the same
test reviews. The machine's speed drifts by up to a third over minutes, more
than an epoch lasts, so each epoch runs in ``PARTS`` parts, the two ways in
turn (tutorial part 1, seqjobs part 1, tutorial part 2, ...): both meet the
same slow and fast minutes. An epoch's time is its parts' training time
summed (Keras' ``on_train_begin`` to ``on_train_end``; the first part
includes tracing on both sides; the tutorial's per-epoch validation on the
test set is left out and timed as evaluation instead).

Accuracy is compared after the last epoch: after one epoch the LSTM is still
finding the signal, and seeds alone move it by tens of points (either way:
in some seeds the tutorial's model finds it later). The check is one-sided
-- bucketing must not cost more than half a point -- since a bucketed model
that scores higher has lost nothing.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from jobs.bench import tutorial
from jobs.bench.harness import Row, Stat, Target
from jobs.bench.sizes import Sizes
from jobs.bench.standins import stand_in_reviews
from seqtasks import tfsetup
from seqtasks.imdb.config import ImdbConfig

PARTS = 8  # each epoch runs in this many parts, the two ways in turn
ACCURACY_GAP = 0.005  # bucketing may not cost more than half a point of test accuracy


@dataclass(frozen=True)
class Outcome:
    """One side's repeat: seconds of each epoch, evaluation seconds, final test accuracy."""

    epoch_s: list[float]
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


def training_seconds() -> Any:
    """A Keras callback that measures one ``fit`` call's training, from ``on_train_begin`` to ``on_train_end``.

    That leaves out what ``fit`` does before training starts (wrapping the
    input), which both sides would otherwise pay once per part of an epoch.
    """
    import keras

    class Seconds(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.start = self.seconds = 0.0

        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            self.start = time.perf_counter()

        def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
            self.seconds = time.perf_counter() - self.start

    return Seconds()


@dataclass
class Side:
    """One way of training: how its model trains part ``p`` of epoch ``e``, and how it scores the test set."""

    fit_part: Callable[[int, int, list[Any]], None]  # (epoch, part, callbacks)
    score: Callable[[], float]
    epoch_s: list[float] = field(default_factory=list)


def parts(items: np.ndarray | list[Any], part: int) -> Any:
    """Part ``part`` of ``PARTS`` near-equal consecutive parts of ``items``."""
    bounds = np.linspace(0, len(items), PARTS + 1).astype(int)
    return items[bounds[part] : bounds[part + 1]]


def tutorial_side(config: ImdbConfig, initial: list[Any], data: Reviews, seed: int) -> Side:
    """The tutorial's fit (every review padded to 500, batch 64) and evaluate (batch 32).

    Each epoch is one shuffle of every review (keyed by seed and epoch), fed
    to ``fit`` in ``PARTS`` consecutive parts.
    """
    model = tutorial.imdb_model(config.top_words, config.maxlen, config.embedding_dim)
    model.set_weights(initial)

    def fit_part(epoch: int, part: int, callbacks: list[Any]) -> None:
        idx = parts(np.random.default_rng([seed, epoch]).permutation(len(data.y_train)), part)
        model.fit(
            data.x_train[idx],
            data.y_train[idx],
            batch_size=config.batch_size,
            epochs=1,
            shuffle=False,
            verbose=0,
            callbacks=callbacks,
        )

    return Side(fit_part, lambda: float(model.evaluate(data.x_test, data.y_test, verbose=0)[1]))


def seqjobs_side(config: ImdbConfig, initial: list[Any], data: Reviews, seed: int) -> Side:
    """The imdb task's fit (bucketed, read at each review's last word) and evaluate (length-sorted batches of 512)."""
    from seqtasks.imdb.model import build_model
    from seqtasks.imdb.train import as_dataset, evaluate

    model = build_model(config)
    model.set_weights(initial)

    def fit_part(epoch: int, part: int, callbacks: list[Any]) -> None:
        order = parts(data.train.epoch_indices(config.batch_size, seed, epoch), part)  # as Batches.training draws them
        batches = as_dataset(lambda: (data.train.batch(idx) for idx in order), len(order))
        model.fit(batches, steps_per_epoch=len(order), epochs=1, shuffle=False, verbose=0, callbacks=callbacks)

    return Side(fit_part, lambda: evaluate(model, data.test)[1])


def train_both(sides: tuple[Side, Side], epochs: int) -> tuple[Outcome, Outcome]:
    """Train both sides ``epochs`` epochs, part by part in turn, timing each epoch; then time each one's test evaluation."""
    for epoch in range(epochs):
        spent = [0.0, 0.0]
        for part in range(PARTS):
            for i, side in enumerate(sides):
                seconds = training_seconds()
                side.fit_part(epoch, part, [seconds])
                spent[i] += seconds.seconds
        for side, seconds in zip(sides, spent):
            side.epoch_s.append(seconds)
    outcomes = []
    for side in sides:
        start = time.perf_counter()
        accuracy = side.score()
        outcomes.append(Outcome(side.epoch_s, time.perf_counter() - start, accuracy))
    return outcomes[0], outcomes[1]


def prepare(sizes: Sizes, config: ImdbConfig) -> Reviews:
    """The stand-in reviews, padded the tutorial's way and batched seqjobs' way."""
    from seqtasks.imdb.batches import Batches

    with tempfile.TemporaryDirectory(prefix="seqjobs-bench-") as tmp:
        enc = stand_in_reviews(Path(tmp), sizes.reviews, config)
    return Reviews(
        tutorial.pad_reviews(enc.x_train, config.maxlen),
        enc.y_train,
        tutorial.pad_reviews(enc.x_test, config.maxlen),
        enc.y_test,
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
        sides = (tutorial_side(config, initial, data, seed), seqjobs_side(config, initial, data, seed))
        pairs.append(train_both(sides, sizes.imdb_epochs))
    base, ours = [b for b, _ in pairs], [o for _, o in pairs]
    acc_base, acc_ours = (statistics.fmean(o.accuracy for o in side) for side in (base, ours))
    per_seed = "; ".join(
        f"seed {config.seed + i}: {b.accuracy:.2%} vs {o.accuracy:.2%}" for i, (b, o) in enumerate(pairs)
    )
    epochs = f"{sizes.imdb_epochs} epoch{'s' if sizes.imdb_epochs > 1 else ''}"
    lengths = data.test.lengths
    epoch = Row(
        "imdb_epoch",
        f"IMDB epoch, {len(data.train):,} x {config.maxlen}, tutorial model",
        "s",
        Stat.of([t for o in base for t in o.epoch_s]),
        Stat.of([t for o in ours for t in o.epoch_s]),
        Target(">= 2x, test accuracy not 0.5 pt below the tutorial's", min_ratio=2),
        {"accuracy not 0.5 pt below": acc_ours >= acc_base - ACCURACY_GAP},
        note=f"every training epoch of {epochs} x {len(pairs)} seeds, both sides from the same initial weights, each "
        f"epoch in {PARTS} parts, the two ways in turn; mean test accuracy after {epochs}: tutorial "
        f"{acc_base:.2%}, seqjobs {acc_ours:.2%} ({per_seed}); synthetic IMDB-shaped reviews (test: median "
        f"{np.median(lengths):.0f} words, {np.mean(lengths >= config.maxlen):.0%} cut at {config.maxlen})",
    )
    evaluation = Row(
        "imdb_evaluate",
        f"IMDB evaluate, {len(data.test):,} reviews",
        "s",
        Stat.of([o.eval_s for o in base]),
        Stat.of([o.eval_s for o in ours]),
        Target(">= 2x", min_ratio=2),
        note="tutorial: padded to 500, batch 32 (evaluate's default); seqjobs: length-sorted batches of 512 "
        "padded to their longest, read at each review's last word; the models just trained",
    )
    return [epoch, evaluation]
