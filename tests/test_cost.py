"""What runs spent: elapsed time, CPU- and GPU-hours, from sacct on SLURM and from the run folders locally.

The SLURM side needs no cluster: sacct's answers are the transcripts recorded
on the test cluster (``tests/fixtures/slurm/usage-*.txt``: a GPU array with a
requeued task, a job on two CPUs, a pending array), replayed by
:mod:`tests.fake_slurm`; the run folders are written by hand, as
``tests/test_status_rules.py`` writes them. The last test runs a real sweep on
the test cluster's GPU partition and checks its collected GPU-hours against
what sacct says.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from jobs import scheduler
from jobs.monitor import spend, status
from jobs.monitor.collect import collect, summarise
from jobs.monitor.index import Entry
from jobs.monitor.overview import rung_spending
from jobs.monitor.rows import RunStatus, unreadable_row
from jobs.scheduler import usage
from seqtasks.config import to_dict
from seqtasks.imdb.synthetic import write_csv
from seqtasks.tasks import TASKS
from tests import fake_slurm
from tests.helpers import wait_until
from tests.test_halving import TINY_IMDB

T0 = datetime(2026, 12, 4, 22, 0, tzinfo=timezone.utc)
HOUR = 3600.0


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


# -- sacct's answer ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("00:00:06", 6), ("01:02:03", 3723), ("2-01:00:00", 176400), ("12:34", 754), ("", None), ("INVALID", None)],
)
def test_elapsed_as_sacct_prints_it(text: str, seconds: float | None) -> None:
    assert usage.parse_elapsed(text) == seconds


@pytest.mark.parametrize(
    ("text", "cpus", "gpus"),
    [
        ("billing=1,cpu=1,gres/gpu=1,mem=500M,node=1", 1, 1),
        ("cpu=2,mem=1G,node=1,billing=2,gres/gpu=1", 2, 1),
        ("billing=8,cpu=8,gres/gpu:tesla=2,mem=16G,node=1", 8, 2),  # GPUs accounted by type only
        ("cpu=8,gres/gpu=2,gres/gpu:tesla=2,node=1", 8, 2),  # both: the same two devices, not four
        ("cpu=8,gres/gpu:a100=1,gres/gpu:v100=2", 8, 3),
        ("billing=2,cpu=2,mem=500M,node=1", 2, 0),
        ("", 0, 0),
    ],
)
def test_alloc_tres(text: str, cpus: int, gpus: int) -> None:
    assert usage.parse_tres(text) == (cpus, gpus)


def test_every_attempt_of_a_requeued_job_is_one_query(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_slurm.install(monkeypatch, "usage-ended")
    found = scheduler.job_usage(["2716_0", "2716_1", "2717"])
    assert fake.calls == [["sacct", "-X", "-D", "-n", "-P", "-o", "JobID,Elapsed,AllocTRES", "-j", "2716,2717"]]
    assert found == {
        "2716_0": [usage.Allocation(6.0, 1, 1), usage.Allocation(12.0, 1, 1)],  # requeued, then completed
        "2716_1": [usage.Allocation(12.0, 1, 1)],
        "2717": [usage.Allocation(30.0, 2, 0)],
    }


def test_what_waits_has_spent_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pending array's one record and a requeued task waiting for its next attempt hold no allocation."""
    fake_slurm.install(monkeypatch, "usage-array-pending")
    assert scheduler.job_usage(["2735_0", "2735_1", "2735_2"]) == {"2735_0": [usage.Allocation(3.0, 1, 2)]}
    fake_slurm.install(monkeypatch, "usage-running")
    found = scheduler.job_usage(["2716_0", "2716_2", "2717"])
    assert found == {"2716_0": [usage.Allocation(6.0, 1, 1)], "2716_2": [usage.Allocation(2.0, 1, 1)]}


def test_without_sacct_there_is_no_answer_and_without_jobs_no_question(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_slurm.install(monkeypatch)
    assert scheduler.job_usage(["2716_0"]) is None
    assert scheduler.job_usage([]) == {}
    assert len(fake.calls) == 1


# -- run folders ------------------------------------------------------------------------------


def write(path: Path, obj: dict[str, Any]) -> None:
    path.write_text(json.dumps(obj), encoding="utf-8")


def ended_run(
    folder: Path,
    job: str,
    attempts: list[tuple[float, float]],
    *,
    executor: str = "slurm",
    options: dict[str, Any] | None = None,
    order: int = 1,
) -> Path:
    """A completed Markov run whose attempts (start, end in seconds after T0) all ran in ``job``."""
    folder.mkdir(parents=True)
    config = {**to_dict(TASKS["markov"].config_cls()), "order": order}
    write(folder / "config.json", {"task": "markov", "config": config, "created_at": at(0)})
    history = [
        {"attempt": i + 1, "job_id": job, "started_at": at(s), "ended_at": at(e), "outcome": "requeued"}
        for i, (s, e) in enumerate(attempts)
    ]
    history[-1]["outcome"] = "completed"
    write(
        folder / "state.json",
        {"state": "completed", "attempt": len(attempts), "job_id": job, "host": "vm", "history": history},
    )
    start, end = attempts[-1]
    write(
        folder / "result.json",
        {
            "status": "completed",
            "task": "markov",
            "heldout_bits_per_symbol": 2.5,
            "duration_s": end - start,
            "attempt": len(attempts),
            "ended_at": at(end),
            "host": "vm",
            "job_id": job,
        },
    )
    write(
        folder / "job.json",
        {
            "job_id": job,
            "executor": executor,
            "submitted_at": at(-1),
            "options": {"executor": executor, **(options or {})},
        },
    )
    return folder


@pytest.fixture
def gpu_sweep(tmp_path: Path) -> Path:
    """Four runs of array 2716 and job 2717 as usage-ended.txt recorded them; 2716_0's run was requeued once."""
    sweep = tmp_path / "runs/g"
    gpu = {"partition": "gpu", "gpus_per_node": 1}
    ended_run(sweep / "order=1_seed=0", "2716_0", [(0, 5), (9, 20)], options=gpu)
    ended_run(sweep / "order=1_seed=1", "2716_1", [(0, 11)], options=gpu)
    ended_run(sweep / "order=2_seed=0", "2716_2", [(0, 11)], options=gpu, order=2)
    ended_run(sweep / "order=2_seed=1", "2717", [(0, 29)], options={"cpus_per_task": 2}, order=2)
    return sweep


def spent_as(rows: list[RunStatus], expected: dict[str, tuple[float, float, float]]) -> None:
    """Each run spent (seconds, CPU-hours, GPU-hours) as ``expected`` says."""
    assert sorted(r.run for r in rows) == sorted(expected)
    got = {r.run: (r.spent_s, r.cpu_hours, r.gpu_hours) for r in rows}
    for run, values in expected.items():
        assert got[run] == pytest.approx(values), run


def test_a_sweep_spends_what_sacct_says_its_jobs_held(gpu_sweep: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each requeued attempt counts; the view asks sacct once, about every job of every run, ended ones too."""
    fake = fake_slurm.install(monkeypatch, "usage-ended")
    rows = status.statuses(gpu_sweep)
    assert [cmd[0] for cmd in fake.calls] == ["sacct"] and fake.calls[0][-1] == "2716,2717"
    spent_as(
        rows,
        {
            "order=1_seed=0": (18.0, 18 / HOUR, 18 / HOUR),
            "order=1_seed=1": (12.0, 12 / HOUR, 12 / HOUR),
            "order=2_seed=0": (12.0, 12 / HOUR, 12 / HOUR),
            "order=2_seed=1": (30.0, 60 / HOUR, 0.0),
        },
    )
    assert spend.spent_line(rows) == "0.0117 GPU-h, 0.0283 CPU-h spent"


def test_a_job_sacct_does_not_know_counts_what_its_run_measured(
    gpu_sweep: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sacct down (or not yet told): each attempt's measured time, times the CPUs and GPUs the job asked for."""
    fake_slurm.install(monkeypatch)  # every tool fails
    spent_as(
        status.statuses(gpu_sweep),
        {
            "order=1_seed=0": (16.0, 16 / HOUR, 16 / HOUR),
            "order=1_seed=1": (11.0, 11 / HOUR, 11 / HOUR),
            "order=2_seed=0": (11.0, 11 / HOUR, 11 / HOUR),
            "order=2_seed=1": (29.0, 58 / HOUR, 0.0),
        },
    )


def test_a_packed_job_is_shared_by_its_runs_as_they_measured_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs one after another in job 2717 (``--runs-per-task 2``): its 30 s on 2 CPUs split 1:3, summing to it."""
    sweep = tmp_path / "runs/p"
    ended_run(sweep / "order=1", "2717", [(1, 6)])
    ended_run(sweep / "order=2", "2717", [(7, 22)], order=2)
    fake_slurm.install(monkeypatch, "usage-ended")
    spent_as(status.statuses(sweep), {"order=1": (7.5, 15 / HOUR, 0.0), "order=2": (22.5, 45 / HOUR, 0.0)})


def test_collect_has_a_column_each_and_the_summary_sums_them_over_seeds(
    gpu_sweep: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_slurm.install(monkeypatch, "usage-ended")
    runs = collect([gpu_sweep], per_epoch=False).runs.set_index("run")
    assert runs.loc["order=1_seed=0", list(spend.COLUMNS)].tolist() == pytest.approx([18.0, 18 / HOUR, 18 / HOUR])
    summary = summarise(runs.reset_index()).set_index("order")
    assert summary.loc["1", "gpu_hours_sum"] == pytest.approx(30 / HOUR)
    assert summary.loc["2", ["elapsed_s_sum", "cpu_hours_sum"]].tolist() == pytest.approx([42.0, 72 / HOUR])


def test_an_older_table_without_the_columns_still_summarises() -> None:
    table = pd.DataFrame({"task": ["markov"] * 2, "order": [1, 2], "seed": [0, 0], "heldout_bits_per_symbol": [2, 3]})
    assert not [c for c in summarise(table).columns if c.endswith("_sum")]


# -- local runs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("executor", "options", "expected"),
    [
        ("local", {"cpus_per_task": 4}, (4, 0)),
        ("local", {"array_parallelism": 1}, (os.cpu_count() or 1, 0)),  # one worker: the whole machine
        ("local", {}, (1, 0)),  # a worker per core
        ("local", {"gpus_per_node": 1}, (1, 1)),
        ("local", {"cpus_per_task": True, "gpus_per_node": "2"}, (1, 0)),  # a damaged job.json gives nothing
        ("slurm", {"gres": "gpu:tesla:2"}, (1, 2)),
        ("slurm", {"gres": "gpu:1", "cpus_per_task": 8}, (8, 1)),
        ("debug", {"gpus_per_node": 1}, (os.cpu_count() or 1, 0)),  # in-process: the machine, no GPU given
        ("run", {}, (os.cpu_count() or 1, 0)),
    ],
)
def test_what_a_job_had(executor: str, options: dict[str, Any], expected: tuple[int, int]) -> None:
    assert spend.resources(executor, options) == expected


def test_a_local_run_spends_its_attempts_times_its_cores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Measured: each attempt's start to end (a run requeued once), times --cpus-per-task; no sacct asked."""
    fake = fake_slurm.install(monkeypatch)
    run = ended_run(
        tmp_path / "runs/l/order=1", "4242", [(0, 40), (50, 130)], executor="local", options={"cpus_per_task": 3}
    )
    [row] = status.statuses(run.parent)
    assert (row.spent_s, row.cpu_hours, row.gpu_hours) == pytest.approx((120.0, 360 / HOUR, 0.0))
    assert fake.calls == []


# -- halving ----------------------------------------------------------------------------------


def halving_row(run: str, rung: str, epoch: int, cpu_hours: float) -> RunStatus:
    row = unreadable_row(Path(run), "", state="completed", task="imdb")
    row.rung, row.rung_epochs, row.epoch = rung, [1, 3, 9], epoch
    row.spent_s, row.cpu_hours, row.gpu_hours = cpu_hours * HOUR, cpu_hours, 0.0
    return row


def test_a_halving_sweep_shows_each_rungs_spending_beside_its_full_grid() -> None:
    """Two runs stopped at rung 0 (1 epoch), one at rung 1 (3 epochs), one final (9), one not started. Each run's
    hours split by the epochs it trained in each rung; the full grid is every run to epoch 9 at its own cost per
    epoch."""
    rows = [
        halving_row("a", "0 stopped", 1, 1.0),
        halving_row("b", "0 stopped", 1, 2.0),
        halving_row("c", "1 stopped", 3, 3.0),
        halving_row("d", "2 final", 9, 9.0),
        halving_row("e", "0 training", 0, 0.0),  # not started: the others' mean cost per epoch
    ]
    line = rung_spending(rows)
    # rung 0: 1 + 2 + 1 + 1; rung 1: 2 + 2; rung 2: 6. Grid: (1 + 2 + 1 + 1 + 1.25) x 9
    assert (
        line == "spent: rung 0 5 CPU-h, rung 1 4 CPU-h, rung 2 6 CPU-h; 15 CPU-h in all, against ~56.2 CPU-h for "
        "the full grid (every run to its last rung)"
    )
    assert rung_spending([r for r in rows if not r.rung_epochs]) == ""


# -- the index of ended runs ------------------------------------------------------------------


def test_the_index_keeps_what_a_run_measured_and_checks_it(tmp_path: Path) -> None:
    row = unreadable_row(tmp_path, "", state="completed", task="markov")
    measured = spend.Measured(executor="slurm", cpus=1, gpus=1, attempts=[["2716_0", 5.0], ["2716_0", 11.0]])
    kept = Entry.from_dict(Entry(status=row, measured=measured).to_dict([]))
    assert kept.measured == measured
    for bad in ({"executor": "slurm", "cpus": -1, "gpus": 0, "attempts": []}, {"attempts": [["x", "5"]]}, [1]):
        with pytest.raises(ValueError):
            spend.Measured.from_dict(bad)


# -- the real cluster -------------------------------------------------------------------------


#: sacct states of a job that has not ended
ACTIVE_SLURM = {"PENDING", "RUNNING", "REQUEUED", "COMPLETING", "CONFIGURING", "SUSPENDED", "RESIZING"}


def sacct_ended(job_ids: set[str]) -> bool:
    """Has sacct recorded an end state for every one of the jobs (none pending, running or completing)?"""
    bases = ",".join(sorted({j.split("_")[0] for j in job_ids}))
    out = subprocess.run(
        ["sacct", "-X", "-D", "-n", "-P", "-o", "JobID,State", "-j", bases], capture_output=True, text=True, check=True
    ).stdout
    states = {job: state for job, _, state in (line.partition("|") for line in out.splitlines()) if job in job_ids}
    return set(states) == job_ids and not any(state.split()[0] in ACTIVE_SLURM for state in states.values())


def sacct_gpu_hours(job_ids: set[str]) -> float:
    """GPU-hours of every allocation of the given jobs, as sacct itself reports them (ElapsedRaw, in seconds)."""
    bases = ",".join(sorted({j.split("_")[0] for j in job_ids}))
    out = subprocess.run(
        ["sacct", "-X", "-D", "-n", "-P", "-o", "JobID,ElapsedRaw,AllocTRES", "-j", bases],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    total = 0.0
    for line in out.splitlines():
        job, seconds, tres = line.split("|")
        if job in job_ids:
            total += int(seconds) * usage.parse_tres(tres)[1] / HOUR
    return total


@pytest.mark.slurm
@pytest.mark.slow
def test_a_gpu_sweeps_collected_gpu_hours_are_what_sacct_says(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tiny IMDB sweep of three runs on the test cluster's gpu partition (two stand-in GPUs: two runs at a time),
    each job holding its GPU for seconds at least (TensorFlow's import): what collect sums is what sacct says."""
    monkeypatch.chdir(tmp_path)
    data = write_csv(tmp_path / "reviews.csv", 200, median_len=12, seed=1, signal=0.4)
    done = cli(
        "sweep", "imdb", "--dataset", str(data), *TINY_IMDB, "--limit", "100", "--epochs", "1",
        "--grid", "lr=0.001,0.003,0.01", "--executor", "slurm", "--partition", "gpu", "--gpus-per-node", "1",
        "--cpus-per-task", "1", "--name", "gpu", "--wait",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    sweep = tmp_path / "runs/gpu"
    jobs = {json.loads((run / "job.json").read_text())["job_id"] for run in sweep.glob("lr=*")}
    assert len(jobs) == 3
    # --wait returns once the run folders say so; a job may still be ending, its Elapsed still counting
    wait_until(lambda: sacct_ended(jobs), 120, 0.5, "sacct to record every job ended")
    expected = sacct_gpu_hours(jobs)
    assert expected > 0
    collected = cli("collect", str(sweep), "-o", str(tmp_path / "gpu.csv"))
    assert collected.exit_code == 0, collected.output
    table = pd.read_csv(tmp_path / "gpu.csv")
    assert table["gpu_hours"].sum() == pytest.approx(expected, abs=1e-9)
    assert (table["cpu_hours"] >= table["gpu_hours"]).all()  # one CPU beside each GPU
    shown = cli("status", str(sweep))
    assert " GPU-h, " in shown.stdout.splitlines()[0] and shown.stdout.splitlines()[0].endswith(" CPU-h spent")
