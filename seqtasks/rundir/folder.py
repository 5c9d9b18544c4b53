"""A run folder: every file in it, read and written through one class.

The contract is ``docs/run-folder.md``. In short: ``config.json`` says what
the run is; ``claim.json`` who may write it now; ``state.json`` where it
stands; ``cancel.json`` that ``seqjobs cancel`` stopped it; ``metrics.csv``
one row per committed epoch; ``checkpoints/state.json`` the last commit;
``result.json`` how it ended; ``job.json`` which job runs it.
Readers here are strict -- a damaged file raises :class:`Damaged` naming it --
so a view over many runs can report one bad run and show the rest.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import math
import os
import platform
import socket
import stat
from pathlib import Path
from typing import Any, Iterator

from seqtasks import atomic
from seqtasks.config import cli_name, resumable_fields, to_dict, with_defaults
from seqtasks.errors import UserError
from seqtasks.rundir.claim import TAKEOVER, JobAlive, OwnerFile, current_job_id
from seqtasks.rundir.records import (
    JOB_IN_RESULT,
    CancelRecord,
    ClaimRecord,
    ConfigRecord,
    JobInResult,
    JobRecord,
    ResultRecord,
    StateRecord,
    dump,
    load,
    new_run_id,
)
from seqtasks.rundir.safe import Damaged, read_object, read_table
from seqtasks.rundir.states import ENDED, IllegalTransition, RunState, check_transition
from seqtasks.rundir.time import now_iso
from seqtasks.version import git_state, library_versions, package_version

CONFIG = "config.json"
CLAIM = "claim.json"
STATE = "state.json"
CANCEL = "cancel.json"
RESULT = "result.json"
METRICS = "metrics.csv"
JOB = "job.json"
SAMPLES = "samples"
CHECKPOINTS = "checkpoints"
#: what a run folder may hold before its config: its claim, a cancel, and submitit's logs of a single-run job
#: (besides the temporary files of writers that are creating them, :func:`seqtasks.atomic.is_temporary`)
OURS_BEFORE_CONFIG = {CLAIM, CLAIM + TAKEOVER, CANCEL, ".submitit"}


def job_signature(run: str) -> list[int] | None:
    """``job.json``'s inode, size and modification time (``None``: missing or not a plain file).

    A rewrite (every seqjobs write is a rename of a new file) changes the
    inode and the time; no clock is compared with another.
    """
    try:
        info = os.lstat(os.path.join(run, JOB))
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return [info.st_ino, info.st_size, info.st_mtime_ns]


def _finite(figures: dict[str, Any]) -> dict[str, Any]:
    """Non-finite figures (a diverged loss) become ``null``: JSON has no NaN."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in figures.items()}


class AttemptClosed(RuntimeError):
    """The attempt that is training was ended under it: its epochs can no longer be committed.

    A preemption's handler marks the attempt requeued, then raises
    ``SystemExit`` wherever the main thread is; C code can swallow that exit
    (pybind11's ``hasattr``, which TensorFlow calls, does), and the task
    trains on. Its next commit
    raises this instead, so no epoch is committed to an attempt that the
    folder already says has ended, and the attempt ends as the handler meant.
    """


class RunDir:
    """One run's folder and the files in it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._where = os.fspath(self.path)  # reads join strings: a view reads tens of thousands of files

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def samples(self) -> Path:
        """Folder of generated text files."""
        return self.path / SAMPLES

    @property
    def checkpoints(self) -> Path:
        """Folder of resumable training state."""
        return self.path / CHECKPOINTS

    def file(self, name: str) -> Path:
        """Path of ``name`` inside the run folder."""
        return self.path / name

    # -- reading (strict: Damaged names the file) ---------------------------------------
    def _read(self, name: str) -> dict[str, Any] | None:
        return read_object(os.path.join(self._where, name), self._where)

    def _record(self, name: str, cls: type) -> Any:
        """The record ``cls`` of file ``name``, in the current format whatever format it was written in."""
        obj = self._read(name)
        if obj is None:
            return None
        try:
            return cls.from_dict(obj) if cls is ResultRecord else load(cls, obj)
        except ValueError as err:  # a damaged file, or one of a newer format (NewerFormat)
            raise Damaged(self.file(name), str(err)) from None

    def config_record(self) -> ConfigRecord | None:
        """``config.json``; ``None`` when missing."""
        record: ConfigRecord | None = self._record(CONFIG, ConfigRecord)
        return record

    def state_record(self) -> StateRecord | None:
        """``state.json`` with a cancel applied (``cancel.json``); ``None`` when there is neither.

        ``seqjobs cancel`` never writes ``state.json``: the run's owner may be
        rewriting it at that very moment (an epoch's commit reads, changes and
        renames it), and the owner's rename would undo the cancel. The cancel
        goes into a file no one else writes, and every reader, the owner
        included, sees the state through it here: a run that had not ended is
        cancelled from the cancel's time on, its running attempt closed then.
        """
        return self._cancel_applied(self._record(STATE, StateRecord))

    def _cancel_applied(self, record: StateRecord | None) -> StateRecord | None:
        """``record`` (``state.json`` as written) as it reads once ``cancel.json`` is applied; see :meth:`state_record`."""
        if record is not None and record.state in ENDED:
            return record
        cancel: CancelRecord | None = self._record(CANCEL, CancelRecord)
        if cancel is None:
            return record
        if record is None:
            return StateRecord(state=RunState.CANCELLED, ended_at=cancel.cancelled_at)
        if record.state == RunState.RUNNING:
            record.close_attempt(RunState.CANCELLED, cancel.cancelled_at)
        record.state, record.ended_at = RunState.CANCELLED, cancel.cancelled_at
        return record

    def job_record(self) -> JobRecord | None:
        """``job.json``; ``None`` when the run was never submitted."""
        record: JobRecord | None = self._record(JOB, JobRecord)
        return record

    def claim_record(self) -> ClaimRecord | None:
        """``claim.json``: the process that owns the run now, if any."""
        record: ClaimRecord | None = self._record(CLAIM, ClaimRecord)
        return record

    def result(self, main_metric: str | None = None) -> ResultRecord | None:
        """``result.json`` (checked: status, and ``main_metric`` of a completed run); ``None`` when missing."""
        record: ResultRecord | None = self._record(RESULT, ResultRecord)
        if record is not None:
            try:
                record.check_main(main_metric)
            except ValueError as err:
                raise Damaged(self.file(RESULT), str(err)) from None
        return record

    def metrics_rows(self) -> list[dict[str, str]]:
        """Rows of ``metrics.csv`` (empty when absent); :class:`Damaged` unless one header and numbers."""
        return read_table(self.file(METRICS), self.path) or []

    # -- creating and checking -------------------------------------------------------------
    def check_compatible(self, task: str, config: Any) -> ConfigRecord | None:
        """The stored config record after checking it matches; ``None`` for a new or empty folder.

        Refuses (one line): a path that is a file, a non-empty folder that is
        not a seqjobs run, a run of another task or another config.
        """
        if self.path.exists() and not self.path.is_dir():
            raise UserError(f"{self.path} exists and is not a folder; choose another --out")
        try:
            old = self.config_record()
        except Damaged as err:
            raise UserError(f"{err}; this folder is not a usable run, choose another --out") from None
        if old is None:
            if self.path.is_dir() and any(
                p.name not in OURS_BEFORE_CONFIG and not atomic.is_temporary(p.name) for p in self.path.iterdir()
            ):
                raise UserError(
                    f"{self.path} is not empty and is not a seqjobs run (no {CONFIG}); "
                    "choose a new or empty folder for --out"
                )
            return None
        params = to_dict(config)
        if old.task != task:
            raise UserError(f"{self.path} holds a '{old.task}' run, not '{task}'; choose another --out")
        skip = resumable_fields(type(config))
        before = with_defaults(type(config), old.config)
        diff = [
            f"{cli_name(k)}: {before.get(k)!r} -> {v!r}"
            for k, v in params.items()
            if k not in skip and before.get(k) != v
        ]
        if diff:
            raise UserError(
                f"{self.path} was made with a different config ({'; '.join(diff)}); "
                "use another --out, or the same options to resume it"
            )
        return old

    def create(self) -> None:
        """Make the folder (one line when a parent is a file or the disk refuses)."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UserError(f"cannot create run folder {self.path}: {err.strerror}; choose another --out") from None

    def prepare(self, task: str, config: Any, snapshot: dict[str, Any] | None = None) -> None:
        """Write ``config.json`` for a new run, or update its resumable fields (``epochs``).

        ``snapshot``: the code a new run's jobs import, kept for its life (its resumes use it too).
        Call :meth:`check_compatible` first; the caller should own the run (:meth:`claim`).
        """
        old = self.check_compatible(task, config)
        params = to_dict(config)
        if old is not None:
            if old.config != params:
                old.config = params  # resumable fields (epochs) may have grown
                atomic.write_json(self.file(CONFIG), dump(old))
            return
        self.create()
        commit, dirty = git_state()
        record = ConfigRecord(
            task=task,
            config=params,
            created_at=now_iso(),
            seed=params.get("seed"),
            data=None,
            seqjobs_version=package_version(),
            git_commit=commit,
            git_dirty=dirty,
            host=socket.gethostname(),
            python=platform.python_version(),
            libraries=dict(library_versions()),
            snapshot=snapshot,
            run_id=new_run_id(),
        )
        atomic.write_json(self.file(CONFIG), dump(record))

    def prepare_new(self, task: str, config: Any, snapshot: dict[str, Any] | None = None) -> bool:
        """Create the folder and its ``config.json`` if the folder does not exist yet; ``False`` when it does.

        A folder this call creates (``mkdir`` fails when it exists) belongs to no
        one else yet, so its config is written without taking the run's claim: a
        submission of 10,000 new runs then writes 10,000 files fewer, each flushed
        to disk and removed again.
        """
        try:
            try:
                self.path.mkdir()
            except FileNotFoundError:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.path.mkdir()
        except FileExistsError:
            return False
        except OSError as err:
            raise UserError(f"cannot create run folder {self.path}: {err.strerror}; choose another --out") from None
        self.prepare(task, config, snapshot)
        return True

    def record_snapshot(self, snapshot: dict[str, Any]) -> None:
        """``config.json``'s ``snapshot``: the code the run's next attempts import (``resubmit --no-snapshot``)."""
        record = self.config_record()
        if record is not None and record.snapshot != snapshot:
            record.snapshot = snapshot
            atomic.write_json(self.file(CONFIG), dump(record))

    def record_data(self, name: str, sha256: str, **extra: Any) -> None:
        """Add the data set's name and checksum to ``config.json``."""
        record = self.config_record()
        if record is None:
            raise UserError(f"{self.path} has no {CONFIG}; prepare the run first")
        data = {"name": name, "sha256": sha256, **extra}
        before = (record.data or {}).get("sha256")
        if before not in (None, sha256):  # a resume, or `seqjobs rerun`, must read the data the run was made with
            raise UserError(
                f"{self.path} was made with {name} of sha256 {before[:12]}..., the data now has "
                f"{sha256[:12]}...; restore the data it was made with, or use another --out"
            )
        if record.data != data:
            record.data = data
            atomic.write_json(self.file(CONFIG), dump(record))

    # -- ownership ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def claim(self, job_alive: JobAlive | None = None, wait_s: float = 0.0) -> Iterator[ClaimRecord]:
        """Own the run for the block: no other process writes it meanwhile (:class:`Claimed` otherwise)."""
        self.create()
        owner = OwnerFile(self.file(CLAIM), f"run folder {self.path}")
        with owner.held(job_alive, wait_s) as record:
            self._sweep_temporaries()
            yield record

    def _sweep_temporaries(self) -> None:
        """Temporary files a killed writer left behind (never read by anyone) go; a live writer's stay.

        The submitting command may be writing ``job.json`` while the run's job
        already owns the folder, and a process that lost the race for the claim
        may still be about to link its own: removing their files would crash them.
        """
        for folder in (self.path, self.checkpoints, self.samples):
            if folder.is_dir():
                atomic.remove_orphans(folder)

    # -- state changes -------------------------------------------------------------------------
    def begin_attempt(self, committed_epochs: int = 0) -> StateRecord:
        """A new attempt starts: ``state.json`` says running; an old ``result.json`` is superseded.

        The old result's outcome moves into ``state.json`` (``error``) so a
        failure's reason survives the retry that replaces it.
        """
        before = self.state_record()
        old = before or StateRecord(state=RunState.RUNNING)
        previous = self.result()
        state = StateRecord(
            state=RunState.RUNNING,
            attempt=old.attempt + 1,
            host=socket.gethostname(),
            pid=os.getpid(),
            job_id=current_job_id(),
            started_at=now_iso(),
            start_epoch=committed_epochs,
            epochs_committed=committed_epochs,
            stalled_attempts=old.stalled_attempts,
            requeues=old.requeues,
            history=old.history,
            cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"),
            error=f"attempt {previous.attempt} {previous.status}: {previous.error}"
            if previous and previous.status == RunState.FAILED
            else None,
        )
        self._write_state(state, None if before is None else before.state, new_attempt=True)
        if previous is not None:
            atomic.remove(self.file(RESULT))
        return state

    def check_attempt_open(self) -> None:
        """Raise :class:`AttemptClosed` unless ``state.json`` says this process's attempt is running."""
        state = self.state_record()
        if state is None or state.state != RunState.RUNNING or state.pid != os.getpid():
            said = "no state" if state is None else f"{state.state} (attempt {state.attempt}, pid {state.pid})"
            raise AttemptClosed(
                f"{self.path}: the attempt of process {os.getpid()} was ended while it trained (state.json: {said}); "
                "its epoch is not committed"
            )

    def note_committed(self, epochs: int) -> None:
        """``state.json`` learns that ``epochs`` are committed (for status and the stall count)."""
        state = self.state_record()
        if state is not None and state.epochs_committed != epochs:
            state.epochs_committed = epochs
            state.stalled_attempts = 0
            self._write_state(state, state.state)

    def complete(self, task: str, figures: dict[str, Any], extra: dict[str, Any]) -> ResultRecord:
        """Write ``result.json`` (completed) and the final state; checks it agrees with the last commit."""
        from seqtasks.rundir.epochs import committed

        progress = committed(self)
        if progress is not None:
            rows = len(self.metrics_rows())
            done = figures.get("epochs_done", progress.epoch)
            if not rows == done == progress.epoch:
                raise RuntimeError(
                    f"{self.path}: the last commit has {progress.epoch} epochs, metrics.csv {rows} rows, "
                    f"the result {done}: refusing to write an inconsistent result"
                )
        return self._end({"status": RunState.COMPLETED, "task": task, **_finite(figures), **extra})

    def fail(self, task: str, error: str, error_type: str, trace: str, extra: dict[str, Any]) -> ResultRecord:
        """Write ``result.json`` (failed, with the error's line) and the final state."""
        return self._end(
            {
                "status": RunState.FAILED,
                "task": task,
                "error": error,
                "error_type": error_type,
                "traceback": trace,
                **extra,
            }
        )

    def _end(self, flat: dict[str, Any]) -> ResultRecord:
        """Write ``flat`` (the result as the task and runner say it, figures among the rest) and the final state."""
        before = self.state_record()
        state = before or StateRecord(state=flat["status"])
        result = ResultRecord.from_dict(flat)
        # where and by which job it ended: with these an ended run is read from result.json alone (status at scale)
        result.host, result.job_id = state.host or socket.gethostname(), state.job_id
        result.job = self._job_as_it_ends()
        atomic.write_json(self.file(RESULT), result.to_dict())
        if state.state == RunState.RUNNING:
            state.close_attempt(result.status, now_iso())
        state.state, state.ended_at = result.status, now_iso()
        state.error = result.error
        self._write_state(state, None if before is None else before.state)
        return result

    def _job_as_it_ends(self) -> dict[str, Any] | None:
        """What views need of ``job.json``, copied into the result with that file's signature (``None``: no job).

        While ``job.json`` keeps that signature (:func:`job_signature`), it is
        the very file copied, so a view of the ended run needs not read it
        (``status`` of 10,000 runs reads half as many files); any rewrite --
        a resubmission -- changes it, and the view reads ``job.json`` again.
        """
        try:
            before = job_signature(self._where)
            job = self.job_record()
        except (Damaged, OSError):
            return None
        if job is None or before is None or job_signature(self._where) != before:  # changed as it was read
            return None
        return {"signature": before, **{name: getattr(job, name) for name in JOB_IN_RESULT}}

    def job_in_result(self, result: ResultRecord) -> JobInResult | None:
        """The copy of ``job.json`` in ``result`` if ``job.json`` is still the file copied (else ``None``: read it)."""
        copy = result.job
        if copy is None or copy.get("signature") is None:
            return None
        try:
            if job_signature(self._where) != copy["signature"]:
                return None
        except OSError:
            return None
        try:
            return load(JobInResult, {name: copy[name] for name in JOB_IN_RESULT if name in copy})
        except ValueError as err:
            raise Damaged(self.file(RESULT), f"its 'job' {err}") from None

    def settle(self) -> ResultRecord:
        """The stored result of an ended run, with ``state.json`` made to agree (a kill can fall between the two)."""
        result = self.result()
        if result is None:
            raise Damaged(self.file(RESULT), "is missing, though the run was found done")
        state = self.state_record()
        if state is not None and state.state != result.status:
            before = state.state
            state.state, state.ended_at = result.status, result.ended_at or now_iso()
            self._write_state(state, before)
        return result

    def mark_requeued(self, stalled: bool = True) -> StateRecord | None:
        """The current attempt is being stopped to resume later (time limit, preemption).

        An attempt that committed no epoch counts as stalled when ``stalled``
        (its time limit stopped it, not a preemption) -- also one stopped
        before it even began (a time limit shorter than start-up), so such a
        run cannot requeue forever. Returns the new state; ``None`` for a run
        that ended.
        """
        before = self.state_record()
        state = before or StateRecord(state=RunState.REQUEUED)
        if state.state in ENDED:
            return None
        progressed = state.state == RunState.RUNNING and state.epochs_committed > state.start_epoch
        if state.state == RunState.RUNNING:
            state.close_attempt(RunState.REQUEUED, now_iso())
        state.state, state.ended_at = RunState.REQUEUED, now_iso()
        state.requeues += 1
        state.stalled_attempts = 0 if progressed else state.stalled_attempts + stalled
        self._write_state(state, None if before is None else before.state)
        return state

    def mark_cancelled(self) -> None:
        """``seqjobs cancel``: the run stops here; its elapsed time stops too (``cancel.json``, see
        :meth:`state_record`). A run that has ended, or was cancelled already, is left as it is."""
        state = self.state_record()
        if state is None or state.state not in ENDED:
            atomic.write_json(self.file(CANCEL), dump(CancelRecord(cancelled_at=now_iso())))

    def withdraw_cancel(self) -> None:
        """A new start of a cancelled run (a submission, ``seqjobs run``): the cancel becomes history.

        ``state.json`` takes the cancelled state first (the attempt the cancel
        closed stays in its history), then ``cancel.json`` goes; only a
        user's new start does this, never a job of an older submission, which
        must find the cancel.
        """
        written: StateRecord | None = self._record(STATE, StateRecord)
        before = None if written is None else written.state
        state = self._cancel_applied(written)
        if state is not None and state.state == RunState.CANCELLED:
            state.state = RunState.REQUEUED
            self._write_state(state, before)
        atomic.remove(self.file(CANCEL))

    def record_job(
        self,
        *,
        job_id: str,
        executor: str,
        options: dict[str, Any],
        paths: dict[str, str],
        submitted_at: str,
    ) -> JobRecord:
        """``job.json``: which job runs this run, its logs and the settings it was submitted with.

        ``submitted_at`` is taken before the job was handed to the executor:
        the job may have run, even ended (the debug executor, a fast local
        run), by the time this is written, and ``status`` tells a result this
        submission superseded from one it produced by comparing the two.
        """
        record = JobRecord(
            job_id=str(job_id),
            executor=executor,
            submitted_at=submitted_at,
            options=options,
            host=socket.gethostname(),
            time_limit_min=options.get("time_limit_min"),
            time_limit_source=options.get("time_limit_source"),
            **paths,
        )
        atomic.write_json(self.file(JOB), dump(record))
        self.withdraw_cancel()
        return record

    def _write_state(self, state: StateRecord, before: str | None, new_attempt: bool = False) -> None:
        """Write ``state.json``, moving the run from ``before`` (``None``: there was none) to ``state``.

        Every state change goes through here, so a change no rule allows
        (:func:`~seqtasks.rundir.states.check_transition`: an ended run made
        running again without a new attempt) is refused before the file changes.
        """
        try:
            check_transition(before, state.state, new_attempt)
        except IllegalTransition as err:
            raise IllegalTransition(f"{self.file(STATE)}: {err}") from None
        atomic.write_json(self.file(STATE), dump(state))

    # -- task artifacts ---------------------------------------------------------------------------
    def write_text(self, name: str, text: str) -> Path:
        """A task's own file (``vocab.json``, ``samples/...``), atomically."""
        return atomic.write_text(self.file(name), text)

    def write_bytes(self, name: str, data: bytes) -> Path:
        """A task's own binary file (``model.npz``), atomically."""
        return atomic.write_bytes(self.file(name), data)

    def append_text(self, name: str, text: str) -> Path:
        """Lines added to a per-epoch log (``samples.jsonl``), atomically."""
        return atomic.append_text(self.file(name), text)

    def append_metrics(self, row: dict[str, Any]) -> None:
        """Append one epoch's row to ``metrics.csv``; the header is written once, with the first row."""
        rows = self.metrics_rows()
        if rows:
            atomic.append_text(self.file(METRICS), _csv_text(list(rows[0]), [row], header=False))
        else:
            atomic.write_text(self.file(METRICS), _csv_text(list(row), [row]))

    def truncate_metrics(self, epochs: int) -> None:
        """Keep only the first ``epochs`` rows: rows after the last commit are redone.

        With none left the file goes, header included: the header is only ever
        written together with a first row, so it can never appear twice.
        """
        rows = self.metrics_rows()
        if rows and len(rows) <= epochs:
            return
        if not rows or epochs == 0:
            atomic.remove(self.file(METRICS))
            return
        atomic.write_text(self.file(METRICS), _csv_text(list(rows[0]), rows[:epochs]))


def _csv_text(fields: list[str], rows: list[dict[str, Any]], header: bool = True) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def disk_full(err: BaseException) -> bool:
    """Is ``err`` the file system refusing to store more (full disk, quota)?"""
    return isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT)
