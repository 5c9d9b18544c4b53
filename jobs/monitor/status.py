"""The state of every run under a path, from the run folders first.

Each run folder is read once, through the strict readers of
:mod:`seqtasks.rundir` (no symlink followed out of the folder, nothing
unpickled, every record checked). A damaged file makes that one run
``unreadable``, with the file and the reason, and every other run is still
shown: one bad folder must not hide a sweep, nor vanish from it silently.

Then the evidence, in this order:

1. ``result.json``: how the run ended -- unless a submission newer than that
   end (``resubmit``) has superseded it; then the new job decides;
2. ``state.json`` cancelled: ``cancelled``, its clock stopped at ``ended_at``;
3. a live owner (``claim.json``): ``running``;
4. the job: the scheduler (sacct, else squeue) for SLURM jobs, the process
   table for local ones;
5. ``state.json`` running or requeued while the job has provably ended and no
   process owns the run: ``stuck`` -- nothing will resume it, and the error
   line says how to (``seqjobs resubmit --missing``).

It needs nothing but the folders, so it works in a new shell after the
submitting process is gone.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shlex
import socket
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal

from jobs.monitor import scheduler
from jobs.monitor.index import EndedIndex, Signature, signature
from jobs.monitor.rungs import RungMark, halving_marks, settled
from jobs.monitor.sweeps import NO_FOLDER, SweepRecord, absent, read_sweeps
from jobs.text import count, shown
from seqtasks.config import fields_by_name, parse_value
from seqtasks.errors import UserError
from seqtasks.processes import START_TOLERANCE_S
from seqtasks.rundir import Damaged, RunDir, safe
from seqtasks.rundir.claim import owner_alive
from seqtasks.rundir.epochs import committed
from seqtasks.rundir.records import ClaimRecord, ConfigRecord, check_result
from seqtasks.tasks import TASKS

#: every state ``status`` shows, in the order of its summary line
STATES = (
    "pending", "running", "requeued", "completed", "failed", "cancelled", "stuck", "unknown", "missing", "unreadable",
)
TERMINAL = {"completed", "failed", "cancelled"}
#: what only a run folder holds: a folder with any of these is a run, config.json or not
RUN_MARKERS = ("config.json", "state.json", "result.json", "metrics.csv", "job.json", "checkpoints")
#: job states that mean "it will still run": the scheduler's, or a live local controller ("alive")
ALIVE = ("alive", "pending", "running", "requeued")
#: states that a run ending while it is being read can show for a moment: read again once (see :func:`survey`).
#: ``unknown``: a fast array task that started and ended between the read and the scheduler's answer is in
#: neither squeue (ended) nor yet in sacct's records (slurmdbd lags), while its folder already holds its result
REREAD = ("stuck", "requeued", "unknown")
#: a job log is read only up to this size (its last lines are what counts)
LOG_LIMIT = 64 << 20
LOG_TAIL = 16384
#: the ``task`` of the row that reports a damaged ``sweep.json``: a line of the view, not a run it counts
MANIFEST_ROW = "(sweep.json)"
#: the module a local job's controller runs (the executor starts it; liveness looks for it)
LOCAL_CONTROLLER = "jobs.engine.local_controller"


@dataclass
class RunStatus:
    """One row of ``seqjobs status``."""

    run: str
    path: str
    task: str
    state: str
    epoch: int
    last_metric: str
    job_id: str
    node: str
    elapsed_s: float | None
    error: str
    log: str
    #: a halving sweep's run: its rung and what became of it there (``1 promoted``); empty otherwise
    rung: str = ""


#: how much of a run a view reads (:func:`read_run`): what ``status`` shows, what ``collect`` tabulates, every file
Depth = Literal["status", "collect", "full"]


@dataclass
class RunFiles:
    """What the views read of one run folder, every file read checked (see :func:`read_run`).

    An ended run read for ``status`` or ``collect`` has only the files those
    need: ``state``, ``claim`` and ``metrics`` are then not read (``None``,
    ``None``, ``[]``), and ``record`` only for ``collect``.
    """

    path: Path
    task: str
    record: ConfigRecord | None
    state: dict[str, Any] | None
    job: dict[str, Any] | None
    result: dict[str, Any] | None
    metrics: list[dict[str, str]]
    epochs: int
    claim: ClaimRecord | None
    #: read by :func:`read_ended` (or taken from the index of such reads): the run's end decides its state
    ended_only: bool = False

    @property
    def config(self) -> dict[str, Any]:
        """Every parameter of the run (read with ``collect`` or ``full`` depth)."""
        return self.record.config if self.record is not None else {}


@dataclass
class Run:
    """A run's status, with its files when they could be read.

    ``files`` is ``None`` for an unreadable run, and for an ended run that
    ``status`` took from the index (:mod:`jobs.monitor.index`): its status is all it needs.
    """

    status: RunStatus
    files: RunFiles | None
    #: where the run stands in a halving sweep (``None``: not in one)
    rung: RungMark | None = None

    @property
    def status_path(self) -> Path:
        """The run folder."""
        return Path(self.status.path)


def find_runs(root: Path, sweeps: list[Path] | None = None) -> list[Path]:
    """Run folders at or below ``root`` (a run, a sweep, or a folder of sweeps).

    A folder is a run when it holds any file only a run holds, so one whose
    ``config.json`` is lost is still found (and reported), and so is a folder
    that cannot be listed or a run folder that is a symlink (reported, not
    read: it leads out of the sweep). Run folders themselves are never listed:
    a sweep of 10,000 runs costs one listing and a check per run. ``sweeps``
    gets the folders below ``root`` (itself included) that hold a ``sweep.json``,
    even one whose every run folder is gone.
    """
    root = Path(root)
    if not root.is_dir():
        return []
    if _looks_like_run(root):
        return [root]
    found: list[Path] = []
    _find_below(root, found, sweeps=sweeps)
    return sorted(found, key=str)


def any_runs(root: Path) -> bool:
    """Is there a run folder at or below ``root``? (Stops at the first: a check before the real read.)"""
    root = Path(root)
    if not root.is_dir():
        return False
    if _looks_like_run(root):
        return True
    found: list[Path] = []
    _find_below(root, found, first=True)
    return bool(found)


def _find_below(folder: Path, found: list[Path], first: bool = False, sweeps: list[Path] | None = None) -> None:
    """Add the runs below ``folder`` to ``found`` (``first``: stop at one), the sweep folders to ``sweeps``.

    Symlinked and hidden folders are skipped.
    """
    try:
        with os.scandir(folder) as listing:
            entries = [entry for entry in listing if not entry.name.startswith(".")]
    except OSError:
        found.append(folder)  # reported as unreadable, not skipped
        return
    if sweeps is not None and any(entry.name == "sweep.json" for entry in entries):
        sweeps.append(folder)
    for entry in entries:
        try:
            if not entry.is_dir():
                continue
        except OSError:
            continue
        path = folder / entry.name
        if _looks_like_run(path):
            found.append(path)
        elif not entry.is_symlink():
            _find_below(path, found, first, sweeps)
        if first and found:
            return


def _looks_like_run(folder: Path) -> bool:
    return any(os.path.lexists(os.path.join(folder, name)) for name in RUN_MARKERS)


def read_run(path: Path, depth: Depth = "full") -> RunFiles:
    """The files of the run folder a view needs; :class:`Damaged` names the first bad one.

    Strict on purpose: a completed ``result.json`` without its task's main
    figure, a config value of the wrong type or a garbled checkpoint record
    would otherwise surface later as a wrong table or a crash. An ended run is
    read whole only at ``full`` depth (``report``, ``collect --per-epoch``);
    otherwise :func:`read_ended` reads the few files that decide it.
    """
    run = RunDir(path)
    if depth != "full":
        ended = read_ended(run, with_config=depth == "collect")
        if ended is not None:
            return ended
    record = _config(run)
    spec = TASKS[record.task]
    result = run.result(spec.main_metric)
    state, job, claim = run.state(), run.job(), run.claim_record()
    metrics = run.metrics_rows()
    progress = committed(run)
    epochs = progress.epoch if progress is not None else len(metrics)
    return RunFiles(path, record.task, record, state, job, result, metrics, epochs, claim)


def read_ended(run: RunDir, with_config: bool) -> RunFiles | None:
    """An ended run from ``result.json`` and ``job.json`` (and ``config.json`` ``with_config``) alone.

    A result exists only while the run has ended (a new attempt removes it)
    and records the host, job and epochs of its end, so nothing else can
    change what ``status`` shows. ``None`` -- read the run whole -- when there
    is no result, when a newer submission superseded it, or for a result
    written before results recorded their host.
    """
    raw = run.result()
    spec = TASKS.get(str((raw or {}).get("task")))
    if raw is None or spec is None or "host" not in raw:
        return None
    try:
        result = check_result(raw, spec.main_metric)
    except ValueError as err:
        raise Damaged(run.file("result.json"), str(err)) from None
    job = run.job_in_result(result)  # the copy in the result, while job.json is the file it was copied from
    if job is None:
        job = run.job()
    if _superseded(result, job):
        return None
    record = _config(run) if with_config else None
    if record is not None and record.task != spec.name:
        raise Damaged(run.file("result.json"), f"is a '{spec.name}' result in a '{record.task}' run")
    epochs = result.get("epochs_done")
    return RunFiles(run.path, spec.name, record, None, job, result, [], epochs if isinstance(epochs, int) else 0, None,
                    ended_only=True)


def _config(run: RunDir) -> ConfigRecord:
    """``config.json``, checked: present, of a known task, every known parameter of its type."""
    record = run.config_record()
    if record is None:
        present = [name for name in RUN_MARKERS if os.path.lexists(run.file(name))]
        raise Damaged(run.path, "no config.json" + (f", though it holds {', '.join(present)}" if present else ""))
    spec = TASKS.get(record.task)
    if spec is None:
        raise Damaged(run.file("config.json"), f"names an unknown task {record.task!r}")
    _check_params(spec.config_cls, record.config, run.file("config.json"))
    return record


def _check_params(cls: type, params: dict[str, Any], where: Path) -> None:
    """Each known parameter has its field's type (a report casts them; a wrong one must not crash it).

    The runs of a sweep share most values: each value is parsed once per process (:data:`_VALID`).
    """
    known = fields_by_name(cls)
    for name, value in params.items():
        try:  # the value itself where it can be hashed (its type too: True == 1); else its repr
            key = (cls, name, type(value), value)
            hash(key)
        except TypeError:
            key = (cls, name, type(value), repr(value))
        if name in known and key not in _VALID:
            try:
                parse_value(cls, name, value)
            except UserError as err:
                raise Damaged(where, f"has a bad parameter ({err})") from None
            _VALID.add(key)


#: parameter values already found valid: (config class, name, type, value or its repr)
_VALID: set[tuple[type, str, type, Any]] = set()


def problem(err: Damaged, run: Path) -> str:
    """``metrics.csv repeats its header on line 3``: the file, relative to its run, and what is wrong."""
    try:
        rel = err.path.relative_to(run)
    except ValueError:
        rel = err.path
    if rel == Path("."):
        return err.reason
    first, _, rest = err.reason.partition(" ")
    if first == rel.name:
        return f"{rel} {rest}"
    if first in rel.parts:
        return f"{rel}: {err.reason}"
    return f"{rel} {err.reason}"


@contextlib.contextmanager
def no_collector_passes() -> Iterator[None]:
    """Pause Python's cyclic garbage collector meanwhile.

    Reading 10,000 runs makes about a million small objects, none in a
    reference cycle; the collector's passes over them, each time it counts
    enough new ones, were a fifth of a first look's time. They are then
    frozen (left out of later passes too: the first one after this would
    walk them all) and freed by reference counting as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


@no_collector_passes()
def survey(root: Path, depth: Depth = "status", background_index: bool = False) -> list[Run]:
    """Every run under ``root``: its status and, when readable, its files (as much as ``depth`` asks).

    ``background_index``: the index of ended runs is written by a detached
    process (:meth:`EndedIndex.save`), for a command that is about to answer.

    The scheduler is asked only about the jobs of runs that have not ended:
    an ended run's result outranks whatever the scheduler says.
    """
    root = Path(root)
    sweep_folders: list[Path] = []
    paths = find_runs(root, sweep_folders)
    index = EndedIndex.for_root(root, len(paths), depth) if depth != "full" else None
    keys = [_index_key(path, root) for path in paths] if index is not None else []
    runs: list[Run | None] = [None] * len(paths)
    read: dict[int, RunFiles | str] = {}  # by position in paths: hashing 10,000 Paths costs more than reading them
    signatures: dict[int, Signature | None] = {}
    for i, path in enumerate(paths):
        linked = path != root and os.path.islink(path)
        if index is not None and not linked:
            signatures[i] = signature(str(path))  # before the files are read: a change while reading shows next time
            runs[i] = _from_index(path, index.lookup(keys[i], signatures[i]), depth)
            if runs[i] is not None:
                continue
        read[i] = _read_one(path, root, depth, linked)
    slurm_ids = sorted({f.job["job_id"] for f in read.values()
                        if isinstance(f, RunFiles) and f.job and f.job["executor"] == "slurm" and not _ended(f)})
    sched = scheduler.job_states(slurm_ids)
    here = socket.gethostname()
    for i, files in read.items():
        runs[i] = _run(paths[i], files, sched, here)
    done = [run_ for run_ in runs if run_ is not None]
    if index is not None:
        _update_index(index, [(keys[i], done[i], signatures.get(i)) for i in read], depth)
        index.forget_except(set(keys))
        index.save(background_index)
    # The folders were read before the scheduler answered: a job that ended in between (its run wrote its result)
    # would look stuck. And a run that ended while its files were being read (state.json still running, the claim
    # already released, a result not there yet when looked for) looks requeued, as a packed task's short runs often
    # did; and an array task that started and ended in between is in neither squeue nor, yet, sacct (unknown).
    # Such runs are read again, now that the answer is older than the folder.
    done = [_run(run_.status_path, _read_one(run_.status_path, root, depth), sched, here)
            if run_.status.state in REREAD else run_ for run_ in done]
    sweeps = read_sweeps({os.path.dirname(os.fspath(path)) for path in paths} | set(map(os.fspath, sweep_folders)))
    done += _not_on_disk([sweeps[os.fspath(f)] for f in sweep_folders if os.fspath(f) in sweeps], paths)
    marks = halving_marks(sweeps.values())
    for run_ in done:
        mark = marks.get(run_.status.path)
        if mark is not None:
            run_.rung = settled(mark, run_.status.state)
            run_.status.rung = run_.rung.label()
    return sorted(done, key=lambda run_: run_.status.path)


def _not_on_disk(sweeps: list[SweepRecord], paths: list[Path]) -> list[Run]:
    """The runs the manifests of ``sweeps`` list that are not among the run folders ``paths``, and each damaged manifest.

    A run folder deleted, or replaced by a file, must not vanish from the
    sweep: it is ``missing`` or ``unreadable`` and counted. A damaged manifest
    is a row of its own (:data:`MANIFEST_ROW`): one warning, not a run.
    """
    on_disk = set(map(os.fspath, paths))
    rows = []
    for sweep in sweeps:
        for path, state, why in absent(sweep, on_disk):
            task = sweep.manifest.task if sweep.manifest is not None else "?"
            rows.append(Run(_unreadable(path, why, state, task), None))
        if sweep.problem is not None:
            rows.append(Run(_unreadable(sweep.problem.path, sweep.problem.reason, task=MANIFEST_ROW), None))
    return rows


def _read_one(path: Path, root: Path, depth: Depth, linked: bool | None = None) -> RunFiles | str:
    """The run's files, or what is wrong with them; ``linked``: is ``path`` a link (``None``: look)."""
    if linked is None:
        linked = path != root and os.path.islink(path)
    try:
        if linked:  # the path given may be a link; one found below it is not followed
            raise Damaged(path, "the run folder is a symbolic link (not followed)")
        return read_run(path, depth)
    except Damaged as err:
        return problem(err, path)


def _index_key(path: Path, root: Path) -> str:
    """The run's path relative to ``root`` (found below it by joining names, so mostly a slice)."""
    run, top = os.fspath(path), os.fspath(root)
    return run[len(top) + 1:] if top != "." and run.startswith(top + os.sep) else os.path.relpath(run, top)


def _update_index(index: EndedIndex, fresh: list[tuple[str, Run, Signature | None]], depth: Depth) -> None:
    """Keep the runs just read that ended: their status, and for ``collect`` the files it tabulates."""
    for key, run_, sig in fresh:
        f = run_.files
        if f is None or not f.ended_only:
            continue
        # shallow copies (``vars``): only written out as JSON, and ``asdict`` deep-copies, ten times slower
        files = [f.task, f.result, f.job, vars(f.record), f.epochs] if depth == "collect" and f.record else None
        index.remember(key, sig, [vars(run_.status), files])


def _from_index(path: Path, kept: list[Any] | None, depth: Depth) -> Run | None:
    """The :class:`Run` of an index entry (made by :func:`_update_index`); ``None`` when there is none that fits.

    At ``status`` depth only the status is kept, so the run has no files.
    """
    if kept is None:
        return None
    try:
        status, files = kept
        row = RunStatus(**{**status, "run": path.name, "path": str(path)})
        if depth == "status":
            return Run(row, None)
        task, result, job, config, epochs = files
        record = ConfigRecord(**config)
    except (TypeError, ValueError):
        return None
    if task not in TASKS or not isinstance(result, dict) or not isinstance(job, (dict, type(None))):
        return None
    return Run(row, RunFiles(path, task, record, None, job, result, [], epochs, None, ended_only=True))


def _run(path: Path, files: RunFiles | str, sched: dict[str, scheduler.JobInfo], here: str) -> Run:
    if isinstance(files, RunFiles):
        return Run(_status(files, sched, here), files)
    return Run(_unreadable(path, files), None)


def statuses(root: Path, background_index: bool = False) -> list[RunStatus]:
    """Status of every run under ``root`` (``background_index``: see :func:`survey`)."""
    return [run.status for run in survey(root, background_index=background_index)]


def _ended(f: RunFiles) -> bool:
    """Does the run's result decide its state (no newer submission)?"""
    return f.result is not None and not _superseded(f.result, f.job)


def _unreadable(path: Path, why: str, state: str = "unreadable", task: str = "?") -> RunStatus:
    """The row of a run that could not be read (or is not there: ``state`` missing)."""
    return RunStatus(run=path.name, path=str(path), task=task, state=state, epoch=0, last_metric="",
                     job_id="", node="", elapsed_s=None, error=why, log="")


def _status(f: RunFiles, sched: dict[str, scheduler.JobInfo], here: str) -> RunStatus:
    job = f.job or {}
    info = sched.get(job.get("job_id", ""), {}) if job.get("executor") == "slurm" else {}
    name, error = _classify(f, info, sched, here)
    return RunStatus(
        run=f.path.name,
        path=str(f.path),
        task=f.task,
        state=name,
        epoch=f.epochs,
        last_metric=_metric(f.metrics, f.result, TASKS[f.task].main_metric),
        job_id=job.get("job_id", ""),
        node=info.get("node") or (f.state or {}).get("host") or (f.result or {}).get("host") or "",
        elapsed_s=_elapsed(f, name),
        error=error,
        log=(job.get("stderr") or "") if name == "failed" else "",
    )


def _classify(
    f: RunFiles, info: scheduler.JobInfo, sched: dict[str, scheduler.JobInfo], here: str
) -> tuple[str, str]:
    """``(state, error line)`` of a readable run, evidence in the module's order."""
    result, recorded = f.result, (f.state or {}).get("state")
    if result and _ended(f):
        return result["status"], _line(result.get("error"))
    if recorded == "cancelled":
        return "cancelled", ""
    owner = _owner(f.claim, sched)
    if owner:
        return "running", ""
    job = _job_state(f.job, info, here)
    if job in ALIVE:
        return _active(job, recorded, owner), ""
    if job == "failed":
        return "failed", job_log_line(f) or _line((result or {}).get("error"))
    if job == "cancelled":
        return "cancelled", ""
    if result:  # a newer submission whose job is not alive: the last end stands
        return result["status"], _line(result.get("error"))
    if f.job is None and f.state is None:
        return "missing", ""
    if recorded in ("completed", "failed"):
        return "unknown", f"state.json says {recorded} but there is no result.json"
    if job in ("gone", "completed") and owner is False:
        return "stuck", _stuck_line(f, recorded)
    return "unknown", ""


def _superseded(result: dict[str, Any], job: dict[str, Any] | None) -> bool:
    """Was the run submitted again after this result was written (``resubmit``)?"""
    if not job:
        return False
    submitted, ended = _when(job.get("submitted_at")), _when(result.get("ended_at"))
    return submitted is not None and ended is not None and submitted > ended


def _owner(claim: ClaimRecord | None, sched: dict[str, scheduler.JobInfo]) -> bool | None:
    """Is a live process writing the run? True / False (no owner, or a dead one) / None (cannot tell)."""
    if claim is None:
        return False

    def job_alive(job_id: str) -> bool | None:
        known = sched.get(job_id)
        if known is None or known["state"] == "unknown":
            return None
        return known["state"] in ALIVE

    return owner_alive(claim, job_alive)


def _job_state(job: dict[str, Any] | None, info: scheduler.JobInfo, here: str) -> str | None:
    """What the run's job says now.

    A scheduler state (pending, running, requeued, completed, failed, cancelled),
    ``"alive"`` (a local controller runs), ``"gone"`` (provably no job will run
    it: none was submitted, or its local controller has exited), or ``None``
    (cannot tell from here).
    """
    if job is None:
        return "gone"  # `seqjobs run`: only its own process ever runs it
    if job["executor"] == "slurm":
        return info["state"] if info and info["state"] != "unknown" else None
    if job.get("host") not in (None, here):
        return None
    if job["executor"] == "local":
        return "alive" if local_job_alive(job["job_id"], local_job_started(job.get("options"))) else "gone"
    if job["executor"] == "debug":
        return "gone"  # it ran inside the submitting process
    return None


def _active(job: str, recorded: str | None, owner: bool | None) -> str:
    """The state of a run whose job is alive but whose folder has no live owner right now."""
    if job == "alive":  # a local worker: on this run now, or getting to it
        if recorded == "running" and owner is not False:
            return "running"
        return "requeued" if recorded in ("running", "requeued") else "pending"
    if job == "pending" and recorded in ("running", "requeued"):
        return "requeued"
    if job == "running" and owner is False and recorded is None:  # a packed task, on another of its runs
        return "pending"
    return job


def _stuck_line(f: RunFiles, recorded: str | None) -> str:
    """Why nothing will run this run any more, and the command that will."""
    job = f"its job {f.job['job_id']}" if f.job else "the process that ran it"
    if recorded is None:
        what = f"{job} ended without starting it"
    else:
        what = f"{recorded} at attempt {(f.state or {}).get('attempt')} with {count(f.epochs, 'epoch')} done, but {job} has ended"
    return (
        f"{what} and no process owns the run: nothing will resume it; "
        f"run: seqjobs resubmit --missing {shlex.quote(str(f.path))}"
    )


def _line(error: Any) -> str:
    """The last non-empty line of an error (whatever type a hand-edited file gave it)."""
    if error is None:
        return ""
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    return lines[-1][-300:] if lines else ""


def _log_roots(run: Path) -> list[Path]:
    """Where a run's job logs may be read: the run folder, and its sweep folder."""
    roots = [run]
    if (run.parent / "sweep.json").is_file():
        roots.append(run.parent)
    return roots


def job_log_line(f: RunFiles) -> str:
    """The last meaningful line of the job's stderr log, if that log lies inside the run or its sweep.

    ``job.json`` may come from someone else: a log path outside those folders,
    or reached through a symlink out of them, is not read.
    """
    stderr = (f.job or {}).get("stderr")
    if not stderr:
        return ""
    log = os.path.realpath(stderr)
    for root in map(os.path.realpath, _log_roots(f.path)):
        if os.path.commonpath([root, log]) == root:
            try:
                data = safe.read_bytes(Path(log), Path(root), limit=LOG_LIMIT)
            except Damaged:
                return ""
            return _meaningful((data or b"")[-LOG_TAIL:].decode("utf-8", "replace"))
    return ""


def _meaningful(text: str) -> str:
    noise = ("submitit", "srun:", "slurmstepd")
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line and not any(line.startswith(n) or n + " " in line[:40] for n in noise):
            return line[-300:]
    return ""


def local_job_alive(job_id: str, started: float | None = None) -> bool:
    """Is the local job ``job_id`` (its controller's pid) still running?

    Process ids are reused: a bare liveness check could mistake, or signal,
    an unrelated process that got the number of a long-finished job. So the
    process must also be a controller -- :mod:`jobs.engine.local_controller`
    named in its command line, matched as a literal (importing the engine
    here would load submitit for every ``status``) -- and, when ``job.json``
    recorded it (``options.controller_started``), have started at that very
    moment. psutil reads both on Linux and macOS alike.
    """
    import psutil  # only when there is a local job to look at

    try:
        process = psutil.Process(int(job_id))
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        if LOCAL_CONTROLLER not in process.cmdline():
            return False
        return started is None or abs(process.create_time() - started) <= START_TOLERANCE_S
    except (ValueError, psutil.Error):  # no such process, or not ours to look at
        return False


def local_job_started(options: Any) -> float | None:
    """When the controller of a local job started, as ``job.json``'s ``options`` recorded it (``None``: not recorded)."""
    started = options.get("controller_started") if isinstance(options, dict) else None
    return float(started) if isinstance(started, (int, float)) and not isinstance(started, bool) else None


def _metric(rows: list[dict[str, str]], result: dict[str, Any] | None, main: str) -> str:
    if result and isinstance(result.get(main), (int, float)):
        return f"{main}={result[main]:.4f}"
    if rows:
        last = rows[-1]
        for key in ("val_loss", "val_accuracy", "loss"):
            if last.get(key):
                return f"{key}={float(last[key]):.4f}"
    return ""


def _when(stamp: Any) -> datetime | None:
    """An ISO time stamp as an aware datetime; ``None`` for anything else."""
    if not isinstance(stamp, str):
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _elapsed(f: RunFiles, name: str) -> float | None:
    """Seconds the run's last attempt ran; the clock stops when the run stopped, not when it is looked at."""
    result = f.result
    if result and result["status"] == name and isinstance(result.get("duration_s"), (int, float)):
        return float(result["duration_s"])
    state = f.state or {}
    start, end = _when(state.get("started_at")), _when(state.get("ended_at"))
    if start is None:
        return None
    if end is None:
        end = datetime.now(timezone.utc) if name == "running" else _last_write(f.path)
    return None if end is None else max(0.0, round((end - start).total_seconds(), 1))


def _last_write(run: Path) -> datetime | None:
    """When the run last wrote its progress: the end of a run that stopped without saying so (scancel, kill)."""
    times = []
    for name in ("state.json", "metrics.csv", "checkpoints/state.json"):
        try:
            times.append(os.lstat(run / name).st_mtime)
        except OSError:
            continue
    return datetime.fromtimestamp(max(times), timezone.utc) if times else None


def summary(rows: Iterable[RunStatus]) -> str:
    """``12 runs: 10 completed, 1 failed, 1 unreadable`` (a damaged manifest is a warning, not a run)."""
    rows = [r for r in rows if r.state != "unreadable" or r.task != MANIFEST_ROW]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.state] = counts.get(r.state, 0) + 1
    parts = [f"{counts[s]:,} {s}" for s in STATES if counts.get(s)]
    return f"{count(len(rows), 'run')}: " + (", ".join(parts) if parts else "none")


def warnings(rows: Iterable[RunStatus]) -> list[str]:
    """One ``warning:`` line per unreadable run, naming the run and the file (one line whatever they hold).

    Also one per completed run whose epochs hold NaN, and one naming together
    the runs ``sweep.json`` lists whose folder is gone (``missing``): a view
    that leaves them out must still say so.
    """
    rows = list(rows)
    # a completed run has an error only where collect found NaN in its metrics (collect.not_a_number)
    lines = [f"warning: {shown(r.path)}: {shown(r.error)}" for r in rows
             if r.state == "unreadable" or (r.state == "completed" and r.error)]
    gone = [r.path for r in rows if r.state == "missing" and r.error == NO_FOLDER]
    if gone:
        lines.append(f"warning: sweep.json lists {count(len(gone), 'run')} without a run folder, counted as missing "
                     "(the sweep command run again makes them): " + ", ".join(map(shown, gone)))
    return lines


def check_readable(rows: list[RunStatus], where: str) -> None:
    """Refuse (one line) when every run under ``where`` is unreadable: there is nothing to show."""
    if rows and all(r.state == "unreadable" for r in rows):
        raise UserError(
            f"nothing readable under {where}: all {count(len(rows), 'run folder')} are damaged (see the warnings above)"
        )


def as_dicts(rows: Iterable[RunStatus]) -> list[dict[str, Any]]:
    """Rows as plain dicts, for ``--json``."""
    return [asdict(r) for r in rows]
