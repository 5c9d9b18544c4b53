"""Batches of padded reviews, optionally bucketed by length (numpy only).

The tutorial pads every review to ``maxlen`` (500) as ``pad_sequences`` does
by default: truncate and pad at the front ('pre'), so the LSTM runs 500 steps
for every review, mostly over padding. That is ``--no-bucket``, kept exactly.

``--bucket`` (the default) puts reviews of similar length in one batch and
pads each batch only to its longest review, at the end ('post'); the model
then reads each review's output at its own last word
(:class:`seqtasks.imdb.model.LastWord`), which for a forward LSTM is exactly
what masking the padding would give. Unmasked 'pre' padding in buckets
would make a review's output depend on how much padding it happens to get
(docs/imdb.md has the figures). Truncation stays 'pre' (the last ``maxlen``
words) either way.

Each epoch's order comes from ``(seed, epoch)``, so a resumed run sees the
batches it would have seen without the interruption.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

POOL = 50  # bucketing sorts within pools of POOL batches: similar lengths, still random batches


def pad(seqs: list[np.ndarray], width: int, post: bool = False) -> np.ndarray:
    """``pad_sequences(seqs, maxlen=width, padding="post" if post else "pre")``.

    The last ``width`` ids of each sequence are kept (truncating='pre').
    """
    out = np.zeros((len(seqs), width), dtype=np.int32)
    for row, seq in enumerate(seqs):
        tail = seq[-width:]
        if post:
            out[row, : len(tail)] = tail
        else:
            out[row, width - len(tail) :] = tail
    return out


def epoch_order(lengths: np.ndarray, batch_size: int, bucket: bool, rng: np.random.Generator) -> list[np.ndarray]:
    """Example indices of each training batch for one epoch.

    Without bucketing: a plain shuffle. With it: shuffle, sort each pool of
    ``POOL`` batches by length, cut into batches, and shuffle the batches.
    """
    order = rng.permutation(len(lengths))
    if bucket:
        pools = [order[i : i + POOL * batch_size] for i in range(0, len(order), POOL * batch_size)]
        order = np.concatenate([pool[np.argsort(lengths[pool], kind="stable")] for pool in pools])
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if bucket:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def eval_order(lengths: np.ndarray, batch_size: int, bucket: bool) -> list[np.ndarray]:
    """Example indices of each evaluation batch: in order, or sorted by length when bucketing."""
    order = np.argsort(lengths, kind="stable") if bucket else np.arange(len(lengths))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


class Batches:
    """Reviews and labels cut to ``maxlen``, served as padded ``(x, y)`` batches."""

    def __init__(self, seqs: list[np.ndarray], labels: np.ndarray, maxlen: int, bucket: bool) -> None:
        self.seqs = [s[-maxlen:] for s in seqs]
        self.labels = np.asarray(labels, dtype=np.float32)
        self.lengths = np.array([len(s) for s in self.seqs])
        self.maxlen = maxlen
        self.bucket = bucket

    def __len__(self) -> int:
        return len(self.seqs)

    def batch(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One batch: 'post'-padded to its longest review when bucketing, else 'pre' to ``maxlen``."""
        if self.bucket:
            return pad([self.seqs[i] for i in idx], int(self.lengths[idx].max()), post=True), self.labels[idx]
        return pad([self.seqs[i] for i in idx], self.maxlen), self.labels[idx]

    def steps(self, batch_size: int) -> int:
        """Batches in one pass."""
        return -(-len(self) // batch_size)

    def epoch_indices(self, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
        """Example indices of each training batch of ``epoch``, in order: shuffled by ``(seed, epoch)`` alone."""
        return epoch_order(self.lengths, batch_size, self.bucket, np.random.default_rng([seed, epoch]))

    def training(self, batch_size: int, seed: int, epochs: range) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every training batch of ``epochs``, each epoch shuffled by ``(seed, epoch)``."""
        for epoch in epochs:
            for idx in self.epoch_indices(batch_size, seed, epoch):
                yield self.batch(idx)

    def evaluation(self, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """One pass in a fixed order (sorted by length when bucketing)."""
        for idx in eval_order(self.lengths, batch_size, self.bucket):
            yield self.batch(idx)
