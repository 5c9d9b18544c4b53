"""A private index of ended runs, so ``status`` and ``collect`` of a big sweep re-read only what changed.

An ended run's view depends on three small files (``result.json``,
``job.json``, ``config.json``), yet reading and checking them costs about
0.1 ms a run: a second at 10,000 runs, every time a user looks. So after a
view has read the ended runs of a sweep of at least :data:`MIN_RUNS` runs,
it keeps what it read, checked, in one file of the user's own cache folder,
with each file's signature (inode, size, modification and change times, from
``lstat``). The next view takes a run from the index only when all three
signatures are unchanged, and reads the folder otherwise: the folders stay
the truth. A file rewritten in place changes its times; one replaced (every
seqjobs write is a rename) changes its inode and change time; a damaged or
replaced file is therefore read, and reported, exactly as without the index.
The index is read like a run's files (a regular file only, never a FIFO, its
size bounded by the runs it can hold): one that is not, or is not JSON, is
discarded and written anew.

The index lives in the user's cache folder, not in the sweep: a view of a
colleague's folder must not trust a file that folder brings along, and a
read-only command writes nothing into the folders it reads. Anything wrong
with the index (unreadable, another format, another path) makes it empty.

Each entry is named fields (:class:`Entry`), each checked as it is taken
like a run's own records. An index of another format -- one written by an
older seqjobs, whose entries were positional lists, or by a newer one -- is
not migrated but discarded and written anew: it is a cache, rebuilt by the
very read the view would do without it, and code to convert it would be
kept forever for the saving of one look.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Optional

from jobs.monitor.rows import RunStatus
from jobs.monitor.spend import Measured
from seqtasks import atomic
from seqtasks.cachedir import cache_home
from seqtasks.rundir import safe
from seqtasks.rundir.records import ConfigRecord, JobInResult, ResultRecord, dump, load

#: smaller sweeps are read in well under a second: no index for them
MIN_RUNS = 500
#: index files kept in the cache folder (the oldest are removed)
KEEP = 32
#: an entry is a run's status and three small records: about 2 KB; an index larger than this per run is not ours
MAX_BYTES_PER_RUN = 16 << 10
#: the files whose signatures decide whether an entry still holds
SIGNED = ("result.json", "job.json", "config.json")

#: per signed file: inode, size, modification and change times (``None`` x 4 for a missing file), flat,
#: so that comparing it with its JSON copy is one list comparison
Signature = list[Any]
_MISSING = [None] * 4


@dataclass
class IndexFile:
    """The index file: the folder it indexes, and an :class:`Entry` (as JSON) by run path relative to it."""

    #: bump when what an entry holds changes (3: each run's measured cost)
    FORMAT: ClassVar[int] = 3

    root: str
    runs: dict[str, Any]


@dataclass
class EndedFiles:
    """What ``collect`` tabulates of an ended run: its records as :func:`~jobs.monitor.reading.read_ended` read them."""

    task: str
    result: ResultRecord
    config: ConfigRecord
    job: Optional[JobInResult] = None
    epochs: int = 0

    def to_dict(self) -> dict[str, Any]:
        """As JSON: each record as its own file holds it."""
        return {
            "task": self.task,
            "result": self.result.to_dict(),
            "config": dump(self.config),
            "job": None if self.job is None else dump(self.job),
            "epochs": self.epochs,
        }

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> EndedFiles:
        """:class:`ValueError` when anything in ``obj`` is not what :meth:`to_dict` writes."""
        task, result, config, job, epochs = (obj.get(k) for k in ("task", "result", "config", "job", "epochs"))
        if not (
            isinstance(task, str)
            and isinstance(result, dict)
            and isinstance(config, dict)
            and isinstance(job, (dict, type(None)))
            and isinstance(epochs, int)
        ):
            raise ValueError("not an ended run's files")
        return cls(
            task=task,
            result=ResultRecord.from_dict(result),
            config=load(ConfigRecord, config),
            job=None if job is None else load(JobInResult, job),
            epochs=epochs,
        )


@dataclass
class Entry:
    """One ended run as a view read it: its status row, for ``collect`` its files (``None`` for ``status``), and
    what its folder measured of its cost (its SLURM jobs' share is asked of sacct at each view: it may learn more)."""

    status: RunStatus
    files: Optional[EndedFiles] = None
    measured: Optional[Measured] = None

    def to_dict(self, sig: Signature) -> dict[str, Any]:
        """As JSON, valid while the run's files keep ``sig``.

        The status row is a shallow copy (``vars``): only written out, and ``asdict`` deep-copies, ten times slower.
        """
        return {
            "signature": sig,
            "status": vars(self.status),
            "files": None if self.files is None else self.files.to_dict(),
            "measured": None if self.measured is None else self.measured.to_dict(),
        }

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> Entry:
        """:class:`ValueError` when ``obj`` is not what :meth:`to_dict` writes."""
        status, files, measured = obj.get("status"), obj.get("files"), obj.get("measured")
        if not isinstance(status, dict) or not isinstance(files, (dict, type(None))):
            raise ValueError("not an index entry")
        return cls(
            status=load(RunStatus, status),
            files=None if files is None else EndedFiles.from_dict(files),
            measured=None if measured is None else Measured.from_dict(measured),
        )


def signature(run: str) -> Signature | None:
    """What identifies the current contents of a run's signed files; ``None`` when one is not a plain file."""
    out: Signature = []
    for name in SIGNED:
        try:
            info = os.lstat(f"{run}{os.sep}{name}")
        except FileNotFoundError:
            out += _MISSING
            continue
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        out += (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    return out


class EndedIndex:
    """The index of one sweep (or folder of sweeps): entries by run path relative to it."""

    def __init__(self, root: Path, file: Path, runs: int) -> None:
        self.root = os.path.realpath(root)
        self.file = file
        self.limit = max(runs, MIN_RUNS) * MAX_BYTES_PER_RUN
        self.entries: dict[str, Any] = self._load()
        self.changed = False

    @classmethod
    def for_root(cls, root: Path, runs: int, view: str) -> EndedIndex | None:
        """The index ``view`` (status, collect) keeps of ``root`` when it holds enough runs to need one."""
        if runs < MIN_RUNS or os.environ.get("SEQJOBS_NO_INDEX"):
            return None
        key = hashlib.sha256(os.fsencode(os.path.realpath(root))).hexdigest()[:32]
        return cls(root, cache_home("SEQJOBS_CACHE_DIR") / "index" / f"{key}-{view}.json", runs)

    def _load(self) -> dict[str, Any]:
        """The entries (as JSON) of the index file; none when it is missing, damaged, of another format,
        or too big for the runs it indexes."""
        try:
            data = safe.read_bytes(self.file, limit=self.limit)
            obj = json.loads(data) if data is not None else None
            if not isinstance(obj, dict) or obj.get("format") != IndexFile.FORMAT:
                return {}
            index = load(IndexFile, obj)
        except (safe.Damaged, ValueError, RecursionError):
            return {}
        return index.runs if index.root == self.root else {}

    def lookup(self, key: str, sig: Signature | None) -> Entry | None:
        """The entry kept for ``key`` if its files still have signature ``sig`` (and it is whole)."""
        kept = self.entries.get(key)
        if sig is None or not isinstance(kept, dict) or kept.get("signature") != sig:
            return None
        try:
            return Entry.from_dict(kept)
        except ValueError:
            return None

    def remember(self, key: str, sig: Signature | None, entry: Entry) -> None:
        """Keep ``entry`` for ``key``, valid while the files keep ``sig`` (taken *before* they were read)."""
        if sig is None:
            return
        self.entries[key] = entry.to_dict(sig)
        self.changed = True

    def forget_except(self, keys: set[str]) -> None:
        """Drop entries of runs that are no longer there."""
        gone = set(self.entries) - keys
        for key in gone:
            del self.entries[key]
        self.changed = self.changed or bool(gone)

    def save(self, background: bool = False) -> None:
        """Write the index if it changed; a cache that cannot be written is simply not kept.

        ``background``: a detached process writes it (a fork of this one,
        its output closed), and this one goes on at once: encoding the index
        of 10,000 runs is a fifth of a first look, and the command's answer
        does not wait for it. A look that starts before it is written reads
        the folders, as without it.
        """
        if not self.changed:
            return
        who = _fork_writer() if background else "writer"
        if who == "caller":
            return
        try:
            data = json.dumps(dump(IndexFile(root=self.root, runs=self.entries)), separators=(",", ":"))
            self.file.parent.mkdir(parents=True, exist_ok=True)
            atomic.write_bytes(self.file, data.encode(), durable=False)  # a lost index is only read again
            _prune(self.file.parent)
        except OSError:
            pass
        finally:
            if who == "detached":
                os._exit(0)


def _fork_writer() -> str:
    """Fork a detached writer: ``"caller"`` in this process, ``"detached"`` in the writer (``"writer"``: no fork).

    Forked twice, the middle process exiting at once, so that no zombie is
    left to a long-lived caller; the writer's standard streams go to
    ``/dev/null``, so that a pipe reading the command's output ends with
    the command. The detached writer ends with ``os._exit``, never returning
    into the command (see :meth:`EndedIndex.save`).
    """
    try:
        middle = os.fork()
    except (AttributeError, OSError):  # no fork here: write in this process
        return "writer"
    if middle:
        os.waitpid(middle, 0)
        return "caller"
    try:
        if os.fork():
            os._exit(0)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
    except BaseException:
        os._exit(1)
    return "detached"


def _prune(folder: Path) -> None:
    """Keep the :data:`KEEP` most recently written index files."""
    files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in files[KEEP:]:
        old.unlink(missing_ok=True)
