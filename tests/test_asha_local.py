"""A real asynchronous halving search from the CLI on the local executor: tiny IMDB runs.

Two workers: cancelled in the middle (its workers killed while they train),
resumed by the same command, completed; then ``status`` and ``collect`` read
it. One worker preempted (SIGUSR2, as SLURM sends; the local controller
requeues it): the requeued worker resumes the configuration it held first.
"""

from __future__ import annotations

import csv
import json
import signal
from pathlib import Path

import psutil
import pytest

from jobs.engine.asha.search import Search
from jobs.engine.asha.workers import live_workers
from seqtasks.imdb.synthetic import write_csv
from seqtasks.rundir.ashadir import AshaDir
from tests.helpers import assert_one_line_error, seqjobs, wait_until
from tests.test_asha_protocol import check_invariants
from tests.test_halving import TINY_IMDB, epochs_in

pytestmark = pytest.mark.slow


def async_sweep(
    data: Path, grid: str, epochs: tuple[str, str], eta: str, workers: str, name: str, *extra: str
) -> list[str]:
    """The command line of a tiny local asynchronous halving sweep."""
    return [
        "sweep",
        "imdb",
        "--dataset",
        str(data),
        *TINY_IMDB,
        "--limit",
        "200",
        *extra,
        "--grid",
        grid,
        "--halving",
        "--halving-mode",
        "async",
        "--min-epochs",
        epochs[0],
        "--max-epochs",
        epochs[1],
        "--eta",
        eta,
        "--executor",
        "local",
        "--array-parallelism",
        workers,
        "--name",
        name,
    ]


def test_a_local_async_search_is_cancelled_resumed_and_completes(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "reviews.csv", 300, median_len=12, seed=1, signal=0.4)
    command = async_sweep(data, "lr=0.001,0.003,0.01,0.03", ("1", "4"), "2", "2", "asha")
    first = seqjobs(*command, cwd=tmp_path, check=True, timeout=300)
    assert "submitted 2 workers for an asynchronous halving search of 4 configurations (4 runs)" in first.stdout
    sweep = tmp_path / "runs/asha"
    again = seqjobs(*command, cwd=tmp_path, check=True, timeout=300)
    assert "nothing to submit: 2 workers" in again.stdout, again.stdout

    wait_until(lambda: list(AshaDir(sweep).path.glob("rung-0/*.result.json")), 600, interval=1, what="a result")
    seqjobs("cancel", str(sweep), cwd=tmp_path, check=True)
    wait_until(lambda: not live_workers(sweep), 120, interval=1, what="the workers to stop")
    assert AshaDir(sweep).paused() and not Search.open(sweep).complete()
    alone = seqjobs("resubmit", "--missing", str(sweep), cwd=tmp_path)  # outside the search: refused
    assert_one_line_error(alone, "is a halving sweep", "run the same `seqjobs sweep` command again")

    resumed = seqjobs(*command, "--wait", cwd=tmp_path, check=True, timeout=900)
    assert "submitted 2 workers" in resumed.stdout and "4 runs: 4 completed" in resumed.stdout, resumed
    outcomes = check_invariants(sweep)
    assert sum(said == ["promoted", "promoted"] for said in outcomes.values()) >= 1

    collect = seqjobs("collect", str(sweep), "-o", "asha.csv", cwd=tmp_path, check=True)
    with open(tmp_path / "asha.csv", newline="") as f:
        rows = {row["run"]: row for row in csv.DictReader(f)}
    assert len(rows) == 4, collect
    for run, row in rows.items():  # each trained its epochs once, resumed between rungs and after the cancel
        assert epochs_in(sweep / run) == list(range(1, int(row["stopped_at_epoch"]) + 1)), run
        assert int(row["stopped_at_epoch"]) == [1, 2, 4][int(row["rung"])] and int(row["competitors"]) >= 1
    status = seqjobs("status", str(sweep), cwd=tmp_path, check=True).stdout
    assert "halving: rung 0: " in status and " final" in status and "promoted" in status, status

    third = seqjobs(*command, cwd=tmp_path, check=True, timeout=300)
    assert "has completed" in third.stdout, third.stdout
    sync = seqjobs(*[a for a in command if a not in ("--halving-mode", "async")], cwd=tmp_path)
    assert_one_line_error(sync, "--halving-mode async")


def test_a_preempted_local_worker_resumes_the_configuration_it_held_first(tmp_path: Path) -> None:
    """SIGUSR2 to the only worker after the first epoch of its first configuration: the requeued worker takes
    that configuration back before any other (its first result at rung 0), trains it from its last commit,
    and the search completes with every epoch trained once."""
    data = write_csv(tmp_path / "reviews.csv", 2000, median_len=40, seed=1, signal=0.4)
    slower = ("--maxlen", "50", "--limit", "2000")  # epochs of a few seconds: the signal lands inside the rung
    command = async_sweep(data, "lr=0.001,0.01,0.03", ("3", "9"), "3", "1", "pre", *slower)
    seqjobs(*command, cwd=tmp_path, check=True, timeout=300)
    sweep = tmp_path / "runs/pre"
    leases = AshaDir(sweep).path / "rung-0"
    lease = wait_until(lambda: sorted(leases.glob("*.lease")), 300, interval=0.2, what="a lease")[0]
    config = lease.name.removesuffix(".lease")
    run = sweep / Search.open(sweep).configs[config][0]
    wait_until(lambda: (run / "metrics.csv").is_file() and epochs_in(run) == [1], 600, 0.1, "its first epoch")
    (job,) = AshaDir(sweep).workers()
    controller = psutil.Process(int(job["job_id"]))
    (task,) = [p for p in controller.children() if "submitit.core._submit" in " ".join(p.cmdline())]
    task.send_signal(signal.SIGUSR2)  # what SLURM sends on preemption: checkpoint, requeue, restart

    wait_until(lambda: Search.open(sweep).complete(), 900, interval=1, what="the search to complete")
    wait_until(lambda: not live_workers(sweep), 120, interval=1, what="the worker to end")
    results = [json.loads(path.read_text()) for path in leases.glob("*.result.json")]
    first = min(results, key=lambda r: str(r["finished_at"]))
    assert first["config"] == config, results  # resumed first, not left for the end
    assert epochs_in(run) in ([1, 2, 3], list(range(1, 10))), epochs_in(run)  # each epoch once, resumed
    history = json.loads((run / "state.json").read_text())["history"]
    (requeued,) = [a for a in history if a["outcome"] == "requeued"]
    assert requeued["end_epoch"] < 3, history  # stopped inside the rung
    check_invariants(sweep)
