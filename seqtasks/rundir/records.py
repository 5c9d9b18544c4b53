"""The typed records of run and sweep folders, checked field by field when read.

Each JSON file of a run folder has one record class here, and every file is
read one way: :func:`load` turns the dict read from disk into its record, or
raises :class:`ValueError` naming the field that has the wrong type, so a
hand-edited or damaged file is reported as such instead of failing later with
a ``KeyError`` deep in a reader; :func:`dump` is the dict a writer writes.

Each file's record carries its ``format`` (the class's ``FORMAT``), written
by :func:`dump`. :func:`load` first brings an older file up to it
(:func:`_migrate`, the one place that knows the formats of the past) and
refuses a file of a newer format, which this code would misread, with
:class:`NewerFormat`. Unknown keys of the current format are kept out of the
record (a newer seqjobs may add a field without a new format, as long as it
is one an older reader can do without).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import types
import typing
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Optional, TypeVar

from seqtasks.rundir.states import RECORDED, WITH_RESULT, RunState

R = TypeVar("R")

#: the format of a file written before records carried one (no ``format`` key): every record's first
LEGACY_FORMAT = 1


class NewerFormat(ValueError):
    """A file written by a newer seqjobs, in a format this one does not know: read, it would be misread."""

    def __init__(self, found: int) -> None:
        super().__init__(f"written by a newer seqjobs (format {found}); upgrade seqjobs")


def _check(value: Any, tp: Any) -> bool:
    """Is ``value`` of the (simple) annotated type ``tp``?"""
    return _checker(tp)(value)


@functools.cache
def _checker(tp: Any) -> Callable[[Any], bool]:
    """The test for type ``tp``, built once per type: ``status`` checks every field of thousands of records."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        parts = [_checker(arg) for arg in typing.get_args(tp)]
        return lambda value: any(part(value) for part in parts)
    if tp is type(None):
        return lambda value: value is None
    if tp is int:
        return lambda value: isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return lambda value: isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    kind = origin if origin in (dict, list) else tp
    return lambda value: isinstance(value, kind)


@dataclass(frozen=True)
class _Field:
    name: str
    required: bool
    tp: Any
    check: Callable[[Any], bool]


@functools.cache
def _fields_of(cls: type) -> tuple[_Field, ...]:
    """A record class's fields with their resolved types and tests, once per class."""
    hints = typing.get_type_hints(cls)
    return tuple(
        _Field(
            f.name,
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
            hints[f.name],
            _checker(hints[f.name]),
        )
        for f in dataclasses.fields(cls)
    )


def _migrate(cls: type, obj: dict[str, Any]) -> dict[str, Any]:
    """``obj``, a file of record ``cls`` in whatever format it was written, in ``cls``'s current format.

    Format 1 is a file written before records carried their format (no
    ``format`` key); format 2 has the same fields and carries its number, so
    bringing a 1 up to 2 changes nothing. A later format that renames or
    reshapes a field converts it here, one format at a time, so that every
    reader sees the current record only. A newer format than ``cls.FORMAT``
    is refused (:class:`NewerFormat`).
    """
    found = obj.get("format", LEGACY_FORMAT)
    if not _check(found, int) or found < LEGACY_FORMAT:
        raise ValueError(f"'format' is {found!r:.60}, not a format number")
    if found > cls.FORMAT:  # type: ignore[attr-defined]
        raise NewerFormat(found)
    return obj


def load(cls: type[R], obj: dict[str, Any]) -> R:
    """``cls`` built from ``obj`` (a file's record in any format up to the current one, :func:`_migrate`).

    :class:`ValueError` when a field is missing or of the wrong type;
    :class:`NewerFormat` for a file of a newer format. A record nested in
    another (a halving rung, the job in a result) has no format of its own:
    its file's decides.
    """
    kind: Any = cls  # a class is hashable, whatever mypy makes of type[R]
    if _versioned(kind):
        obj = _migrate(kind, obj)
    values = {}
    for f in _fields_of(kind):
        if f.name not in obj:
            if f.required:
                raise ValueError(f"has no '{f.name}'")
            continue
        value = obj[f.name]
        if not f.check(value):
            raise ValueError(f"'{f.name}' is {value!r:.60}, not a {_label(f.tp)}")
        values[f.name] = value
    return cls(**values)


def _label(tp: Any) -> str:
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    inner = args[0] if args else tp
    return getattr(typing.get_origin(inner) or inner, "__name__", str(inner))


@functools.cache
def _versioned(cls: type) -> bool:
    """Is ``cls`` the record of a whole file (it has a ``FORMAT``), not one nested in another?"""
    return isinstance(getattr(cls, "FORMAT", None), int)


def dump(record: Any) -> dict[str, Any]:
    """A record as a JSON-ready dict, with its file's current ``format``.

    Its lists and dicts are shared, not copied: records are made to be read or written.
    """
    kind: Any = type(record)
    out = {"format": kind.FORMAT} if _versioned(kind) else {}
    out.update((f.name, getattr(record, f.name)) for f in _fields_of(kind))
    return out


@dataclass
class ConfigRecord:
    """``config.json``: what the run is, fixed when the folder is created (``epochs`` may grow)."""

    FORMAT: ClassVar[int] = 2

    task: str
    config: dict[str, Any]
    created_at: str
    seed: Optional[int] = None
    data: Optional[dict[str, Any]] = None
    seqjobs_version: Optional[str] = None
    git_commit: Optional[str] = None
    git_dirty: Optional[bool] = None  # the code differed from git_commit when the run was created
    #: the code snapshot its jobs import (``id``, ``path``); ``{"id": null, "opted_out": true}``: ``--no-snapshot``
    snapshot: Optional[dict[str, Any]] = None
    host: Optional[str] = None
    python: Optional[str] = None
    libraries: dict[str, Any] = field(default_factory=dict)
    #: the run's identity, made once when the run is created (:func:`new_run_id`) and carried into every table
    #: ``collect`` writes; ``None`` in a config written before runs had one: :func:`derived_run_id` stands in
    run_id: Optional[str] = None


def new_run_id() -> str:
    """A fresh run identity: 32 random hex digits (unique without asking anyone, on any cluster)."""
    return uuid.uuid4().hex


#: what every derived identity starts with, so that no reader takes one for a recorded :func:`new_run_id`
DERIVED_PREFIX = "derived-"


def derived_run_id(task: str, sweep: str, run: str, params: Mapping[str, Any]) -> str:
    """The identity of a run recorded before runs had one: a hash of its task, sweep and run folder names
    and ``params``.

    A run folder and a table row of the same run must give the same hash, though
    one holds JSON values and the other values read back from CSV text: each
    value is first put in one canonical spelling (:func:`_canonical`).
    """
    canon = json.dumps([task, sweep, run, sorted((str(k), _canonical(v)) for k, v in params.items())])
    return DERIVED_PREFIX + hashlib.sha256(canon.encode("utf-8")).hexdigest()[:32]


def _canonical(value: Any) -> str:
    """One spelling per value, whether read from JSON or from CSV: numbers as floats, lists comma-joined, none empty."""
    if type(value).__module__ == "numpy":  # a value read back by pandas: its Python twin
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value))
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


@dataclass
class ClaimRecord:
    """``claim.json``: the one process that may write the run now."""

    FORMAT: ClassVar[int] = 2

    host: str
    pid: int
    token: str
    claimed_at: str
    pid_start: Optional[str] = None
    job_id: Optional[str] = None


@dataclass
class CancelRecord:
    """``cancel.json``: ``seqjobs cancel`` stopped the run; only that command writes it, only a new start removes it."""

    FORMAT: ClassVar[int] = 1

    cancelled_at: str


@dataclass
class StateRecord:
    """``state.json``: where the run stands, what its attempts achieved."""

    FORMAT: ClassVar[int] = 2

    state: str
    attempt: int = 0
    host: Optional[str] = None
    pid: Optional[int] = None
    job_id: Optional[str] = None
    started_at: Optional[str] = None
    ended_at: Optional[str] = None
    #: epochs committed when this attempt started, and by now
    start_epoch: int = 0
    epochs_committed: int = 0
    #: attempts in a row that ended (timed out, preempted) without committing an epoch
    stalled_attempts: int = 0
    requeues: int = 0
    cuda_visible_devices: Optional[str] = None
    error: Optional[str] = None
    #: one entry per ended attempt: attempt, host, job_id, started_at, ended_at, start_epoch, end_epoch, outcome
    history: list[Any] = field(default_factory=list)

    def close_attempt(self, outcome: str, ended_at: str) -> None:
        """Record how the current attempt ended (requeued, completed, failed, cancelled)."""
        self.history.append(
            {
                "attempt": self.attempt,
                "host": self.host,
                "job_id": self.job_id,
                "started_at": self.started_at,
                "ended_at": ended_at,
                "start_epoch": self.start_epoch,
                "end_epoch": self.epochs_committed,
                "outcome": outcome,
            }
        )

    def __post_init__(self) -> None:
        if self.state not in RECORDED:
            raise ValueError(f"'state' is {self.state!r}, not one of {', '.join(RECORDED)}")


@dataclass
class JobInResult:
    """The part of ``job.json`` that ``result.json`` carries (``job``): all a view of an ended run needs of it."""

    job_id: str
    executor: str
    submitted_at: str
    stderr: Optional[str] = None


#: the fields of ``job.json`` copied into ``result.json``
JOB_IN_RESULT = tuple(f.name for f in dataclasses.fields(JobInResult))


@dataclass
class JobRecord(JobInResult):
    """``job.json``: the job that runs (or ran) the run, and how it was submitted."""

    FORMAT: ClassVar[int] = 2

    options: dict[str, Any] = field(default_factory=dict)
    stdout: Optional[str] = None
    submitit_folder: Optional[str] = None
    host: Optional[str] = None
    time_limit_min: Optional[int] = None
    time_limit_source: Optional[str] = None


@dataclass
class ResultRecord:
    """``result.json``: how the run ended, and the task's figures.

    On disk the file is flat -- the figures beside the other keys, as a user
    reading it expects -- and every key that is not one of these fields is a
    figure (:meth:`from_dict`), in the order the task wrote them.
    """

    FORMAT: ClassVar[int] = 2

    status: str
    task: Optional[str] = None
    #: the task's figures (``best_val_bits_per_char``, ``epochs_done``, ``duration_s``...): what ``collect`` tabulates
    figures: dict[str, Any] = field(default_factory=dict)
    error: Optional[str] = None
    error_type: Optional[str] = None
    traceback: Optional[str] = None
    attempt: Optional[int] = None
    epochs_requested: Optional[int] = None
    ended_at: Optional[str] = None
    run_dir: Optional[str] = None
    #: where and by which job it ended (``None`` in a result written before they were kept)
    host: Optional[str] = None
    job_id: Optional[str] = None
    #: the :class:`JobInResult` of ``job.json`` as it was when the run ended, with that file's ``signature``
    job: Optional[dict[str, Any]] = None

    def __post_init__(self) -> None:
        if self.status not in WITH_RESULT:
            raise ValueError(f"'status' is {self.status!r}, not {' or '.join(WITH_RESULT)}")
        done = self.figures.get("epochs_done")
        if done is not None and not _check(done, int):
            raise ValueError(f"'epochs_done' is {done!r:.60}, not an int")

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> ResultRecord:
        """The record of a ``result.json`` as read (any format up to the current); :class:`ValueError` if damaged."""
        named = _named(ResultRecord)
        flat = {k: v for k, v in obj.items() if k in named}
        flat["figures"] = {k: v for k, v in obj.items() if k not in named}
        return load(cls, flat)

    def to_dict(self) -> dict[str, Any]:
        """``result.json`` as written: flat, the figures after ``status`` and ``task``."""
        out = dump(self)
        figures = out.pop("figures")
        head = {k: out.pop(k) for k in ("format", "status", "task")}
        return {**head, **figures, **{k: v for k, v in out.items() if v is not None or k in ("host", "job_id")}}

    def check_main(self, main_metric: str | None) -> None:
        """A completed run must carry its task's main figure as a finite number (:class:`ValueError` otherwise):
        a table that silently lacks it would rank the run wrongly."""
        if (
            self.status == RunState.COMPLETED
            and main_metric is not None
            and not _check(self.figures.get(main_metric), float)
        ):
            raise ValueError(f"completed but '{main_metric}' is {self.figures.get(main_metric)!r}, not a finite number")


@functools.cache
def _named(cls: type) -> frozenset[str]:
    """The keys of ``cls``'s file that are fields of its own (``result.json``: every other key is a figure)."""
    return frozenset(f.name for f in _fields_of(cls)) - {"figures"} | {"format"}


@dataclass
class Manifest:
    """``sweep.json``: every run of a sweep, its parameters, every submission."""

    FORMAT: ClassVar[int] = 2

    name: str
    task: str
    created_at: str
    runs: list[Any] = field(default_factory=list)
    submissions: list[Any] = field(default_factory=list)
    base: dict[str, Any] = field(default_factory=dict)
    sweep_options: dict[str, Any] = field(default_factory=dict)
    executor: dict[str, Any] = field(default_factory=dict)
    updated_at: Optional[str] = None
    #: a halving sweep's plan and rungs (a :class:`HalvingRecord`); ``None`` for a grid
    halving: Optional[dict[str, Any]] = None


@dataclass
class RungRecord:
    """One rung of a halving sweep: the runs trained to ``epochs``, their jobs, and the decision after them.

    ``decided_at`` is set once, when every run of the rung has ended and the
    best were promoted; a rung with it is never submitted or decided again.
    """

    rung: int
    epochs: int
    #: run folder names (in the sweep folder) trained to ``epochs`` in this rung
    runs: list[Any]
    submitted_at: Optional[str] = None
    #: the jobs (array bases) that ran them
    job_ids: list[Any] = field(default_factory=list)
    #: the job that decides after the rung: ``job_id``, ``executor``, ``started`` (a local controller's start time)
    promotion_job: Optional[dict[str, Any]] = None
    decided_at: Optional[str] = None
    #: run name -> the run's ranking figure at this rung (``null``: failed, or no figure)
    scores: dict[str, Any] = field(default_factory=dict)
    promoted: list[Any] = field(default_factory=list)
    stopped: list[Any] = field(default_factory=list)
    failed: list[Any] = field(default_factory=list)


@dataclass
class HalvingRecord:
    """``sweep.json``'s ``halving``: the plan of a successive-halving sweep and its rungs so far."""

    metric: str
    higher_is_better: bool
    min_epochs: int
    max_epochs: int
    eta: int
    #: epochs each rung trains its runs to (the last is ``max_epochs``)
    epochs: list[Any]
    promote_partition: Optional[str] = None
    #: :class:`RungRecord` dicts, rung 0 first
    rungs: list[Any] = field(default_factory=list)
    completed_at: Optional[str] = None
    #: the runs (one per seed) of the configuration ranked first after the last rung
    best: list[Any] = field(default_factory=list)
