"""seqjobs and SLURM through their one seam, :mod:`jobs.scheduler`, answered from the real tools' recorded output.

No cluster needed: :mod:`tests.fake_slurm` answers ``jobs.scheduler.commands.run``
from the transcripts under ``tests/fixtures/slurm/`` (what sacct, squeue,
sinfo, sacctmgr, scontrol and scancel printed on the test cluster). The last
test keeps the seam the only one: nothing else in ``jobs/`` or ``seqtasks/``
runs a SLURM tool.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from jobs import scheduler
from jobs.engine import progressive
from jobs.engine.options import ExecutorOptions
from jobs.scheduler import commands, limits, states
from seqtasks.errors import UserError
from tests import fake_slurm

ROOT = Path(__file__).resolve().parent.parent
TOOLS = {"sbatch", "scontrol", "sacct", "squeue", "sinfo", "sacctmgr", "scancel"}
ARRAY = [f"1814_{i}" for i in range(6)]


def seen(found: dict[str, scheduler.JobInfo]) -> dict[str, str]:
    return {job: info["state"] for job, info in found.items()}


# -- job states -------------------------------------------------------------------------------


def test_a_throttled_array_just_started_is_one_sacct_query(monkeypatch: pytest.MonkeyPatch) -> None:
    """sacct answers for every task with the array's one pending record; slurmdbd has not yet recorded that 1814_0
    started (squeue lists it running), so it reads pending until sacct catches up: both mean "will still run"."""
    fake = fake_slurm.install(monkeypatch, "array-running")
    found = scheduler.job_states([*ARRAY, "1815"])
    assert seen(found) == {**{job: "pending" for job in ARRAY}, "1815": "running"}
    assert found["1814_3"] == {"state": "pending", "node": "None assigned", "source": "sacct"}
    assert fake.calls == [["sacct", "-X", "-n", "-P", "-o", "JobID,State,NodeList", "-j", "1814,1815"]]


def test_completed_failed_running_requeued_and_a_task_cancelled_while_pending(monkeypatch: pytest.MonkeyPatch) -> None:
    """1814_5, cancelled before it started, is in no answer: squeue is asked twice, sacct once more, then it is left
    out ("cannot tell"); 1815, just requeued with scontrol requeue, waits again."""
    fake = fake_slurm.install(monkeypatch, "requeued")
    found = scheduler.job_states([*ARRAY, "1815"])
    assert seen(found) == {
        "1814_0": "completed",
        "1814_1": "failed",
        "1814_2": "running",
        "1814_3": "pending",
        "1814_4": "pending",
        "1815": "pending",
    }
    assert [cmd[0] for cmd in fake.calls] == ["sacct", "squeue", "squeue", "sacct"]
    assert [cmd[-1] for cmd in fake.calls[1:]] == ["1814_5", "1814_5", "1814"]


def test_preempted_array_tasks_read_as_requeued(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_slurm.install(monkeypatch, "preempted")
    assert seen(scheduler.job_states(["1821_0", "1821_1", "1823"])) == {
        "1821_0": "requeued",
        "1821_1": "requeued",
        "1823": "running",
    }


def test_ended_jobs_come_from_sacct_cancelled_included(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_slurm.install(monkeypatch, "ended")
    found = scheduler.job_states(["1814_1", "1814_4", "1815"])
    assert seen(found) == {"1814_1": "failed", "1814_4": "completed", "1815": "cancelled"}


def test_a_pending_element_asked_alone_is_found_through_its_array(monkeypatch: pytest.MonkeyPatch) -> None:
    """``sacct -j 1814_3`` prints nothing while 1814_3 waits, so only the array's own id is asked."""
    fake = fake_slurm.install(monkeypatch, "array-running")
    pending = {"state": "pending", "node": "None assigned", "source": "sacct"}
    assert states.sacct_states(["1814_3"]) == {"1814_3": pending}
    assert fake.calls[0][-1] == "1814"


def test_without_sacct_squeue_answers_one_line_per_element(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_slurm.install(monkeypatch, "requeued", failing={"sacct"})
    found = scheduler.job_states(["1814_2", "1814_3", "1815"])
    assert seen(found) == {"1814_2": "running", "1814_3": "pending", "1815": "pending"}
    assert {info["source"] for info in found.values()} == {"squeue"}
    assert fake.asked("squeue") == [["squeue", "-h", "-r", "-o", "%i|%T|%N", "-j", "1814_2,1814_3,1815"]]


def test_squeue_is_asked_only_for_what_sacct_did_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """While preempted tasks wait for their next attempt, sacct's PREEMPTED answers for them; squeue is not asked."""
    fake = fake_slurm.install(monkeypatch, "preempted")
    scheduler.job_states(["1821_0", "1823"])
    assert fake.asked("squeue") == []


def test_a_job_squeue_no_longer_knows(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_slurm.install(monkeypatch, "gone")
    assert states.squeue_states(["5"]) == {}  # squeue exits 1: nothing queued that we know of
    assert seen(scheduler.job_states(["5"])) == {"5": "completed"}


# -- tools that fail or are missing -----------------------------------------------------------


def test_a_missing_tool_is_no_answer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no SLURM tool (nor anything else) on the PATH
    assert commands.run(["sacct", "-X", "-j", "1"]) is None
    assert commands.run(["sh", "-c", "exit 0"]) is None


def test_a_failing_tool_is_no_answer() -> None:
    assert commands.run(["sh", "-c", "echo partial; exit 1"]) is None
    assert commands.run(["sh", "-c", "echo fine"]) == "fine\n"
    assert commands.run(["sleep", "5"], timeout_s=0.1) is None


def test_without_any_tool_every_question_has_its_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_slurm.install(monkeypatch)  # nothing recorded: every tool fails
    assert scheduler.job_states(["1814_0", "1815"]) == {}
    assert scheduler.slurm_submit_limit("root", None, None) is None
    assert scheduler.queued_jobs("root") == 0
    assert scheduler.slurm_max_array_size() == limits.DEFAULT_MAX_ARRAY
    scheduler.cancel(["1815"])  # nothing to report: status shows what the scheduler says later
    with pytest.raises(UserError, match="'sinfo' failed.*--time"):
        scheduler.slurm_time_limit(None)
    assert {cmd[0] for cmd in fake.calls} == TOOLS - {"sbatch"}


# -- limits -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("partition", "minutes", "source"),
    [
        (None, 60, "partition cpu DefaultTime"),
        ("gpu", 120, "partition gpu DefaultTime"),
        ("urgent", 10, "partition urgent DefaultTime"),
        ("gpu,urgent", 10, "partition urgent DefaultTime"),
    ],
)
def test_time_limits_from_sinfo(
    monkeypatch: pytest.MonkeyPatch,
    partition: str | None,
    minutes: int,
    source: str,
) -> None:
    fake = fake_slurm.install(monkeypatch, "cluster")
    assert scheduler.slurm_time_limit(partition) == scheduler.TimeLimit(minutes, source)
    assert fake.calls == [["sinfo", "-a", "-h", "-o", "%P %L %l"]]


@pytest.mark.parametrize(
    ("partition", "fragment"),
    [("nolimit", "--time MINUTES"), ("gpux", "unknown partition 'gpux'")],
)
def test_time_limits_sinfo_cannot_give(monkeypatch: pytest.MonkeyPatch, partition: str, fragment: str) -> None:
    fake_slurm.install(monkeypatch, "cluster")
    with pytest.raises(UserError, match=fragment):
        scheduler.slurm_time_limit(partition)


@pytest.mark.parametrize(
    ("account", "qos", "limit"),
    [
        (None, None, None),  # the default QOS, normal, sets none
        (None, "normal", None),
        (None, "seqjobs-limited", 12),
        ("seqjobs", "seqjobs-limited", 12),
    ],
)
def test_submit_limits_from_sacctmgr(
    monkeypatch: pytest.MonkeyPatch,
    account: str | None,
    qos: str | None,
    limit: int | None,
) -> None:
    fake = fake_slurm.install(monkeypatch, "cluster")
    found = scheduler.slurm_submit_limit("root", account, qos)
    assert (found and found.jobs) == limit
    assert [cmd[:5] for cmd in fake.calls] == [
        ["sacctmgr", "-n", "-P", "show", "assoc"],
        ["sacctmgr", "-n", "-P", "show", "qos"],
    ]
    assert "user=root" in fake.calls[0]


def test_the_engines_submit_limit_asks_sacctmgr_unless_max_submit_says(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_slurm.install(monkeypatch, "cluster")
    monkeypatch.setattr(progressive.getpass, "getuser", lambda: "root")
    limited = progressive.submit_limit(ExecutorOptions(executor="slurm", qos="seqjobs-limited"))
    assert limited == scheduler.SubmitLimit(12, "QOS seqjobs-limited MaxSubmitJobsPer(User|Account) or GrpSubmitJobs")
    asked = len(fake.calls)
    by_hand = progressive.submit_limit(ExecutorOptions(executor="slurm", max_submit=3))
    assert by_hand == scheduler.SubmitLimit(3, "--max-submit")
    assert len(fake.calls) == asked


def test_queued_jobs_and_array_size(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_slurm.install(monkeypatch, "cluster")
    assert scheduler.queued_jobs("root") == 3  # two array tasks and the urgent job
    assert scheduler.slurm_max_array_size() == 16
    assert fake.calls == [["squeue", "-h", "-r", "-u", "root", "-o", "%i"], ["scontrol", "show", "config"]]


# -- cancel -----------------------------------------------------------------------------------


def test_cancel_builds_scancel(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_slurm.install(monkeypatch, "cancel")
    scheduler.cancel(["1814", "1815", "1820"])
    scheduler.cancel(["1815"], "USR1")
    scheduler.cancel([])
    assert fake.calls == [["scancel", "1814", "1815", "1820"], ["scancel", "--signal=USR1", "1815"]]


# -- the one seam -----------------------------------------------------------------------------


def names_tool(node: ast.AST) -> bool:
    """A string literal that starts with a SLURM tool's name: ``"sacct"``, ``"squeue -u me"``."""
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(TOOLS & set(node.value.split()[:1]))


def stray_commands(source: str) -> list[int]:
    """The lines of ``source`` that build or run a SLURM command other than as :func:`jobs.scheduler.commands.run`'s
    argument: a list or tuple starting with a tool's name given to anything else (or to nothing yet), or a tool's
    name in a call of ``subprocess`` or ``os`` (``os.system("squeue ...")``)."""
    tree = ast.parse(source)
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    through_seam = {id(call.args[0]) for call in calls if call.args and ast.unparse(call.func) == "commands.run"}
    lines = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, (ast.List, ast.Tuple))
        and node.elts
        and names_tool(node.elts[0])
        and id(node) not in through_seam
    ]
    lines += [
        call.lineno
        for call in calls
        if ast.unparse(call.func).split(".")[0] in ("subprocess", "os") and any(names_tool(arg) for arg in call.args)
    ]
    return sorted(lines)


def test_the_seam_check_sees_stray_commands() -> None:
    source = """
subprocess.run(["sacct", "-j", "5"])
os.system("squeue -u me")
cmd = ("scancel", job)
commands.run(["sinfo", "-h"])
shutil.which("sbatch")
raise UserError("sbatch is not on the PATH")
"""
    assert stray_commands(source) == [2, 3, 4]


def test_no_module_outside_the_seam_runs_a_slurm_tool() -> None:
    seam = ROOT / "jobs" / "scheduler"
    files = [p for pkg in ("jobs", "seqtasks") for p in sorted((ROOT / pkg).rglob("*.py")) if seam not in p.parents]
    stray = [f"{p.relative_to(ROOT)}:{line}" for p in files for line in stray_commands(p.read_text())]
    assert stray == []
