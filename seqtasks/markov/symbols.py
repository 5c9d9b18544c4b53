"""Text to symbol indices and back: what the chain counts, and what it prints.

A chain works on small integers (indices into the sorted training
vocabulary), so both levels share every count and lookup: the char level's
symbols are code points, the word level's whitespace-separated words. One
extra code, ``len(symbols)``, stands for any symbol training never saw.
"""

from __future__ import annotations

import numpy as np


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


def render(symbols: np.ndarray, codes: list[int] | np.ndarray, level: str) -> str:
    """Symbol indices back to text."""
    syms = symbols[np.asarray(codes, dtype=np.int64)]
    if level == "char":
        return "".join(map(chr, syms.tolist()))
    return " ".join(syms.tolist())


def escape(symbol: str) -> str:
    """Make whitespace symbols visible in one-per-line printouts."""
    return symbol.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
