"""Atomic file changes: a crash or a kill never leaves a half-written file.

Every file a run writes goes through these helpers: the content is written to a
temporary file in the same folder, flushed to disk, then renamed over the
target (``os.replace`` is atomic on POSIX) or linked into place when the name
must not exist yet. Readers see the old file or the new one, never a torn one.

A temporary file's name carries its writer -- host, pid and the pid's start
time -- so that the next owner of a folder removes only those a writer that
is gone left behind (:func:`remove_orphans`), never one another process is
about to rename into place (the submitting command writing ``job.json`` while
the run's job already owns the folder; the loser of a race for a claim).

Each change becomes visible in exactly one call, :func:`_publish`; the
fault-injection tests replace it to stop a run between any two changes.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import socket
import time
from pathlib import Path
from typing import Any, Callable

from seqtasks.processes import gone, own_start

#: every temporary file's name matches it: ``.TARGET.RANDOM~PID~START~HOST.tmp`` (and a suffix a library wants)
TEMPORARY = ".*.tmp*"
_WRITER = re.compile(r"\.[0-9a-f]+~(?P<pid>\d+)~(?P<start>\d+|x)~(?P<host>[^~/]+)\.tmp(?:\.[A-Za-z0-9]+)?$")
#: a temporary file whose writer cannot be checked from here (another host; a name without a writer) is
#: removed once it is this old: a writer renames its file within seconds of creating it
UNCHECKED_GRACE_S = 24 * 3600.0
#: the longest file name (one path component) POSIX file systems accept, in bytes
NAME_MAX = 255


def _publish(change: Callable[[], None], path: Path) -> None:
    """Make one prepared change visible (a rename, a link or an unlink of ``path``)."""
    change()


def temporary_path(path: Path, suffix: str = "") -> Path:
    """A fresh temporary name beside ``path`` that names this process as its writer (the file is not created).

    ``suffix`` is for libraries that choose the format by it (Keras: ``.keras``).
    """
    pid = os.getpid()
    start = own_start(pid)
    tag = f".{os.urandom(4).hex()}~{pid}~{int(float(start)) if start else 'x'}~{socket.gethostname()}.tmp{suffix}"
    room = NAME_MAX - 1 - len(os.fsencode(tag))
    return path.with_name("." + os.fsdecode(os.fsencode(path.name)[:room]) + tag)


def is_temporary(name: str) -> bool:
    """Is ``name`` one of these temporary files (of any writer)?"""
    return fnmatch.fnmatchcase(name, TEMPORARY)


def remove_orphans(folder: Path) -> None:
    """Remove the temporary files in ``folder`` whose writer is gone; call as the folder's new owner.

    A writer on this host is gone when its pid is dead or another process
    now (by the start time). A live writer's file stays: it is about to be
    renamed or linked into place. One whose writer cannot be checked from here
    goes once it is :data:`UNCHECKED_GRACE_S` old.
    """
    for tmp in folder.glob(TEMPORARY):
        match = _WRITER.search(tmp.name)
        ended = (
            None
            if match is None
            else gone(match["host"], int(match["pid"]), None if match["start"] == "x" else match["start"])
        )
        if ended or (ended is None and _age(tmp) > UNCHECKED_GRACE_S):
            tmp.unlink(missing_ok=True)


def _age(path: Path) -> float:
    """Seconds since ``path`` was last written (0 when it is gone already)."""
    try:
        return time.time() - os.lstat(path).st_mtime
    except FileNotFoundError:
        return 0.0


def _temporary(path: Path, data: bytes, durable: bool = True) -> str:
    """A temporary file beside ``path`` holding ``data``, flushed to disk if ``durable``; returns its name.

    Made with the permissions the umask leaves of 0666, as any new file: results are meant to be shared.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = str(temporary_path(path))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
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
