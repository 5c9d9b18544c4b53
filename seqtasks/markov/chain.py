"""The Markov chain itself: transition counts, unsmoothed and Dirichlet-smoothed probabilities, sampling, storage.

The tutorial counts transitions with a dictionary loop over the text; here the
same counts come from integer keys (:mod:`seqtasks.markov.ngrams`): each (context,
next) window becomes one mixed-radix integer, counted with ``bincount`` (small
key spaces) or ``unique`` (large ones). Counts are identical to the loop's --
a test checks that -- and a 600k-character text fits in milliseconds.

Held-out bits per symbol use Dirichlet smoothing towards the unigram
distribution (the default), so unseen transitions, unseen contexts and unseen
symbols all keep a finite cost; sampling then follows the tutorial and draws
from the unsmoothed transition frequencies of the current context. With
``--smoothing-method kneser-ney`` the counts are smoothed by
:mod:`seqtasks.markov.kneser_ney` instead, for scoring and sampling alike.
"""

from __future__ import annotations

import bisect
import functools
import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from seqtasks.errors import UserError
from seqtasks.markov.ngrams import Counts, windows


@dataclass(eq=False)
class MarkovChain:
    """Transition counts in CSR form: context ``c`` owns ``next[indptr[c]:indptr[c+1]]``."""

    order: int
    symbols: np.ndarray  # sorted distinct symbols (code points or words)
    contexts: np.ndarray  # (C, order) symbol indices, sorted
    indptr: np.ndarray  # (C + 1,)
    next: np.ndarray  # (T,) symbol index of each transition
    count: np.ndarray  # (T,) how often it was seen
    unigram: np.ndarray  # (V,) symbol counts in the training text

    @property
    def vocab_size(self) -> int:
        """Number of distinct training symbols."""
        return len(self.symbols)

    @classmethod
    def fit(cls, codes: np.ndarray, symbols: np.ndarray, order: int) -> "MarkovChain":
        """Count every (context, next) window of ``codes`` (indices into ``symbols``)."""
        if len(codes) <= order:
            raise UserError(f"the text has {len(codes)} symbols; order {order} needs more than {order}")
        table = Counts.of_rows(np.lib.stride_tricks.sliding_window_view(codes, order + 1), len(symbols))
        return cls(
            order=order,
            symbols=symbols,
            contexts=table.contexts,
            indptr=table.indptr,
            next=table.next,
            count=table.count,
            unigram=np.bincount(codes, minlength=len(symbols)).astype(np.int64),
        )

    @functools.cached_property
    def counts(self) -> Counts:
        """The transition counts as a searchable table."""
        return Counts(self.vocab_size, self.contexts, self.indptr, self.next, self.count)

    # -- lookups ---------------------------------------------------------------------
    def counts_dict(self) -> dict[tuple[Any, ...], dict[Any, int]]:
        """``{context symbols: {next symbol: count}}``, the tutorial's data structure."""
        syms = self.symbols.tolist()
        out: dict[tuple[Any, ...], dict[Any, int]] = {}
        for c, row in enumerate(self.contexts.tolist()):
            lo, hi = self.indptr[c], self.indptr[c + 1]
            out[tuple(syms[i] for i in row)] = {
                syms[n]: int(k) for n, k in zip(self.next[lo:hi].tolist(), self.count[lo:hi].tolist())
            }
        return out

    def distribution(self, context: np.ndarray) -> list[tuple[int, float]]:
        """``(symbol index, probability)`` after ``context``, most probable first (unsmoothed)."""
        c = int(self.counts.find(context.reshape(1, -1))[0])
        if c < 0:
            return []
        lo, hi = self.indptr[c], self.indptr[c + 1]
        probs = self.count[lo:hi] / self.count[lo:hi].sum()
        order = np.lexsort((self.next[lo:hi], -probs))
        return [(int(self.next[lo + i]), float(probs[i])) for i in order]

    # -- evaluation -------------------------------------------------------------------
    def bits_per_symbol(self, history: np.ndarray, scored: np.ndarray, smoothing: float) -> float:
        """Mean -log2 P(symbol | previous ``order`` symbols) over ``scored``.

        ``history`` holds the ``order`` symbols before the first scored one;
        codes equal to ``vocab_size`` mean "not in the training vocabulary".
        P = (count(ctx, x) + a * U(x)) / (count(ctx) + a), with U the add-one
        unigram distribution over the vocabulary plus one unknown slot.
        """
        rows = windows(history, scored, self.order)
        ctx, pair_count = self.counts.lookup(rows)
        unigram = np.append(self.unigram, 0) + 1.0
        uni_p = unigram[rows[:, self.order]] / unigram.sum()
        ctx_total = np.where(ctx >= 0, self.counts.totals[np.maximum(ctx, 0)], 0)
        p = (pair_count + smoothing * uni_p) / (ctx_total + smoothing)
        return float(-np.log2(p).mean())

    # -- sampling ----------------------------------------------------------------------
    def sample(self, start: np.ndarray, length: int, rng: np.random.Generator) -> list[int]:
        """Draw ``length`` symbol indices after ``start`` (its last ``order`` symbols).

        A context never seen in training (only possible at the training
        text's very end) draws that one step from the unigram frequencies.
        """
        base = self.vocab_size + 1
        top = base ** (self.order - 1)
        row_of = {k: i for i, k in enumerate(_python_keys(self.contexts.tolist(), base))}
        key = _python_keys([start[-self.order :].tolist()], base)[0]
        out: list[int] = []
        append, find = out.append, bisect.bisect_right
        if self.order == 1:  # the tutorial's chain: the context is the symbol, a list index
            by_symbol = [self._table(row_of.get(k)) for k in range(self.vocab_size)]
            for u in rng.random(length).tolist():
                nxt, cum = by_symbol[key]
                key = nxt[find(cum, u)]
                append(key)
            return out
        tables: dict[int, tuple[list[int], list[float]]] = {}  # context key -> (next symbols, cumulative p)
        for u in rng.random(length).tolist():
            table = tables.get(key)
            if table is None:
                table = tables[key] = self._table(row_of.get(key))
            nxt, cum = table
            s = nxt[find(cum, u)]
            append(s)
            key = (key % top) * base + s
        return out

    def _table(self, row: int | None) -> tuple[list[int], list[float]]:
        """Next symbols and their cumulative probabilities after context ``row`` (unigram when unseen)."""
        if row is None:
            nxt = np.flatnonzero(self.unigram)
            cum = (np.cumsum(self.unigram[nxt]) / self.unigram.sum()).tolist()
            cum[-1] = 1.0
            return nxt.tolist(), cum
        nxt_all, cum_all, bounds = self._cumulative
        return nxt_all[bounds[row] : bounds[row + 1]], cum_all[bounds[row] : bounds[row + 1]]

    @functools.cached_property
    def _cumulative(self) -> tuple[list[int], list[float], list[int]]:
        """Every context's cumulative next-symbol probabilities at once, as Python lists.

        One vectorised pass instead of a numpy call per visited context: the
        sampling loop then only slices lists, which keeps it near a
        microsecond a symbol.
        """
        sizes = np.diff(self.indptr)
        totals = np.repeat(self.counts.totals, sizes)
        csum = np.cumsum(self.count)
        before = np.repeat(csum[self.indptr[:-1]] - self.count[self.indptr[:-1]], sizes)
        cum = (csum - before) / totals
        cum[self.indptr[1:] - 1] = 1.0  # u < 1 always lands inside, whatever the rounding
        return self.next.tolist(), cum.tolist(), self.indptr.tolist()

    # -- storage -----------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """The model as a compressed ``.npz`` file's bytes."""
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            order=self.order,
            symbols=self.symbols,
            contexts=self.contexts,
            indptr=self.indptr,
            next=self.next,
            count=self.count,
            unigram=self.unigram,
        )
        return buf.getvalue()

    @classmethod
    def load(cls, path: Any) -> "MarkovChain":
        """Read a model written from :meth:`to_bytes`."""
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        order = int(arrays.pop("order"))
        return cls(order=order, **arrays)


def _python_keys(rows: list[list[int]], base: int) -> list[int]:
    """Mixed-radix keys as Python ints (never overflow, unlike int64)."""
    keys = []
    for row in rows:
        k = 0
        for s in row:
            k = k * base + s
        keys.append(k)
    return keys
