"""Config of the Markov-chain task (kept apart so the CLI imports no numpy code)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from seqtasks.config import option
from seqtasks.errors import UserError


@dataclass(frozen=True)
class MarkovConfig:
    """A k-th order Markov chain over characters or words, as in the tutorial's first part."""

    corpus: str = option("moby-dick", "Text data set name (see `seqjobs data list`) or path to a UTF-8 file.")
    order: int = option(1, "Order k: how many previous symbols the next one depends on.")
    level: Literal["char", "word"] = option("char", "Symbols are characters, or whitespace-separated words.")
    keep_case: bool = option(False, "Keep upper case (the tutorial lowercases the text).")
    val_fraction: float = option(0.1, "Last fraction of the text held out to measure bits per symbol.")
    smoothing: float = option(1.0, "Pseudo-count of the back-off to unigram frequencies (keeps held-out bits finite).")
    length: int = option(1000, "Number of symbols to sample.")
    start: str = option("", "Text to start sampling from (its last k symbols); default: the text's first k symbols.")
    show: str = option("", "Print the next-symbol distribution after this context, most probable first.")
    seed: int = option(0, "Random seed for sampling.")

    def validate(self) -> None:
        """Reject values no run could use, with the option's name in the message."""
        if self.order < 1:
            raise UserError(f"--order must be >= 1 (got {self.order})")
        if self.length < 0:
            raise UserError(f"--length must be >= 0 (got {self.length})")
        if not 0.0 < self.val_fraction < 1.0:
            raise UserError(f"--val-fraction must be between 0 and 1, exclusive (got {self.val_fraction})")
        if self.smoothing <= 0:
            raise UserError(f"--smoothing must be > 0 (got {self.smoothing})")
