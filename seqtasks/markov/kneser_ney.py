"""Interpolated modified Kneser-Ney smoothing of a Markov chain (Chen & Goodman, 1998).

For a chain of order k, level j (0 <= j <= k) predicts from the last j
symbols h. With h' = h without its oldest symbol:

    P_j(x | h) = (max(c_j(h x) - D_j(c_j(h x)), 0) + g_j(h) * P_{j-1}(x | h')) / c_j(h)

where c_j(h) = sum over x of c_j(h x) and g_j(h) = D_j1 N1(h) + D_j2 N2(h) +
D_j3+ N3+(h) (Nr(h): symbols seen r times after h, 3 and more together), so
that each level sums to one. A context level j never saw passes the lower
level through unchanged. P_{-1} is uniform over the vocabulary plus one slot
for every symbol outside it -- the same V + 1 outcomes the Dirichlet
smoothing scores -- so unseen symbols cost finite bits.

c_k are the chain's own (k+1)-gram counts; lower levels use continuation
counts: c_j(g) is the number of distinct symbols seen before g among level
j+1's n-grams. Every level is derived from the counts ``model.npz`` already
stores, so the saved model is the same for both smoothings; an n-gram met
only in the text's first k symbols, which ends no (k+1)-gram, is not counted
at the lower levels. Each level's three discounts come from its own
count-of-counts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from seqtasks.markov.ngrams import Counts, windows

if TYPE_CHECKING:
    from seqtasks.markov.chain import MarkovChain

#: floats of cumulative distributions sampling keeps per chain (32 MB): a few hundred word contexts, every char one
SAMPLE_CACHE_FLOATS = 1 << 22


def discounts(counts: np.ndarray) -> np.ndarray:
    """``[0, D1, D2, D3+]`` for one level's n-gram counts: Chen & Goodman's estimates from count-of-counts.

    With n_r the number of n-grams seen exactly r times and Y = n1 / (n1 + 2 n2),
    D_r = r - (r + 1) Y n_{r+1} / n_r. On small texts some n_r is zero or an
    estimate leaves (0, r] (a discount above its count would take more than the
    n-gram has); then every D_r is Y, Ney's single absolute discount, or 0.5
    when Y is not in (0, 1] (no singletons). Every D_r stays positive, so every
    seen context leaves mass for the lower levels and unseen symbols.
    """
    n = np.array([(counts == r).sum() for r in (1, 2, 3, 4)], dtype=np.float64)
    y = n[0] / (n[0] + 2 * n[1]) if n[0] > 0 else 0.5
    if (n > 0).all():
        r = np.arange(1.0, 4.0)
        d = r - (r + 1) * y * n[1:] / n[:-1]
        if ((d > 0) & (d <= r)).all():
            return np.concatenate([[0.0], d])
    return np.array([0.0, y, y, y])


def continuation(level: Counts) -> Counts:
    """The level below ``level``: its n-grams minus their first symbol, each counted once per distinct first symbol."""
    return Counts.of_rows(level.rows()[:, 1:], level.vocab_size)


@dataclass(eq=False)
class KneserNey:
    """A Markov chain's counts smoothed by interpolated modified Kneser-Ney, for scoring and sampling."""

    symbols: np.ndarray  # sorted distinct symbols (code points or words)
    levels: list[Counts]  # levels[j]: contexts of j symbols; levels[-1] is the chain's own counts
    discounts: np.ndarray  # (order + 1, 4): each level's [0, D1, D2, D3+]

    @classmethod
    def from_chain(cls, chain: "MarkovChain") -> "KneserNey":
        """Derive every lower level and its discounts from the chain's counts."""
        levels = [chain.counts]
        while levels[0].width > 0:
            levels.insert(0, continuation(levels[0]))
        return cls(chain.symbols, levels, np.stack([discounts(level.count) for level in levels]))

    @property
    def order(self) -> int:
        """Symbols of context at the top level."""
        return len(self.levels) - 1

    @property
    def vocab_size(self) -> int:
        """Number of distinct training symbols (the unknown slot is code ``vocab_size``)."""
        return len(self.symbols)

    @functools.cached_property
    def _backoff(self) -> list[np.ndarray]:
        """Per level, each context's g_j(h): the mass its discounts hand to the level below."""
        return [
            np.bincount(level.owner, weights=d[np.minimum(level.count, 3)], minlength=len(level.contexts))
            for level, d in zip(self.levels, self.discounts)
        ]

    def _mix(self, j: int, ctx: np.ndarray, count: np.ndarray, lower: np.ndarray) -> np.ndarray:
        """Level j's probabilities from its contexts (-1: unseen), its counts and the level below's probabilities."""
        d = self.discounts[j]
        at = np.maximum(ctx, 0)
        own = np.maximum(count - d[np.minimum(count, 3)], 0.0)
        return np.where(ctx >= 0, (own + self._backoff[j][at] * lower) / self.levels[j].totals[at], lower)

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """P(last symbol | the ``order`` before it) for each row; codes may be ``vocab_size`` (unknown)."""
        k = self.order
        p = np.full(len(rows), 1.0 / (self.vocab_size + 1))
        for j, level in enumerate(self.levels):
            ctx, count = level.lookup(rows[:, k - j :])
            p = self._mix(j, ctx, count, p)
        return p

    def bits_per_symbol(self, history: np.ndarray, scored: np.ndarray) -> float:
        """Mean -log2 P(symbol | previous ``order`` symbols) over ``scored`` (``history``: the ``order`` before)."""
        return float(-np.log2(self.probabilities(windows(history, scored, self.order))).mean())

    def next_probabilities(self, context: np.ndarray) -> np.ndarray:
        """P(x | context) for every code x: the vocabulary, then the unknown slot (``vocab_size + 1`` values).

        The same numbers as :meth:`probabilities` (a test checks it), computed
        from each level's one matching context, in place, instead of one
        lookup per symbol: what sampling needs, once per context it visits.
        """
        v = self.vocab_size
        p = np.full(v + 1, 1.0 / (v + 1))
        for j, level in enumerate(self.levels):
            c = int(level.find(context[len(context) - j :].reshape(1, -1))[0])
            if c < 0:
                continue  # an unseen context passes the level below through
            lo, hi = level.indptr[c], level.indptr[c + 1]
            count = level.count[lo:hi]
            p *= self._backoff[j][c]
            p[level.next[lo:hi]] += np.maximum(count - self.discounts[j][np.minimum(count, 3)], 0.0)
            p /= level.totals[c]
        return p

    def vocabulary_probabilities(self, context: np.ndarray) -> np.ndarray:
        """P(x | context) over the vocabulary alone: what sampling draws from and ``--show`` prints.

        A sample must be a symbol that can be written, so the unknown slot's
        (small) share is left out and the rest renormalised.
        """
        p = self.next_probabilities(context)[: self.vocab_size]
        return p / p.sum()

    def distribution(self, context: np.ndarray) -> list[tuple[int, float]]:
        """``(symbol index, probability)`` for every symbol of the vocabulary, most probable first."""
        probs = self.vocabulary_probabilities(context)
        order = np.lexsort((np.arange(len(probs)), -probs))
        return [(int(i), float(probs[i])) for i in order]

    def sample(self, start: np.ndarray, length: int, rng: np.random.Generator) -> list[int]:
        """Draw ``length`` symbol indices after ``start`` (its last ``order`` symbols) from the smoothed distribution.

        Unlike the unsmoothed chain, this can write n-grams the training text
        never had. Each visited context's cumulative distribution is kept
        (up to :data:`SAMPLE_CACHE_FLOATS` floats, then the cache starts over).
        """
        v = self.vocab_size
        limit = max(1, SAMPLE_CACHE_FLOATS // v)
        cache: dict[tuple[int, ...], np.ndarray] = {}
        key = tuple(int(s) for s in start[len(start) - self.order :])
        out: list[int] = []
        for u in rng.random(length).tolist():
            cum = cache.get(key)
            if cum is None:
                if len(cache) >= limit:
                    cache.clear()
                cum = cache[key] = np.cumsum(self.vocabulary_probabilities(np.array(key, dtype=np.int64)))
            s = min(int(np.searchsorted(cum, u, side="right")), v - 1)  # u past a rounded cum[-1] < 1: the last symbol
            out.append(s)
            key = key[1:] + (s,)
        return out
