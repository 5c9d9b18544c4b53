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


def test_a_requeue_whose_exit_was_swallowed_commits_no_later_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_text: Path
) -> None:
    """The handler requeues the run after epoch 1 and its exit is lost (C code swallowed it): training goes on,
    but epoch 2 is not committed to the ended attempt; the job ends requeued and the next attempt redoes epoch 2."""
    from seqtasks.charlm.config import CharLMConfig
    from seqtasks.rundir import epochs

    commit = epochs.commit

    def handler_runs_after_epoch_one(run: Any, progress: Any, *args: Any) -> None:
        commit(run, progress, *args)
        if progress.epoch == 1 and JOB[0].checkpoint() is None:  # the handler's requeue; its exit never comes
            raise AssertionError("the checkpoint did not decide to requeue")

    config = CharLMConfig(
        corpus=str(small_text), max_chars=4000, maxlen=12, step=2, units=8, batch_size=64, epochs=3, sample_length=12
    )
    run = tmp_path / "run"
    JOB[:] = [RunJob([RunSpec("charlm", dataclasses.asdict(config), str(run))], limit_signal_s=3600)]
    with monkeypatch.context() as patch:
        patch.setattr(epochs, "commit", handler_runs_after_epoch_one)
        with pytest.raises(SystemExit) as exited:
            JOB[0]()
    assert exited.value.code == LOCAL_REQUEUE_RETURN_CODE
    assert json.loads((run / "checkpoints" / "state.json").read_text())["epoch"] == 1  # epoch 2: not committed
    state = json.loads((run / "state.json").read_text())
    assert state["state"] == "requeued" and state["epochs_committed"] == 1, state
    assert [(h["start_epoch"], h["end_epoch"], h["outcome"]) for h in state["history"]] == [(0, 1, "requeued")]
    assert not (run / "result.json").exists()

    (record,) = RunJob([RunSpec("charlm", dataclasses.asdict(config), str(run))])()  # the requeued attempt
    assert record["status"] == "completed", record
    state = json.loads((run / "state.json").read_text())
    assert [(h["start_epoch"], h["end_epoch"]) for h in state["history"]] == [(0, 1), (1, 3)]
    assert [r.split(",")[0] for r in (run / "metrics.csv").read_text().splitlines()[1:]] == ["1", "2", "3"]
