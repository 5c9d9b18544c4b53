"""Taking a claim removes only the temporary files of writers that are gone (docs/run-folder.md, invariants 1-2).

A new owner clears what killed writers left, but another process may be
writing into the folder at that very moment: the submitting command its
``job.json`` while the run's job already owns the folder, or the loser of a
race for the claim its own ``claim.json``. Their temporary files must stay,
or their rename fails and they die with a traceback.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from seqtasks import atomic
from seqtasks.rundir import RunDir
from tests.helpers import REPO, assert_one_line_error

#: real processes race, again and again
pytestmark = pytest.mark.slow

WRITER = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from seqtasks import atomic\n"
    "tmp = atomic.temporary_path(Path(sys.argv[1]))\n"
    "tmp.write_text('half written')\n"
    "print(tmp.name, flush=True)\n"
    "time.sleep(float(sys.argv[2]))\n"
)


def left_by_a_process(target: Path, lives_s: float) -> tuple[subprocess.Popen[str], Path]:
    """A real process that starts writing ``target`` (its temporary file is there) and stays ``lives_s`` seconds."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(target), str(lives_s)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None
    return proc, target.parent / proc.stdout.readline().strip()


@pytest.fixture
def live_writer(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A run folder, and the temporary ``job.json`` a live process is writing into it."""
    run = tmp_path / "run"
    run.mkdir()
    proc, tmp = left_by_a_process(run / "job.json", 120)
    try:
        yield run, tmp
    finally:
        proc.kill()
        proc.wait()


def test_a_claim_keeps_a_live_writers_temporary_file_and_removes_a_dead_ones(live_writer: tuple[Path, Path]) -> None:
    run, live = live_writer
    dead_proc, dead = left_by_a_process(run / "state.json", 0)
    dead_proc.wait()
    (run / "checkpoints").mkdir()
    keras_proc, dead_keras = left_by_a_process(run / "checkpoints" / "epoch-0001.keras", 0)
    keras_proc.wait()
    # this process's pid, but a start time years before it began: the pid was reused
    reused = run / f".result.json.0a1b2c3d~{os.getpid()}~1000000000~{socket.gethostname()}.tmp"
    reused.write_text("x")
    elsewhere = run / f".config.json.0a1b2c3d~{os.getpid()}~1000000000~another-node.tmp"  # cannot be checked
    elsewhere.write_text("x")
    forgotten = run / ".metrics.csv.old-style.tmp"  # no writer in its name, left a long time ago
    forgotten.write_text("x")
    long_ago = time.time() - atomic.UNCHECKED_GRACE_S - 60
    os.utime(forgotten, (long_ago, long_ago))

    with RunDir(run).claim():
        pass

    assert live.exists(), "a live writer's temporary file was removed"
    assert elsewhere.exists(), "the temporary file of a writer on another host was removed"
    for gone in (dead, dead_keras, reused, forgotten):
        assert not gone.exists(), f"{gone.name} of a writer that is gone is still there"


def test_a_live_writer_renames_its_file_after_another_process_claimed_the_folder(
    live_writer: tuple[Path, Path],
) -> None:
    """What the submitting command does while the run's job owns the folder: its job.json arrives whole."""
    run, live = live_writer
    with RunDir(run).claim():
        pass
    atomic.move(live, run / "job.json")
    assert (run / "job.json").read_text() == "half written"


def start_run(corpus: Path, out: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jobs",
            "run",
            "markov",
            "--corpus",
            str(corpus),
            "--order",
            "4",
            "--length",
            "10",
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_two_runs_into_one_folder_at_once_one_wins_the_other_says_so(tmp_path: Path, moby_dick: Path) -> None:
    """Ten times, two ``seqjobs run markov --out X`` start together: the run trains once, and the one
    that finds it taken says so in one line -- never a traceback."""
    corpus = tmp_path / "moby.txt"
    corpus.write_text(moby_dick.read_text(encoding="utf-8")[:400_000], encoding="utf-8")
    refused = 0
    for attempt in range(10):
        out = tmp_path / f"X{attempt}"
        procs = [start_run(corpus, out) for _ in range(2)]
        outputs = [proc.communicate(timeout=300) for proc in procs]
        for proc, (stdout, stderr) in zip(procs, outputs):
            assert "Traceback" not in stderr, stderr
            if proc.returncode != 0:
                line = assert_one_line_error(
                    subprocess.CompletedProcess([], proc.returncode, stdout, stderr), "in use by"
                )
                assert str(out) in line
                refused += 1
        assert min(proc.returncode for proc in procs) == 0, "neither of the two runs ran"
        result = json.loads((out / "result.json").read_text())
        assert (result["status"], result["attempt"]) == ("completed", 1), "the run was trained twice"
        assert not list(out.glob(atomic.TEMPORARY)), "a temporary file was left behind"
    assert refused, "the two runs never met: the race was not exercised"


def test_a_run_folder_made_by_another_command_between_two_looks_is_not_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``run --out X`` looks at X once: when another ``run --out X`` makes X a run folder right after that look,
    the run's claim decides which of the two goes on (the test above), not a second look refusing X as a
    folder "that holds only its own records" (which once failed it, 1 time in 10 under load)."""
    from jobs.cli import common
    from seqtasks.rundir import owned

    out = tmp_path / "X"
    written: list[bool] = []

    def after_the_first_look(look: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def looked(path: Any) -> Any:
            seen = look(path)
            if not written:  # the other command makes X a run folder right after this command's first look
                out.mkdir(exist_ok=True)
                (out / "config.json").write_text("{}", encoding="utf-8")
                (out / "state.json").write_text("{}", encoding="utf-8")
                written.append(True)
            return seen

        return looked

    for name in ("owning_folder", "is_run_folder", "is_sweep_folder"):
        monkeypatch.setattr(common, name, after_the_first_look(getattr(owned, name)))
    common.check_run_folder("--out", out)  # nothing there at its look: not refused
    assert owned.is_run_folder(out)  # it is one now, as the other command left it
    with pytest.raises(common.UserError, match="lies inside the run folder"):
        common.check_run_folder("--out", out / "inner")  # inside a run folder: still refused
