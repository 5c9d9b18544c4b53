"""Executor settings mapped onto submitit's executors, and the cluster's MaxArraySize, without a cluster.

The sbatch lines themselves are checked in test_scheduler.py; here: what a
local or debug executor is given, and ``scontrol show config`` as Slurm 22.05
printed it on the test cluster (an excerpt), read for the array size.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import submitit

from jobs import scheduler
from jobs.engine import arrays, executors
from jobs.engine.jobfn import RunJob
from jobs.engine.options import ExecutorOptions
from jobs.scheduler import limits
from seqtasks.errors import UserError

#: an excerpt of ``scontrol show config`` on the test cluster (after MaxArraySize=16 was set)
SCONTROL_SHOW_CONFIG = """\
Configuration data as of 2024-05-01T12:00:00
AccountingStorageBackupHost = (null)
AccountingStorageType   = accounting_storage/slurmdbd
MaxArraySize            = 16
MaxJobCount             = 10000
MaxStepCount            = 40000
"""


def scontrol(monkeypatch: pytest.MonkeyPatch, stdout: str | None) -> list[list[str]]:
    """``subprocess.run`` answering ``scontrol show config`` with ``stdout`` (``None``: scontrol is not installed)."""
    asked: list[list[str]] = []

    def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        asked.append(cmd)
        if stdout is None:
            raise FileNotFoundError(cmd[0])
        return subprocess.CompletedProcess(cmd, 0, stdout, "")

    monkeypatch.setattr(subprocess, "run", run)
    return asked


def test_max_array_size_is_the_clusters(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = scontrol(monkeypatch, SCONTROL_SHOW_CONFIG)
    assert scheduler.slurm_max_array_size() == 16
    assert asked == [["scontrol", "show", "config"]]


@pytest.mark.parametrize("stdout", [None, "", "MaxArraySizeLimit = 3\nMaxJobCount = 10\n"])
def test_without_an_answer_the_array_size_is_slurms_default(
    monkeypatch: pytest.MonkeyPatch, stdout: str | None
) -> None:
    scontrol(monkeypatch, stdout)
    assert scheduler.slurm_max_array_size() == limits.DEFAULT_MAX_ARRAY == 1001


def test_a_sweep_over_max_array_size_is_cut_and_chained(monkeypatch: pytest.MonkeyPatch) -> None:
    """40 runs on the recorded cluster: arrays of 16, 16 and 8, each after the previous one."""
    scontrol(monkeypatch, SCONTROL_SHOW_CONFIG)
    submitted: list[tuple[int, str | None]] = []

    class Job:
        def __init__(self, job_id: str) -> None:
            self.job_id = job_id

    def submit_array(chunk: list[int], dependency: str | None, ends: bool) -> list[Job]:
        submitted.append((len(chunk), dependency))
        return [Job(f"{50 + len(submitted)}_{i}") for i in range(len(chunk))]

    placed = arrays.submit_arrays(list(range(40)), scheduler.slurm_max_array_size(), True, submit_array)
    assert submitted == [(16, None), (16, "afterany:51"), (8, "afterany:52")]
    assert [run for run, _ in placed] == list(range(40))
    assert placed[16][1].job_id == "52_0"


def test_local_executor_gets_time_signal_and_gpus(tmp_path: Path) -> None:
    opts = ExecutorOptions(executor="local", time=30, signal_delay=5, gpus_per_node=1)
    ex = executors.make_executor(opts, tmp_path)
    assert isinstance(ex, submitit.LocalExecutor)
    assert ex.folder == (tmp_path / "%j").resolve()
    assert {k: ex.parameters[k] for k in ("timeout_min", "signal_delay_s", "gpus_per_node")} == {
        "timeout_min": 30,
        "signal_delay_s": 5,
        "gpus_per_node": 1,
    }


def test_local_defaults_are_a_week_thirty_seconds_and_no_gpu(tmp_path: Path) -> None:
    ex = executors.make_executor(ExecutorOptions(executor="local"), tmp_path)
    assert {k: ex.parameters[k] for k in ("timeout_min", "signal_delay_s", "gpus_per_node")} == {
        "timeout_min": executors.LOCAL_DEFAULT_MINUTES,
        "signal_delay_s": 30,
        "gpus_per_node": 0,
    }


def test_debug_executor_runs_in_this_process(tmp_path: Path) -> None:
    assert isinstance(executors.make_executor(ExecutorOptions(executor="debug"), tmp_path), submitit.DebugExecutor)


def test_slurm_parameters_rename_and_leave_out_what_is_unset() -> None:
    params = executors.slurm_parameters(ExecutorOptions(executor="slurm", time=15, signal_delay=60, mem="2G"))
    assert params == {"job_name": "seqjobs", "time": 15, "signal_delay_s": 60, "mem": "2G"}


def test_profiles_apply_and_command_line_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jobs.engine.options import build

    profiles = tmp_path / "p.toml"
    profiles.write_text(
        'gpu = { executor = "local", partition = "gpu", gpus_per_node = 1, time = 120 }\nbad = { colour = 1 }\n'
    )
    monkeypatch.setenv("SEQJOBS_PROFILES", str(profiles))
    opts = build({"time": 30}, "gpu")
    assert (opts.partition, opts.gpus_per_node, opts.time) == ("gpu", 1, 30)
    with pytest.raises(UserError, match="unknown setting"):
        build({}, "bad")


def test_the_time_limit_signal_is_due_at_the_limit_less_the_delay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = executors.make_executor(ExecutorOptions(executor="local", time=1, signal_delay=50), tmp_path)
    assert executors.time_limit_signal_s(local) == 10
    tools = tmp_path / "bin"  # submitit's SlurmExecutor wants an srun on the PATH; nothing is submitted here
    tools.mkdir()
    (tools / "srun").write_text("#!/bin/sh\nexit 1\n")
    (tools / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    slurm = executors.slurm_executor(ExecutorOptions(executor="slurm", time=15), tmp_path)
    assert executors.time_limit_signal_s(slurm) == 15 * 60 - executors.SLURM_DEFAULT_SIGNAL_DELAY_S
    assert executors.time_limit_signal_s(executors.make_executor(ExecutorOptions(executor="debug"), tmp_path)) is None


@pytest.mark.parametrize(("limit_signal_s", "timed_out"), [(None, True), (0.0, True), (60.0, True), (1e9, False)])
def test_a_signal_long_before_the_time_limit_is_a_preemption(limit_signal_s: float | None, timed_out: bool) -> None:
    """This process is seconds old: past a limit due now, in a minute (SLURM may signal that early) or unknown;
    a preemption for one due in 30 years."""
    assert RunJob([], limit_signal_s=limit_signal_s).timed_out() is timed_out
