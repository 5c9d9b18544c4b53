"""Small helpers shared by the tests: run the real CLI in a subprocess, check one-line errors, poll.

One of each, so every test means the same by "a one-line error" and waits
for events the same way (never for a fixed time).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from jobs.bench.preempt import TINY_CHARLM  # noqa: F401  (one definition, for the soak and the tests)

T = TypeVar("T")

REPO = Path(__file__).resolve().parent.parent


def seqjobs(
    *args: str, cwd: Path | None = None, timeout: float = 600, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run ``seqjobs ARGS`` as a new process (``python -m jobs``), capturing its output."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "jobs", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"seqjobs {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def small_text(folder: Path, moby_dick: Path) -> Path:
    """``folder/small.txt``: the first 20,000 characters of Moby-Dick (case kept), a real text for quick runs."""
    path = folder / "small.txt"
    path.write_text(moby_dick.read_text(encoding="utf-8")[:20_000], encoding="utf-8")
    return path


def completed_markov_run(folder: Path, moby_dick: Path) -> Path:
    """``folder/template``: one real completed Markov run, for tests that copy it into made-up sweeps."""
    from seqtasks.markov.config import MarkovConfig
    from seqtasks.runner import execute

    run = folder / "template"
    execute("markov", MarkovConfig(corpus=str(small_text(folder, moby_dick)), length=20), run)
    return run


def json_lines(text: str) -> list[dict]:
    """The objects of ``status --json`` output: one JSON object a line."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def assert_one_line_error(result: object, *fragments: str, only: bool = False) -> str:
    """Exit code 2, exactly one ``error:`` line on stderr, no traceback; that line mentions every fragment.

    Works for a CliRunner result (Typer's keeps stderr apart from stdout) and
    for a subprocess.CompletedProcess. Other lines may come before it on
    stderr (sbatch's own messages), but the reason and the fix must be on the
    one error line; with ``only``, stderr must hold nothing else. Returns
    the error line, for further checks.
    """
    code = getattr(result, "exit_code", getattr(result, "returncode", None))
    stdout, stderr = streams(result)
    everything = stdout + stderr
    crash = getattr(result, "exception", None)  # CliRunner keeps an uncaught exception here, not in the output
    assert code == 2, f"exit {code} ({crash!r}), output:\n{everything}"
    assert crash is None or isinstance(crash, SystemExit), f"{crash!r}, output:\n{everything}"
    assert "Traceback" not in everything, everything
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, f"expected one 'error:' line on stderr, got {len(errors)}:\n{everything}"
    assert not any(line.startswith("error:") for line in stdout.splitlines()), f"an error line on stdout:\n{stdout}"
    if only:
        assert stderr.strip().splitlines() == errors, f"stderr must be the error line alone:\n{stderr}"
    for fragment in fragments:
        assert fragment in errors[0], f"{fragment!r} not in {errors[0]!r}"
    return errors[0]


def wait_until(
    predicate: Callable[[], T], timeout: float, interval: float = 0.5, what: str | Callable[[], str] = "the condition"
) -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns something true, and return that.

    Fails after ``timeout`` seconds, naming ``what`` was awaited (a callable
    is asked then, so the message can show the last state seen). Tests wait
    for events this way, never for a fixed time, so a slow machine only makes
    them slower.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what() if callable(what) else what}")
        time.sleep(interval)


def sweep_story(sweep: Path, tail: int = 15) -> str:
    """What a wait on a SLURM sweep that timed out shows: ``seqjobs status``, the node and the whole queue
    (``sinfo``, ``squeue``: other jobs may hold the cores), ``sacct`` of the sweep's jobs and the last ``tail``
    lines of each job's stderr.

    A test that waited for a cluster in vain then says where the sweep stood,
    not only that it did not end (the cluster is gone with the CI machine).
    """
    parts = [seqjobs("status", str(sweep), "--all").stdout]
    records = [json.loads(path.read_text()) for path in sorted(sweep.glob("*/job.json"))]
    arrays = sorted({str(record["job_id"]).split("_")[0] for record in records})
    commands = [
        ["sinfo", "-N", "-h", "-o", "%N %T %E"],
        ["squeue", "-h", "-o", "%i %T %r %S %Z"],
    ]  # the node, the queue
    if arrays:
        commands.append(["sacct", "-n", "-P", "-o", "JobID,State,ExitCode,Start,End", "-j", ",".join(arrays)])
    for command in commands:
        ran = subprocess.run(command, capture_output=True, text=True, timeout=60)
        parts.append(f"$ {' '.join(command)}\n{ran.stdout}{ran.stderr}")
    for log in sorted({record.get("stderr") for record in records} - {None}):
        lines = Path(log).read_text(errors="replace").splitlines() if Path(log).is_file() else ["(none)"]
        parts.append(f"$ tail {log}\n" + "\n".join(lines[-tail:]))
    return "\n".join(parts)


def streams(result: object) -> tuple[str, str]:
    """``(stdout, stderr)`` of a Typer CliRunner result or a CompletedProcess (``None`` read as empty)."""
    return getattr(result, "stdout", None) or "", getattr(result, "stderr", None) or ""


def kill_after_first_commit(args: list[str], out: Path) -> int:
    """Start ``seqjobs ARGS`` (a training run into ``out``), SIGKILL it once an epoch is committed; epochs committed.

    The run is killed as soon as ``checkpoints/state.json`` appears, while
    it trains its next epoch: what a crash or a lost node leaves behind.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from jobs.cli import main; main()", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    commit = out / "checkpoints" / "state.json"
    wait_until(lambda: commit.exists() or proc.poll() is not None, 120, 0.05, "the first committed epoch")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return json.loads(commit.read_text())["epoch"]


def read_state(run: Path) -> dict:
    """A run's state as it is now (``state.json``, with a cancel applied), ``{}`` before it exists.

    Tests poll it while the run's job writes it, so a missing file is an
    answer, not an error.
    """
    from seqtasks.rundir import Damaged, RunDir
    from seqtasks.rundir.records import dump

    try:
        state = RunDir(run).state_record()
    except (OSError, Damaged):
        return {}
    return {} if state is None else dump(state)


def epochs_of(run: Path) -> list[int]:
    """The epochs ``metrics.csv`` holds, in its order (``[]`` before the first commit): each must appear once."""
    path = run / "metrics.csv"
    if not path.exists():
        return []
    return [int(line.split(",")[0]) for line in path.read_text().splitlines()[1:] if line]


def status_rows(path: Path, cwd: Path) -> dict[str, dict]:
    """``seqjobs status PATH --json`` from a new process, as a user would run it: run name -> its row."""
    proc = seqjobs("status", str(path), "--json", cwd=cwd, check=True, timeout=120)
    return {row["run"]: row for row in json_lines(proc.stdout)}


def preempt_cpu_jobs() -> str:
    """Submit a job wanting every core to the test cluster's ``urgent`` partition, which requeues the jobs of
    ``cpu`` (slurm/): the preemption a real cluster's higher-priority job makes. Returns its job id."""
    cores = subprocess.run(
        ["sinfo", "-h", "-N", "-o", "%c"], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()[0]
    urgent = ["sbatch", "--parsable", "-p", "urgent", "-c", cores, "--mem", "500M", "-o", "/dev/null"]
    return subprocess.run(
        [*urgent, "--wrap", "sleep 4"], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()


MAIL_LINES = ["#SBATCH --mail-type=END", "#SBATCH --mail-user=lab@example.org"]


def mailed_jobs(sweep: Path) -> dict[str, list[str]]:
    """Each job submitted for ``sweep`` whose sbatch script asks for mail, with those ``#SBATCH --mail`` lines.

    Read from the scripts submitit handed to sbatch (``.submitit/<job>/<array or job id>_submission.sh``,
    one per array), so it covers jobs that ended long ago, which scontrol forgets.
    """
    scripts = list((sweep / ".submitit").glob("*/*_submission.sh"))
    assert scripts, f"no submission scripts under {sweep / '.submitit'}"
    out = {}
    for script in scripts:
        lines = sorted(line for line in script.read_text().splitlines() if line.startswith("#SBATCH --mail"))
        if lines:
            out[script.name.split("_")[0]] = lines
    return out
