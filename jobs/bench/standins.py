"""Stand-ins of the tutorial's data, of the same shape, for machines without it.

* Text: the first N characters of Moby-Dick, lowercased as the tutorial
  lowercases nietzsche.txt (same size, 57 distinct characters either way).
* Reviews: the imdb task's own IMDB-shaped synthetic reviews
  (:mod:`seqtasks.imdb.synthetic`: log-normal lengths with IMDB's median and
  tail, a Zipf vocabulary, a learnable label signal), written as a CSV and
  read back through the imdb task's CSV loader, because the Keras IMDB file
  needs the internet.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from seqtasks.data import load_text
from seqtasks.imdb.config import ImdbConfig

if TYPE_CHECKING:
    from seqtasks.imdb.loaders import Encoded

TEXT_STAND_IN = "moby-dick"
MEDIAN_WORDS = 180  # IMDB's median review length (words)


def stand_in_text(chars: int) -> str:
    """The first ``chars`` characters of the text stand-in, lowercased."""
    return load_text(TEXT_STAND_IN).text[:chars]


def stand_in_reviews(folder: Path, reviews: int, config: ImdbConfig) -> "Encoded":
    """``reviews`` training and as many test reviews (a CSV in ``folder``), encoded by the imdb task's loader."""
    from seqtasks.imdb.loaders import load, resolve
    from seqtasks.imdb.synthetic import write_csv

    path = write_csv(folder / "synthetic-imdb.csv", 2 * reviews, median_len=MEDIAN_WORDS, seed=0)
    return load(resolve(str(path)), dataclasses.replace(config, dataset=str(path), test_fraction=0.5))
