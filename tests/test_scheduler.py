"""What seqjobs reads from and writes to SLURM, checked against recorded scheduler output.

No cluster needed: the fixtures below are what Slurm 22.05 printed on the
test cluster of slurm/start-cluster.sh (``sacct -X -n -P -o JobID,State,NodeList``,
``squeue -h -r -o "%i|%T|%N"``, ``sinfo -a -h -o "%P %L %l"``), and the sbatch
scripts are the text submitit would submit. The questions seqjobs asks the
tools (sacct, then squeue...) are checked in test_scheduler_seam.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest
from submitit.slurm.slurm import _make_sbatch_string

from jobs.engine import arrays, executors, jobfn, submission
from jobs.engine.jobfn import RunSpec
from jobs.engine.options import ExecutorOptions
from jobs.scheduler import commands, limits, states
from seqtasks.errors import UserError

# -- recorded output --------------------------------------------------------------------------

#: array 8 (0-7%1, task 1 exits 3) and job 9, with 8_2 just started: sacct still prints the
#: array's pending record from 8_2 on
SACCT_ARRAY_RUNNING = """\
9|RUNNING|vm
8_0|COMPLETED|vm
8_1|FAILED|vm
8_2|RUNNING|vm
8_[2-7%1]|PENDING|None assigned
"""
#: the same a little later, 8_5 cancelled while pending (it leaves no record at all)
SACCT_ARRAY_LATER = """\
9|CANCELLED by 0|vm
8_0|COMPLETED|vm
8_1|FAILED|vm
8_2|COMPLETED|vm
8_3|COMPLETED|vm
8_[4,6-7%1]|PENDING|None assigned
"""
#: ``squeue -r -j 8_2,8_3,8_6,9``: one line per element
SQUEUE_R = """\
8_3|PENDING|
8_6|PENDING|
8_2|RUNNING|vm
9|RUNNING|vm
"""
#: squeue without -r: the pending part of the array on one line
SQUEUE_GROUPED = """\
8_[3-7%1]|PENDING|
8_2|RUNNING|vm
9|RUNNING|vm
"""
#: the test cluster's partitions
SINFO = """\
cpu* 1:00:00 infinite
gpu 2:00:00 infinite
urgent 10:00 infinite
nolimit n/a infinite
"""
#: the same after scontrol update: a default of days, and a MaxTime without a DefaultTime
SINFO_DAYS = """\
cpu* 1:00:00 infinite
gpu 2:00:00 infinite
urgent 1-12:00:00 7-00:00:00
nolimit n/a 2-00:00:00
"""


# -- job states -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("PENDING", "pending"),
        ("RUNNING", "running"),
        ("COMPLETING", "running"),
        ("COMPLETED", "completed"),
        ("CANCELLED by 0", "cancelled"),
        ("CANCELLED+", "cancelled"),
        ("FAILED", "failed"),
        ("TIMEOUT", "failed"),
        ("OUT_OF_MEMORY", "failed"),
        ("NODE_FAIL", "failed"),
        ("REQUEUED", "requeued"),
        ("PREEMPTED", "requeued"),
        ("running", "running"),
        ("  RUNNING  ", "running"),
        ("SPECIAL_EXIT", "unknown"),
        ("", "unknown"),
    ],
)
def test_states_are_normalised(raw: str, state: str) -> None:
    assert states.normalise(raw) == state


@pytest.mark.parametrize(
    ("job_id", "ids"),
    [
        ("75", ["75"]),
        ("75_3", ["75_3"]),
        ("75_[3-5%1]", ["75_3", "75_4", "75_5"]),
        ("8_[4,6-7%1]", ["8_4", "8_6", "8_7"]),
        ("8_[2]", ["8_2"]),
    ],
)
def test_array_records_expand_to_their_elements(job_id: str, ids: list[str]) -> None:
    assert states.expand_ids(job_id) == ids


def test_sacct_element_lines_win_over_the_arrays_pending_record() -> None:
    wanted = {f"8_{i}" for i in range(8)} | {"9"}
    found = states.parse_states(SACCT_ARRAY_RUNNING, wanted, "sacct")
    assert {j: i["state"] for j, i in found.items()} == {
        "9": "running",
        "8_0": "completed",
        "8_1": "failed",
        "8_2": "running",
        "8_3": "pending",
        "8_4": "pending",
        "8_5": "pending",
        "8_6": "pending",
        "8_7": "pending",
    }
    assert found["8_2"] == {"state": "running", "node": "vm", "source": "sacct"}
    assert found["8_3"]["node"] == "None assigned"


def test_sacct_parsing_keeps_only_the_wanted_ids() -> None:
    found = states.parse_states(SACCT_ARRAY_LATER, {"8_3", "8_5", "8_6", "9", "10"}, "sacct")
    assert {j: i["state"] for j, i in found.items()} == {"8_3": "completed", "8_6": "pending", "9": "cancelled"}


@pytest.mark.parametrize("text", [SQUEUE_R, SQUEUE_GROUPED])
def test_squeue_parsing_with_and_without_one_line_per_element(text: str) -> None:
    found = states.parse_states(text, {"8_2", "8_3", "8_6", "9"}, "squeue")
    expected = {"8_2": "running", "8_3": "pending", "8_6": "pending", "9": "running"}
    assert {j: i["state"] for j, i in found.items()} == expected
    assert all(i["source"] == "squeue" for i in found.values())


def test_malformed_lines_are_skipped() -> None:
    text = "garbage\n\n8_3|PENDING\n8_4|PENDING|\n"
    found = states.parse_states(text, {"8_3", "8_4"}, "sacct")
    assert found == {"8_4": {"state": "pending", "node": "", "source": "sacct"}}


# -- time limits ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("10:00", 10),  # M:S
        ("1:00:00", 60),  # H:M:S
        ("2:30:00", 150),
        ("1-12:00:00", 2160),  # D-H:M:S
        ("7-00:00:00", 10080),
        ("1-12", 2160),  # D-H
        ("1-00:30", 1470),  # D-H:M
        ("45", 45),  # M
        ("infinite", None),
        ("UNLIMITED", None),
        ("n/a", None),
        ("NONE", None),
        ("soon", None),
    ],
)
def test_slurm_durations_in_minutes(text: str, minutes: Optional[int]) -> None:
    assert limits.parse_minutes(text) == minutes


def test_partitions_from_sinfo() -> None:
    parts = limits.parse_partitions(SINFO)
    assert list(parts) == ["cpu", "gpu", "urgent", "nolimit"]
    assert parts["cpu"] == limits.Partition("cpu", 60, None, True)
    assert parts["urgent"] == limits.Partition("urgent", 10, None, False)
    assert parts["nolimit"] == limits.Partition("nolimit", None, None, False)
    days = limits.parse_partitions(SINFO_DAYS)
    assert days["urgent"] == limits.Partition("urgent", 2160, 10080, False)
    assert days["nolimit"] == limits.Partition("nolimit", None, 2880, False)


@pytest.mark.parametrize(
    ("sinfo", "partition", "minutes", "source"),
    [
        (SINFO, None, 60, "partition cpu DefaultTime"),  # the default partition (cpu*)
        (SINFO, "gpu", 120, "partition gpu DefaultTime"),
        (SINFO_DAYS, "urgent", 2160, "partition urgent DefaultTime"),
        (SINFO_DAYS, "nolimit", 2880, "partition nolimit MaxTime"),  # no DefaultTime: MaxTime
        (SINFO, "gpu,cpu", 60, "partition cpu DefaultTime"),  # a list: the smallest fits every one
    ],
)
def test_time_limit_is_the_partitions_own(sinfo: str, partition: Optional[str], minutes: int, source: str) -> None:
    limit = limits.partition_time_limit(limits.parse_partitions(sinfo), partition)
    assert limit == limits.TimeLimit(minutes, source)


@pytest.mark.parametrize(
    ("sinfo", "partition", "fragments"),
    [
        (SINFO, "nolimit", ["partition nolimit has neither a default nor a maximum time limit", "--time"]),
        (SINFO, "cpu,nolimit", ["partition nolimit", "--time"]),
        (SINFO, "gpux", ["unknown partition 'gpux'", "cpu, gpu, urgent, nolimit", "--partition"]),
        (SINFO.replace("cpu*", "cpu"), None, ["no default partition", "--partition"]),
    ],
)
def test_time_limit_errors_say_what_to_give(sinfo: str, partition: Optional[str], fragments: list[str]) -> None:
    with pytest.raises(UserError) as err:
        limits.partition_time_limit(limits.parse_partitions(sinfo), partition)
    message = str(err.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_time_limit_without_sinfo_asks_for_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands, "run", lambda cmd: None)
    with pytest.raises(UserError, match="--time"):
        limits.slurm_time_limit(None)


def test_submission_time_limit_and_its_source(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[list[str]] = []

    def sinfo(cmd: list[str]) -> str:
        asked.append(cmd)
        return SINFO

    monkeypatch.setattr(commands, "run", sinfo)
    slurm = ExecutorOptions(executor="slurm")
    assert submission.time_limit(slurm) == limits.TimeLimit(60, "partition cpu DefaultTime")
    assert asked == [["sinfo", "-a", "-h", "-o", "%P %L %l"]]
    given = submission.time_limit(ExecutorOptions(executor="slurm", partition="gpu", time=7))
    assert given == limits.TimeLimit(7, "--time")
    assert submission.time_limit(ExecutorOptions(executor="local")).minutes == executors.LOCAL_DEFAULT_MINUTES
    assert submission.time_limit(ExecutorOptions(executor="debug")) is None
    assert len(asked) == 1  # only a SLURM job without --time asks the scheduler
    with pytest.raises(UserError, match="--time"):
        submission.time_limit(ExecutorOptions(executor="slurm", partition="nolimit"))


# -- sbatch parameters ------------------------------------------------------------------------


def sbatch_lines(opts: ExecutorOptions, tmp_path: Path) -> list[str]:
    """The ``#SBATCH`` lines submitit would write for ``opts``."""
    text = _make_sbatch_string(command="true", folder=tmp_path, **executors.slurm_parameters(opts))
    return [line for line in text.splitlines() if line.startswith("#SBATCH")]


def test_every_set_option_becomes_its_sbatch_line(tmp_path: Path) -> None:
    opts = ExecutorOptions(
        executor="slurm",
        partition="gpu",
        gpus_per_node=2,
        gres="gpu:1",
        cpus_per_task=4,
        mem="8G",
        time=90,
        qos="high",
        account="lab",
        constraint="a100",
        exclude="node[1-2]",
        signal_delay=120,
    )
    lines = sbatch_lines(opts, tmp_path)
    for line in [
        "#SBATCH --partition=gpu",
        "#SBATCH --gpus-per-node=2",
        "#SBATCH --gres=gpu:1",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --mem=8G",
        "#SBATCH --time=90",
        "#SBATCH --qos=high",
        "#SBATCH --account=lab",
        "#SBATCH --constraint=a100",
        "#SBATCH --exclude='node[1-2]'",
        "#SBATCH --signal=USR2@120",
        "#SBATCH --job-name=seqjobs",
    ]:
        assert line in lines, (line, lines)


def test_unset_options_leave_the_scheduler_its_defaults(tmp_path: Path) -> None:
    lines = sbatch_lines(ExecutorOptions(executor="slurm", time=30), tmp_path)
    assert "#SBATCH --time=30" in lines
    for flag in (
        "--partition",
        "--gpus-per-node",
        "--gres",
        "--cpus-per-task",
        "--mem",
        "--qos",
        "--account",
        "--constraint",
        "--exclude",
        "--dependency",
    ):
        assert not any(line.startswith(f"#SBATCH {flag}=") for line in lines), (flag, lines)


def test_without_time_the_partitions_limit_is_written_not_submitits_five_minutes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """submitit writes ``--time=5`` unless told: a job must not be killed after five minutes for want of ``--time``."""
    monkeypatch.setattr(commands, "run", lambda cmd: SINFO)
    assert "#SBATCH --time=120" in sbatch_lines(ExecutorOptions(executor="slurm", partition="gpu"), tmp_path)
    assert "#SBATCH --time=60" in sbatch_lines(ExecutorOptions(executor="slurm"), tmp_path)


def test_array_parallelism_throttles_the_array(tmp_path: Path) -> None:
    params = executors.slurm_parameters(ExecutorOptions(executor="slurm", time=10, array_parallelism=2))
    text = _make_sbatch_string(command="true", folder=tmp_path, map_count=6, **params)
    assert "#SBATCH --array=0-5%2" in text.splitlines()


# -- arrays and chaining ----------------------------------------------------------------------


@dataclass
class FakeJob:
    job_id: str


class FakeArrays:
    """Stands in for sbatch: array ``100 + n`` for the n-th submission, remembering each one."""

    def __init__(self) -> None:
        self.submitted: list[tuple[list[str], Optional[str]]] = []
        self.ends: list[bool] = []

    def __call__(self, chunk: list[RunSpec], dependency: Optional[str], ends: bool) -> list[FakeJob]:
        base = 100 + len(self.submitted)
        self.submitted.append(([Path(s.run_dir).name for s in chunk], dependency))
        self.ends.append(ends)
        if len(chunk) == 1:
            return [FakeJob(str(base))]  # submitit submits a one-job batch as a plain job
        return [FakeJob(f"{base}_{i}") for i in range(len(chunk))]


def specs(n: int) -> list[RunSpec]:
    return [RunSpec("markov", {"order": i}, f"runs/s/r{i}") for i in range(n)]


@pytest.mark.parametrize(
    ("n", "max_array", "sizes"),
    [(3, 16, [3]), (16, 16, [16]), (17, 16, [16, 1]), (20, 16, [16, 4]), (33, 16, [16, 16, 1]), (5, 1, [1] * 5)],
)
def test_sweeps_are_cut_into_arrays_of_at_most_max_array_size(n: int, max_array: int, sizes: list[int]) -> None:
    fake = FakeArrays()
    placed = arrays.submit_arrays(specs(n), max_array, chained=False, submit_array=fake)
    assert [len(chunk) for chunk, _ in fake.submitted] == sizes
    assert [s.run_dir for s, _ in placed] == [s.run_dir for s in specs(n)]  # every run once, in order
    assert all(dep is None for _, dep in fake.submitted)  # unthrottled: all arrays at once
    assert all(fake.ends)  # side by side, any of them may be the last to end


def test_throttled_arrays_are_chained_afterany_on_the_previous_array() -> None:
    fake = FakeArrays()
    placed = arrays.submit_arrays(specs(33), 16, chained=True, submit_array=fake)
    assert [dep for _, dep in fake.submitted] == [None, "afterany:100", "afterany:101"]
    assert [job.job_id for _, job in placed][:2] == ["100_0", "100_1"] and placed[-1][1].job_id == "102"
    assert fake.ends == [False, False, True]  # only the last array of a chain ends it


def test_a_chain_after_a_one_run_array_depends_on_that_plain_job() -> None:
    fake = FakeArrays()
    arrays.submit_arrays(specs(3), 1, chained=True, submit_array=fake)
    assert [dep for _, dep in fake.submitted] == [None, "afterany:100", "afterany:101"]


def test_chunks() -> None:
    assert arrays.chunks(list(range(5)), 2) == [[0, 1], [2, 3], [4]]
    assert arrays.chunks([], 3) == []


def test_job_records_carry_the_limit_the_executor_got(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """job.json says how long the job may run and why; the executor is built with those minutes."""
    monkeypatch.setattr(commands, "run", lambda cmd: SINFO)
    monkeypatch.setenv("SEQJOBS_CODE_DIR", str(tmp_path))  # the runs have no folder: their code snapshot goes here
    built: list[ExecutorOptions] = []
    recorded: list[dict] = []

    def fake_submit(runs: list[RunSpec], opts: ExecutorOptions, log_root: Path, options: dict, code: object) -> list:
        built.append(opts)
        return [([spec], FakeJob(f"7_{i}")) for i, spec in enumerate(runs)]

    monkeypatch.setattr(submission, "_submit", fake_submit)
    monkeypatch.setattr(jobfn, "write_job_record", lambda run_dir, job, options, submitted_at: recorded.append(options))
    ids = submission.submit_runs(specs(2), ExecutorOptions(executor="slurm", partition="gpu"), Path("runs/s"))
    assert ids == {"runs/s/r0": "7_0", "runs/s/r1": "7_1"}
    assert built[0].time == 120
    assert (
        recorded
        == [
            {
                "executor": "slurm",
                "partition": "gpu",
                "time_limit_min": 120,
                "time_limit_source": "partition gpu DefaultTime",
            }
        ]
        * 2
    )
    assert "time" not in recorded[0]  # what the user asked for stays apart from what was chosen
