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
