"""A preemption at any moment of a job's life loses nothing: at its start, on its way out, and in between.

At start: a signal that comes while the job's Python is still importing
(before submitit has a handler) must requeue the job, on the real SLURM
cluster and on the local executor (:mod:`jobs.engine.boot`): that is a check
of the executor contract, tests/test_executor_contract.py. On the way out:
a task that dies after its requeue was decided must still be started again
(:mod:`jobs.engine.local_controller`; on SLURM, submitit's own ``scontrol
requeue`` comes first). In between: a task that has just started is not called
``unknown`` while the scheduler can still say what it is
(:func:`jobs.scheduler.job_states`). The soak, many preemptions at
random moments against a sweep of real runs, is :mod:`jobs.bench.preempt`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from jobs import scheduler
from jobs.bench.preempt import SoakSweep
from jobs.engine.executors import DetachedLocalExecutor
from jobs.scheduler import commands
from seqtasks.processes import pid_alive
from tests.helpers import wait_until

HERE = Path(__file__).resolve().parent


# -- on the way out ---------------------------------------------------------------------------


class DiesAfterRequeue:
    """A job whose first attempt is preempted, checkpoints, and then dies on its way out by ``how``.

    Its attempts are counted in ``marker``; a later attempt returns its number.
    ``how``: ``"SIGKILL"`` (the OOM killer), ``"exit 120"`` (a failed flush at
    exit), ``"SIGSEGV"`` (TensorFlow's shutdown).
    """

    def __init__(self, marker: Path, how: str) -> None:
        self.marker, self.how = marker, how

    def __call__(self) -> int:
        import atexit

        attempt = int(self.marker.read_text()) + 1 if self.marker.exists() else 1
        self.marker.write_text(str(attempt))
        if attempt == 1:
            if self.how.startswith("exit"):
                atexit.register(os._exit, int(self.how.split()[1]))
            else:
                atexit.register(os.kill, os.getpid(), getattr(signal, self.how))
            os.kill(os.getpid(), signal.SIGUSR2)  # the preemption signal: checkpoint, requeue, exit
            time.sleep(300)
        return attempt

    def checkpoint(self) -> object:
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self)


def local_job_ended(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, function: Callable[[], Any]) -> Any:
    """``function`` submitted as a local job (its folder under ``tmp_path``), once the job has ended."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), str(HERE.parent)]))  # the job unpickles this module
    executor = DetachedLocalExecutor(folder=tmp_path / ".submitit/%j", max_num_timeout=3)
    executor.update_parameters(timeout_min=10, signal_delay_s=30)
    job = executor.submit(function)
    wait_until(lambda: job.done(), 120, 0.2, "the local job to end")
    return job


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGKILL", "exit 120"])
def test_a_local_task_that_dies_any_way_after_its_requeue_was_decided_is_restarted(
    tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = local_job_ended(tmp_path, monkeypatch, DiesAfterRequeue(tmp_path / "attempts", how))
    assert job.result() == 2


class KilledByTheSignal:
    """A job whose first attempt dies of the preemption signal itself, as a task does when the signal comes
    before :mod:`jobs.engine.boot`'s first line: no handler, no checkpoint, no result. Attempts in ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __call__(self) -> int:
        attempt = int(self.marker.read_text()) + 1 if self.marker.exists() else 1
        self.marker.write_text(str(attempt))
        if attempt == 1:
            signal.signal(signal.SIGUSR2, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGUSR2)
            time.sleep(300)
        return attempt


@pytest.mark.slow
def test_a_local_task_killed_by_the_preemption_signal_before_any_handler_is_restarted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The local controller restarts it, as SLURM requeues a job so preempted: nothing of its run had begun."""
    job = local_job_ended(tmp_path, monkeypatch, KilledByTheSignal(tmp_path / "attempts"))
    assert job.result() == 2


class OutlivesSigint:
    """A task that survives SIGINT (as one hung in TensorFlow's teardown did), its pid in ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __call__(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.marker.write_text(str(os.getpid()))
        time.sleep(300)


@pytest.mark.slow
def test_a_task_that_outlives_sigint_is_killed_however_often_its_job_is_cancelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two cancels in a row (two SIGINTs to the local controller, the second in the grace second before its
    SIGKILL): the task is killed all the same, never left running with its controller gone."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), str(HERE.parent)]))  # the job unpickles this module
    executor = DetachedLocalExecutor(folder=tmp_path / ".submitit/%j", max_num_timeout=3)
    executor.update_parameters(timeout_min=10, signal_delay_s=30)
    marker = tmp_path / "task.pid"
    job = executor.submit(OutlivesSigint(marker))
    # the task writes its pid after creating the file: wait for the pid, not the name
    wait_until(lambda: marker.exists() and marker.read_text().strip(), 120, 0.05, "the task to write its pid")
    task = int(marker.read_text())
    os.kill(int(job.job_id), signal.SIGINT)
    time.sleep(0.3)
    os.kill(int(job.job_id), signal.SIGINT)
    wait_until(lambda: not pid_alive(task), 60, 0.1, f"the task {task} to be killed")


#: a preemption handler's exit raised where Python swallows it (a ``__del__``, as C code can swallow it), then
#: a process that would go on for seconds; argv[1]: whether the handler is wrapped by boot.exit_for_sure
SWALLOWED_EXIT = """
import os, signal, sys, time
from jobs.engine import boot
boot.FORCED_EXIT_S = 0.5
def requeue(signum, frame):
    raise SystemExit(144)  # what submitit's local handler does once the requeue is decided
signal.signal(signal.SIGUSR2, boot.exit_for_sure(requeue) if sys.argv[1] == "sure" else requeue)
class Swallows:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGUSR2)
Swallows()
time.sleep(3)
"""


@pytest.mark.parametrize("handler", ["sure", "plain"])
def test_an_exit_swallowed_on_its_way_out_still_ends_the_process(handler: str) -> None:
    """The attempt ends with the handler's code, unless the handler is a bare one (the process went on)."""
    done = subprocess.run(
        [sys.executable, "-c", SWALLOWED_EXIT, handler], cwd=HERE.parent, capture_output=True, text=True, timeout=120
    )
    assert "SystemExit: 144" in done.stderr, done.stderr  # it was raised, and swallowed
    if handler == "sure":
        assert done.returncode == 144 and "did not end the process in 0.5 s" in done.stderr, done
    else:
        assert done.returncode == 0, done


class SlowToPickle:
    """A result that takes a second to pickle: the moment after the job's work returned, before it exits."""

    def __reduce__(self) -> tuple[type, tuple[int]]:
        time.sleep(1.0)
        return int, (7,)


class PreemptedAsItEnds:
    """A job preempted once its work is done, while its result is written; like a job with no run left,
    its checkpoint has nothing to requeue."""

    def __call__(self) -> SlowToPickle:
        import threading

        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGUSR2)).start()
        return SlowToPickle()

    def checkpoint(self) -> None:
        return None


@pytest.mark.slow
def test_a_job_preempted_after_its_work_returned_ends_with_its_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = local_job_ended(tmp_path, monkeypatch, PreemptedAsItEnds())
    assert job.result() == 7
    assert "after the job's runs ended; nothing to requeue" in job.paths.stderr.read_text()


#: a job's last moments: its work returned (``settle``), a Python handler in place (submitit's), while another
#: process sends SIGUSR2 every 0.2 ms until this one is gone -- through the interpreter's finalization
HAMMERED_EXIT = """
import os, signal, subprocess, sys, time
import numpy, pandas  # a finalization of some length, as a job's is
from jobs.engine import boot
signal.signal(signal.SIGUSR2, lambda signum, frame: None)
boot.settle()
sender = "import os, sys, time\\nwhile True:\\n    try: os.kill(int(sys.argv[1]), 12)\\n    except ProcessLookupError: break\\n    time.sleep(0.0002)"
subprocess.Popen([sys.executable, "-c", sender, str(os.getpid())], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(0.3)
"""


@pytest.mark.slow
def test_a_signal_while_the_interpreter_exits_is_ignored() -> None:
    """Python's finalization restores the default action of signals it handled: without ``settle``'s ignore
    at exit, this process dies of SIGUSR2 (measured: 5 of 5), as soak jobs whose work was done did."""
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", HAMMERED_EXIT], cwd=HERE.parent, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, (done.returncode, done.stderr[-2000:])


@pytest.mark.slurm
def test_a_slurm_task_that_crashes_after_its_requeue_was_decided_is_requeued(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """submitit runs ``scontrol requeue`` before it exits: a crash after that cannot lose the requeue."""
    import submitit

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), str(HERE.parent)]))  # sbatch passes it on
    executor = submitit.SlurmExecutor(folder=tmp_path / ".submitit/%j", max_num_timeout=3)
    executor.update_parameters(time=10, partition="cpu")
    job = executor.submit(DiesAfterRequeue(tmp_path / "attempts", "SIGSEGV"))
    wait_until(
        lambda: (tmp_path / "attempts").exists() and (tmp_path / "attempts").read_text() == "2",
        600,
        0.5,
        "the job's second attempt",
    )
    assert job.result() == 2


# -- in between -------------------------------------------------------------------------------


def test_a_task_in_neither_sacct_nor_squeue_at_first_is_asked_about_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The just-started array task 8_2: slurmdbd has no line for it yet and squeue, asked as it left the
    pending lines, printed nothing; asked again, squeue lists it running. (A scheduler in this race cannot be
    produced on demand, so its answers are played back.)"""
    answers = {"sacct": ["8_[3-5]|PENDING|\n", ""], "squeue": [None, "8_2|RUNNING|vm\n"]}
    asked: list[str] = []

    def query(cmd: list[str]) -> str | None:
        asked.append(cmd[0])
        return answers[cmd[0]].pop(0)

    monkeypatch.setattr(commands, "run", query)
    assert scheduler.job_states(["8_2"]) == {"8_2": {"state": "running", "node": "vm", "source": "squeue"}}
    assert asked == ["sacct", "squeue", "squeue"]


def test_a_task_that_started_and_ended_between_the_asks_is_found_in_sacct(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {"sacct": ["", "8_2|COMPLETED|vm\n"], "squeue": [None, None]}
    monkeypatch.setattr(commands, "run", lambda cmd: answers[cmd[0]].pop(0))
    assert scheduler.job_states(["8_2"])["8_2"]["state"] == "completed"


# -- the soak ---------------------------------------------------------------------------------


#: the soak's sweeps at their smallest that still hold both tasks, and one run per array task and two (a
#: preemption can land between a packed task's runs); the long soak (slurm/preempt-soak.sh) runs every
#: combination and more
SMALLEST = (
    SoakSweep("charlm-single", "charlm", 2, 1),
    SoakSweep("imdb-packed", "imdb", 2, 2),
)
#: enough preemptions that each of the three tasks is hit more than once on average, at moments drawn over its
#: whole life; how many is the long soak's question (300, results/soak-preempt.md), not this test's
PREEMPTIONS = 4


@pytest.mark.slurm
@pytest.mark.slow
def test_preemptions_at_random_moments_lose_nothing(tmp_path: Path, moby_dick: Path) -> None:
    """The soak's short form: the smallest sweeps (packed and not, both tasks) under four preemptions.

    Every run completes, with the metrics rows of the same run uninterrupted
    and each epoch committed once; no job was left stuck.
    """
    from jobs.bench.preempt import soak

    landed, judged, info = soak(tmp_path / "soak", SMALLEST, PREEMPTIONS, hours=2, corpus=moby_dick)
    assert len(landed) >= PREEMPTIONS, info
    report = "\n".join(map(str, judged))
    assert len(judged) == sum(sweep.seeds for sweep in SMALLEST) * int(info["rounds"]), report
    assert all(j["status"] == "completed" for j in judged), report
    assert all(j["identical_rows"] and j["each_epoch_once"] for j in judged), report
