"""Same seed, same rows: a resumed run writes what an uninterrupted one writes, dropout included.

The run-folder contract (docs/run-folder.md, invariant 6) for every way a
run is resumed -- an extension (``--epochs 1``, then ``--epochs 3`` into the
same folder), a kill (SIGKILL of a real ``seqjobs run`` after its first
commit, then the same command again) and a requeue (a real local job
preempted after its first commit) -- and for every task that draws random
numbers while it trains: imdb's and charlm's ``--dropout`` and
``--recurrent-dropout``, and charlm's samples at every temperature. The
rows must match to the last printed digit; only the timing columns may
differ. Every task is extended; the kill is shown on charlm and the requeue
on imdb: all three ways resume from the same last commit (checkpoint and
random state) by the same code, so each task again for each way would only
repeat the same resume in another process. (Bidirectional layers, whose
loaded halves start from swapped seeds, resume from a kill in
``tests/test_runfolder.py``, dropout included; an extension resumes from the
same checkpoint as a kill does. Markov has no epochs: a run is never resumed,
only done again from its seed.)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import assert_one_line_error, kill_after_first_commit, read_state, seqjobs, small_text, wait_until

#: every test here trains with TensorFlow
pytestmark = pytest.mark.slow

EPOCHS = 3
TIMING = {"seconds", "sample_seconds"}
IMDB = [
    "imdb",
    "--dataset",
    "rt-snippets",
    "--limit",
    "600",
    "--top-words",
    "300",
    "--embedding-dim",
    "8",
    "--units",
    "8",
    "--batch-size",
    "64",
    "--maxlen",
    "30",
    "--dropout",
    "0.5",
    "--recurrent-dropout",
    "0.3",
]
CASES = {
    "imdb-lstm": IMDB,
    "charlm": [
        "charlm",
        "--corpus",
        "{corpus}",
        "--max-chars",
        "4000",
        "--maxlen",
        "12",
        "--step",
        "2",
        "--units",
        "8",
        "--batch-size",
        "64",
        "--sample-length",
        "12",
        "--temperatures",
        "0.5,1.0",
        "--dropout",
        "0.3",
        "--recurrent-dropout",
        "0.3",
    ],
}


def run_in_process(*args: str) -> None:
    """``seqjobs ARGS`` through the real CLI, in this process; it must succeed."""
    from jobs.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"


def what_must_match(folder: Path) -> dict[str, object]:
    """The folder's ``metrics.csv`` text without its timing columns, its samples and its test figures."""
    lines = [line.split(",") for line in (folder / "metrics.csv").read_text().splitlines()]
    keep = [i for i, name in enumerate(lines[0]) if name not in TIMING]
    result = json.loads((folder / "result.json").read_text())
    samples = folder / "samples.jsonl"
    return {
        "metrics": [",".join(cells[i] for i in keep) for cells in lines],
        "samples": samples.read_text() if samples.exists() else None,
        "sample files": sorted(p.name for p in (folder / "samples").glob("*")),
        "test": {k: result.get(k) for k in ("test_accuracy", "test_loss", "best_epoch", "epochs_done")},
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, moby_dick: Path) -> Path:
    return small_text(tmp_path_factory.mktemp("corpus"), moby_dick)


@pytest.fixture(scope="module")
def options(corpus: Path, rt_snippets: Path) -> Callable[[str], list[str]]:
    """A case's task and options (``rt_snippets`` puts the data set in the session's cache)."""
    return lambda case: [arg.format(corpus=corpus) for arg in CASES[case]] + ["--epochs", str(EPOCHS)]


@pytest.fixture(scope="module")
def uninterrupted(
    tmp_path_factory: pytest.TempPathFactory, options: Callable[[str], list[str]]
) -> Callable[[str], dict[str, object]]:
    """What an uninterrupted run of a case writes, trained once per case for the module."""
    folder = tmp_path_factory.mktemp("uninterrupted")
    seen: dict[str, dict[str, object]] = {}

    def of(case: str) -> dict[str, object]:
        if case not in seen:
            run_in_process("run", *options(case), "--out", str(folder / case))
            seen[case] = what_must_match(folder / case)
        return seen[case]

    return of


@pytest.mark.parametrize("case", list(CASES))
def test_an_extended_run_writes_the_rows_of_an_uninterrupted_one(
    case: str, options: Callable[[str], list[str]], uninterrupted: Callable[[str], dict[str, object]], tmp_path: Path
) -> None:
    out = str(tmp_path / "extended")
    run_in_process("run", *options(case), "--epochs", "1", "--out", out)  # the later --epochs wins
    run_in_process("run", *options(case), "--out", out)
    assert what_must_match(Path(out)) == uninterrupted(case)


def test_a_killed_run_run_again_writes_the_rows_of_an_uninterrupted_one(
    options: Callable[[str], list[str]], uninterrupted: Callable[[str], dict[str, object]], tmp_path: Path
) -> None:
    """charlm: its samples draw random numbers too, so a resume that lost any random state shows there."""
    case, out = "charlm", tmp_path / "killed"
    args = ["run", *options(case), "--out", str(out)]
    done = kill_after_first_commit(args, out)
    assert 1 <= done < EPOCHS and not (out / "result.json").exists()  # really interrupted mid-run
    seqjobs(*args, check=True)
    assert json.loads((out / "result.json").read_text())["attempt"] == 2
    assert what_must_match(out) == uninterrupted(case)


def test_a_requeued_local_job_writes_the_rows_of_an_uninterrupted_one(
    options: Callable[[str], list[str]], uninterrupted: Callable[[str], dict[str, object]], tmp_path: Path
) -> None:
    """An imdb job's first attempt gets SIGUSR2 (a preemption) once it has committed an epoch; the next one
    finishes."""
    case = "imdb-lstm"
    seqjobs("submit", *options(case), "--executor", "local", "--out", "runs/r", cwd=tmp_path, check=True)
    run = tmp_path / "runs/r"

    def preempt_first_attempt_once_it_committed() -> bool:
        state = read_state(run)
        if state.get("attempt") == 1 and state.get("state") == "running" and state.get("epochs_committed", 0) >= 1:
            os.kill(int(state["pid"]), signal.SIGUSR2)
            return True
        return state.get("attempt", 1) > 1 or state.get("state") in ("completed", "failed")

    wait_until(
        preempt_first_attempt_once_it_committed, 300, 0.05, lambda: f"epoch 1's commit; state: {read_state(run)}"
    )
    wait_until(
        lambda: read_state(run).get("state") in ("completed", "failed"),
        300,
        0.2,
        lambda: f"the run to end; state: {read_state(run)}",
    )
    history = read_state(run)["history"]
    assert read_state(run)["state"] == "completed", history
    assert history[0]["outcome"] == "requeued" and 1 <= history[0]["end_epoch"] < EPOCHS, history  # resumed mid-run
    assert what_must_match(run) == uninterrupted(case)


@pytest.fixture
def one_epoch(tmp_path: Path, options: Callable[[str], list[str]]) -> tuple[list[str], Path]:
    """An imdb run folder with epoch 1 committed, and the options it ran with."""
    out = tmp_path / "one"
    run_in_process("run", *options("imdb-lstm"), "--epochs", "1", "--out", str(out))
    return options("imdb-lstm"), out


def test_a_commit_without_random_state_resumes_and_the_next_commits_record_it(
    one_epoch: tuple[list[str], Path],
) -> None:
    """A folder committed before the random state was recorded still resumes: its generators start from the seed."""
    args, out = one_epoch
    commit = out / "checkpoints" / "state.json"
    record = json.loads(commit.read_text())
    assert record.pop("rng")
    commit.write_text(json.dumps(record))
    run_in_process("run", *args, "--out", str(out))
    record = json.loads(commit.read_text())
    assert record["epoch"] == EPOCHS and record["rng"], record
    assert len((out / "metrics.csv").read_text().splitlines()) == EPOCHS + 1


def test_a_damaged_random_state_is_one_line(one_epoch: tuple[list[str], Path]) -> None:
    args, out = one_epoch
    commit = out / "checkpoints" / "state.json"
    record = json.loads(commit.read_text())
    record["rng"] = {name: [1] for name in record["rng"]}
    commit.write_text(json.dumps(record))
    kept = shutil.copytree(out, out.with_name("kept"))
    assert_one_line_error(seqjobs("run", *args, "--out", str(out)), "state.json", "random state", "another --out")
    assert (out / "metrics.csv").read_text() == (kept / "metrics.csv").read_text()  # nothing trained


def test_what_charlm_samples_does_not_change_how_it_trains(
    options: Callable[[str], list[str]], uninterrupted: Callable[[str], dict[str, object]], tmp_path: Path
) -> None:
    """Keras' LSTMs draw dropout masks even when sampling: the draws must not reach the training's generators."""
    out = tmp_path / "more-samples"
    run_in_process("run", *options("charlm"), "--sample-length", "40", "--out", str(out))
    assert what_must_match(out)["metrics"] == uninterrupted("charlm")["metrics"]
