"""The state of every run under a path, from the run folders first.

Each run folder is read once (:mod:`jobs.monitor.reading`, strict: a damaged
file makes that one run ``unreadable``, with the file and the reason, and
every other run is still shown: one bad folder must not hide a sweep, nor
vanish from it silently). The scheduler is then asked once, about the jobs
of the runs that have not ended, and each run's row made
(:mod:`jobs.monitor.rows`, by the rules of :mod:`seqtasks.rundir.states`):
its result first, then a cancel, a live owner, its job, and last ``stuck``
for a run that stopped where nothing will resume it (the error line says
how to: ``seqjobs resubmit --missing``).

Last, what each run spent is priced (:mod:`jobs.monitor.spend`): one more
sacct query, about every SLURM job of every run shown, ended ones too.

It needs nothing but the folders, so it works in a new shell after the
submitting process is gone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from jobs import scheduler
from jobs.monitor.finding import find_runs
from jobs.monitor.index import EndedFiles, EndedIndex, Entry, Signature, signature
from jobs.monitor.reading import Depth, RunFiles, problem, read_run, superseded
from jobs.monitor.rows import RunStatus, resumed_by_its_sweep, status_row, unreadable_row
from jobs.monitor.rungs import Outcome, RungMark, halving_marks, settled
from jobs.monitor.spend import JobOptions, Measured, charge, measure
from jobs.monitor.sweeps import NO_FOLDER, SweepRecord, absent, read_sweeps
from jobs.text import count, shown
from seqtasks.errors import UserError
from seqtasks.rundir import Damaged
from seqtasks.rundir.states import REREAD, SHOWN, RunState
from seqtasks.tasks import TASKS

#: the ``task`` of the row that reports a damaged ``sweep.json``: a line of the view, not a run it counts
MANIFEST_ROW = "(sweep.json)"


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
    #: what its folder measured of its cost (``None``: an unreadable run)
    measured: Measured | None = None

    @property
    def status_path(self) -> Path:
        """The run folder."""
        return Path(self.status.path)


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
    slurm_ids = sorted(
        {
            f.job.job_id
            for f in read.values()
            if isinstance(f, RunFiles) and f.job is not None and f.job.executor == "slurm" and not _ended(f)
        }
    )
    sched = scheduler.job_states(slurm_ids)
    here = socket.gethostname()
    options = JobOptions()
    for i, files in read.items():
        runs[i] = _run(paths[i], files, sched, here, options)
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
    done = [
        _run(run_.status_path, _read_one(run_.status_path, root, depth), sched, here, options)
        if run_.status.state in REREAD
        else run_
        for run_ in done
    ]
    sweeps = read_sweeps({os.path.dirname(os.fspath(path)) for path in paths} | set(map(os.fspath, sweep_folders)))
    done += _not_on_disk([sweeps[os.fspath(f)] for f in sweep_folders if os.fspath(f) in sweeps], paths)
    marks = halving_marks(sweeps.values())
    for run_ in done:
        mark = marks.get(run_.status.path)
        if mark is not None:
            run_.rung = settled(mark, run_.status.state)
            run_.status.rung, run_.status.rung_epochs = run_.rung.label(), list(mark.plan)
            if run_.rung.outcome is Outcome.TRAINING and run_.status.state == RunState.STUCK:
                resumed_by_its_sweep(run_.status)
    charge(done)
    return sorted(done, key=lambda run_: run_.status.path)


def _not_on_disk(sweeps: list[SweepRecord], paths: list[Path]) -> list[Run]:
    """The runs the manifests of ``sweeps`` list that are not among the folders ``paths``, and each damaged manifest.

    A run folder deleted, or replaced by a file, must not vanish from the
    sweep: it is ``missing`` or ``unreadable`` and counted. A damaged manifest
    is a row of its own (:data:`MANIFEST_ROW`): one warning, not a run.
    """
    on_disk = set(map(os.fspath, paths))
    rows = []
    for sweep in sweeps:
        for path, state, why in absent(sweep, on_disk):
            task = sweep.manifest.task if sweep.manifest is not None else "?"
            rows.append(Run(unreadable_row(path, why, state, task), None))
        if sweep.problem is not None:
            rows.append(Run(unreadable_row(sweep.problem.path, sweep.problem.reason, task=MANIFEST_ROW), None))
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
    return run[len(top) + 1 :] if top != "." and run.startswith(top + os.sep) else os.path.relpath(run, top)


def _update_index(index: EndedIndex, fresh: list[tuple[str, Run, Signature | None]], depth: Depth) -> None:
    """Keep the runs just read that ended: their status, and for ``collect`` the files it tabulates."""
    for key, run_, sig in fresh:
        f = run_.files
        if f is None or not f.ended_only:
            continue
        kept = None
        if depth == "collect" and f.record is not None and f.result is not None:
            kept = EndedFiles(task=f.task, result=f.result, job=f.job, config=f.record, epochs=f.epochs)
        index.remember(key, sig, Entry(status=run_.status, files=kept, measured=run_.measured))


def _from_index(path: Path, kept: Entry | None, depth: Depth) -> Run | None:
    """The :class:`Run` of an index entry (made by :func:`_update_index`); ``None`` when there is none that fits.

    At ``status`` depth only the status is kept, so the run has no files.
    """
    if kept is None:
        return None
    row = dataclasses.replace(kept.status, run=path.name, path=str(path))
    if depth == "status":
        return Run(row, None, measured=kept.measured)
    f = kept.files
    if f is None or f.task not in TASKS:
        return None
    return Run(
        row,
        RunFiles(path=path, task=f.task, record=f.config, job=f.job, result=f.result, epochs=f.epochs, ended_only=True),
        measured=kept.measured,
    )


def _run(path: Path, files: RunFiles | str, sched: dict[str, scheduler.JobInfo], here: str, options: JobOptions) -> Run:
    if isinstance(files, RunFiles):
        row = status_row(files, sched, here)
        return Run(row, files, measured=measure(files, row.state, options))
    return Run(unreadable_row(path, files), None)


def statuses(root: Path, background_index: bool = False) -> list[RunStatus]:
    """Status of every run under ``root`` (``background_index``: see :func:`survey`)."""
    return [run.status for run in survey(root, background_index=background_index)]


def _ended(f: RunFiles) -> bool:
    """Does the run's result decide its state (no newer submission)?"""
    return f.result is not None and not superseded(f.result, f.job)


def summary(rows: Iterable[RunStatus]) -> str:
    """``12 runs: 10 completed, 1 failed, 1 unreadable`` (a damaged manifest is a warning, not a run)."""
    rows = [r for r in rows if r.state != RunState.UNREADABLE or r.task != MANIFEST_ROW]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.state] = counts.get(r.state, 0) + 1
    parts = [f"{counts[s]:,} {s}" for s in SHOWN if counts.get(s)]
    return f"{count(len(rows), 'run')}: " + (", ".join(parts) if parts else "none")


def warnings(rows: Iterable[RunStatus]) -> list[str]:
    """One ``warning:`` line per unreadable run, naming the run and the file (one line whatever they hold).

    Also one per completed run whose epochs hold NaN, and one naming together
    the runs ``sweep.json`` lists whose folder is gone (``missing``): a view
    that leaves them out must still say so.
    """
    rows = list(rows)
    # a completed run has an error only where collect found NaN in its metrics (collect.not_a_number)
    lines = [
        f"warning: {shown(r.path)}: {shown(r.error)}"
        for r in rows
        if r.state == RunState.UNREADABLE or (r.state == RunState.COMPLETED and r.error)
    ]
    gone = [r.path for r in rows if r.state == RunState.MISSING and r.error == NO_FOLDER]
    if gone:
        lines.append(
            f"warning: sweep.json lists {count(len(gone), 'run')} without a run folder, counted as missing "
            "(the sweep command run again makes them): " + ", ".join(map(shown, gone))
        )
    return lines


def check_readable(rows: list[RunStatus], where: str) -> None:
    """Refuse (one line) when every run under ``where`` is unreadable: there is nothing to show."""
    if rows and all(r.state == RunState.UNREADABLE for r in rows):
        raise UserError(
            f"nothing readable under {where}: all {count(len(rows), 'run folder')} are damaged (see the warnings above)"
        )


def as_dicts(rows: Iterable[RunStatus]) -> list[dict[str, Any]]:
    """Rows as plain dicts, for ``--json``."""
    return [asdict(r) for r in rows]
