"""Synthetic labelled reviews with IMDB's shape, written as a ``text,label`` CSV.

Real IMDB cannot be downloaded here, but its cost profile can be copied:
25,000 training reviews whose lengths follow a log-normal law (median ~180
words, a long tail past 500 -- IMDB's median is ~175-230 depending on the
tokenizer, ~9% exceed 500). Words are drawn from a Zipf-like vocabulary, and a
few label words ("goodN" / "badN") are mixed in so the task is learnable:
tests use small copies to check that training learns, and the bucketing
benchmark (``seqjobs bench``) uses a full-size one::

    python -m seqtasks.imdb.synthetic /tmp/synth-imdb.csv --reviews 50000
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import numpy as np

from seqtasks import atomic

VOCAB = 20_000
LABEL_WORDS = 20  # goodN / badN for N < LABEL_WORDS


def reviews(n: int, median_len: float, seed: int, signal: float = 0.05) -> tuple[list[str], np.ndarray]:
    """``n`` texts and 0/1 labels; a ``signal`` share of each review's words are label words."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(np.log(median_len), 0.75, n).astype(int), 3, 12 * median_len)
    labels = rng.integers(0, 2, n)
    ranks = np.arange(1, VOCAB + 1)
    zipf = (1.0 / ranks) / (1.0 / ranks).sum()
    texts = []
    for length, label in zip(lengths, labels):
        words = np.char.add("w", rng.choice(VOCAB, size=length, p=zipf).astype(str)).astype(object)
        marked = rng.random(length) < signal
        # mostly words of the review's own sentiment, some of the other: not trivially separable
        own = np.where(rng.random(marked.sum()) < 0.8, label, 1 - label)
        words[marked] = [
            ("good" if s else "bad") + str(k) for s, k in zip(own, rng.integers(0, LABEL_WORDS, marked.sum()))
        ]
        texts.append(" ".join(words))
    return texts, labels


def write_csv(path: Path, n: int, median_len: float = 180, seed: int = 0, signal: float = 0.05) -> Path:
    """Write ``n`` synthetic reviews to ``path`` (atomically) and return it."""
    texts, labels = reviews(n, median_len, seed, signal)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["text", "label"])
    writer.writerows(zip(texts, labels.tolist()))
    return atomic.write_text(path, buf.getvalue())


def main() -> None:
    """``python -m seqtasks.imdb.synthetic OUT.csv [--reviews N] [--median-len L] [--seed S]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--reviews", type=int, default=50_000, help="total reviews (split 50/50 by seqjobs)")
    parser.add_argument("--median-len", type=float, default=180)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--signal", type=float, default=0.05, help="share of label words in a review")
    args = parser.parse_args()
    print(write_csv(args.out, args.reviews, args.median_len, args.seed, args.signal))


if __name__ == "__main__":
    main()
