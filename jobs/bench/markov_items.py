"""Markov chain items: fitting on the whole text, and sampling 1,000 characters.

seqjobs' side is :mod:`seqtasks.markov`'s own functions, the ones the
``markov`` task runs; the counts are compared with the tutorial's dictionary
entry by entry, so a speed-up can never come from counting something else.
"""

from __future__ import annotations

import numpy as np

from jobs.bench import tutorial
from jobs.bench.harness import Row, Target, alternate, timed
from jobs.bench.sizes import Sizes
from seqtasks.markov.chain import MarkovChain
from seqtasks.markov.symbols import encode_with, render, tokens, vocabulary


def fit_chain(text: str) -> MarkovChain:
    """seqjobs' fit, as the task does it: code points, vocabulary, counts."""
    symbols, codes = vocabulary(tokens(text, "char"))
    return MarkovChain.fit(codes, symbols, 1)


def as_tutorial_counts(chain: MarkovChain) -> dict[str, dict[str, int]]:
    """The chain's counts in the tutorial's ``transition_counts`` form."""
    return {chr(ctx[0]): {chr(n): c for n, c in nxt.items()} for ctx, nxt in chain.counts_dict().items()}


def markov_rows(text: str, sizes: Sizes) -> list[Row]:
    """``markov_fit`` and ``markov_sample``."""
    theirs: list[tuple[dict[str, dict[str, int]], dict[str, tuple[list[str], list[float]]]]] = []
    mine: list[MarkovChain] = []

    def base_fit() -> None:
        theirs[:] = [tutorial.markov_fit(text)]

    def our_fit() -> None:
        mine[:] = [fit_chain(text)]

    base, ours = alternate(timed(base_fit), timed(our_fit), sizes.repeats)
    counts, probabilities = theirs[0]
    chain = mine[0]
    same = as_tutorial_counts(chain) == counts
    fit = Row(
        "markov_fit",
        f"Markov fit, {len(text):,} chars",
        "s",
        base,
        ours,
        Target(">= 10x, identical counts", min_ratio=10),
        {"identical counts": same},
        note=f"counts identical to the tutorial's dict: {'yes' if same else 'NO'} "
        f"({len(chain.contexts)} contexts, {len(chain.next)} transitions); tutorial time includes its normalisation loop",
    )

    n = sizes.markov_sample
    start = encode_with(chain.symbols, tokens("t", "char"))
    np.random.seed(0)
    rng = np.random.default_rng(0)
    base, ours = alternate(
        timed(lambda: tutorial.markov_sample(probabilities, "t", n)),
        timed(lambda: render(chain.symbols, chain.sample(start, n, rng), "char")),
        sizes.repeats,
    )
    draw = Row(
        "markov_sample",
        f"Markov sampling, {n} chars",
        "s",
        base,
        ours,
        Target(">= 20x", min_ratio=20),
        note="seqjobs time includes decoding to text",
    )
    return [fit, draw]
