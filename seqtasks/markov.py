"""Markov chains over characters or words, counted with numpy (the tutorial's first part).

The tutorial counts transitions with a dictionary loop over the text; here the
same counts come from integer keys (:mod:`seqtasks.ngrams`): each (context,
next) window becomes one mixed-radix integer, counted with ``bincount`` (small
key spaces) or ``unique`` (large ones). Counts are identical to the loop's --
a test checks that -- and a 600k-character text fits in milliseconds.

Held-out bits per symbol use Dirichlet smoothing towards the unigram
distribution (the default), so unseen transitions, unseen contexts and unseen
symbols all keep a finite cost; sampling then follows the tutorial and draws
from the unsmoothed transition frequencies of the current context. With
``--smoothing-method kneser-ney`` the counts are smoothed by
:mod:`seqtasks.kneser_ney` instead, for scoring and sampling alike.
"""

from __future__ import annotations

import bisect
import functools
import io
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from seqtasks.data import load_text
from seqtasks.errors import UserError
from seqtasks.kneser_ney import KneserNey
from seqtasks.markov_config import MarkovConfig
from seqtasks.ngrams import Counts, windows
from seqtasks.rundir import RunDir


def tokens(text: str, level: str) -> np.ndarray:
    """The text as an array of symbols: code points (char level) or words."""
    if level == "char":
        return np.frombuffer(text.encode("utf-32-le"), dtype="<u4").astype(np.int64)
    return np.array(text.split())


def vocabulary(items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct symbols and each item's index among them."""
    if items.dtype.kind in "iu" and items.size:
        present = np.bincount(items) > 0  # O(N); code points are small integers
        symbols = np.flatnonzero(present)
        table = np.cumsum(present) - 1
        return symbols, table[items]
    symbols, codes = np.unique(items, return_inverse=True)
    return symbols, codes.reshape(-1)


def encode_with(symbols: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Indices of ``items`` in sorted ``symbols``; unknown items get ``len(symbols)``."""
    if items.size == 0:
        return np.zeros(0, dtype=np.int64)
    idx = np.clip(np.searchsorted(symbols, items), 0, len(symbols) - 1)
    return np.where(symbols[idx] == items, idx, len(symbols)).astype(np.int64)


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
            return cls(**{k: (int(z[k]) if k == "order" else z[k]) for k in z.files})


def _python_keys(rows: list[list[int]], base: int) -> list[int]:
    """Mixed-radix keys as Python ints (never overflow, unlike int64)."""
    keys = []
    for row in rows:
        k = 0
        for s in row:
            k = k * base + s
        keys.append(k)
    return keys


def render(symbols: np.ndarray, codes: list[int] | np.ndarray, level: str) -> str:
    """Symbol indices back to text."""
    syms = symbols[np.asarray(codes, dtype=np.int64)]
    if level == "char":
        return "".join(map(chr, syms.tolist()))
    return " ".join(syms.tolist())


def escape(symbol: str) -> str:
    """Make whitespace symbols visible in one-per-line printouts."""
    return symbol.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def _context(model: MarkovChain | KneserNey, text: str, level: str, what: str) -> np.ndarray:
    """The last ``order`` symbols of ``text`` as indices; a clear error when impossible."""
    items = tokens(text, level)
    if len(items) < model.order:
        raise UserError(f"{what} '{text}' has {len(items)} {level}s; order {model.order} needs {model.order}")
    codes = encode_with(model.symbols, items[-model.order :])
    if (codes == model.vocab_size).any():
        raise UserError(f"{what} '{text}' contains {level}s that never occur in the training text")
    return codes


def run(config: MarkovConfig, run_dir: RunDir) -> dict[str, Any]:
    """Fit, score, sample and save a Markov chain into ``run_dir``; return the final figures."""
    corpus = load_text(config.corpus, keep_case=config.keep_case)
    run_dir.record_data(corpus.name, corpus.sha256)
    items = tokens(corpus.text, config.level)
    n_train = int(len(items) * (1.0 - config.val_fraction))
    if n_train <= config.order or n_train >= len(items):
        raise UserError(
            f"{corpus.name} has {len(items)} {config.level}s: too few for order {config.order} "
            f"with --val-fraction {config.val_fraction}"
        )
    t0 = time.perf_counter()
    symbols, train = vocabulary(items[:n_train])
    chain = MarkovChain.fit(train, symbols, config.order)
    model = KneserNey.from_chain(chain) if config.smoothing_method == "kneser-ney" else chain
    fit_s = time.perf_counter() - t0
    val = encode_with(symbols, items[n_train:])
    history = train[-config.order :]
    if isinstance(model, KneserNey):
        bits = model.bits_per_symbol(history, val)
    else:
        bits = model.bits_per_symbol(history, val, config.smoothing)
    run_dir.write_bytes("model.npz", chain.to_bytes())

    if config.show:
        context = _context(model, config.show, config.level, "--show context")
        dist = model.distribution(context)
        if not dist:
            raise UserError(f"--show context '{config.show}' never occurs in the training text")
        lines = [f"{escape(render(symbols, [s], config.level))}\t{p}" for s, p in dist]
        run_dir.write_text("show.tsv", "\n".join(lines) + "\n")
        print("\n".join(lines))

    start = _context(model, config.start, config.level, "--start") if config.start else train[: config.order]
    t1 = time.perf_counter()
    drawn = model.sample(start, config.length, np.random.default_rng(config.seed))
    sample_s = time.perf_counter() - t1
    prefix = config.start if config.start else render(symbols, start, config.level)
    joiner = "" if config.level == "char" or not drawn else " "
    text = prefix + joiner + render(symbols, drawn, config.level)
    run_dir.write_text("samples/sample.txt", text + "\n")
    print(text)
    return {
        "heldout_bits_per_symbol": round(bits, 6),
        "level": config.level,
        "order": config.order,
        "vocab_size": model.vocab_size,
        "contexts": len(chain.contexts),
        "transitions": len(chain.next),
        "train_symbols": int(n_train),
        "heldout_symbols": int(len(items) - n_train),
        "fit_seconds": round(fit_s, 4),
        "sample_seconds": round(sample_s, 4),
    }
