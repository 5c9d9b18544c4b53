"""Checks that a copy of a data set is the real thing: digests, sizes, text shape, layout.

Each check raises :class:`VerifyError` whose message is one clause naming
what differs (expected vs actual); the cache turns it into a user-facing line.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from seqtasks.data.registry import Checksum, TextShape

_CHUNK = 1 << 20


class VerifyError(Exception):
    """A copy does not match what the registry pins; ``str()`` says how."""


def digest_file(path: Path, algorithm: str) -> str:
    """Hex digest of a file, read in chunks so big tarballs need no big memory."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file."""
    return digest_file(Path(path), "sha256")


def check_checksum(path: Path, checksum: Checksum, label: str) -> str:
    """Raise unless ``path`` has the pinned size and digest; return the digest."""
    if checksum.size is not None:
        size = path.stat().st_size
        if size != checksum.size:
            raise VerifyError(f"{label} is {size} bytes, expected {checksum.size}")
    actual = digest_file(path, checksum.algorithm)
    if actual != checksum.hexdigest:
        raise VerifyError(f"{label} has {checksum.algorithm} {actual}, expected {checksum.hexdigest}")
    return actual


def check_text_shape(path: Path, shape: TextShape, label: str) -> None:
    """Raise unless the file is UTF-8 text whose lowercased form has the pinned counts."""
    try:
        text = path.read_text(encoding="utf-8").lower()
    except UnicodeDecodeError as err:
        raise VerifyError(f"{label} is not UTF-8 text (bad byte at offset {err.start})") from None
    if (len(text), len(set(text))) != (shape.chars, shape.distinct):
        raise VerifyError(
            f"{label} has {len(text)} characters ({len(set(text))} distinct) once lowercased, "
            f"expected {shape.chars} ({shape.distinct} distinct)"
        )


def check_layout(root: Path, layout: tuple[tuple[str, int], ...], label: str) -> None:
    """Raise unless each sub-folder of ``root`` holds the pinned number of ``.txt`` files."""
    for sub, expected in layout:
        folder = root / sub
        if not folder.is_dir():
            raise VerifyError(f"{label} has no folder {sub}/")
        count = sum(1 for entry in os.scandir(folder) if entry.name.endswith(".txt") and entry.is_file())
        if count != expected:
            raise VerifyError(f"{label}/{sub} holds {count} .txt files, expected {expected}")
