"""The local executor: detached controllers, liveness by pid and start time, per-run cancel, threads.

The unit tests start small real processes (no TensorFlow); the sweep test
trains two tiny charlm runs on one local worker and cancels the first.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest
from submitit.core.utils import UncompletedJobError

from jobs.engine import control
from jobs.engine.executors import DetachedLocalExecutor
from jobs.monitor import status
from jobs.scheduler import local as local_jobs
from seqtasks.rundir import RunDir
from tests.helpers import json_lines, seqjobs, wait_until

#: what a job sees: its thread count, the variable behind it, its session
JOB_VIEW = (
    "import json, os; from seqtasks.tfsetup import job_threads; "
    "print(json.dumps([job_threads(), os.environ.get('SEQJOBS_THREADS'), os.getsid(0)]))"
)


def test_a_local_job_is_alive_only_as_the_process_that_started_then(live_process: subprocess.Popen[bytes]) -> None:
    pid = str(live_process.pid)
    started = psutil.Process(live_process.pid).create_time()
    assert local_jobs.local_job_alive(pid, started)
    assert local_jobs.local_job_alive(pid)  # a job.json from before start times were recorded: the command line decides
    assert not local_jobs.local_job_alive(pid, started - 100)  # the pid was reused: another process now
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        assert not local_jobs.local_job_alive(str(other.pid))  # alive, but no controller
    finally:
        other.kill()
        other.wait()
    assert not local_jobs.local_job_alive(str(other.pid))
    assert not local_jobs.local_job_alive("not-a-pid")


def test_the_recorded_start_is_read_from_job_options() -> None:
    assert local_jobs.local_job_started({"controller_started": 1700000000.25}) == 1700000000.25
    for options in (None, {}, {"controller_started": "soon"}, {"controller_started": True}, ["x"]):
        assert local_jobs.local_job_started(options) is None


def test_the_summary_counts_one_run_in_the_singular() -> None:
    assert status.summary([SimpleNamespace(state="completed")]) == "1 run: 1 completed"  # type: ignore[list-item]
    assert status.summary([SimpleNamespace(state="failed")] * 2).startswith("2 runs: ")  # type: ignore[list-item]


@pytest.mark.slow
def test_a_local_job_runs_detached_with_its_threads_and_leaves_no_placeholder_folder(tmp_path: Path) -> None:
    folder = tmp_path / ".submitit"
    executor = DetachedLocalExecutor(folder=folder / "%j", max_num_timeout=3, threads=3)
    executor.update_parameters(timeout_min=5, signal_delay_s=30)
    job = executor.submit(subprocess.check_output, [sys.executable, "-c", JOB_VIEW], text=True)  # stdlib: picklable
    threads, env, session = json.loads(job.result())
    assert (threads, env) == (3, "3")  # tfsetup sizes TensorFlow's pools from it, as from SLURM_CPUS_PER_TASK
    assert session == int(job.job_id) != os.getsid(0)  # the controller leads a session of its own
    assert sorted(p.name for p in folder.iterdir()) == [job.job_id, "controllers.log"]  # no literal "%j" folder


class CrashingJob:
    """A job whose first attempt dies of a crash signal: on its way out of a requeue, or with no requeue asked.

    Its attempts are counted in ``marker``. With ``requeue`` the first attempt
    gets submitit's preemption signal, checkpoints, and crashes in the
    interpreter's shutdown (as TensorFlow once did); without, it crashes
    outright. A later attempt returns its number.
    """

    def __init__(self, marker: Path, requeue: bool) -> None:
        self.marker, self.requeue = marker, requeue

    def __call__(self) -> int:
        import atexit
        import time

        attempt = int(self.marker.read_text()) + 1 if self.marker.exists() else 1
        self.marker.write_text(str(attempt))
        if attempt == 1 and self.requeue:
            atexit.register(os.kill, os.getpid(), signal.SIGSEGV)
            os.kill(os.getpid(), signal.SIGUSR2)  # the local executor's preemption signal: checkpoint, requeue
            time.sleep(60)
        elif attempt == 1:
            os.kill(os.getpid(), signal.SIGSEGV)
        return attempt

    def checkpoint(self) -> object:
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self)


@pytest.mark.slow
@pytest.mark.parametrize("requeue", [True, False], ids=["after-a-requeue", "alone"])
def test_a_task_that_crashes_on_its_way_out_of_a_requeue_is_restarted_and_only_then(
    tmp_path: Path, requeue: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = Path(__file__).resolve().parent  # the job unpickles CrashingJob from this module, as pytest imported it
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(here), str(here.parent)]))
    executor = DetachedLocalExecutor(folder=tmp_path / ".submitit/%j", max_num_timeout=3)
    executor.update_parameters(timeout_min=5, signal_delay_s=30)
    marker = tmp_path / "attempts"
    job = executor.submit(CrashingJob(marker, requeue))
    wait_until(lambda: job.done(), 120, 0.2, "the local job to end")
    if requeue:
        assert job.result() == 2  # restarted once: the crash came after the checkpoint
    else:
        # the job has ended: submitit's wait for a result file a shared filesystem may show late (15 s) proves nothing
        job._results_timeout_s = 0
        with pytest.raises(UncompletedJobError, match="has not produced any output"):
            job.result()
        assert marker.read_text() == "1"  # a plain crash is not a request to run again
    log = job.paths.stdout.read_text() + job.paths.stderr.read_text()
    assert ("Requeued job" in log) is requeue


def test_a_cancel_path_covers_a_local_job_only_at_or_above_its_sweep(tmp_path: Path) -> None:
    sweep = tmp_path / "runs/s"
    (sweep / "a").mkdir(parents=True)
    (sweep / "sweep.json").write_text("{}")
    alone = tmp_path / "runs/alone"
    alone.mkdir()
    run = RunDir(sweep / "a")
    assert control._covers(sweep, run) and control._covers(tmp_path / "runs", run)
    assert not control._covers(sweep / "a", run)  # its worker has other runs of the sweep to do
    assert control._covers(alone, RunDir(alone))


@pytest.mark.slow
def test_cancelling_one_run_of_a_local_stripe_stops_only_that_run(tmp_path: Path, small_text: Path) -> None:
    seqjobs(
        "sweep",
        "charlm",
        "--corpus",
        str(small_text),
        "--max-chars",
        "4000",
        "--maxlen",
        "10",
        "--units",
        "8",
        "--sample-length",
        "10",
        "--zip",
        "epochs=100000,2",  # the long run cannot end by itself before the cancel, however slow the machine
        "--executor",
        "local",
        "--array-parallelism",
        "1",
        "--cpus-per-task",
        "1",
        "--name",
        "two",
        cwd=tmp_path,
        check=True,
    )
    sweep = tmp_path / "runs/two"
    long_run, short_run = sweep / "epochs=100000", sweep / "epochs=2"
    job = json.loads((long_run / "job.json").read_text())
    assert json.loads((short_run / "job.json").read_text())["job_id"] == job["job_id"]  # one worker, both runs
    assert isinstance(job["options"]["controller_started"], float)

    def training() -> bool:
        return len(RunDir(long_run).metrics_rows()) >= 1

    wait_until(training, 300, 0.3, "the first epoch of the long run")
    worker = psutil.Process(RunDir(long_run).claim_record().pid)  # type: ignore[union-attr]
    assert worker.environ().get("SEQJOBS_THREADS") == "1"  # --cpus-per-task reached the job

    assert "cancelled 1 run under" in seqjobs("cancel", str(long_run), cwd=tmp_path, check=True).stdout
    wait_until(lambda: not local_jobs.local_job_alive(job["job_id"]), 300, 0.3, "the local job to end")

    rows = {r["run"]: r for r in json_lines(seqjobs("status", str(sweep), "--json", cwd=tmp_path, check=True).stdout)}
    assert rows["epochs=100000"]["state"] == "cancelled"
    assert rows["epochs=2"]["state"] == "completed"  # the worker went on with the next run of its stripe
    assert not (long_run / "result.json").exists() and not (long_run / "claim.json").exists()  # resumable, no failure
    assert json.loads((short_run / "result.json").read_text())["epochs_done"] == 2
    assert "%j" not in {p.name for p in (sweep / ".submitit").iterdir()}


@pytest.mark.slow
def test_a_worker_skips_a_run_cancelled_before_it_got_there(tmp_path: Path, small_text: Path) -> None:
    from jobs.engine.jobfn import RunJob, RunSpec
    from seqtasks import atomic
    from seqtasks.rundir.records import StateRecord, dump

    skipped, done = tmp_path / "skipped", tmp_path / "done"
    skipped.mkdir()
    atomic.write_json(skipped / "state.json", dump(StateRecord(state="cancelled")))
    params = {"corpus": str(small_text)}
    records = RunJob([RunSpec("markov", params, str(skipped)), RunSpec("markov", params, str(done))], False)()
    assert [r["status"] for r in records] == ["cancelled", "completed"]
    assert sorted(p.name for p in skipped.iterdir()) == ["state.json"]  # untouched, resumable


@pytest.mark.slow
def test_a_job_submitted_from_a_background_shell_is_cancelled(tmp_path: Path, small_text: Path) -> None:
    """A shell's background job (``&``, nohup, cron) starts with SIGINT ignored, and its children inherit that:
    the local controller restores SIGINT, which is how ``seqjobs cancel`` stops it."""

    def as_background(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "jobs", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    as_background(
        "submit",
        "charlm",
        "--corpus",
        str(small_text),
        "--maxlen",
        "10",
        "--units",
        "8",
        "--sample-length",
        "10",
        "--epochs",
        "500",
        "--executor",
        "local",
        "--out",
        "runs/bg",
    )
    run = tmp_path / "runs/bg"
    job = json.loads((run / "job.json").read_text())
    wait_until(lambda: len(RunDir(run).metrics_rows()) >= 1, 300, 0.3, "the first epoch")
    assert "cancelled 1 run under" in as_background("cancel", "runs/bg")
    wait_until(lambda: not local_jobs.local_job_alive(job["job_id"]), 120, 0.3, "the local job to end")
    assert (
        json_lines(seqjobs("status", "runs/bg", "--json", cwd=tmp_path, check=True).stdout)[0]["state"] == "cancelled"
    )
