"""The Markov task's entry point: fit, score, sample and save a chain into a run folder.

Besides the files every run has, it writes the fitted counts
(``model.npz``, the same file for both smoothing methods), the sample, and
with ``--show`` the printed distribution (``show.tsv``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from seqtasks.data import load_text
from seqtasks.errors import UserError
from seqtasks.markov.chain import MarkovChain
from seqtasks.markov.config import MarkovConfig
from seqtasks.markov.kneser_ney import KneserNey
from seqtasks.markov.symbols import encode_with, escape, render, tokens, vocabulary
from seqtasks.rundir import RunDir
from seqtasks.textsplit import TextSplit


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
    split = TextSplit(len(items), config.val_fraction, config.test_fraction).check(
        config.order, f"order {config.order}", corpus.name, config.level, "use a longer text or a lower --order"
    )
    t0 = time.perf_counter()
    symbols, train = vocabulary(items[split.train])
    chain = MarkovChain.fit(train, symbols, config.order)
    model = KneserNey.from_chain(chain) if config.smoothing_method == "kneser-ney" else chain
    fit_s = time.perf_counter() - t0
    codes = np.concatenate([train, encode_with(symbols, items[split.train_end :])])  # held-out: in context
    bits = _bits(model, config, codes, split.train_end, split.val_end)
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
    figures: dict[str, Any] = {
        "heldout_bits_per_symbol": round(bits, 6),
        "level": config.level,
        "order": config.order,
        "vocab_size": model.vocab_size,
        "contexts": len(chain.contexts),
        "transitions": len(chain.next),
        "train_symbols": split.train_end,
        "heldout_symbols": split.val_end - split.train_end,
        "fit_seconds": round(fit_s, 4),
        "sample_seconds": round(sample_s, 4),
    }
    if config.test_fraction > 0:  # scored once, by the chain as fitted and smoothed: nothing is chosen on it
        test = _bits(model, config, codes, split.val_end, split.total)
        figures.update(test_bits_per_symbol=round(test, 6), test_symbols=split.total - split.val_end)
    return figures


def _bits(model: MarkovChain | KneserNey, config: MarkovConfig, codes: np.ndarray, start: int, end: int) -> float:
    """Bits per symbol of ``codes[start:end]``, each after its ``order`` predecessors, as ``--smoothing-method`` says.

    Kneser-Ney's discounts come from the training counts alone, so nothing
    is tuned here; Dirichlet's pseudo-count is ``--smoothing``, set before
    the run (a sweep over it is chosen on ``heldout_bits_per_symbol``).
    """
    history, scored = codes[start - config.order : start], codes[start:end]
    if isinstance(model, KneserNey):
        return model.bits_per_symbol(history, scored)
    return model.bits_per_symbol(history, scored, config.smoothing)
