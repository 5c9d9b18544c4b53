"""One writer per run (and per sweep manifest): an owner file created atomically.

Run folders live on shared file systems (NFS, Lustre) where ``flock`` may
hold only within one node. The claim is therefore a file created with
``link(2)`` from a complete temporary file -- atomic, and fails if the name
exists, on every POSIX file system including NFS -- holding the owner record
(host, pid, process start, job id). Within a node the owner also holds an
``flock`` on it, which the kernel drops the moment the process dies.

A claim is taken over only when its owner is provably gone:

- same host: the pid is dead, or is another process now (start time differs),
  and no process holds the flock;
- another host: the owner's job is this very job (a requeued attempt of
  the same SLURM job), or the scheduler says the owner's job has ended
  (``job_alive``, supplied by the caller: the run folder knows nothing of SLURM).

Anything else is :class:`Claimed`, a one-line user error.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import time
from pathlib import Path
from typing import Callable, Iterator, Optional

from seqtasks import atomic
from seqtasks.errors import UserError
from seqtasks.processes import alive, process_start
from seqtasks.rundir.records import ClaimRecord, dump, load
from seqtasks.rundir.safe import Damaged, read_object
from seqtasks.rundir.time import now_iso

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

#: ``job_alive(job_id)``: True running or queued, False ended, None unknown
JobAlive = Callable[[str], Optional[bool]]
#: a claim file without a readable record is a writer caught between link and write: give it this long
TORN_GRACE_S = 60.0
#: the short lock beside an owner file while a stale owner is removed (``claim.json.takeover``)
TAKEOVER = ".takeover"


class Claimed(UserError):
    """The folder is owned by a process that is (or may be) alive."""


def owner_alive(record: ClaimRecord | None, job_alive: JobAlive | None = None) -> bool | None:
    """Is the owner of a claim (``record``; ``None``: there is none) alive now?

    True: it runs; False: there is no owner, or it is provably gone; None:
    cannot tell from here (another host, and no scheduler to ask).
    """
    if record is None:
        return False
    if record.host == socket.gethostname():
        return alive(record.pid, record.pid_start)
    if record.job_id and record.job_id == current_job_id():
        return False  # a requeued attempt of this same job: the old attempt was stopped by the scheduler
    if record.job_id and job_alive is not None:
        return job_alive(record.job_id)
    return None


def current_job_id() -> str | None:
    """The id of the batch job this process belongs to (SLURM or submitit's local executor)."""
    env = os.environ
    if env.get("SLURM_ARRAY_JOB_ID") and env.get("SLURM_ARRAY_TASK_ID"):
        return f"{env['SLURM_ARRAY_JOB_ID']}_{env['SLURM_ARRAY_TASK_ID']}"
    return env.get("SLURM_JOB_ID") or env.get("SUBMITIT_LOCAL_JOB_ID") or None


class OwnerFile:
    """An owner file at ``path``: acquire, hold (flock too), release."""

    def __init__(self, path: Path, what: str) -> None:
        self.path = Path(path)
        self.what = what  # "run folder X" / "sweep X", for messages
        self.record: ClaimRecord | None = None
        self._fd: int | None = None

    def read(self) -> ClaimRecord | None:
        """The current owner record; ``None`` when unowned. Raises :class:`Damaged`."""
        obj = read_object(self.path)
        if obj is None:
            return None
        try:
            return load(ClaimRecord, obj)
        except ValueError as err:
            raise Damaged(self.path, str(err)) from None

    def acquire(self, job_alive: JobAlive | None = None, wait_s: float = 0.0) -> ClaimRecord:
        """Become the owner, waiting up to ``wait_s`` for a live owner to let go; :class:`Claimed` otherwise."""
        deadline = time.monotonic() + wait_s
        pid = os.getpid()
        record = ClaimRecord(
            host=socket.gethostname(),
            pid=pid,
            token=os.urandom(8).hex(),
            claimed_at=now_iso(),
            pid_start=process_start(pid),
            job_id=current_job_id(),
        )
        while True:
            if self._create(record):
                self.record = record
                self._lock()
                return record
            blocker = self._stale_or_owner(job_alive)
            if blocker is None:
                continue  # a stale claim was removed: try again
            if time.monotonic() >= deadline:
                raise Claimed(blocker)
            time.sleep(0.2)

    def release(self) -> None:
        """Stop owning (the file goes only if it is still ours; the flock goes in any case)."""
        if self.record is None:
            return
        try:
            try:
                current = self.read()
            except Damaged:
                current = None
            if current is not None and current.token == self.record.token:
                atomic.remove(self.path)
        finally:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self.record = None

    @contextlib.contextmanager
    def held(self, job_alive: JobAlive | None = None, wait_s: float = 0.0) -> Iterator[ClaimRecord]:
        """``acquire`` ... ``release`` around a block."""
        record = self.acquire(job_alive, wait_s)
        try:
            yield record
        finally:
            self.release()

    # -- internals ------------------------------------------------------------------
    def _create(self, record: ClaimRecord) -> bool:
        """Link a complete record into place; False if the name is taken."""
        return atomic.create_exclusive(self.path, atomic.json_bytes(dump(record)))

    def _lock(self) -> None:
        if fcntl is None:
            return
        try:
            self._fd = os.open(self.path, os.O_RDONLY)
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pass  # file systems without flock: the link claim alone holds

    def _flock_held(self) -> bool:
        """Does a live process on this node hold the flock on the claim file?"""
        if fcntl is None:
            return False
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except OSError as err:
            return err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)
        finally:
            os.close(fd)

    def _stale_or_owner(self, job_alive: JobAlive | None) -> str | None:
        """Remove a provably stale claim (returns None), or describe the live owner."""
        try:
            owner = self.read()
        except Damaged:
            age = time.time() - _mtime(self.path)
            if age < TORN_GRACE_S:
                return f"{self.what} is being claimed by another process; try again in a minute"
            owner = None
        if owner is None:
            if not self.path.exists():
                return None
            return self._take_over(None)
        running = owner_alive(owner, job_alive)
        if running is False and not (owner.host == socket.gethostname() and self._flock_held()):
            return self._take_over(owner)
        who = f"host {owner.host}, pid {owner.pid}" + (f", job {owner.job_id}" if owner.job_id else "")
        if running is None:
            return (
                f"{self.what} is claimed by {who} since {owner.claimed_at}, which cannot be checked from here; "
                f"if that process is gone, delete {self.path} and try again"
            )
        return f"{self.what} is in use by {who} since {owner.claimed_at}; wait for it, or cancel it first"

    def _take_over(self, stale: ClaimRecord | None) -> str | None:
        """Remove a stale claim under a short take-over lock, so two takers cannot both win."""
        lock = self.path.with_name(self.path.name + TAKEOVER)
        if not atomic.create_exclusive(lock, str(os.getpid()).encode()):
            if time.time() - _mtime(lock) > TORN_GRACE_S:
                atomic.remove(lock)
                return None
            return f"{self.what} is being taken over by another process; try again in a moment"
        try:
            try:
                current = self.read()
            except Damaged:
                current = None
            if (current is None and stale is None) or (current and stale and current.token == stale.token):
                atomic.remove(self.path)
        finally:
            atomic.remove(lock)
        return None


def _mtime(path: Path) -> float:
    try:
        return os.lstat(path).st_mtime
    except OSError:
        return 0.0
