"""Sweeps larger than the user's job limit, on the real test cluster: submitted share by share from the cluster.

Marked ``slurm``. The test cluster has a QOS ``seqjobs-limited`` whose
``MaxSubmitJobsPerUser`` is small (12 unless ``SEQJOBS_SLURM_LIMITED_MAX_SUBMIT``
says otherwise); only jobs that ask for it with ``--qos`` are limited. The
sweep command submits what fits and returns; small follow-up jobs
(``seqjobs-next``) submit the rest. Nothing here depends on the machine's pace.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers import assert_one_line_error, mailed_jobs, seqjobs, status_rows, wait_until
from tests.test_packing import job_ids
from tests.test_slurm import sacct_times

pytestmark = pytest.mark.slurm

QOS = "seqjobs-limited"
SETTLED = {"pending", "running", "requeued", "completed"}


def qos_limit() -> int:
    out = subprocess.run(
        ["sacctmgr", "-n", "-P", "show", "qos", "where", f"name={QOS}", "format=MaxSubmitPU"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out.strip())


def follow_ups(since_job: str) -> list[list[str]]:
    """``[JobID, QOS, State]`` of the seqjobs-next jobs after job ``since_job``, from sacct."""
    out = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-a", "--name", "seqjobs-next", "-o", "JobID,QOS,State", "-S", "now-1hour"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split("|") for line in out.splitlines() if int(line.split("|")[0].split("_")[0]) > int(since_job)]


def test_a_sweep_over_the_qos_limit_goes_in_share_by_share(tmp_path: Path, small_text: Path) -> None:
    limit = qos_limit()
    runs = 3 * limit + 4  # four shares at least
    seqjobs(
        "sweep",
        "markov",
        "--corpus",
        str(small_text),
        "--grid",
        "order=1,2",
        "--seeds",
        str(runs // 2),
        "--executor",
        "slurm",
        "--qos",
        QOS,
        "--name",
        "big",
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    sweep = tmp_path / "runs/big"
    first = min(job_ids(sweep).values(), key=lambda j: int(j.split("_")[0])).split("_")[0]
    now = status_rows(sweep, tmp_path)
    assert len(now) == runs and {r["state"] for r in now.values()} <= SETTLED, (
        now
    )  # the rest reads pending, never missing
    again = seqjobs(
        "sweep",
        "markov",
        "--corpus",
        str(small_text),
        "--grid",
        "order=1,2",
        "--seeds",
        str(runs // 2),
        "--executor",
        "slurm",
        "--qos",
        QOS,
        "--name",
        "big",
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    assert "nothing to submit" in again.stdout, again.stdout
    seen: list[dict[str, int]] = []

    def all_completed() -> bool:
        rows = status_rows(sweep, tmp_path).values()
        seen.append({s: sum(r["state"] == s for r in rows) for s in {r["state"] for r in rows}})
        assert set(seen[-1]) <= SETTLED, seen[-1]
        return seen[-1] == {"completed": runs}

    wait_until(all_completed, 900, interval=2, what=lambda: f"every run to complete (last seen: {seen[-1:]})")
    shares = {job.split("_")[0] for job in job_ids(sweep).values()}
    assert len(shares) >= -(-runs // (limit - 1)), shares
    wait_until(lambda: len(follow_ups(first)) >= len(shares) - 1, 60, what="sacct to list every follow-up job")
    assert all(qos == QOS and state == "COMPLETED" for _, qos, state in follow_ups(first)), follow_ups(first)
    seqjobs("collect", str(sweep), "-o", "big.csv", cwd=tmp_path, check=True)
    assert len((tmp_path / "big.csv").read_text().splitlines()) == 1 + runs


def test_max_submit_and_array_parallelism_hold_across_shares(tmp_path: Path, small_text: Path) -> None:
    """16 runs, 2 per task, at most 5 jobs queued, at most 2 tasks at once: a first share of 4 tasks, never 3 running.

    Later shares may be smaller: a follow-up counts every job of the user
    squeue still lists (array tasks still completing among them).
    """
    seqjobs(
        "sweep",
        "markov",
        "--corpus",
        str(small_text),
        "--length",
        "2000000",
        "--grid",
        "order=1,2",
        "--seeds",
        "8",
        "--executor",
        "slurm",
        "--runs-per-task",
        "2",
        "--max-submit",
        "5",
        "--array-parallelism",
        "2",
        "--mail-user",
        "lab@example.org",
        "--mail-type",
        "END,FAIL",
        "--name",
        "ms",
        "--wait",
        cwd=tmp_path,
        check=True,
        timeout=600,
    )
    sweep = tmp_path / "runs/ms"
    ids = job_ids(sweep)
    bases = sorted({job.split("_")[0] for job in ids.values()}, key=int)
    assert len(bases) >= 2 and len(set(ids.values())) == 8, ids  # eight tasks of two runs, in two shares or more
    assert len({job for job in ids.values() if job.split("_")[0] == bases[0]}) == 4, (
        ids
    )  # 5 allowed, 1 kept for the follow-up
    manifest = json.loads((sweep / "sweep.json").read_text())  # the follow-ups noted their shares' jobs there too
    assert {row["name"]: row["job_id"] for row in manifest["runs"]} == ids
    # one mail: only the last array of the last share asks for it, not the first share nor the follow-ups
    assert mailed_jobs(sweep) == {bases[-1]: ["#SBATCH --mail-type=END,FAIL", "#SBATCH --mail-user=lab@example.org"]}
    assert {job for sub in manifest["submissions"] for job in sub["job_ids"]} >= set(ids.values())
    tasks = lambda: [r for b in bases for r in sacct_times(b) if "_" in r[0] and "[" not in r[0]]  # noqa: E731
    wait_until(lambda: len(tasks()) == 8, 60, what="sacct to record all 8 array tasks")
    rows = tasks()
    peak = max(sum(1 for _, s, e in rows if s <= t < e) for _, t, _ in rows)
    assert 1 <= peak <= 2, rows


def test_a_limit_that_leaves_no_room_is_one_error_and_submits_nothing(tmp_path: Path, small_text: Path) -> None:
    proc = seqjobs(
        "sweep",
        "markov",
        "--corpus",
        str(small_text),
        "--grid",
        "order=1,2,3",
        "--executor",
        "slurm",
        "--max-submit",
        "1",
        "--name",
        "none",
        cwd=tmp_path,
        timeout=120,
    )
    assert_one_line_error(proc, "--max-submit allows 1 queued job", "--runs-per-task")
    assert not (tmp_path / "runs/none").exists() or not job_ids(tmp_path / "runs/none")
