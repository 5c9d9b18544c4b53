"""Exported runs as TensorBoard event files: scalars by epoch, and the HParams plugin's experiment and sessions.

The folder it writes (``-o DIR``)::

    DIR/events.out.tfevents.seqjobs        the HParams experiment: every parameter with its values, every metric
    DIR/RUN/events.out.tfevents.seqjobs    one per run: its session's start (its parameters), every point of
                                           every series, its session's end (completed or failed runs)

so TensorBoard shows each run's curves by epoch, and its HParams tab one row
per run with its parameters and the last value of each series (a completed
run's result figures are the ``result/`` series). A second export replaces
each file (atomically): the names do not change.

Written with TensorBoard's own record writer, protos and summary builders
(``scalar_pb``, the HParams plugin's ``hparams_pb`` and ``hparams_config_pb``),
never its ``EventFileWriter`` nor the HParams plugin's v1 ``summary``: both
import TensorFlow when it is installed (for ``tf.io.gfile``, for
``tf.compat.v1.Summary``), seconds of CPU a login node need not spend.
Values are float32, as every TensorBoard scalar is.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.plugins.hparams import summary_v2 as hp
from tensorboard.plugins.scalar.summary_v2 import scalar_pb
from tensorboard.summary.writer.record_writer import RecordWriter

from jobs.export.runs import ExportedRun
from seqtasks import atomic
from seqtasks.rundir.states import RunState

#: every event file's name: one per folder, so a new export replaces the last one
EVENT_FILE = "events.out.tfevents.seqjobs"
#: a numeric parameter with more distinct values than this (a random search) gets an interval in the HParams tab
MAX_DISCRETE = 12
#: the HParams status of a session, by the state of its run (no end is written for a run that has not ended)
END_STATUS: dict[str, int] = {RunState.COMPLETED: api_pb2.STATUS_SUCCESS, RunState.FAILED: api_pb2.STATUS_FAILURE}

#: how a parameter is shown: TensorBoard knows booleans, numbers and strings (anything else is written as JSON)
Kind = Literal["bool", "number", "text"]


def write(runs: list[ExportedRun], out: Path) -> list[Path]:
    """Write the experiment and one event file per run under ``out``; the files written."""
    kinds = _kinds(runs)
    created = min(run.started for run in runs)
    written = [_write(out / EVENT_FILE, [_event(created, 0, _experiment(runs, kinds, created))])]
    for run in runs:
        written.append(_write(out / run.name / EVENT_FILE, _run_events(run, kinds)))
    return written


def _run_events(run: ExportedRun, kinds: dict[str, Kind]) -> list[event_pb2.Event]:
    """The session's start, every point by epoch (then tag), and the session's end once the run has ended."""
    params = {
        name: _value(value, kinds[name]) for name, value in run.params.items() if name in kinds and _present(value)
    }
    start = hp.hparams_pb(params, trial_id=run.name, start_time_secs=run.started)
    events = [_event(run.started, 0, _deterministic(start))]
    points = sorted((point.step, tag, point) for tag, series in run.series.items() for point in series)
    events += [_event(point.wall_time, step, scalar_pb(tag, point.value)) for step, tag, point in points]
    status = END_STATUS.get(run.state)
    if status is not None:
        end = run.ended if run.ended is not None else run.started
        events.append(_event(end, points[-1][0] if points else 0, _session_end(status, end)))
    return events


def _experiment(runs: list[ExportedRun], kinds: dict[str, Kind], created: float) -> summary_pb2.Summary:
    """The HParams experiment: each parameter with the values the runs took, and every series as a metric."""
    hparams = []
    for name, kind in sorted(kinds.items()):
        values = sorted({_value(run.params[name], kind) for run in runs if _present(run.params.get(name))})
        numeric = kind == "number" and len(values) > MAX_DISCRETE
        hparams.append(hp.HParam(name, hp.RealInterval(values[0], values[-1]) if numeric else hp.Discrete(values)))
    metrics = [hp.Metric(tag) for tag in sorted({tag for run in runs for tag in run.series})]
    return hp.hparams_config_pb(hparams, metrics, time_created_secs=created)


def _session_end(status: int, end: float) -> summary_pb2.Summary:
    """The HParams plugin's record of how a session ended (its summary module builds it with TensorFlow's protos)."""
    data = plugin_data_pb2.HParamsPluginData(
        session_end_info=plugin_data_pb2.SessionEndInfo(status=status, end_time_secs=end)
    )
    summary = summary_pb2.Summary()
    summary.value.add(
        tag=hparams_metadata.SESSION_END_INFO_TAG,
        metadata=hparams_metadata.create_summary_metadata(data),
        tensor=hparams_metadata.NULL_TENSOR,
    )
    return summary


def _deterministic(summary: summary_pb2.Summary) -> summary_pb2.Summary:
    """``summary`` with its HParams data serialized in key order: the same export, the same bytes.

    The HParams plugin's builders serialize a session's parameters (a map)
    in the order of a hash that changes from one process to the next.
    """
    for value in summary.value:
        data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
        value.metadata.plugin_data.content = data.SerializeToString(deterministic=True)
    return summary


def _kinds(runs: Iterable[ExportedRun]) -> dict[str, Kind]:
    """Each parameter's kind over every run: one type per parameter, which the HParams experiment declares."""
    values: dict[str, list[Any]] = {}
    for run in runs:
        for name, value in run.params.items():
            if _present(value):
                values.setdefault(name, []).append(value)
    return {name: _kind(found) for name, found in values.items()}


def _present(value: Any) -> bool:
    """Whether a parameter has a value to show: not ``None`` (unset), not a NaN or infinity (no JSON for them)."""
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


def _kind(values: list[Any]) -> Kind:
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "number"
    return "text"


def _value(value: Any, kind: Kind) -> bool | float | str:
    """``value`` as its parameter's kind shows it: a list (temperatures) as its JSON text."""
    if kind == "bool":
        return bool(value)
    if kind == "number":
        return float(value)
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _event(wall_time: float, step: int, summary: summary_pb2.Summary) -> event_pb2.Event:
    return event_pb2.Event(wall_time=wall_time, step=step, summary=summary)


def _write(path: Path, events: list[event_pb2.Event]) -> Path:
    """An event file: its version record, then ``events``, framed as TensorBoard reads them; replaced atomically."""
    buffer = io.BytesIO()
    records = RecordWriter(buffer)
    first = events[0].wall_time if events else 0.0
    for event in [event_pb2.Event(wall_time=first, file_version="brain.Event:2"), *events]:
        records.write(event.SerializeToString(deterministic=True))  # map fields (the hparams) in key order
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic.write_bytes(path, buffer.getvalue())
