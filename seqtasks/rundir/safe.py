"""Reading files of folders we did not necessarily write: no symlinks, no pickles, bounded sizes.

``status``, ``collect`` and ``report`` are pointed at folders that may come
from a colleague, a tarball or a damaged disk. Everything they read goes
through here: a path that leaves the folder through a symlink, a file that is
not a regular file (a FIFO is opened without blocking, then refused), an
oversized, undecodable or too deeply nested one raises :class:`Damaged`,
which names the file and the reason, so one bad run is reported instead of
crashing the whole view. Nothing here unpickles anything.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import stat
import zipfile
from pathlib import Path
from typing import Any

#: records are small; anything bigger is not one of ours
MAX_RECORD_BYTES = 4 << 20
#: one row an epoch: even a long run's metrics stay far below this
MAX_TABLE_BYTES = 64 << 20
#: a sweep manifest holds every run's parameters: about 0.5 KB a run, 100,000 runs at most
MAX_MANIFEST_BYTES = 256 << 20
#: our records nest a few levels (a manifest's rungs: 4); far deeper is not ours, and past about a thousand
#: levels Python's own JSON and TOML readers, and anything that walks the value, fail with a RecursionError
MAX_NESTING = 32


class Damaged(Exception):
    """A file of a run or sweep folder that exists but cannot be trusted or read."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def _no_link_below(path: Path | str, root: Path | str) -> None:
    """Refuse ``path`` if a folder between ``root`` (exclusive) and it is a symlink.

    The file itself is opened with ``O_NOFOLLOW``, which refuses a link there;
    a file directly in ``root`` -- nearly every read -- needs no check at all.
    """
    top, here = os.fspath(root), os.fspath(path)
    parent = os.path.dirname(here)
    if parent == top:
        return
    if not here.startswith(top.rstrip(os.sep) + os.sep):
        raise Damaged(path, f"is outside {root}")
    current = top
    for part in os.path.relpath(parent, top).split(os.sep):
        current = os.path.join(current, part)
        try:
            if stat.S_ISLNK(os.lstat(current).st_mode):
                raise Damaged(path, f"{part} is a symbolic link (not followed)")
        except FileNotFoundError:
            return


def read_bytes(path: Path | str, root: Path | str | None = None, limit: int = MAX_RECORD_BYTES) -> bytes | None:
    """The bytes of ``path``, or ``None`` when it does not exist.

    ``root``: the folder the file must stay in (default: its parent). Raises
    :class:`Damaged` for symlinks, non-regular files, unreadable or oversized files.
    """
    _no_link_below(path, root if root is not None else os.path.dirname(os.fspath(path)))
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise Damaged(path, "is a symbolic link (not followed)") from None
        raise Damaged(path, f"cannot be read ({err.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Damaged(path, "is not a regular file")
        if info.st_size > limit:
            raise Damaged(path, f"is {info.st_size} bytes, more than the {limit} a seqjobs file can have")
        chunks, size = [], 0
        while size <= limit:  # a file that grows while it is read is still cut at the limit
            wanted = max(info.st_size - size, 0) + 1
            chunk = os.read(fd, wanted)
            chunks.append(chunk)
            size += len(chunk)
            if len(chunk) < wanted:  # the end of the file (one read for a record that did not change)
                break
        return b"".join(chunks)
    except OSError as err:
        raise Damaged(path, f"cannot be read ({err.strerror})") from None
    finally:
        os.close(fd)


def read_text(path: Path | str, root: Path | str | None = None, limit: int = MAX_RECORD_BYTES) -> str | None:
    """UTF-8 text of ``path`` (``None`` when missing); :class:`Damaged` when it is not UTF-8 text."""
    data = read_bytes(path, root, limit)
    if data is None:
        return None
    if b"\x00" in data:
        raise Damaged(path, "is binary, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Damaged(path, "is not UTF-8 text") from None


def read_object(
    path: Path | str, root: Path | str | None = None, limit: int = MAX_RECORD_BYTES
) -> dict[str, Any] | None:
    """A JSON object from ``path`` (``None`` when missing); :class:`Damaged` for anything else."""
    text = read_text(path, root, limit)
    if text is None:
        return None
    obj = decode(text, path)
    if not isinstance(obj, dict):
        raise Damaged(path, f"holds a JSON {type(obj).__name__}, not an object")
    return obj


def decode(text: str, path: Path | str) -> Any:
    """The JSON value of ``text`` read from ``path``; :class:`Damaged` when it is not JSON or nests too deep."""
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise Damaged(path, f"nests deeper than the {MAX_NESTING} levels a seqjobs file can have") from None
    except ValueError as err:
        raise Damaged(path, f"is not valid JSON ({err})") from None
    check_nesting(value, path)
    return value


def check_nesting(value: Any, path: Path | str) -> None:
    """:class:`Damaged` when ``value`` nests lists and dicts deeper than :data:`MAX_NESTING`.

    Level by level, without recursion: a value a parser accepted a few
    hundred levels deep would still crash whatever walks it next (a ``repr``,
    a JSON encoder) with a RecursionError.
    """
    level = [value] if isinstance(value, (dict, list)) else []
    for _ in range(MAX_NESTING):
        inner: list[Any] = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            inner.extend(child for child in children if isinstance(child, (dict, list)))
        if not inner:
            return
        level = inner
    raise Damaged(path, f"nests deeper than the {MAX_NESTING} levels a seqjobs file can have")


def _no_constant(name: str) -> float:
    """NaN and Infinity are not JSON; a record holding them was not written by us."""
    raise ValueError(f"{name} is not a number JSON allows")


#: one decoder for every record (``json.loads`` with an option builds a new one per call: 10,000 runs, 20,000 calls)
_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def read_table(path: Path, root: Path | None = None, numeric: bool = True) -> list[dict[str, str]] | None:
    """Rows of a CSV file with one header line (``None`` when missing).

    With ``numeric`` every cell must be a number, as in ``metrics.csv`` (``nan``
    included: a diverged epoch is a fact, not damage).
    A second header line, a ragged row or a non-numeric cell raises :class:`Damaged`.
    """
    text = read_text(path, root, MAX_TABLE_BYTES)
    if text is None:
        return None
    reader = csv.reader(io.StringIO(text))
    try:
        lines = [row for row in reader if row]
    except csv.Error as err:
        raise Damaged(path, f"is not valid CSV ({err})") from None
    if not lines:
        return []
    header, body = lines[0], lines[1:]
    rows = []
    for number, row in enumerate(body, start=2):
        if row == header:
            raise Damaged(path, f"repeats its header on line {number}")
        if len(row) != len(header):
            raise Damaged(path, f"line {number} has {len(row)} fields, the header {len(header)}")
        if numeric:
            for name, cell in zip(header, row):
                if not is_number(cell):
                    raise Damaged(path, f"line {number}: {name} = {cell[:40]!r} is not a number")
        rows.append(dict(zip(header, row)))
    return rows


def is_number(text: str) -> bool:
    """True for text that parses as a float."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_regular(path: Path | str) -> None:
    """:class:`Damaged` when ``path`` exists but is not a regular file (a FIFO would block whoever opens it).

    For files handed to a library that opens them itself (a Keras model);
    a missing file passes, for the caller to report as missing.
    """
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as err:
        raise Damaged(path, f"cannot be read ({err.strerror})") from None
    if stat.S_ISLNK(mode):
        raise Damaged(path, "is a symbolic link (not followed)")
    if not stat.S_ISREG(mode):
        raise Damaged(path, "is not a regular file")


def check_archive(path: Path | str) -> None:
    """:class:`Damaged` unless ``path`` is a regular file holding a complete zip archive (a ``.keras`` model).

    Checked before a library opens it: a FIFO would block that open for
    good, a truncated copy fail only after seconds of loading.
    """
    check_regular(path)
    if not zipfile.is_zipfile(path):
        raise Damaged(path, "is damaged (not a complete .keras file)")


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``, or ``None`` when missing *or damaged* (for callers with a fallback)."""
    try:
        return read_object(path)
    except Damaged:
        return None
