"""Atomic file writes: a crash or a kill never leaves a half-written file.

Every file a run writes goes through these helpers: the content is written to a
temporary file in the same folder, flushed to disk, then renamed over the
target (``os.replace`` is atomic on POSIX). Readers see the old file or the new
one, never a torn one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    """The process umask (reading it means setting it; put it straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically (keys kept in insertion order)."""
    return write_text(path, json.dumps(obj, indent=2, default=str) + "\n")


def append_text(path: str | os.PathLike[str], text: str) -> Path:
    """Append ``text`` to ``path`` by rewriting it atomically.

    Per-epoch files are small (one line an epoch), so a full rewrite costs
    nothing and a kill during the write cannot leave a torn last line.
    """
    path = Path(path)
    old = path.read_bytes() if path.exists() else b""
    return write_bytes(path, old + text.encode("utf-8"))
