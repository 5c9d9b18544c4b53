"""The typed records of run and sweep folders, checked field by field when read.

Each JSON file of a run folder has one record class here. ``load`` turns a
dict read from disk into the record, or raises :class:`ValueError` naming the
field that has the wrong type, so a hand-edited or damaged file is reported
as such instead of failing later with a ``KeyError`` deep in a reader.
Unknown keys are kept out of the record (files from newer versions still read).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, TypeVar

R = TypeVar("R")

#: ``state`` values of ``state.json``
RUN_STATES = ("running", "requeued", "completed", "failed", "cancelled")


def _check(value: Any, tp: Any) -> bool:
    """Is ``value`` of the (simple) annotated type ``tp``?"""
    return _checker(tp)(value)


@functools.cache
def _checker(tp: Any) -> Callable[[Any], bool]:
    """The test for type ``tp``, built once per type: ``status`` checks every field of thousands of records."""
    origin = typing.get_origin(tp)
    if origin is typing.Union:
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
        _Field(f.name, f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
               hints[f.name], _checker(hints[f.name]))
        for f in dataclasses.fields(cls)
    )


def load(cls: type[R], obj: dict[str, Any]) -> R:
    """``cls`` built from ``obj``; :class:`ValueError` when a field is missing or of the wrong type."""
    values = {}
    for f in _fields_of(cls):
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


def dump(record: Any) -> dict[str, Any]:
    """A record as a JSON-ready dict (its lists and dicts shared, not copied: records are made to be read or written)."""
    return {f.name: getattr(record, f.name) for f in _fields_of(type(record))}


@dataclass
class ConfigRecord:
    """``config.json``: what the run is, fixed when the folder is created (``epochs`` may grow)."""

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


@dataclass
class ClaimRecord:
    """``claim.json``: the one process that may write the run now."""

    host: str
    pid: int
    token: str
    claimed_at: str
    pid_start: Optional[str] = None
    job_id: Optional[str] = None


@dataclass
class StateRecord:
    """``state.json``: where the run stands, what its attempts achieved."""

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
        self.history.append({
            "attempt": self.attempt, "host": self.host, "job_id": self.job_id, "started_at": self.started_at,
            "ended_at": ended_at, "start_epoch": self.start_epoch, "end_epoch": self.epochs_committed,
            "outcome": outcome,
        })

    def __post_init__(self) -> None:
        if self.state not in RUN_STATES:
            raise ValueError(f"'state' is {self.state!r}, not one of {', '.join(RUN_STATES)}")


@dataclass
class JobRecord:
    """``job.json``: the job that runs (or ran) the run, and how it was submitted."""

    job_id: str
    executor: str
    submitted_at: str
    options: dict[str, Any] = field(default_factory=dict)
    stdout: Optional[str] = None
    stderr: Optional[str] = None
    submitit_folder: Optional[str] = None
    host: Optional[str] = None
    time_limit_min: Optional[int] = None
    time_limit_source: Optional[str] = None


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
class Manifest:
    """``sweep.json``: every run of a sweep, its parameters, every submission."""

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


def check_result(obj: dict[str, Any], main_metric: str | None) -> dict[str, Any]:
    """``result.json`` is flat (any figures) but must say how the run ended, and a completed
    run must carry its task's main figure as a finite number: a table that silently lacks
    it would rank the run wrongly."""
    status = obj.get("status")
    if status not in ("completed", "failed"):
        raise ValueError(f"'status' is {status!r}, not completed or failed")
    if status == "completed" and main_metric is not None and not _check(obj.get(main_metric), float):
        raise ValueError(f"completed but '{main_metric}' is {obj.get(main_metric)!r}, not a finite number")
    for key in ("attempt", "epochs_done", "epochs_requested"):
        if key in obj and not _check(obj[key], int):
            raise ValueError(f"'{key}' is {obj[key]!r:.60}, not an int")
    return obj
