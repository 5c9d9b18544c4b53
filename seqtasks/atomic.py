"""Atomic file changes: a crash or a kill never leaves a half-written file.

Every file a run writes goes through these helpers: the content is written to a
temporary file in the same folder, flushed to disk, then renamed over the
target (``os.replace`` is atomic on POSIX) or linked into place when the name
must not exist yet. Readers see the old file or the new one, never a torn one.

Each change becomes visible in exactly one call, :func:`_publish`; the
fault-injection tests replace it to stop a run between any two changes.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable


def _publish(change: Callable[[], None], path: Path) -> None:
    """Make one prepared change visible (a rename, a link or an unlink of ``path``)."""
    change()


def _temporary(path: Path, data: bytes, durable: bool = True) -> str:
    """A temporary file beside ``path`` holding ``data``, flushed to disk if ``durable``; returns its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def write_bytes(path: str | os.PathLike[str], data: bytes, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically and return the path.

    ``durable=False`` skips the flush to disk, for a cache that may be lost:
    after a crash the file may be empty, never half old and half new.
    """
    path = Path(path)
    tmp = _temporary(path, data, durable)
    try:
        _publish(lambda: os.replace(tmp, path), path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def create_exclusive(path: str | os.PathLike[str], data: bytes) -> bool:
    """Create ``path`` with ``data`` only if it does not exist; False if it does.

    ``link(2)`` of a complete temporary file: atomic and exclusive on every
    POSIX file system, NFS included, and the file is never seen half-written.
    """
    path = Path(path)
    tmp = _temporary(path, data)
    created = []

    def link() -> None:
        try:
            os.link(tmp, path)
            created.append(True)
        except FileExistsError:
            pass

    try:
        _publish(link, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return bool(created)


def move(tmp: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """Rename a finished temporary file (written by a library, e.g. Keras) over ``path``."""
    path = Path(path)
    _publish(lambda: os.replace(tmp, path), path)
    return path


def remove(path: str | os.PathLike[str]) -> None:
    """Delete ``path`` if it exists."""
    path = Path(path)
    if os.path.lexists(path):
        _publish(lambda: path.unlink(missing_ok=True), path)


def _umask() -> int:
    """The process umask (reading it means setting it; put it straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def json_bytes(obj: Any) -> bytes:
    """``obj`` as the indented JSON every record file uses; NaN and infinities are refused."""
    return (json.dumps(obj, indent=2, default=str, allow_nan=False) + "\n").encode("utf-8")


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically (keys kept in insertion order)."""
    return write_bytes(path, json_bytes(obj))


def append_text(path: str | os.PathLike[str], text: str) -> Path:
    """Append ``text`` to ``path`` by rewriting it atomically.

    Per-epoch files are small (one line an epoch), so a full rewrite costs
    nothing and a kill during the write cannot leave a torn last line.
    """
    path = Path(path)
    old = path.read_bytes() if path.exists() else b""
    return write_bytes(path, old + text.encode("utf-8"))
