"""A sweep's submission killed at any step is completed by the same command (docs/run-folder.md, invariant 9).

As the epoch commits are proven in ``tests/test_runfolder.py``, every change
the submitting command makes -- the sweep's lock, ``sweep.json``, each new
run's ``config.json``, handing the jobs to the executor, each ``job.json`` --
is stopped in turn, as if the command had been killed there. Before the
same command runs again, ``sweep.json`` must name every run folder there is
(so ``status`` counts what was never submitted); after it, every run of the
sweep has completed, and ran once. The runs are Markov chains: the
submission is under test here, and a run that trains costs seconds at each
of the many kill points without adding to what is shown.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest
from typer.testing import CliRunner

from jobs.engine import submission
from jobs.engine.jobfn import RunJob
from seqtasks import atomic
from tests.helpers import REPO, json_lines
from tests.test_runfolder import dead_pid

NAME = "kills"


class Killed(BaseException):
    """The simulated kill: not an ``Exception``, so no handler mistakes it for a refusal or a failure."""


class Faults:
    """Counts the steps of a submission; from the ``kill_at``-th on, every step fails. A job's own run is not
    counted (``tests/test_runfolder.py`` kills runs): with the debug executor it runs inside the command."""

    def __init__(self) -> None:
        self.arm(None)

    def arm(self, kill_at: int | None) -> None:
        self.steps: list[str] = []
        self.kill_at, self.dead, self.in_job = kill_at, False, False

    def step(self, what: str) -> None:
        if self.in_job:
            return
        if self.dead:
            raise Killed(what)
        self.steps.append(what)
        if len(self.steps) == self.kill_at:
            self.dead = True
            raise Killed(what)


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[Faults]:
    f = Faults()
    publish, submit, call = atomic._publish, submission._submit, RunJob.__call__

    def counted_publish(change: Callable[[], None], path: Path) -> None:
        f.step(str(path))
        publish(change, path)

    def counted_submit(*args: object, **kwargs: object) -> object:
        placed = submit(*args, **kwargs)  # type: ignore[arg-type]
        f.step("jobs submitted")
        return placed

    def uncounted_job(self: RunJob) -> object:
        f.in_job = True
        try:
            return call(self)
        finally:
            f.in_job = False

    monkeypatch.setattr(atomic, "_publish", counted_publish)
    monkeypatch.setattr(submission, "_submit", counted_submit)
    monkeypatch.setattr(RunJob, "__call__", uncounted_job)
    yield f


def sweep_args(root: Path, corpus: Path, seeds: str) -> list[str]:
    return [
        "sweep",
        "markov",
        "--corpus",
        str(corpus),
        "--length",
        "10",
        "--grid",
        f"seed={seeds}",
        "--executor",
        "debug",
        "--name",
        NAME,
        "--root",
        str(root),
    ]


def claims_of_the_dead(sweep: Path) -> None:
    """A real kill leaves the sweep's lock (and any claim) to a dead process: give them that process's pid."""
    for claim in [sweep / "sweep.lock", *sweep.glob("*/claim.json")]:
        if claim.exists():
            record = json.loads(claim.read_text())
            record.update(pid=dead_pid(), pid_start=None)
            claim.write_text(json.dumps(record))


def manifest_runs(sweep: Path) -> set[str]:
    path = sweep / "sweep.json"
    return {row["name"] for row in json.loads(path.read_text())["runs"]} if path.exists() else set()


def run_folders(sweep: Path) -> set[str]:
    return {p.name for p in sweep.iterdir() if p.is_dir() and not p.name.startswith(".")} if sweep.exists() else set()


def assert_run_once(run: Path) -> None:
    assert json.loads((run / "result.json").read_text())["status"] == "completed", run
    assert json.loads((run / "state.json").read_text())["attempt"] == 1, f"{run.name} was run twice"


def test_a_sweep_killed_at_every_step_of_its_submission_is_completed_by_the_same_command(
    faults: Faults, tmp_path: Path, small_text: Path
) -> None:
    """The sweep already has seed=0 (done); the command adds seed=1,2 and is killed at each of its steps."""
    from jobs.cli import app

    cli = CliRunner()
    base = tmp_path / "base"
    made = cli.invoke(app, sweep_args(base, small_text, "0"))
    assert made.exit_code == 0, made.output
    reference = tmp_path / "reference"
    shutil.copytree(base, reference, symlinks=True)
    faults.arm(None)
    assert cli.invoke(app, sweep_args(reference, small_text, "0,1,2")).exit_code == 0
    steps = list(faults.steps)
    assert "jobs submitted" in steps and sum("job.json" in s for s in steps) == 2, steps
    planned_at = next(i for i, s in enumerate(steps, 1) if s.endswith(f"{NAME}/sweep.json"))  # its first write
    planned = {"seed=0", "seed=1", "seed=2"}
    for k in range(1, len(steps) + 1):
        root = tmp_path / f"killed-at-{k:02d}"
        shutil.copytree(base, root, symlinks=True)
        sweep = root / NAME
        faults.arm(k)
        with pytest.raises(Killed):
            cli.invoke(app, sweep_args(root, small_text, "0,1,2"))
        faults.arm(None)
        claims_of_the_dead(sweep)
        assert run_folders(sweep) <= manifest_runs(sweep), f"killed at {steps[k - 1]}: a run folder sweep.json lacks"
        if k > planned_at:  # the manifest was written before the kill: it names every run
            assert manifest_runs(sweep) == planned, f"killed at {steps[k - 1]}"
        again = cli.invoke(app, sweep_args(root, small_text, "0,1,2"))
        assert again.exit_code == 0, f"killed at {steps[k - 1]}: {again.output}"
        for name in planned:
            assert_run_once(sweep / name)
        status = cli.invoke(app, ["status", str(sweep), "--json"])
        assert sorted(row["state"] for row in json_lines(status.stdout)) == ["completed"] * 3, status.output


KILL_AFTER_SUBMIT = (
    "import os, signal, sys\n"
    "from jobs.engine import submission\n"
    "real = submission._submit\n"
    "def submit(*args, **kwargs):\n"
    "    real(*args, **kwargs)\n"
    "    os.kill(os.getpid(), signal.SIGKILL)\n"
    "submission._submit = submit\n"
    "from jobs.cli import main\n"
    "sys.argv[0] = 'seqjobs'\n"
    "main()\n"
)


def test_a_sweep_killed_once_its_local_jobs_run_is_completed_by_the_same_command(
    tmp_path: Path, small_text: Path
) -> None:
    """SIGKILL right after the local jobs started, before any ``job.json``: the jobs go on; the same command
    submits only what they will not do, and every run runs once."""
    args = [
        "sweep",
        "markov",
        "--corpus",
        str(small_text),
        "--length",
        "10",
        "--grid",
        "seed=0,1,2,3,4,5",
        "--executor",
        "local",
        "--name",
        NAME,
        "--root",
        str(tmp_path),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_SUBMIT, *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    sweep = tmp_path / NAME
    assert manifest_runs(sweep) == {f"seed={i}" for i in range(6)}
    assert not list(sweep.glob("*/job.json"))
    again = subprocess.run(
        [sys.executable, "-m", "jobs", *args, "--wait"], env=env, capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stderr
    rows = json_lines(
        subprocess.run(
            [sys.executable, "-m", "jobs", "status", str(sweep), "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        ).stdout
    )
    assert sorted(row["state"] for row in rows) == ["completed"] * 6
    for i in range(6):
        state = json.loads((sweep / f"seed={i}" / "state.json").read_text())
        assert state["attempt"] == 1, f"seed={i} ran twice"
