"""How a sweep is cut to fit the cluster's limits, without a cluster: packing, the share submitted now,
the follow-up job that submits the rest, and the submit limit read from recorded sacctmgr output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jobs import scheduler
from jobs.engine import progressive
from jobs.engine.arrays import chunks
from jobs.engine.jobfn import RunSpec
from jobs.engine.options import ExecutorOptions
from jobs.scheduler import SubmitLimit, commands, limits
from seqtasks.errors import UserError

#: sacctmgr -n -P show assoc user=root format=Account,Partition,MaxSubmit,QOS,DefaultQOS (test cluster)
ASSOC = "seqjobs|||normal,seqjobs-limited|\nroot|||normal,seqjobs-limited|\n"
#: sacctmgr -n -P show qos format=Name,MaxSubmitPU,MaxSubmitPA
QOS = "normal||\nseqjobs-limited|12|\n"


@pytest.mark.parametrize(
    ("tasks", "limit", "queued", "now"),
    [
        (40, None, 500, 40),  # no limit: everything at once
        (12, 12, 0, 12),  # fits exactly: no follow-up needed
        (40, 12, 0, 11),  # one place kept for the follow-up
        (40, 12, 5, 6),  # jobs already queued take their places
        (40, 12, 11, 0),  # room for the follow-up alone: it tries again later
        (0, 12, 0, 0),
    ],
)
def test_the_share_submitted_now(tasks: int, limit: int | None, queued: int, now: int) -> None:
    cap = SubmitLimit(limit, "QOS q MaxSubmitJobsPerUser") if limit is not None else None
    assert progressive.tasks_now(tasks, cap, queued) == now


def test_no_room_at_all_is_one_line_that_names_the_limit() -> None:
    with pytest.raises(UserError, match="12 of your jobs are queued and QOS q MaxSubmitJobsPerUser allows 12"):
        progressive.tasks_now(3, SubmitLimit(12, "QOS q MaxSubmitJobsPerUser"), 12)


def test_a_limit_of_one_job_leaves_no_room_for_the_follow_up() -> None:
    with pytest.raises(UserError, match="--max-submit allows 1 queued job"):
        progressive.tasks_now(3, SubmitLimit(1, "--max-submit"), 0)
    assert progressive.tasks_now(1, SubmitLimit(1, "--max-submit"), 0) == 1  # fits: no follow-up needed


def test_limits_read_from_sacctmgr() -> None:
    assoc, qos = limits.parse_associations(ASSOC), limits.parse_qos_limits(QOS)
    assert qos == {"normal": [], "seqjobs-limited": [12]}
    assert limits.submit_limit(assoc, qos, None, "seqjobs-limited").jobs == 12
    assert limits.submit_limit(assoc, qos, None, None) is None  # no --qos, two allowed, no default: none known
    assert limits.submit_limit(assoc, qos, "seqjobs", "normal") is None


def test_the_smallest_of_association_and_qos_limits_applies() -> None:
    assoc = limits.parse_associations("lab||300|normal,big|big\nother||5|normal|\n")
    qos = limits.parse_qos_limits("normal|1000|\nbig|2000|250\n")
    assert limits.submit_limit(assoc, qos, "lab", None) == SubmitLimit(
        250, "QOS big MaxSubmitJobsPer(User|Account) or GrpSubmitJobs"
    )
    assert limits.submit_limit(assoc, qos, "lab", "normal") == SubmitLimit(300, "association lab MaxSubmitJobs")
    assert limits.submit_limit(assoc, qos, None, "normal").jobs == 5  # any of the user's accounts: the smallest


def test_group_submit_limits_count_too() -> None:
    """GrpSubmitJobs of the association or of the QOS bounds the user's jobs as the per-user limits do."""
    assoc = limits.parse_associations("lab||300|normal|normal|40\n")
    qos = limits.parse_qos_limits("normal|1000||25\n")
    assert limits.submit_limit(assoc, {}, "lab", None) == SubmitLimit(40, "association lab GrpSubmitJobs")
    assert limits.submit_limit(assoc, qos, "lab", None) == SubmitLimit(
        25, "QOS normal MaxSubmitJobsPer(User|Account) or GrpSubmitJobs"
    )


def test_max_submit_overrides_the_scheduler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands, "run", lambda cmd: pytest.fail(f"asked {cmd}"))
    assert progressive.submit_limit(ExecutorOptions(executor="slurm", max_submit=7)) == SubmitLimit(7, "--max-submit")


class FakeJob:
    def __init__(self, job_id: str) -> None:
        self.job_id = job_id


class FakeCluster:
    """Stands in for sbatch: array tasks and follow-up jobs get ids, the follow-ups are kept to be run."""

    def __init__(self) -> None:
        self.next_id = 100
        self.arrays: list[int] = []  # tasks per submission step
        self.last_shares: list[bool] = []  # per submission step: the sweep's last share (its arrays carry the mail)
        self.follow_ups: list[tuple[progressive.NextStep, list[str]]] = []

    def submit_tasks(
        self, groups: list[list[RunSpec]], opts: ExecutorOptions, log_root: Path, code: Any, *, last_share: bool
    ) -> list[Any]:
        self.arrays.append(len(groups))
        self.last_shares.append(last_share)
        self.next_id += 1
        return [(group, FakeJob(f"{self.next_id}_{i}")) for i, group in enumerate(groups)]

    def submit_next(
        self, step: progressive.NextStep, opts: ExecutorOptions, log_root: Path, after: list[str], code: Any
    ) -> FakeJob:
        self.follow_ups.append((step, after))
        self.next_id += 1
        return FakeJob(str(self.next_id))


def specs(n: int) -> list[RunSpec]:
    return [RunSpec("markov", {"order": 1}, f"runs/s/r{i}") for i in range(n)]


def test_a_sweep_over_the_limit_goes_in_share_by_share(monkeypatch: pytest.MonkeyPatch) -> None:
    """45 runs, 2 per task (23 tasks), 10 jobs allowed: 9 tasks + a follow-up, then 9 + one, then the last 5."""
    cluster = FakeCluster()
    monkeypatch.setattr(progressive, "_submit_tasks", cluster.submit_tasks)
    monkeypatch.setattr(progressive, "_submit_next_step", cluster.submit_next)
    monkeypatch.setattr(progressive, "own_job_id", lambda: "the follow-up")
    monkeypatch.setattr(progressive, "waiting_for", lambda spec, job_id: spec.run_dir != "runs/s/r44")
    monkeypatch.setattr(scheduler, "queued_jobs", lambda user: 0)
    opts = ExecutorOptions(executor="slurm", max_submit=10, runs_per_task=2)
    placed = progressive.submit_slurm(chunks(specs(45), 2), opts, Path("runs/s"), {})
    assert cluster.arrays == [9]
    assert [len(runs) for runs, _ in placed] == [2] * 9 + [27]  # the follow-up holds every run not yet submitted
    step, after = cluster.follow_ups[-1]
    assert after == ["101"] and placed[-1][1].job_id == "102"
    submitted = []
    monkeypatch.setattr(
        progressive, "record_jobs", lambda placed, options, submitted_at: submitted.append(placed) or {}
    )
    while cluster.follow_ups:  # each follow-up job runs once its share has ended
        step, _ = cluster.follow_ups.pop()
        step()
    assert cluster.arrays == [9, 9, 4]  # r44 was cancelled meanwhile: the last task holds r42, r43 only
    assert cluster.last_shares == [False, False, True]
    runs = [spec.run_dir for placed in submitted for group, job in placed if "_" in job.job_id for spec in group]
    assert runs == [f"runs/s/r{i}" for i in range(18, 44)]
