"""One contract for every executor: what a user can count on whether the runs go to debug, local or SLURM.

Modelled on hydra's ``LauncherTestSuite``: each check is written once and takes
the executor as a parameter, an :class:`Executor` that holds its options and
the few moves only it knows how to make (tell that a job ended, preempt the
attempts of runs, signal a starting task). An executor a check cannot apply
to is left out of that check's parameters by :data:`APPLIES`, which says why;
nothing is skipped at run time, so every collected test checks something.

Every check runs real jobs on real data -- Markov runs where training does
not matter, a tiny char-LSTM where epochs and their commits do -- and waits
for events, never for a fixed time: a slower machine only makes it slower.
Where preemptions are involved, what is checked is what each attempt
achieved and the order of events, never how long anything took.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import psutil
import pytest

from seqtasks.processes import pid_alive
from tests.helpers import (
    REPO,
    TINY_CHARLM,
    epochs_of,
    preempt_cpu_jobs,
    read_state,
    seqjobs,
    status_rows,
    sweep_story,
    wait_until,
)

#: every check starts the CLI as a process, and all but the debug ones start real jobs
pytestmark = pytest.mark.slow

#: an upper bound for hangs on any wait for a job: never reached by a working run, however busy the machine
WAIT_S = 900


class Executor:
    """How the contract drives one executor: the options every submission gets, and the moves only it knows."""

    name = ""
    #: executor options of every submission in the contract
    options: tuple[str, ...] = ()

    def assert_sweep_jobs(self, job_ids: list[str]) -> None:
        """What a sweep of 8 runs submitted with ``--array-parallelism 2`` became (the job id of each run)."""
        raise NotImplementedError

    def job_ended(self, job_id: str) -> bool:
        """Has the job stopped for good (nothing of it runs or will run again)?"""
        raise NotImplementedError

    def preempt(self, runs: list[Path]) -> None:
        """Preempt the running attempts of ``runs`` as the executor's own preemption does."""
        raise NotImplementedError

    def signal_starting(self, job_id: str, task: psutil.Process) -> None:
        """Send ``task``, the starting Python process of ``job_id``, the preemption signal."""
        raise NotImplementedError


class Debug(Executor):
    name = "debug"
    options = ("--executor", "debug")

    def assert_sweep_jobs(self, job_ids: list[str]) -> None:
        assert len(set(job_ids)) == 1, job_ids  # one job, run in the submitting process


class Local(Executor):
    name = "local"
    options = ("--executor", "local")

    def assert_sweep_jobs(self, job_ids: list[str]) -> None:
        assert len(set(job_ids)) == 2, job_ids  # two local workers, not eight processes

    def job_ended(self, job_id: str) -> bool:
        return not pid_alive(int(job_id))  # a local job is its controller process

    def preempt(self, runs: list[Path]) -> None:
        """SIGUSR2, what SLURM sends on preemption, to the process running each run's attempt."""
        for run in runs:
            os.kill(int(read_state(run)["pid"]), signal.SIGUSR2)

    def signal_starting(self, job_id: str, task: psutil.Process) -> None:
        task.send_signal(signal.SIGUSR2)


class Slurm(Executor):
    name = "slurm"
    #: one core per task, so that two tasks run side by side on the test cluster's two cores
    options = ("--executor", "slurm", "--partition", "cpu", "--cpus-per-task", "1", "--mem", "1500M")

    def assert_sweep_jobs(self, job_ids: list[str]) -> None:
        assert len(set(job_ids)) == 8 and len({job.split("_")[0] for job in job_ids}) == 1, job_ids  # one array

    @staticmethod
    def accounted(job_id: str) -> str:
        """The job's state as ``sacct`` has it (``CANCELLED by UID`` read as ``CANCELLED``; empty: not yet)."""
        out = subprocess.run(
            ["sacct", "-X", "-n", "-P", "-o", "State", "-j", job_id], capture_output=True, text=True, timeout=60
        ).stdout.split()
        return out[0] if out else ""

    def job_ended(self, job_id: str) -> bool:
        return self.accounted(job_id) in ("COMPLETED", "FAILED", "CANCELLED")

    def preempt(self, runs: list[Path]) -> None:
        """Submit a job wanting every core to ``urgent``, which requeues the jobs of ``cpu``, and see it run.

        It returns once ``sacct`` has the urgent job COMPLETED: it got the
        cores, so every task on them was preempted.
        """
        urgent = preempt_cpu_jobs()
        wait_until(lambda: self.job_ended(urgent), WAIT_S, 0.5, f"the urgent job {urgent} to run")
        assert self.accounted(urgent) == "COMPLETED", f"the urgent job {urgent} ended {self.accounted(urgent)}"

    def signal_starting(self, job_id: str, task: psutil.Process) -> None:
        """``scancel -s USR2``: what a preemption sends, through SLURM, to the job's step."""
        subprocess.run(["scancel", "-s", "USR2", job_id], check=True, timeout=60)


EXECUTORS: dict[str, Executor] = {e.name: e for e in (Debug(), Local(), Slurm())}

#: which executors each check applies to; one left out says why here, never by a skip at run time
APPLIES: dict[str, tuple[str, ...]] = {
    "submit_wait_collect": ("debug", "local", "slurm"),
    "fail_then_resubmit": ("debug", "local", "slurm"),
    # debug: the submitting command runs the runs to their end before it returns; nothing is left to cancel
    "cancel": ("local", "slurm"),
    # debug: the runs go in the submitting process, which nothing preempts or requeues
    "preempt": ("local", "slurm"),
    # debug: no job process starts: the runs go in the submitting command, already running
    "signal_at_start": ("local", "slurm"),
}


def executors(check: str) -> list[object]:
    """The parameters of ``check``: its executors, a SLURM one marked ``slurm`` (conftest's guard decides)."""
    return [
        pytest.param(EXECUTORS[name], id=name, marks=[pytest.mark.slurm] if name == "slurm" else [])
        for name in APPLIES[check]
    ]


def run_dirs(sweep: Path, key: Callable[[dict], object] = lambda run: run["name"]) -> dict[object, Path]:
    """The run folders of a sweep, from its manifest, by ``key`` of each run's entry (its name, a parameter)."""
    manifest = json.loads((sweep / "sweep.json").read_text())
    return {key(run): sweep / run["dir"] for run in manifest["runs"]}


def job_of(run: Path) -> str:
    return json.loads((run / "job.json").read_text())["job_id"]


def ended(run: Path) -> bool:
    """``result.json`` says the run ended, and ``state.json`` agrees (no newer attempt is running)."""
    return (run / "result.json").exists() and read_state(run).get("state") in ("completed", "failed")


# -- 1. submit, wait, collect -----------------------------------------------------------------


@pytest.mark.parametrize("executor", executors("submit_wait_collect"))
def test_submitted_runs_complete_and_collect_into_one_table(
    executor: Executor, tmp_path: Path, small_text: Path
) -> None:
    """One run submitted and waited for, then a sweep of eight followed from a new process and collected;
    the same commands again submit nothing."""
    submit = ["submit", "markov", "--corpus", str(small_text), *executor.options, "--out", "runs/one"]
    one = seqjobs(*submit, "--wait", cwd=tmp_path, check=True, timeout=WAIT_S)
    job = json.loads((tmp_path / "runs/one/job.json").read_text())
    assert "1 run: 1 completed" in one.stdout and f"as job {job['job_id']}" in one.stdout, one.stdout
    assert job["executor"] == executor.name and Path(job["stdout"]).exists(), job
    assert "already completed" in seqjobs(*submit, cwd=tmp_path, check=True).stdout

    sweep = [
        "sweep",
        "markov",
        "--corpus",
        str(small_text),
        "--grid",
        "order=1,2",
        "--grid",
        "level=char,word",
        "--seeds",
        "2",
        *executor.options,
        "--name",
        "mk",
        "--array-parallelism",
        "2",
    ]
    first = seqjobs(*sweep, cwd=tmp_path, check=True)
    assert "submitted 8 of 8 runs" in first.stdout
    manifest = json.loads((tmp_path / "runs/mk/sweep.json").read_text())
    assert len(manifest["runs"]) == 8 and manifest["executor"]["executor"] == executor.name
    executor.assert_sweep_jobs([run["job_id"] for run in manifest["runs"]])
    # a new process, after the submitting one has exited, waits and reads the state
    seqjobs("status", "runs/mk", "--watch", "--interval", "0.5", cwd=tmp_path, check=True, timeout=WAIT_S)
    status = list(status_rows(tmp_path / "runs/mk", tmp_path).values())
    assert [r["state"] for r in status] == ["completed"] * 8
    assert all(r["job_id"] and r["node"] for r in status)

    collected = seqjobs("collect", "runs/mk", "-o", "results/mk.csv", "--per-epoch", cwd=tmp_path, check=True)
    import pandas as pd

    runs = pd.read_csv(tmp_path / "results/mk.csv")
    summary = pd.read_csv(tmp_path / "results/mk.summary.csv")
    assert len(runs) == 8 and len(summary) == 4
    assert {
        "order",
        "level",
        "seed",
        "heldout_bits_per_symbol",
        "job_id",
        "host",
        "git_commit",
        "git_dirty",
        "duration_s",
    } <= set(runs.columns)
    assert (summary["heldout_bits_per_symbol_count"] == 2).all()
    means = summary["heldout_bits_per_symbol_mean"].tolist()
    assert means == sorted(means)  # best (lowest) first
    assert "heldout_bits_per_symbol_mean" in collected.stdout

    again = seqjobs(*sweep, cwd=tmp_path, check=True)
    assert "nothing to submit" in again.stdout and "8 completed" in again.stdout


# -- 2. a failed run, then resubmit -----------------------------------------------------------


@pytest.mark.parametrize("executor", executors("fail_then_resubmit"))
def test_failed_runs_show_their_error_and_resubmit_completes_them(
    executor: Executor, tmp_path: Path, small_text: Path
) -> None:
    """Runs that fail inside their job (an empty text) are shown with their error and left out of collect,
    as is a run whose result is damaged; ``resubmit --failed`` completes them once the data is fixed."""
    broken = tmp_path / "broken.txt"
    broken.write_text("", encoding="utf-8")  # empty: the job fails inside, not at submission
    sweep = [
        "sweep",
        "markov",
        "--grid",
        f"corpus={small_text},{broken}",
        "--grid",
        "order=1,2",
        *executor.options,
        "--name",
        "fc",
        "--wait",
    ]
    assert seqjobs(*sweep, cwd=tmp_path, timeout=WAIT_S).returncode == 1  # not every run completed
    rows = status_rows(tmp_path / "runs/fc", tmp_path)
    failed = [r for r in rows.values() if r["state"] == "failed"]
    assert len(failed) == 2 and all("empty" in r["error"] for r in failed), rows
    table = seqjobs("status", "runs/fc", cwd=tmp_path, check=True).stdout
    assert "2 failed" in table and "empty" in table

    good = sorted(path for name, path in run_dirs(tmp_path / "runs/fc").items() if "broken" not in str(name))
    (good[0] / "result.json").write_text("{not json", encoding="utf-8")
    proc = seqjobs("collect", "runs/fc", "-o", "out.csv", cwd=tmp_path, check=True)
    assert "4 runs: 1 completed, 2 failed, 1 unreadable" in proc.stderr, proc.stderr
    assert "result.json is not valid JSON" in proc.stderr
    import pandas as pd

    assert len(pd.read_csv(tmp_path / "out.csv")) == 1

    broken.write_text("now there is text to fit, plenty of it. " * 50, encoding="utf-8")
    resubmitted = seqjobs("resubmit", "runs/fc", "--failed", cwd=tmp_path, check=True)
    assert "resubmitted 2 runs under runs/fc" in resubmitted.stdout
    # polled here, not with --wait: that gives up on the unreadable run only after its patience (tests/test_views.py)
    wait_until(
        lambda: (
            sorted(r["state"] for r in status_rows(tmp_path / "runs/fc", tmp_path).values())
            == ["completed", "completed", "completed", "unreadable"]
        ),  # the 2 fixed + the untouched good one
        WAIT_S,
        what=lambda: f"the resubmitted runs to complete: {status_rows(tmp_path / 'runs/fc', tmp_path)}",
    )


# -- 3. cancel --------------------------------------------------------------------------------


@pytest.mark.parametrize("executor", executors("cancel"))
def test_cancel_stops_the_runs_that_have_not_ended(executor: Executor, tmp_path: Path, small_text: Path) -> None:
    """Of a sweep with one run ended and one training, ``cancel`` stops the one training, ends its job, and
    leaves the ended one as it was; status says cancelled, with the clock stopped at the cancel."""
    seqjobs(
        "sweep",
        "charlm",
        "--corpus",
        str(small_text),
        "--max-chars",
        "4000",
        *TINY_CHARLM,
        "--grid",
        "epochs=1,500",
        *executor.options,
        "--array-parallelism",
        "2",
        "--name",
        "cx",
        cwd=tmp_path,
        check=True,
    )
    runs = run_dirs(tmp_path / "runs/cx")
    done, busy = runs["epochs=1"], runs["epochs=500"]
    wait_until(
        lambda: ended(done) and read_state(busy).get("state") == "running",
        WAIT_S,
        what=lambda: f"one run ended and the other training: {read_state(done)}, {read_state(busy)}",
    )
    assert "cancelled 1 run under" in seqjobs("cancel", "runs/cx", cwd=tmp_path, check=True).stdout
    wait_until(lambda: executor.job_ended(job_of(busy)), 120, 0.5, "the cancelled run's job to end")
    rows = status_rows(tmp_path / "runs/cx", tmp_path)
    assert (rows["epochs=1"]["state"], rows["epochs=500"]["state"]) == ("completed", "cancelled"), rows
    state = read_state(busy)
    stopped = (datetime.fromisoformat(state["ended_at"]) - datetime.fromisoformat(state["started_at"])).total_seconds()
    assert abs(rows["epochs=500"]["elapsed_s"] - stopped) <= 0.1, (rows["epochs=500"], state)  # clock stopped


# -- 4 and 5. preempted after a commit, and before the first one --------------------------------

#: preemptions of the scenario: more than its --max-stalled, so had one counted, the run would fail
PREEMPTIONS = 2
#: epochs of the run preempted after its commits: enough that it is still training at the last preemption
#: even where each preemption lands a few epochs after the commit it waits for
AFTER_EPOCHS = 12


@pytest.mark.parametrize("executor", executors("preempt"))
def test_preempted_runs_resume_from_their_last_commit_and_never_fail(
    executor: Executor, tmp_path: Path, moby_dick: Path
) -> None:
    """One sweep, two runs preempted together, twice: one always before its first (long) epoch ends,
    the other once it has committed an epoch in the attempt.

    The first is requeued each time although --max-stalled is 1 (a
    preemption is not the time limit), and its third attempt runs; it is
    cancelled as that attempt starts (its long epoch, trained to the end,
    would only show again what the second run shows: a requeued run goes on
    to complete).
    The second resumes each time from the epoch it committed last: every
    attempt starts where the one before ended, every stopped attempt
    committed an epoch, and ``metrics.csv`` holds each epoch once. The
    preemption waits for the second run's commit; the first run's epoch, all
    of Moby-Dick in small batches, lasts many of the second's.
    """
    seqjobs(
        "sweep",
        "charlm",
        "--corpus",
        str(moby_dick),
        *TINY_CHARLM,
        "--zip",
        "max-chars=0,30000",
        "--zip",
        f"epochs=1,{AFTER_EPOCHS}",
        "--zip",
        "batch-size=32,64",
        "--max-stalled",
        "1",
        *executor.options,
        "--array-parallelism",
        "2",
        "--name",
        "pre",
        cwd=tmp_path,
        check=True,
    )
    by_epochs = run_dirs(tmp_path / "runs/pre", key=lambda run: run["params"]["epochs"])
    before, after = by_epochs[1], by_epochs[AFTER_EPOCHS]
    for round_ in range(1, PREEMPTIONS + 1):

        def ready() -> bool:
            first, second = read_state(before), read_state(after)
            assert first.get("epochs_committed", 0) == 0, (
                f"the long epoch ended before preemption {round_}: {first}; the other run: {second}\n"
                + (sweep_story(tmp_path / "runs/pre") if executor.name == "slurm" else "")
            )
            assert second.get("state") not in ("completed", "failed"), f"no epoch left to preempt: {second}"
            return (
                first.get("state") == "running"
                and first.get("attempt") == round_
                and second.get("state") == "running"
                and second.get("epochs_committed", 0) > second.get("start_epoch", 0)
            )

        wait_until(ready, WAIT_S, 0.1, lambda: f"round {round_}: {read_state(before)}; {read_state(after)}")
        attempts = {run: read_state(run)["attempt"] for run in (before, after)}
        executor.preempt([before, after])
        wait_until(
            lambda: all(
                read_state(run).get("attempt", 0) > attempt or read_state(run).get("state") != "running"
                for run, attempt in attempts.items()
            ),
            WAIT_S,
            0.1,
            lambda: f"the preempted attempts to stop: {read_state(before)}; {read_state(after)}",
        )
    wait_until(
        lambda: read_state(before).get("attempt") == PREEMPTIONS + 1,
        WAIT_S,
        0.1,
        lambda: f"the first run's last attempt to start: {read_state(before)}",
    )
    seqjobs("cancel", str(before), cwd=tmp_path, check=True)
    wait_until(
        lambda: read_state(before).get("state") in ("cancelled", "completed") and executor.job_ended(job_of(before)),
        WAIT_S,
        0.5,
        lambda: f"the first run's job to stop: {read_state(before)}",
    )
    wait_until(lambda: ended(after), WAIT_S, 0.5, lambda: f"the second run to end: {read_state(after)}")

    state = read_state(before)
    last = ("completed", 0, 1) if state["state"] == "completed" else ("cancelled", 0, 0)  # a fast machine's epoch
    assert [(h["outcome"], h["start_epoch"], h["end_epoch"]) for h in state["history"]] == [
        ("requeued", 0, 0)
    ] * PREEMPTIONS + [last], state["history"]
    assert state["attempt"] == PREEMPTIONS + 1 and state["state"] == last[0], state
    assert state["requeues"] == PREEMPTIONS and state["stalled_attempts"] == 0, state

    result, state = json.loads((after / "result.json").read_text()), read_state(after)
    history = state["history"]
    assert result["status"] == "completed" and result["attempt"] == len(history) == PREEMPTIONS + 1, result
    assert [h["outcome"] for h in history] == ["requeued"] * PREEMPTIONS + ["completed"], history
    assert all(h["end_epoch"] > h["start_epoch"] for h in history[:-1]), history  # each stopped attempt progressed
    assert [h["start_epoch"] for h in history] == [0] + [h["end_epoch"] for h in history[:-1]], history  # resumed
    assert history[-1]["end_epoch"] == AFTER_EPOCHS and result["epochs_done"] == AFTER_EPOCHS, result
    assert epochs_of(after) == list(range(1, AFTER_EPOCHS + 1))
    assert state["requeues"] == PREEMPTIONS and state["stalled_attempts"] == 0, state
    rows = status_rows(tmp_path / "runs/pre", tmp_path)
    assert sorted(r["state"] for r in rows.values()) == sorted(["completed", last[0]]), rows


# -- 6. signalled as it starts ----------------------------------------------------------------

#: starts signalled in a row: more than the --max-stalled 1 of the check, so had one counted, the job would stop
STARTS_SIGNALLED = 2
#: jobs tried before the check gives up catching a start in time (a busy machine can deschedule this test past it)
TRIES = 3
#: how long a task's interpreter may take to reach its first line, however busy the machine
START_WAIT_S = 30


def handles(pid: int, signum: int) -> bool:
    """Has process ``pid`` a handler for ``signum`` (its ``SigCgt`` mask in /proc)?"""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    return False


def signal_while_starting(pid: int, send: Callable[[], object]) -> bool:
    """``send`` the preemption signal while the task at ``pid`` is still starting, before submitit's handler.

    The moment: as soon as the process catches SIGUSR2 (the earliest a Python
    program can: the first line of :mod:`jobs.engine.boot`), and before
    submitit installed its handlers (it also catches SIGCONT, which nothing
    before it does). False, and nothing sent, when that moment has passed
    (the start was missed) or the process is gone. A task without the early
    handler never offers the moment: each of its starts is missed, and the
    check fails after :data:`TRIES` jobs.
    """
    appeared = time.monotonic()
    try:
        while not handles(pid, signal.SIGUSR2):
            if time.monotonic() - appeared > START_WAIT_S:
                return False
            time.sleep(0.001)
        if handles(pid, signal.SIGCONT):
            return False
    except FileNotFoundError:  # it ended before it was caught
        return False
    send()
    return True


def task_processes(run: Path) -> Iterator[psutil.Process]:
    """The job's Python processes now: this interpreter, on the run's submitit folder (not srun, not boot's shell)."""
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or [""]
        if cmdline[0] == sys.executable and "submitit.core._submit" in cmdline and str(run) in cmdline[-1]:
            yield proc


@pytest.mark.parametrize("executor", executors("signal_at_start"))
def test_a_job_signalled_as_it_starts_is_requeued_until_the_signals_stop(
    executor: Executor, tmp_path: Path, small_text: Path
) -> None:
    """The preemption signal while the job's Python is starting, at two starts in a row (more than
    --max-stalled 1): each start is requeued, writes nothing to the run folder it did not begin, and the
    third trains the run once.

    Without the early handler (:mod:`jobs.engine.boot`) the task died of the
    signal and its job ended failed (SLURM recorded exit 12). On SLURM a
    signal sent before ``srun`` has started the job step is dropped, so the
    moment is taken from the task's process, not from the job's state. A
    start this test was too slow to catch (a busy machine) proves nothing
    either way: that job is cancelled and another one tried.
    """
    for attempt in range(1, TRIES + 1):
        run = tmp_path / f"runs/p{attempt}"
        job = signal_starts(executor, run, small_text)
        if job is not None:
            break
        seqjobs("cancel", str(run), cwd=tmp_path, check=True)
    else:
        pytest.fail(
            f"missed the start of {TRIES} jobs in a row: no early handler, or a machine too busy for this check"
        )
    wait_until(lambda: executor.job_ended(job), WAIT_S, 0.5, "the job to end")

    job_record = json.loads((run / "job.json").read_text())
    log, out = Path(job_record["stderr"]).read_text(), Path(job_record["stdout"]).read_text()
    assert log.count("came while the job was starting") == STARTS_SIGNALLED, log  # then handled as a preemption
    assert out.count(f"Requeued job {job}") == STARTS_SIGNALLED, out
    assert out.count(f"Starting with JobEnvironment(job_id={job},") == STARTS_SIGNALLED + 1, out
    rows = status_rows(run, tmp_path)
    assert rows[run.name]["state"] == "completed", rows
    assert epochs_of(run) == [1, 2] and read_state(run)["attempt"] == 1


#: the catcher of :func:`signal_starts`, run in a session of its own: its own autogroup, at the default
#: priority however this test's process is niced (tests/run.sh nices the tests that need no cluster), so that
#: it sees each start in time. Exit 0: every start signalled; 3: one was missed.
CATCHER = """
import sys
from pathlib import Path
from tests.test_executor_contract import EXECUTORS, catch_starts
print("ready", flush=True)
sys.exit(0 if catch_starts(EXECUTORS[sys.argv[1]], Path(sys.argv[2])) else 3)
"""


def signal_starts(executor: Executor, run: Path, text: Path) -> str | None:
    """Submit the run and signal its job's first :data:`STARTS_SIGNALLED` starts; its job id (``None``: one missed)."""
    catcher = subprocess.Popen(
        [sys.executable, "-c", CATCHER, executor.name, str(run)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert catcher.stdout is not None and catcher.stdout.readline().strip() == "ready", catcher.communicate()
    seqjobs(
        "submit",
        "charlm",
        "--corpus",
        str(text),
        "--epochs",
        "2",
        *TINY_CHARLM,
        "--max-stalled",
        "1",
        *executor.options,
        "--out",
        str(run),
        cwd=run.parent.parent,
        check=True,
    )
    _, err = catcher.communicate(timeout=WAIT_S * STARTS_SIGNALLED)
    assert catcher.returncode in (0, 3), err
    return job_of(run) if catcher.returncode == 0 else None


def catch_starts(executor: Executor, run: Path) -> bool:
    """Signal the first :data:`STARTS_SIGNALLED` starts of ``run``'s job while each is starting (False: one missed)."""
    signalled: set[int] = set()
    for start in range(1, STARTS_SIGNALLED + 1):
        task = wait_until(
            lambda: next((p for p in task_processes(run) if p.pid not in signalled), None),
            WAIT_S,
            0.001,
            f"start {start} of the job's Python",
        )
        if not signal_while_starting(task.pid, lambda: executor.signal_starting(job_of(run), task)):
            return False
        signalled.add(task.pid)
        assert not (run / "state.json").exists(), read_state(run)  # the run was not begun
    return True
