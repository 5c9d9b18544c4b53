"""Reading one run folder for a view: strictly, and only the files the view needs.

Each file is read through the strict readers of :mod:`seqtasks.rundir` (no
symlink followed out of the folder, nothing unpickled, every record checked);
a damaged one raises :class:`~seqtasks.rundir.Damaged` naming it, so the view
can show that one run as ``unreadable`` and every other run still. An ended
run is read from the few files that decide it (:func:`read_ended`): a view of
10,000 ended runs reads one or two files each.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from jobs.monitor.finding import RUN_MARKERS
from seqtasks.config import fields_by_name, parse_value
from seqtasks.errors import UserError
from seqtasks.rundir import Damaged, RunDir
from seqtasks.rundir.epochs import committed
from seqtasks.rundir.records import ClaimRecord, ConfigRecord, JobInResult, ResultRecord, StateRecord
from seqtasks.tasks import TASKS

#: how much of a run a view reads (:func:`read_run`): what ``status`` shows, what ``collect`` tabulates, every file
Depth = Literal["status", "collect", "full"]


@dataclass(kw_only=True)
class RunFiles:
    """What the views read of one run folder, every file read checked (see :func:`read_run`), as typed records.

    An ended run read for ``status`` or ``collect`` has only the files those
    need: ``state``, ``claim`` and ``metrics`` are then not read (``None``,
    ``None``, ``[]``), ``record`` only for ``collect``, and ``job`` may be
    the copy its result keeps (a :class:`JobInResult`; a run not ended has
    the whole :class:`~seqtasks.rundir.records.JobRecord`).
    """

    path: Path
    task: str
    record: ConfigRecord | None = None
    state: StateRecord | None = None
    job: JobInResult | None = None
    result: ResultRecord | None = None
    metrics: list[dict[str, str]] = field(default_factory=list)
    #: epochs committed (an ended run: its result's ``epochs_done``)
    epochs: int = 0
    claim: ClaimRecord | None = None
    #: read by :func:`read_ended` (or taken from the index of such reads): the run's end decides its state
    ended_only: bool = False

    @property
    def config(self) -> dict[str, Any]:
        """Every parameter of the run (read with ``collect`` or ``full`` depth)."""
        return self.record.config if self.record is not None else {}


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
    state, job, claim = run.state_record(), run.job_record(), run.claim_record()
    metrics = run.metrics_rows()
    progress = committed(run)
    epochs = progress.epoch if progress is not None else len(metrics)
    return RunFiles(
        path=path,
        task=record.task,
        record=record,
        state=state,
        job=job,
        result=result,
        metrics=metrics,
        epochs=epochs,
        claim=claim,
    )


def read_ended(run: RunDir, with_config: bool) -> RunFiles | None:
    """An ended run from ``result.json`` and ``job.json`` (and ``config.json`` ``with_config``) alone.

    A result exists only while the run has ended (a new attempt removes it)
    and records the host, job and epochs of its end, so nothing else can
    change what ``status`` shows. ``None`` -- read the run whole -- when there
    is no result, when a newer submission superseded it, or for a result
    written before results recorded their host.
    """
    result = run.result()
    spec = TASKS.get(str(result.task)) if result is not None else None
    if result is None or spec is None or result.host is None:
        return None
    try:
        result.check_main(spec.main_metric)
    except ValueError as err:
        raise Damaged(run.file("result.json"), str(err)) from None
    job = run.job_in_result(result)  # the copy in the result, while job.json is the file it was copied from
    if job is None:
        job = run.job_record()
    if superseded(result, job):
        return None
    record = _config(run) if with_config else None
    if record is not None and record.task != spec.name:
        raise Damaged(run.file("result.json"), f"is a '{spec.name}' result in a '{record.task}' run")
    epochs = result.figures.get("epochs_done")
    return RunFiles(
        path=run.path,
        task=spec.name,
        record=record,
        job=job,
        result=result,
        epochs=epochs if isinstance(epochs, int) else 0,
        ended_only=True,
    )


def _config(run: RunDir) -> ConfigRecord:
    """``config.json``, checked: present, of a known task, every known parameter of its type."""
    record = run.config_record()
    if record is None:
        present = [name for name in RUN_MARKERS if os.path.lexists(run.file(name))]
        raise Damaged(run.path, "no config.json" + (f", though it holds {', '.join(present)}" if present else ""))
    spec = TASKS.get(record.task)
    if spec is None and ":" in record.task:  # a folder is data: what it names is never imported to read it
        raise Damaged(
            run.file("config.json"),
            f"was made by the quick-try task {record.task!r}, whose code is not imported to read a folder; "
            "declare it in a package's seqjobs.tasks entry points and install that (docs/own-task.md)",
        )
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


def superseded(result: ResultRecord, job: JobInResult | None) -> bool:
    """Was the run submitted again after this result was written (``resubmit``)? Then its new job decides."""
    if job is None:
        return False
    submitted, ended = when(job.submitted_at), when(result.ended_at)
    return submitted is not None and ended is not None and submitted > ended


def when(stamp: Any) -> datetime | None:
    """An ISO time stamp as an aware datetime; ``None`` for anything else."""
    if not isinstance(stamp, str):
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
