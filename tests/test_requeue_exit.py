"""A preemption whose exit comes back as another error still requeues the run, and never fails it.

submitit's handler requeues the job and then raises ``SystemExit`` wherever
the main thread is. When that is inside a C extension's initialisation,
pybind11 turns it into ``ImportError: initialization failed``, and Keras then
reports ``optree`` as missing: a local run signalled as it imported Keras was
recorded failed with that error. A real signal cannot be timed into that
window reliably, so the task here plays the handler: it calls the job's real
checkpoint (which requeues the run in its real folder), then raises what the
handler's exit became.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from submitit.local.local import LOCAL_REQUEUE_RETURN_CODE

from jobs.engine.jobfn import RunJob, RunSpec
from seqtasks import tasks

#: the job under test, for the task to call its checkpoint as submitit's handler does
JOB: list[RunJob] = []


def preempted_in_an_extension(config: Any, run_dir: Any) -> dict[str, Any]:
    """The handler runs (the job's checkpoint requeues the run), and its ``SystemExit`` comes out as an ImportError."""
    assert JOB[0].checkpoint() is not None  # the requeue is decided
    raise ImportError("initialization failed")


@pytest.mark.parametrize("raise_errors", [True, False], ids=["array-element", "local-stripe"])
def test_an_exit_turned_into_another_error_ends_the_attempt_requeued(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raise_errors: bool
) -> None:
    corpus = tmp_path / "text.txt"
    corpus.write_text("the cat sat on the mat. " * 50, encoding="utf-8")
    spec = dataclasses.replace(tasks.TASKS["markov"], entry=f"{__name__}:preempted_in_an_extension")
    monkeypatch.setitem(tasks.BUILT_IN, "markov", spec)
    run = tmp_path / "run"
    later = tmp_path / "later"
    JOB[:] = [
        RunJob(
            [
                RunSpec("markov", {"corpus": str(corpus)}, str(run)),
                RunSpec("markov", {"corpus": str(corpus)}, str(later)),
            ],
            raise_errors=raise_errors,
            limit_signal_s=3600,
        )
    ]  # signalled long before its time limit
    with pytest.raises(SystemExit) as exited:
        JOB[0]()
    assert exited.value.code == LOCAL_REQUEUE_RETURN_CODE  # the local controller starts it again
    state = json.loads((run / "state.json").read_text())
    assert state["state"] == "requeued" and state["requeues"] == 1 and state["stalled_attempts"] == 0
    assert [h["outcome"] for h in state["history"]] == ["requeued"]
    assert not (run / "result.json").exists()  # not failed: the next attempt resumes it
    assert not later.exists()  # the stripe did not go on to its next run


def test_an_error_without_a_requeue_still_fails_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same error with no preemption behind it is the task's own failure, recorded as ever."""

    def broken(config: Any, run_dir: Any) -> dict[str, Any]:
        raise ImportError("initialization failed")

    monkeypatch.setattr(tasks.TaskSpec, "load", lambda self: broken)
    corpus = tmp_path / "text.txt"
    corpus.write_text("the cat sat on the mat. " * 50, encoding="utf-8")
    run = tmp_path / "run"
    records = RunJob([RunSpec("markov", {"corpus": str(corpus)}, str(run))], raise_errors=False)()
    assert [r["status"] for r in records] == ["failed"]
    result = json.loads((run / "result.json").read_text())
    assert result["status"] == "failed" and result["error"] == "initialization failed"
    assert json.loads((run / "state.json").read_text())["state"] == "failed"


def test_an_exit_turned_into_an_error_between_two_runs_still_ends_the_attempt_requeued(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handler may run as the job looks up its next run's task (an import): outside any run, still a requeue."""
    from jobs.engine import jobfn

    looked_up: list[str] = []

    def get_task(name: str) -> tasks.TaskSpec:
        looked_up.append(name)
        if len(looked_up) == 2:  # the first run is done; the signal lands in the second one's import
            assert JOB[0].checkpoint() is not None
            raise ImportError("initialization failed")
        return tasks.TASKS[name]

    monkeypatch.setattr(jobfn, "get_task", get_task)
    corpus = tmp_path / "text.txt"
    corpus.write_text("the cat sat on the mat. " * 50, encoding="utf-8")
    first, second = tmp_path / "first", tmp_path / "second"
    JOB[:] = [
        RunJob(
            [RunSpec("markov", {"corpus": str(corpus)}, str(run)) for run in (first, second)],
            raise_errors=False,
            limit_signal_s=3600,
        )
    ]
    with pytest.raises(SystemExit) as exited:
        JOB[0]()
    assert exited.value.code == LOCAL_REQUEUE_RETURN_CODE
    assert json.loads((first / "result.json").read_text())["status"] == "completed"
    assert not (second / "result.json").exists()  # never started, never failed: the next attempt runs it
