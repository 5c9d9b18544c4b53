"""A job imports the code it was submitted with: a snapshot, whatever the checkout holds when the job starts.

The jobs here are submitted from a copy of the repository the test makes
(never this checkout), whose Markov task is instrumented: each attempt waits
for the test's go, then imports ``seqtasks/probe.py`` and writes what it
says, and where ``jobs`` was imported from, into the run folder. The test
edits the probe in the copy while the job waits (in the queue, or between
two attempts), so code read at start-up would report the edit.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from jobs.engine import snapshot
from tests.helpers import REPO, assert_one_line_error, seqjobs, wait_until

#: appended to the copy's seqtasks/markov/fit.py: the task's run, behind the test's gate and probe
PROBE = """

_run_unprobed = run


def run(config, run_dir):  # noqa: ANN001, ANN201 -- the test's probe (tests/test_snapshot.py)
    import importlib
    import time

    import jobs

    with open(run_dir.path / "gate.log", "a") as log:
        log.write(f"{os.getpid()}\\n")
    gate = os.environ["SNAPSHOT_TEST_GATE"]
    deadline = time.monotonic() + 120
    while not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.05)
    probe = importlib.import_module("seqtasks.probe")
    with open(run_dir.path / "probe.txt", "a") as out:
        out.write(f"{probe.VALUE} {jobs.__file__}\\n")
    return _run_unprobed(config, run_dir)
"""


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the repository's code with the probed Markov task; jobs submitted from it wait for ``gate``."""
    repo = tmp_path / "repo"
    for package in ("jobs", "seqtasks"):
        shutil.copytree(REPO / package, repo / package, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    markov = repo / "seqtasks" / "markov" / "fit.py"
    markov.write_text(markov.read_text() + "\nimport os  # noqa: E402\n" + PROBE)
    (repo / "seqtasks" / "probe.py").write_text('VALUE = "submitted"\n')
    (repo / "text.txt").write_text("the cat sat on the mat. the dog sat on the log. " * 50)
    return repo


def in_copy(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``seqjobs ARGS`` run from the copy, importing the copy's code (its folder first on the path, as a checkout's)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH", snapshot.RUNNING_ENV)}
    env["SNAPSHOT_TEST_GATE"] = str(repo / "gate")
    proc = subprocess.run(
        [sys.executable, "-m", "jobs", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, f"seqjobs {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def edit_probe(repo: Path) -> None:
    """The edit the jobs must not see."""
    (repo / "seqtasks" / "probe.py").write_text('VALUE = "edited"\n')


def waiting(run: Path, attempts: int = 1) -> bool:
    """Has the run's ``attempts``-th attempt reached the gate?"""
    log = run / "gate.log"
    return log.exists() and len(log.read_text().split()) >= attempts


def ended(run: Path) -> bool:
    return (run / "result.json").exists()


def probes(run: Path) -> list[tuple[str, str]]:
    """What each attempt's probe said, and where its ``jobs`` package came from."""
    return [tuple(line.split(" ", 1)) for line in (run / "probe.txt").read_text().splitlines()]  # type: ignore[misc]


def config(run: Path) -> dict:
    return json.loads((run / "config.json").read_text())


def assert_ran_its_snapshot(run: Path, attempts: int) -> None:
    """Every attempt ran the submitted code, imported from the snapshot config.json records."""
    recorded = config(run)["snapshot"]
    assert json.loads((run / "result.json").read_text())["status"] == "completed"
    seen = probes(run)
    assert len(seen) == attempts
    for value, where in seen:
        assert value == "submitted"
        assert Path(where) == Path(recorded["path"]) / "jobs" / "__init__.py"
    assert (
        Path(recorded["path"]).name
        == recorded["id"]
        == snapshot.code_id(
            [(rel, (Path(recorded["path"]) / rel).read_bytes()) for rel in sorted(files_of(Path(recorded["path"])))]
        )
    )


def files_of(folder: Path) -> list[str]:
    return [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != snapshot.MANIFEST]


@pytest.mark.slow
@pytest.mark.parametrize("frozen", [True, False], ids=["snapshot", "no-snapshot"])
def test_a_module_edited_while_a_sweep_waits_changes_nothing_it_runs(copy: Path, frozen: bool) -> None:
    """Two runs on one local worker: the edit lands while they wait; with --no-snapshot they do see it."""
    in_copy(
        copy,
        "sweep",
        "markov",
        "--corpus",
        "text.txt",
        "--grid",
        "seed=0,1",
        "--executor",
        "local",
        "--array-parallelism",
        "1",
        "--name",
        "s",
        *([] if frozen else ["--no-snapshot"]),
    )
    runs = [copy / "runs" / "s" / "seed=0", copy / "runs" / "s" / "seed=1"]
    wait_until(lambda: waiting(runs[0]), 120, what="the first run at the gate")
    edit_probe(copy)
    (copy / "gate").touch()
    wait_until(lambda: all(ended(run) for run in runs), 120, what="both runs to end")
    for run in runs:
        if frozen:
            assert_ran_its_snapshot(run, attempts=1)
        else:
            assert config(run)["snapshot"] == {"id": None, "opted_out": True}
            assert [value for value, _ in probes(run)] == ["edited"]
            assert Path(probes(run)[0][1]) == copy / "jobs" / "__init__.py"
    assert (copy / "runs" / ".seqjobs" / "code").is_dir() == frozen


def attempts_across_an_edit(copy: Path, executor: list[str], requeue: list[str] | None) -> Path:
    """Submit one run; edit the code while its first attempt waits; requeue it; let the second attempt finish."""
    in_copy(copy, "submit", "markov", "--corpus", "text.txt", *executor, "--out", "runs/one")
    run = copy / "runs" / "one"
    wait_until(lambda: waiting(run), 300, what="the first attempt at the gate")
    edit_probe(copy)
    pid = json.loads((run / "state.json").read_text())["pid"]
    if requeue is None:
        os.kill(pid, signal.SIGUSR2)  # submitit's preemption signal: checkpoint, requeue
    else:
        subprocess.run([*requeue, json.loads((run / "job.json").read_text())["job_id"]], check=True)
    wait_until(lambda: waiting(run, attempts=2), 300, what="the second attempt at the gate")
    (copy / "gate").touch()
    wait_until(lambda: ended(run), 300, what="the run to end")
    return run


@pytest.mark.slow
def test_a_second_attempt_runs_the_code_of_the_first_local(copy: Path) -> None:
    run = attempts_across_an_edit(copy, ["--executor", "local"], None)
    assert_ran_its_snapshot(run, attempts=1)  # the first attempt never got past the gate
    assert json.loads((run / "state.json").read_text())["attempt"] == 2


@pytest.mark.slurm
def test_a_requeued_slurm_job_runs_the_code_it_was_submitted_with(copy: Path) -> None:
    executor = ["--executor", "slurm", "--partition", "cpu", "--cpus-per-task", "1", "--mem", "500M"]
    run = attempts_across_an_edit(copy, executor, ["scancel", "--signal=USR2"])
    assert_ran_its_snapshot(run, attempts=1)
    assert json.loads((run / "state.json").read_text())["attempt"] == 2
    script = next((run / ".submitit").rglob("*_submission.sh")).read_text()
    assert f"export PYTHONPATH={config(run)['snapshot']['path']}" in script  # a requeue runs this very script


@pytest.mark.slow
def test_two_sweeps_of_the_same_code_share_one_snapshot(tmp_path: Path, small_text: Path) -> None:
    for name in ("a", "b"):
        seqjobs(
            "sweep",
            "markov",
            "--corpus",
            str(small_text),
            "--grid",
            "order=1,2",
            "--executor",
            "local",
            "--name",
            name,
            "--wait",
            cwd=tmp_path,
            check=True,
        )
    ids = {config(run)["snapshot"]["id"] for run in (tmp_path / "runs").glob("*/order=*")}
    store = tmp_path / "runs" / ".seqjobs" / "code"
    assert len(ids) == 1 and [p.name for p in store.iterdir()] == list(ids)
    manifest = json.loads((store / ids.pop() / snapshot.MANIFEST).read_text())
    assert manifest["packages"] == ["jobs", "seqjobs", "seqtasks"] and not list(store.rglob("__pycache__"))


def test_makers_at_once_leave_one_whole_snapshot(tmp_path: Path) -> None:
    """Eight threads take the same snapshot at the same moment: one folder, no temporary left, each gets it."""
    store = tmp_path / "code"
    taken: list[snapshot.Snapshot] = []
    start = threading.Barrier(8)

    def maker() -> None:
        start.wait()
        taken.append(snapshot.take(store))

    threads = [threading.Thread(target=maker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(taken)) == 1 and [p.name for p in store.iterdir()] == [taken[0].id]
    assert sorted(files_of(taken[0].path)) == sorted(rel for rel, _ in snapshot.source_files())


@pytest.mark.slow
def test_a_resume_whose_snapshot_is_gone_is_refused(tmp_path: Path) -> None:
    """A failed run's snapshot is removed: resubmit and the sweep command refuse it, and submit nothing."""
    (tmp_path / "tiny.txt").write_text("ab")
    sweep = ["sweep", "markov", "--corpus", "tiny.txt", "--grid", "order=5", "--executor", "local", "--name", "s"]
    seqjobs(*sweep, "--wait", cwd=tmp_path)
    run = tmp_path / "runs" / "s" / "order=5"
    assert json.loads((run / "result.json").read_text())["status"] == "failed"
    job_before = (run / "job.json").read_text()
    shutil.rmtree(config(run)["snapshot"]["path"])
    for args in (["resubmit", "runs/s"], sweep):
        proc = seqjobs(*args, cwd=tmp_path)
        assert_one_line_error(proc, "snapshot", "gone", "rm -r runs/s/order=5")
    assert (run / "job.json").read_text() == job_before


@pytest.mark.slow
def test_no_snapshot_is_recorded_and_resubmit_can_opt_a_run_out(tmp_path: Path, small_text: Path) -> None:
    seqjobs(
        "submit",
        "markov",
        "--corpus",
        str(small_text),
        "--executor",
        "local",
        "--no-snapshot",
        "--out",
        "runs/plain",
        "--wait",
        cwd=tmp_path,
        check=True,
    )
    assert config(tmp_path / "runs/plain")["snapshot"] == {"id": None, "opted_out": True}
    assert not (tmp_path / "runs" / ".seqjobs").exists()
    (tmp_path / "tiny.txt").write_text("ab")  # a run that fails, to be resubmitted
    seqjobs(
        "submit",
        "markov",
        "--corpus",
        "tiny.txt",
        "--order",
        "5",
        "--executor",
        "local",
        "--out",
        "runs/f",
        "--wait",
        cwd=tmp_path,
    )
    frozen = config(tmp_path / "runs/f")["snapshot"]
    seqjobs("resubmit", "runs/f", "--no-snapshot", cwd=tmp_path, check=True)
    assert config(tmp_path / "runs/f")["snapshot"] == {"id": None, "opted_out": True, "replaced": frozen}


@pytest.mark.slow
def test_rerun_reproduces_a_markov_run_and_refuses_changed_data(tmp_path: Path, small_text: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    shutil.copy(small_text, corpus)
    seqjobs(
        "submit",
        "markov",
        "--corpus",
        "corpus.txt",
        "--order",
        "3",
        "--seed",
        "7",
        "--executor",
        "local",
        "--out",
        "runs/orig",
        "--wait",
        cwd=tmp_path,
        check=True,
    )
    proc = seqjobs("rerun", "runs/orig", "--out", "runs/again", cwd=tmp_path, check=True)
    assert "identical" in proc.stdout
    old, new = (json.loads((tmp_path / "runs" / name / "result.json").read_text()) for name in ("orig", "again"))
    timings = ("duration_s", "fit_seconds", "sample_seconds", "attempt")
    figures = [k for k, v in old.items() if isinstance(v, (int, float)) and k not in timings]
    assert figures and {k: new[k] for k in figures} == {k: old[k] for k in figures}
    for name in ("show.tsv", "samples/sample.txt"):
        if (tmp_path / "runs/orig" / name).exists():
            assert (tmp_path / "runs/again" / name).read_bytes() == (tmp_path / "runs/orig" / name).read_bytes()
    assert config(tmp_path / "runs/again")["snapshot"] == config(tmp_path / "runs/orig")["snapshot"]
    corpus.write_text(corpus.read_text() + " one more line")
    proc = seqjobs("rerun", "runs/orig", "--out", "runs/changed", cwd=tmp_path)
    assert_one_line_error(proc, "sha256", "restore the data")
    assert not (tmp_path / "runs/changed").exists()


@pytest.mark.slow
def test_run_out_refuses_to_continue_a_run_made_by_other_code(copy: Path) -> None:
    """``seqjobs run --out`` in-process, on a run whose snapshot differs from the code here: one line, nothing run."""
    (copy / "gate").touch()
    in_copy(copy, "submit", "markov", "--corpus", "text.txt", "--executor", "local", "--out", "runs/r", "--wait")
    edit_probe(copy)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, "-m", "jobs", "run", "markov", "--corpus", "text.txt", "--out", "runs/r"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert_one_line_error(proc, "code snapshot", "seqjobs resubmit")


def test_code_running_from_a_snapshot_submits_on_that_snapshot(tmp_path: Path) -> None:
    """A follow-up or promotion job takes "the snapshot of the code now": the one it runs from, nothing new made;
    and the code reports the git commit the snapshot was taken from, not none (the snapshot is no checkout)."""
    made = snapshot.take(tmp_path / "store")
    probe = (
        "import sys; from pathlib import Path; from jobs.engine import snapshot; import jobs; "
        "from seqtasks.version import git_state; "
        "print(snapshot.take(Path(sys.argv[1])).path, jobs.__file__, *git_state())"
    )
    env = made.environment({k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    out = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "elsewhere")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    assert out[:2] == [str(made.path), str(made.path / "jobs" / "__init__.py")]  # not this checkout, though the cwd
    manifest = json.loads((made.path / snapshot.MANIFEST).read_text())
    assert out[2:] == [str(manifest["git_commit"]), str(manifest["git_dirty"])]  # the commit the code came from
    assert not (tmp_path / "elsewhere").exists()
