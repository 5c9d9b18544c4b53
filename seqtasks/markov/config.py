"""Config of the Markov-chain task (kept apart so the CLI imports no numpy code)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from seqtasks.config import check_fraction, check_positive, check_range, check_seed, option
from seqtasks.textsplit import check_fractions, test_fraction_option

#: orders above this need more memory than counting is worth (every window is a row of order + 1 symbols)
MAX_ORDER = 20
#: symbols one run may sample: 10 MB of text, seconds of drawing
MAX_LENGTH = 10_000_000


@dataclass(frozen=True)
class MarkovConfig:
    """A k-th order Markov chain over characters or words, as in the tutorial's first part."""

    corpus: str = option("moby-dick", "Text data set name (see `seqjobs data list`) or path to a UTF-8 file.")
    order: int = option(1, f"Order k: how many previous symbols the next one depends on (1-{MAX_ORDER}).")
    level: Literal["char", "word"] = option("char", "Symbols are characters, or whitespace-separated words.")
    keep_case: bool = option(False, "Keep upper case (the tutorial lowercases the text).")
    val_fraction: float = option(
        0.1, "Fraction of the text held out to measure bits per symbol, just before any test part."
    )
    test_fraction: float = test_fraction_option()
    smoothing_method: Literal["dirichlet", "kneser-ney"] = option(
        "dirichlet",
        "How held-out bits smooth the counts: dirichlet (towards unigram frequencies, --smoothing) or kneser-ney "
        "(interpolated modified Kneser-Ney; sampling and --show then use the smoothed distribution too).",
    )
    smoothing: float = option(
        1.0,
        "Dirichlet pseudo-count of the back-off to unigram frequencies "
        "(keeps held-out bits finite; unused by kneser-ney).",
    )
    length: int = option(1000, "Number of symbols to sample.")
    start: str = option("", "Text to start sampling from (its last k symbols); default: the text's first k symbols.")
    show: str = option("", "Print the next-symbol distribution after this context, most probable first.")
    seed: int = option(0, "Random seed for sampling.")

    def validate(self) -> None:
        """Reject values no run could use, with the option's name in the message."""
        check_range("--order", self.order, 1, MAX_ORDER)
        check_range("--length", self.length, 0, MAX_LENGTH)
        check_fraction("--val-fraction", self.val_fraction)
        check_fractions(self.val_fraction, self.test_fraction)
        check_positive("--smoothing", self.smoothing)
        check_seed(self.seed)

    def check_data(self) -> None:
        """The corpus is a text data set (fetched into the cache if missing) or a readable file."""
        from seqtasks.data.text import resolve_corpus

        resolve_corpus(self.corpus)
