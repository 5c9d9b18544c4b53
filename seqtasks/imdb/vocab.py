"""Words to integer sequences, with the Keras IMDB conventions for every data set.

Whatever the source (Keras' ``imdb.npz``, the raw aclImdb folder, rt-snippets,
a CSV), a review becomes the same thing: ``[START, w1 + INDEX_FROM, ...]``
where ``w`` is the word's frequency rank (1 = most frequent), then
:func:`restrict` turns every index outside ``[skip_top, num_words)`` into
``OOV`` -- exactly what ``keras.datasets.imdb.load_data`` does, start marker
included. One encoding means one model, one ``predict`` and one ``eval`` path.

The tokenizer is deliberately simple and documented: lowercase, ``<br />``
tags become spaces, then words (letters/digits with inner apostrophes:
``don't``) and, optionally, single punctuation marks as tokens of their own.
The Keras IMDB word index holds no punctuation, so runs on it tokenize
without it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

PAD, START, OOV, INDEX_FROM = 0, 1, 2, 3  # keras.datasets.imdb's reserved indices

_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_WORD = r"[^\W_]+(?:'[^\W_]+)*"
_WORDS = re.compile(_WORD)
_WORDS_AND_PUNCT = re.compile(_WORD + r"|[^\w\s]")


def tokenize(text: str, punctuation: bool = True) -> list[str]:
    """Lowercased words (and punctuation marks when ``punctuation``) of ``text``."""
    pattern = _WORDS_AND_PUNCT if punctuation else _WORDS
    return pattern.findall(_BREAK.sub(" ", text.lower()))


@dataclass(frozen=True)
class Vocabulary:
    """Word -> frequency rank (1-based, Keras' ``word_index`` form) and how text is split."""

    word_index: dict[str, int]
    punctuation: bool

    @classmethod
    def count(cls, docs: Iterable[Sequence[str]], punctuation: bool = True) -> "Vocabulary":
        """Rank the words of ``docs`` by frequency; ties by first appearance (deterministic)."""
        counts = Counter(w for doc in docs for w in doc)
        ranked = sorted(counts, key=counts.__getitem__, reverse=True)  # stable: first seen wins ties
        return cls({w: r for r, w in enumerate(ranked, start=1)}, punctuation)

    def top(self, num_words: int) -> "Vocabulary":
        """Only the words whose index stays below ``num_words``: the rest encode as OOV anyway."""
        keep = num_words - INDEX_FROM
        return Vocabulary({w: r for w, r in self.word_index.items() if r < keep}, self.punctuation)

    def encode(self, tokens: Sequence[str]) -> np.ndarray:
        """``[START, rank + INDEX_FROM, ...]``; words never seen become OOV."""
        index = self.word_index
        return np.array([START] + [index[w] + INDEX_FROM if w in index else OOV for w in tokens], dtype=np.int32)

    def encode_texts(self, texts: Iterable[str]) -> list[np.ndarray]:
        """Tokenize and encode each text."""
        return [self.encode(tokenize(t, self.punctuation)) for t in texts]

    def to_json(self) -> dict[str, object]:
        """The record ``predict`` and ``eval`` read back from a run folder."""
        return {"punctuation": self.punctuation, "word_index": self.word_index}

    @classmethod
    def from_json(cls, record: dict[str, object]) -> "Vocabulary":
        """Inverse of :meth:`to_json`."""
        word_index = record["word_index"]
        if not isinstance(word_index, dict):
            raise ValueError(f"'word_index' is {type(word_index).__name__}, not a dict")
        return cls(dict(word_index), bool(record["punctuation"]))


def restrict(seqs: list[np.ndarray], num_words: int, skip_top: int) -> list[np.ndarray]:
    """Keras' cut: an index ``w`` outside ``skip_top <= w < num_words`` becomes OOV.

    Done once on the concatenation of all sequences (no Python loop per word).
    """
    if not seqs:
        return []
    flat = np.concatenate(seqs).astype(np.int32)
    flat = np.where((flat >= skip_top) & (flat < num_words), flat, OOV).astype(np.int32)
    return np.split(flat, np.cumsum([len(s) for s in seqs])[:-1])
