"""The run-folder contract (docs/run-folder.md), proven by interrupting runs at every write.

Every change a run makes to its folder becomes visible in one call,
``seqtasks.atomic._publish``. The fault tests take what a real charlm and a
real imdb run leave when killed at each of those changes in turn -- the
folder as it is just before that change -- then resume the folder and check
the invariants, and that its rows equal those of an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pytest

from seqtasks import atomic
from seqtasks.charlm.config import CharLMConfig
from seqtasks.errors import UserError
from seqtasks.imdb.config import ImdbConfig
from seqtasks.markov.config import MarkovConfig
from seqtasks.rundir import Claimed, RunDir
from seqtasks.rundir.claim import OwnerFile
from seqtasks.rundir.epochs import committed
from seqtasks.runner import execute

#: real training runs killed and resumed, and processes racing for a claim
pytestmark = pytest.mark.slow


class Faults:
    """Counts the changes a run publishes; ``before``, when set, is called with a change's number just before
    that change is made (what a process killed at that change leaves is the folder as it is then)."""

    def __init__(self) -> None:
        self.count = 0
        self.before: Callable[[int], None] | None = None

    def wrap(self, real: Callable[[Callable[[], None], Path], None]) -> Callable[[Callable[[], None], Path], None]:
        def publish(change: Callable[[], None], path: Path) -> None:
            self.count += 1
            if self.before is not None:
                self.before(self.count)
            real(change, path)

        return publish


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[Faults]:
    f = Faults()
    monkeypatch.setattr(atomic, "_publish", f.wrap(atomic._publish))
    yield f


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def as_if_the_process_died(folder: Path) -> None:
    """A real kill leaves the claim of a dead process: give the claim that process's pid."""
    claim = folder / "claim.json"
    if claim.exists():
        record = json.loads(claim.read_text())
        record.update(pid=dead_pid(), pid_start=None)
        claim.write_text(json.dumps(record))


def csv_lines(folder: Path) -> list[str]:
    path = folder / "metrics.csv"
    return path.read_text().splitlines() if path.exists() else []


def stable_rows(folder: Path, keep: tuple[str, ...]) -> list[dict[str, str]]:
    return [{k: r[k] for k in keep} for r in RunDir(folder).metrics_rows()]


def check_invariants(folder: Path, epochs: int) -> dict[str, Any]:
    """The contract's invariants for a completed training run; returns its result."""
    run = RunDir(folder)
    lines = csv_lines(folder)
    assert lines and lines[0].startswith("epoch,") and sum(ln == lines[0] for ln in lines) == 1  # one header
    rows = run.metrics_rows()
    assert [int(r["epoch"]) for r in rows] == list(range(1, epochs + 1))  # one row per committed epoch
    progress = committed(run)
    record = run.result()
    assert progress is not None and record is not None and record.status == "completed"
    result = record.to_dict()
    assert result["epochs_done"] == progress.epoch == len(rows) == epochs  # result agrees with the commit
    assert result["best_epoch"] == progress.best_epoch
    assert not (folder / "claim.json").exists()  # released
    assert json.loads((folder / "state.json").read_text())["state"] == "completed"
    assert {p.name for p in run.checkpoints.glob("epoch-*.keras")} <= {
        f"epoch-{progress.epoch:04d}.keras",
        f"epoch-{progress.best_epoch:04d}.keras",
    }
    return result


def kill_everywhere(
    faults: Faults,
    tmp_path: Path,
    task: str,
    config: Any,
    keep: tuple[str, ...],
    extra: Callable[[Path], Any],
    kill_at: Callable[[int], Iterable[int]] = lambda changes: range(1, changes + 1),
) -> int:
    """Run once straight through, then resume what a kill at each change (or those ``kill_at`` picks of the
    count) leaves, and compare. Returns the count.

    What a kill at change k leaves is the folder as it is just before change
    k: a run is deterministic up to its kill, so the straight run copies its
    folder before each change rather than training again up to each kill
    (copies are cheap, training is not). A copy leaves out the temporary file
    about to be renamed into place: no reader sees it, and the next owner
    removes it. Every copy is resumed in the straight run's own folder, as
    ``result.json`` names its folder.
    """
    folder = tmp_path / "run"
    copies = tmp_path / "before-change"

    def keep_copy(k: int) -> None:
        if folder.exists():  # before the first change there may be no folder at all
            shutil.copytree(folder, copies / f"{k:02d}", symlinks=True, ignore=shutil.ignore_patterns(atomic.TEMPORARY))

    faults.count, faults.before = 0, keep_copy
    execute(task, config, folder)
    faults.before = None
    changes = faults.count
    expected_rows, expected_extra = stable_rows(folder, keep), extra(folder)
    check_invariants(folder, config.epochs)
    for k in kill_at(changes):
        shutil.rmtree(folder)
        if (copies / f"{k:02d}").exists():
            shutil.copytree(copies / f"{k:02d}", folder, symlinks=True)
        as_if_the_process_died(folder)
        result = execute(task, config, folder)
        check_invariants(folder, config.epochs)
        assert stable_rows(folder, keep) == expected_rows, f"killed at change {k}"
        assert extra(folder) == expected_extra, f"killed at change {k}"
        assert result["attempt"] in (1, 2)  # 1: killed before the attempt began, or after the result was written
    return changes


def samples_of(folder: Path) -> list[dict[str, Any]]:
    path = folder / "samples.jsonl"
    return [json.loads(ln) for ln in path.read_text().splitlines()] if path.exists() else []


def test_charlm_killed_at_every_change_resumes_to_the_same_rows(
    faults: Faults, tmp_path: Path, small_text: Path
) -> None:
    config = CharLMConfig(
        corpus=str(small_text),
        max_chars=4000,
        maxlen=12,
        step=2,
        units=8,
        batch_size=64,
        epochs=2,
        sample_length=12,
        temperatures=(0.5, 1.0),
    )
    changes = kill_everywhere(
        faults,
        tmp_path,
        "charlm",
        config,
        ("epoch", "loss", "val_loss", "val_bits_per_char"),
        lambda folder: (samples_of(folder), sorted(p.name for p in (folder / "samples").iterdir())),
    )
    assert changes >= 16  # config, claim, state, vocab, 2 x (samples, metrics, model, best, commit, ...), result


IMDB_ROWS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy")
SMALL_IMDB = ImdbConfig(
    dataset="rt-snippets", limit=600, top_words=300, embedding_dim=8, units=8, batch_size=64, maxlen=30, epochs=2
)


def imdb_test_figures(folder: Path) -> dict[str, float]:
    return {k: json.loads((folder / "result.json").read_text())[k] for k in ("test_accuracy", "test_loss")}


def test_imdb_killed_at_every_change_resumes_to_the_same_rows(
    faults: Faults, tmp_path: Path, rt_snippets: Path
) -> None:
    """Every change but most of epoch 2's commit: changes 11-16 (its row, checkpoint, best, commit, state, old
    checkpoint gone) run the commit code of epoch 1 (6-10) again, which charlm's test kills at every change of
    both epochs; of them, the commit itself (14) is killed here, and 12 in the baselines' test below."""
    changes = kill_everywhere(
        faults,
        tmp_path,
        "imdb",
        SMALL_IMDB,
        IMDB_ROWS,
        imdb_test_figures,
        kill_at=lambda changes: [k for k in range(1, changes + 1) if k not in (11, 12, 13, 15, 16)],
    )
    assert changes == 19  # claim, config, state, config (data), vocab, 2 x (row, model, best, commit, state), ...


@pytest.mark.parametrize("model", ["bilstm", "bow"])
def test_imdb_baselines_killed_in_epoch_two_resume_to_the_same_rows(
    faults: Faults, tmp_path: Path, rt_snippets: Path, model: str
) -> None:
    """A resume loads epoch 1's checkpoint -- Bidirectional layers (whose loaded halves start from swapped seeds:
    dropout draws them), HashedBigrams, optimizer state -- and goes on exactly."""
    config = dataclasses.replace(SMALL_IMDB, model=model, bigram_buckets=500, dropout=0.5, recurrent_dropout=0.3)
    # changes 1-10: claim, config, state, config (data), vocab, epoch 1's row, checkpoint, best and commit, state;
    # 11: epoch 2's row; 12: its checkpoint -- killed there, the row is rolled back and epoch 2 trained again
    kill_everywhere(faults, tmp_path, "imdb", config, IMDB_ROWS, imdb_test_figures, kill_at=lambda changes: [12])


def test_a_resume_in_epoch_one_never_writes_a_second_header(tmp_path: Path, small_text: Path) -> None:
    """A kill between epoch 1's metrics row and its commit: the resume rolls the uncommitted row back, so
    ``metrics.csv`` never holds a second header or an epoch twice."""
    config = CharLMConfig(corpus=str(small_text), max_chars=3000, units=4, epochs=1, sample_length=10)
    out = tmp_path / "X"
    execute("charlm", config, out)
    (out / "checkpoints" / "state.json").unlink()
    (out / "result.json").unlink()
    execute("charlm", config, out)
    check_invariants(out, 1)
    result = execute("charlm", CharLMConfig(**{**config.__dict__, "epochs": 3}), out)
    check_invariants(out, 3)
    assert result["attempt"] == 3


def test_an_interrupt_that_comes_out_as_another_error_leaves_the_run_resumable(
    tmp_path: Path, small_text: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C code can turn the ``KeyboardInterrupt`` of a cancel's SIGINT into another error (TensorFlow's tensor
    conversion raised ``TypeError: Failed to convert elements of (None,) to Tensor`` in an interrupted worker,
    and the run was recorded failed): it is an interrupt, not the run's failure."""
    import seqtasks.markov.fit as fit

    def converts_the_interrupt(config: MarkovConfig, run_dir: RunDir) -> dict[str, Any]:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            raise TypeError("Failed to convert elements of (None,) to Tensor") from None
        raise AssertionError("the signal did not come")

    out, config = tmp_path / "run", MarkovConfig(corpus=str(small_text), length=10)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's, as in a job (xdist ignores it)
    try:
        with monkeypatch.context() as patch:
            patch.setattr(fit, "run", converts_the_interrupt)
            with pytest.raises(KeyboardInterrupt, match="came out as TypeError"):
                execute("markov", config, out)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, before)
    assert not (out / "result.json").exists() and json.loads((out / "state.json").read_text())["state"] == "running"
    result = execute("markov", config, out)
    assert (result["status"], result["attempt"]) == ("completed", 2)


def test_a_live_claim_refuses_a_second_writer_and_a_dead_one_is_taken_over(tmp_path: Path, small_text: Path) -> None:
    out = tmp_path / "run"
    config = MarkovConfig(corpus=str(small_text), length=10)
    execute("markov", config, out)
    owner = OwnerFile(out / "claim.json", "run folder")
    with owner.held():  # this live process owns it
        with pytest.raises(Claimed, match="in use by host"):
            execute("markov", MarkovConfig(corpus=str(small_text), length=10), out)
        with pytest.raises(Claimed):
            OwnerFile(out / "claim.json", "run folder").acquire()
    # a claim left by a dead process on this host is taken over
    (out / "claim.json").write_text(
        json.dumps(
            {"host": socket.gethostname(), "pid": dead_pid(), "token": "t", "claimed_at": "2026-01-01T00:00:00+00:00"}
        )
    )
    (out / "result.json").unlink()
    assert execute("markov", config, out)["status"] == "completed"
    assert not (out / "claim.json").exists()
    # a claim from another host that cannot be checked is not taken over
    (out / "claim.json").write_text(
        json.dumps(
            {"host": "elsewhere", "pid": 1, "token": "t", "claimed_at": "2026-01-01T00:00:00+00:00", "job_id": None}
        )
    )
    with pytest.raises(Claimed, match="cannot be checked from here"):
        execute("markov", config, out)


def test_out_refuses_a_folder_that_is_not_a_run_and_leaves_it_untouched(tmp_path: Path, small_text: Path) -> None:
    """``--out`` on a folder of the user's own files (even ones named like a run's) is refused, never written:
    a run must not destroy data it did not make."""
    mine = tmp_path / "mine"
    mine.mkdir()
    files = {"config.json": '{"my": "own"}', "metrics.csv": "a,b\n1,2\n", "result.json": "{}", "notes.txt": "x"}
    for name, text in files.items():
        (mine / name).write_text(text)
    for task, config in (
        ("markov", MarkovConfig(corpus=str(small_text))),
        ("charlm", CharLMConfig(corpus=str(small_text))),
    ):
        with pytest.raises(UserError):
            execute(task, config, mine)
    assert {p.name: p.read_text() for p in mine.iterdir()} == files
    other = tmp_path / "other"
    other.mkdir()
    (other / "data.txt").write_text("mine")
    with pytest.raises(UserError, match="not empty and is not a seqjobs run"):
        execute("markov", MarkovConfig(corpus=str(small_text)), other)
    assert [p.name for p in other.iterdir()] == ["data.txt"]


def test_claims_are_exclusive_between_processes(tmp_path: Path) -> None:
    """Many processes race for one claim at once: exactly one wins."""
    script = (
        "import sys, time\n"
        "from seqtasks.rundir.claim import OwnerFile, Claimed\n"
        "o = OwnerFile(sys.argv[1], 'x')\n"
        "try:\n    o.acquire()\nexcept Claimed:\n    print('lost'); sys.exit(0)\n"
        "print('won'); sys.stdout.flush(); time.sleep(3)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path / "claim.json")], stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(8)
    ]
    outcomes = sorted(p.communicate(timeout=120)[0].strip() for p in procs)
    assert outcomes == ["lost"] * 7 + ["won"]
