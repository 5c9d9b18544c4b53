"""n-gram count tables, built and searched with numpy: what a Markov chain and its Kneser-Ney smoother share.

A table holds, for every distinct context (a row of ``width`` symbol
indices), the symbols seen after it and how often, in CSR form. Rows become
mixed-radix int64 keys where they fit -- counted with ``bincount`` (small key
spaces) or ``unique`` (large ones) -- and are compared as whole rows where
they do not, so word-level tables of high order work too. The code
``vocab_size`` stands for a symbol outside the vocabulary: it can be asked
about, and is never found.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

DENSE_KEYS = 1 << 24  # count with bincount below this many possible (context, next) keys
INT64_KEYS = 1 << 62  # mixed-radix keys must stay below this to fit an int64


def radix_keys(rows: np.ndarray, base: int) -> np.ndarray:
    """One int64 per row: the row's digits read in base ``base``."""
    keys = np.zeros(rows.shape[0], dtype=np.int64)
    for col in range(rows.shape[1]):
        keys = keys * base + rows[:, col]
    return keys


def digits(keys: np.ndarray, base: int, width: int) -> np.ndarray:
    """The inverse of :func:`radix_keys`: each key as a row of ``width`` digits."""
    cols = [(keys // base**p) % base for p in range(width - 1, -1, -1)]
    return np.stack(cols, axis=1) if cols else np.zeros((len(keys), 0), dtype=np.int64)


def windows(history: np.ndarray, scored: np.ndarray, order: int) -> np.ndarray:
    """One row per scored symbol: the ``order`` symbols before it, then it (``history`` precedes ``scored``)."""
    return np.lib.stride_tricks.sliding_window_view(np.concatenate([history, scored]), order + 1)


@dataclass(eq=False)
class Counts:
    """Context ``c`` (row ``contexts[c]``) was followed by ``next[indptr[c]:indptr[c+1]]``, ``count`` times each.

    Contexts are sorted rows, and the symbols after each are sorted, so a
    (context, next) pair's key ``c * (vocab_size + 1) + next`` grows along
    the arrays and can be found with ``searchsorted``.
    """

    vocab_size: int
    contexts: np.ndarray  # (C, width) symbol indices, sorted
    indptr: np.ndarray  # (C + 1,)
    next: np.ndarray  # (T,) symbol index of each transition
    count: np.ndarray  # (T,) how often it was seen

    @property
    def width(self) -> int:
        """Symbols in a context."""
        return int(self.contexts.shape[1])

    @classmethod
    def of_rows(cls, rows: np.ndarray, vocab_size: int) -> "Counts":
        """Count the rows of ``rows`` (indices below ``vocab_size``): all but the last symbol are the context."""
        v, width = vocab_size, rows.shape[1] - 1
        if v ** (width + 1) < INT64_KEYS:
            keys = radix_keys(rows, v)
            if v ** (width + 1) <= DENSE_KEYS:
                dense = np.bincount(keys, minlength=v ** (width + 1))
                pair_keys = np.flatnonzero(dense)
                counts = dense[pair_keys]
            else:
                pair_keys, counts = np.unique(keys, return_counts=True)
            ctx_keys, nxt = np.divmod(pair_keys, v)
            uniq_ctx, trans_ctx = np.unique(ctx_keys, return_inverse=True)
            contexts = digits(uniq_ctx, v, width)
        else:  # huge word vocabularies at high order: unique rows instead of integer keys
            pairs, counts = np.unique(rows, axis=0, return_counts=True)
            contexts, trans_ctx = np.unique(pairs[:, :width], axis=0, return_inverse=True)
            nxt = pairs[:, width]
        indptr = np.searchsorted(trans_ctx.reshape(-1), np.arange(len(contexts) + 1))
        return cls(
            vocab_size=v,
            contexts=contexts.astype(np.int64),
            indptr=indptr.astype(np.int64),
            next=nxt.astype(np.int64),
            count=counts.astype(np.int64),
        )

    def find(self, queries: np.ndarray) -> np.ndarray:
        """Index of each query context row in ``contexts``, or -1 when never seen."""
        if len(queries) == 0:
            return np.zeros(0, dtype=np.int64)
        known = self._context_keys
        if known is not None:
            asked = radix_keys(queries, self.vocab_size + 1)
            pos = np.clip(np.searchsorted(known, asked), 0, len(known) - 1)
            return np.where(known[pos] == asked, pos, -1)
        both = np.concatenate([self.contexts, queries])
        _, inverse = np.unique(both, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        owner = np.full(inverse.max() + 1, -1, dtype=np.int64)
        owner[inverse[: len(self.contexts)]] = np.arange(len(self.contexts))
        return owner[inverse[len(self.contexts) :]]

    def lookup(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For rows of ``width + 1`` symbols: each one's context index (-1: unseen) and its count (0: unseen)."""
        ctx = self.find(rows[:, : self.width])
        pair_known = self._pair_keys
        pair_asked = np.maximum(ctx, 0) * (self.vocab_size + 1) + rows[:, self.width]
        pos = np.clip(np.searchsorted(pair_known, pair_asked), 0, len(pair_known) - 1)
        hit = (ctx >= 0) & (pair_known[pos] == pair_asked)
        return ctx, np.where(hit, self.count[pos], 0)

    @functools.cached_property
    def _context_keys(self) -> np.ndarray | None:
        """Each context's key in base ``vocab_size + 1`` (+ 1: the unknown code never matches); None when keys overflow.

        Kept, because a sampler asks about one context at a time.
        """
        base = self.vocab_size + 1
        return radix_keys(self.contexts, base) if base**self.width < INT64_KEYS else None

    @functools.cached_property
    def _pair_keys(self) -> np.ndarray:
        """Each transition's key ``context index * (vocab_size + 1) + next``: ascending, as the arrays are sorted."""
        return self.owner * (self.vocab_size + 1) + self.next

    @functools.cached_property
    def owner(self) -> np.ndarray:
        """The context index of each transition."""
        return np.repeat(np.arange(len(self.contexts)), np.diff(self.indptr))

    @functools.cached_property
    def totals(self) -> np.ndarray:
        """How often each context was seen: the sum of its transitions' counts."""
        return np.bincount(self.owner, weights=self.count, minlength=len(self.contexts))

    def rows(self) -> np.ndarray:
        """Every (context, next) pair as one row of ``width + 1`` symbols, in the arrays' order."""
        return np.column_stack([self.contexts[self.owner], self.next])
