"""Halving sweeps on the real test cluster: promotion jobs behind each rung, nobody watching from the login node.

Marked ``slurm``. 4 configurations, eta 2, epochs 1 -> 2: rung 0 is a job
array of 4 runs, then a promotion job (``seqjobs-promote``, ``afterany``)
decides and submits rung 1 (2 runs) and its own promotion job, which ends
the sweep. Nothing here depends on the machine's pace.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from seqtasks.imdb.synthetic import write_csv
from tests.helpers import (
    MAIL_LINES,
    REPO,
    mailed_jobs,
    preempt_cpu_jobs,
    read_state,
    seqjobs,
    sweep_story,
    wait_until,
)
from tests.test_halving import TINY_IMDB, epochs_in, halving_of
from tests.test_slurm import sacct_field

pytestmark = pytest.mark.slurm


def start_and_kill(tmp_path: Path, name: str, *extra: str) -> Path:
    """Start the halving sweep in a session of its own, wait for it to return, then kill whatever that session left."""
    data = write_csv(tmp_path / "reviews.csv", 300, median_len=12, seed=1, signal=0.4)
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jobs",
            "sweep",
            "imdb",
            "--dataset",
            str(data),
            *TINY_IMDB,
            "--limit",
            "200",
            "--grid",
            "lr=0.001,0.003,0.01,0.03",
            "--halving",
            "--min-epochs",
            "1",
            "--max-epochs",
            "2",
            "--eta",
            "2",
            "--executor",
            "slurm",
            "--name",
            name,
            *extra,
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "submitted rung 0 (4 runs)" in out, out + err
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the submitting shell is gone, with anything it left behind
    except ProcessLookupError:
        pass
    return tmp_path / "runs" / name


def assert_completed(sweep: Path) -> dict[str, Any]:
    """The sweep ends by itself: rung 0 of 4, rung 1 of the best 2, each decided by a promotion job that completed."""
    wait_until(
        lambda: halving_of(sweep)["completed_at"],
        900,
        interval=2,
        what=lambda: f"the halving sweep to complete: {json.dumps(halving_of(sweep), indent=1)}",
    )
    record = halving_of(sweep)
    assert [(r["rung"], r["epochs"], len(r["runs"])) for r in record["rungs"]] == [(0, 1, 4), (1, 2, 2)]
    assert record["rungs"][1]["runs"] == record["rungs"][0]["promoted"]
    for rung in record["rungs"]:
        job = rung["promotion_job"]
        assert job["executor"] == "slurm" and job["after"], rung
        wait_until(
            lambda: (
                sacct_field(job["job_id"], "JobName") == ["seqjobs-promote"]
                and sacct_field(job["job_id"], "State") == ["COMPLETED"]
            ),
            120,
            what=lambda: (
                f"sacct to record promotion job {job['job_id']} completed: {sacct_field(job['job_id'], 'State')}"
            ),
        )
    # promoted runs resumed to 2 epochs (epoch 1 trained once); stopped runs trained rung 0's one epoch
    for rung, key, epochs in ((1, "runs", [1, 2]), (0, "stopped", [1])):
        for run in record["rungs"][rung][key]:
            trained = epochs_in(sweep / run) if (sweep / run / "metrics.csv").exists() else []
            # a run that trained nothing (seen once, on a loaded machine): where it stood, and every job's log
            assert trained == epochs, f"{run}: {read_state(sweep / run)}\n{sweep_story(sweep)}"
    return record


def test_a_halving_sweep_completes_with_the_submitting_process_gone(tmp_path: Path) -> None:
    """With --mem: rung 1, submitted from inside the promotion job, must not inherit that job's SLURM_MEM_PER_CPU.

    With --mail-user: one mail, from the promotion job behind the last rung (the job that ends the sweep)."""
    sweep = start_and_kill(tmp_path, "gone", "--mem", "1G", "--mail-user", "lab@example.org")
    record = assert_completed(sweep)
    assert mailed_jobs(sweep) == {record["rungs"][-1]["promotion_job"]["job_id"]: MAIL_LINES}
    # what each rung spent, from sacct's Elapsed x AllocTRES, beside what the full grid would have
    shown = seqjobs("status", str(sweep), cwd=tmp_path, check=True).stdout
    spent = re.search(
        r"spent: rung 0 (\S+) CPU-h, rung 1 (\S+) CPU-h; (\S+) CPU-h in all, against ~(\S+) CPU-h for the full grid",
        shown,
    )
    assert spent, shown
    rung0, rung1, total, grid = (float(x.replace(",", "")) for x in spent.groups())
    assert rung0 > 0 and rung1 > 0 and abs(rung0 + rung1 - total) <= 0.002 * total + 0.001, shown
    assert grid > total, shown  # the two runs stopped at rung 0 would have trained a second epoch


def test_a_halving_sweep_completes_with_a_rung_job_preempted(tmp_path: Path) -> None:
    """The 'urgent' partition takes every core while rung 0's array runs: its tasks are requeued, and the
    promotion job decides only once they have ended (afterany waits for requeued tasks)."""
    sweep = start_and_kill(tmp_path, "preempted")
    array = halving_of(sweep)["rungs"][0]["job_ids"][0]
    # a run, not only its task, has started: a signal that lands while Python still imports TensorFlow, before
    # submitit has its handler, ends the task as FAILED instead of requeued (it did once, on a loaded machine)
    wait_until(
        lambda: any(read_state(run).get("state") == "running" for run in sweep.iterdir() if run.is_dir()),
        300,
        interval=0.2,
        what="a run of rung 0 to start",
    )
    urgent = preempt_cpu_jobs()
    wait_until(
        lambda: "PREEMPTED" in sacct_field(array, "State") or "REQUEUED" in " ".join(_all_states(array)),
        300,
        what=lambda: f"a task of rung 0 to be preempted (sacct: {_all_states(array)})",
    )
    assert halving_of(sweep)["rungs"][0]["decided_at"] is None
    record = assert_completed(sweep)
    assert sacct_field(urgent, "State") == ["COMPLETED"]
    rung0 = record["rungs"][0]
    assert rung0["failed"] == [] and None not in rung0["scores"].values(), rung0  # decided once all had ended


def _all_states(job: str) -> list[str]:
    """Every state sacct keeps of ``job``'s tasks, requeued attempts included (``-D``)."""
    out = subprocess.run(
        ["sacct", "-X", "-D", "-n", "-P", "-o", "State", "-j", job], capture_output=True, text=True, check=True
    ).stdout
    return out.split()
