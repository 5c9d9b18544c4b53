"""Asynchronous halving on SLURM: workers within the cluster's limits, and a search that survives a preempted worker.

The limits are tested without a cluster (:func:`slurm_workers` is pure); the
rest is marked ``slurm`` and ``slow`` and runs on the test cluster
(``slurm/start-cluster.sh``: MaxArraySize 16). Nothing here depends on the
machine's pace: every wait is for an event, with a generous bound.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from jobs.engine.asha.search import Search
from jobs.engine.asha.start import slurm_workers
from jobs.engine.asha.workers import live_workers
from jobs.scheduler import SubmitLimit
from seqtasks.errors import UserError
from seqtasks.imdb.synthetic import write_csv
from seqtasks.rundir.ashadir import AshaDir
from tests.helpers import MAIL_LINES, mailed_jobs, seqjobs, sweep_story, wait_until
from tests.test_asha_protocol import check_invariants
from tests.test_halving import TINY_IMDB, epochs_in

LIMIT = SubmitLimit(12, "QOS seqjobs-limited MaxSubmitJobsPerUser")


def asha_files(sweep: Path) -> list[Path]:
    """The search's own files (leases, results, workers), relative to its ``.asha`` folder."""
    return sorted(path.relative_to(sweep / ".asha") for path in (sweep / ".asha").rglob("*") if path.is_file())


def test_workers_fit_one_array_and_the_room_the_submit_limit_leaves() -> None:
    assert slurm_workers(8, max_array=16, limit=None, queued=0) == (8, "")
    assert slurm_workers(32, max_array=16, limit=None, queued=0) == (16, "the cluster's MaxArraySize (16)")
    count, bound = slurm_workers(32, max_array=16, limit=LIMIT, queued=5)
    assert count == 7 and "seqjobs-limited" in bound and "5 of your jobs queued" in bound
    assert slurm_workers(4, max_array=16, limit=LIMIT, queued=5) == (4, "")  # room enough: no bound named
    with pytest.raises(UserError, match="no room to submit workers: 12 of your jobs are queued"):
        slurm_workers(4, max_array=16, limit=LIMIT, queued=12)


def async_command(data: Path, lrs: list[str], name: str, *extra: str) -> list[str]:
    """A small asynchronous halving sweep on the cluster's cpu partition: rungs of 3 and 6 epochs, eta 2."""
    return [
        "sweep",
        "imdb",
        "--dataset",
        str(data),
        *TINY_IMDB,
        "--maxlen",
        "50",  # epochs of a few seconds: the preemption lands inside a rung
        "--limit",
        "2000",
        "--grid",
        "lr=" + ",".join(lrs),
        "--halving",
        "--halving-mode",
        "async",
        "--min-epochs",
        "3",
        "--max-epochs",
        "6",
        "--eta",
        "2",
        "--executor",
        "slurm",
        "--partition",
        "cpu",
        "--name",
        name,
        *extra,
    ]


@pytest.mark.slurm
@pytest.mark.slow
def test_more_configurations_than_max_array_size_go_in_as_one_array_of_workers(tmp_path: Path) -> None:
    """20 configurations, no --array-parallelism (32 workers wanted): one array of 16, the cluster's MaxArraySize
    (a regular sweep's plain array of 32 would be refused); cancelled at once, nothing trained."""
    data = write_csv(tmp_path / "reviews.csv", 300, median_len=12, seed=1, signal=0.4)
    lrs = [f"{0.001 * (i + 1):.3f}" for i in range(20)]
    proc = seqjobs(*async_command(data, lrs, "wide"), cwd=tmp_path, check=True, timeout=300)
    sweep = tmp_path / "runs/wide"
    try:
        assert "submitted 16 workers for an asynchronous halving search of 20 configurations" in proc.stdout, proc
        assert "MaxArraySize (16)" in proc.stderr, proc.stderr
        jobs = AshaDir(sweep).workers()
        assert len(jobs) == 16 and len({job["job_id"].split("_")[0] for job in jobs}) == 1, jobs
    finally:
        seqjobs("cancel", str(sweep), cwd=tmp_path, timeout=300)
    wait_until(lambda: not live_workers(sweep), 300, interval=2, what="the workers to be cancelled")


@pytest.mark.slurm
@pytest.mark.slow
def test_an_async_search_completes_with_a_worker_preempted_in_the_middle_of_a_configuration(tmp_path: Path) -> None:
    """Two workers, four configurations. Once a worker has committed the first epoch of a configuration it is
    sent what a preemption sends (``scancel -s USR2``): it marks its run requeued and requeues itself. No other
    worker takes its configuration (its job is alive, only pending); the requeued attempt takes it back before
    anything else and resumes it from its last commit; the search completes with every epoch trained once, no
    configuration decided twice at a rung or trained past a rung without a promotion."""
    data = write_csv(tmp_path / "reviews.csv", 2000, median_len=40, seed=1, signal=0.4)
    mail = ["--mail-user", "lab@example.org"]
    command = async_command(data, ["0.001", "0.003", "0.01", "0.03"], "pre", "--array-parallelism", "2", *mail)
    first = seqjobs(*command, cwd=tmp_path, check=True, timeout=300)
    assert "submitted 2 workers for an asynchronous halving search of 4 configurations" in first.stdout, first
    sweep = tmp_path / "runs/pre"
    asha = AshaDir(sweep)
    configs = Search.open(sweep).configs

    def held_with_an_epoch() -> tuple[str, str] | None:
        for lease in sorted(asha.rung_path(0).glob("*.lease")):
            config = lease.name.removesuffix(".lease")
            run = sweep / configs[config][0]
            owner = asha.lease_owner(0, config)
            if owner and owner.job_id and (run / "metrics.csv").is_file() and epochs_in(run) == [1]:
                return config, owner.job_id
        return None

    config, job = wait_until(held_with_an_epoch, 900, interval=0.1, what="a worker to commit an epoch at rung 0")
    subprocess.run(["scancel", "-s", "USR2", job], check=True, capture_output=True, text=True)

    wait_until(
        lambda: Search.open(sweep, compact=False).complete(),
        600,
        interval=2,
        what=lambda: (
            f"the search to complete; .asha holds {[str(path) for path in asha_files(sweep)]}\n{sweep_story(sweep)}"
        ),
    )
    wait_until(lambda: not live_workers(sweep), 300, interval=2, what="the workers to end")
    run = sweep / configs[config][0]
    state = json.loads((run / "state.json").read_text())
    (requeued,) = [a for a in state["history"] if a["outcome"] == "requeued"]
    assert requeued["job_id"] == job and requeued["end_epoch"] < 3, state  # stopped inside the rung
    after = [r for r in (asha.result(0, c) for c in configs) if r is not None and r.worker == job]
    later = [r for r in after if r.finished_at > requeued["ended_at"]]
    assert min(later, key=lambda r: r.finished_at).config == config, later  # taken back before anything else
    outcomes = check_invariants(sweep)
    assert sum(said == ["promoted"] for said in outcomes.values()) >= 1
    for config_runs in configs.values():  # each epoch once: resumed between rungs and after the preemption
        for name in config_runs:
            trained = epochs_in(sweep / name)
            assert trained in ([1, 2, 3], [1, 2, 3, 4, 5, 6]), (name, trained)
    workers = {job["job_id"].split("_")[0] for job in json.loads((sweep / ".asha/workers.json").read_text())["jobs"]}
    assert mailed_jobs(sweep) == dict.fromkeys(workers, MAIL_LINES)  # the one worker array ends the search: one mail
