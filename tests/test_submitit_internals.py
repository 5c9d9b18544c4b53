"""The parts of submitit's private code that seqjobs overrides, calls or imitates still have the shape it relies on.

``pyproject.toml`` pins submitit to the versions checked here. Before the pin
moves, this file must pass with the new version: each failure names what
changed and which module of seqjobs depends on it. Fast: no job is started.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import submitit
import submitit.local._local
import submitit.local.debug
import submitit.slurm.slurm
from submitit.core import core, job_environment, submission, utils
from submitit.local import local

from jobs.engine import boot
from jobs.engine.executors import DetachedLocalExecutor, controller_environment


def changed(what: str, user: str) -> str:
    """The message of a failed check: what changed in submitit, and which module of ours needs it."""
    return f"submitit {submitit.__version__}: {what} changed; {user} relies on it (pyproject.toml pins submitit)"


def parameters(fn: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(fn).parameters)


def source(obj: Any) -> str:
    return inspect.getsource(obj)


# --- jobs/engine/executors.py: DetachedLocalExecutor replaces LocalExecutor._submit_command ---------------------


def test_executors_submit_through_submit_command_with_the_command_string() -> None:
    assert parameters(local.LocalExecutor._submit_command) == ["self", "command"], changed(
        "LocalExecutor._submit_command(self, command)", "jobs/engine/executors.py (DetachedLocalExecutor)"
    )
    assert "self._submit_command(self._submitit_command_str)" in source(core.PicklingExecutor), changed(
        "how PicklingExecutor submits (self._submit_command(self._submitit_command_str))", "jobs/engine/executors.py"
    )
    for cls in (local.LocalExecutor, submitit.slurm.slurm.SlurmExecutor):
        assert parameters(cls.__init__)[:4] == [
            "self",
            "folder",
            "max_num_timeout",
            "max_pickle_size_gb",
        ] and "python" in parameters(cls.__init__), changed(
            f"{cls.__name__}.__init__(folder, max_num_timeout, python=)", "jobs/engine/executors.py"
        )


def test_local_job_is_made_from_folder_job_id_process_and_tasks() -> None:
    assert parameters(local.LocalJob.__init__) == ["self", "folder", "job_id", "tasks", "process"], changed(
        "LocalJob(folder, job_id, tasks, process)", "jobs/engine/executors.py (DetachedLocalExecutor._submit_command)"
    )


def test_local_parameters_seqjobs_sets_are_accepted(tmp_path: Path) -> None:
    ex = DetachedLocalExecutor(folder=tmp_path / "%j", max_num_timeout=3)
    ex.update_parameters(timeout_min=5, signal_delay_s=30, gpus_per_node=0)
    assert {"timeout_min", "signal_delay_s", "gpus_per_node"} <= set(ex.parameters), changed(
        "LocalExecutor.update_parameters(timeout_min=, signal_delay_s=, gpus_per_node=)", "jobs/engine/executors.py"
    )


def test_the_controller_environment_is_the_one_submitit_gives_its_controller() -> None:
    theirs = set(re.findall(r"\b(SUBMITIT_\w+|CUDA_VISIBLE_DEVICES)=", source(local.start_controller)))
    ours = set(controller_environment("cmd", {"timeout_min": 1, "signal_delay_s": 1}))
    assert ours == theirs, changed(
        f"the variables start_controller sets (now {sorted(theirs)})",
        "jobs/engine/executors.py (controller_environment)",
    )
    read = set(re.findall(r'os\.environ\["(\w+)"\]', source(local.Controller.__init__)))
    assert read and read <= ours, changed(
        f"the variables Controller.__init__ reads (now {sorted(read)})",
        "jobs/engine/executors.py (controller_environment)",
    )


def test_submitits_controller_is_started_as_python_m_module_folder() -> None:
    assert '[sys.executable, "-m", "submitit.local._local", str(folder)]' in source(local.start_controller), changed(
        "how start_controller starts the controller (python -m submitit.local._local FOLDER)",
        "jobs/engine/executors.py, which starts jobs.engine.local_controller the same way",
    )
    assert "Controller(Path(sys.argv[1]))" in source(submitit.local._local), changed(
        "submitit.local._local's main (Controller(Path(FOLDER)))", "jobs/engine/local_controller.py (main)"
    )


# --- jobs/engine/local_controller.py: RequeueingController subclasses local.Controller --------------------------


def test_the_controller_has_the_methods_the_requeueing_controller_calls() -> None:
    user = "jobs/engine/local_controller.py (RequeueingController)"
    assert parameters(local.Controller.__init__) == ["self", "folder"], changed("Controller.__init__(folder)", user)
    assert parameters(local.Controller.run) == ["self", "max_retry"], changed("Controller.run(self, max_retry)", user)
    for method in ("start_tasks", "kill_tasks"):
        assert parameters(getattr(local.Controller, method)) == ["self"], changed(f"Controller.{method}(self)", user)
    wait = list(inspect.signature(local.Controller.wait).parameters.values())
    assert wait[0].name == "self" and all(p.default is not p.empty for p in wait[1:]), changed(
        "Controller.wait(self) -> exit codes", user
    )
    init = source(local.Controller.__init__)
    assert "self.pid = " in init and "self.folder = " in init, changed("Controller's pid and folder attributes", user)


def test_a_requeue_exits_with_144() -> None:
    assert local.LOCAL_REQUEUE_RETURN_CODE == 144, changed(
        "LOCAL_REQUEUE_RETURN_CODE (144)", "jobs/engine/local_controller.py and jobs/engine/jobfn.py"
    )
    assert "sys.exit(LOCAL_REQUEUE_RETURN_CODE)" in source(local.LocalJobEnvironment._requeue), changed(
        "how a local job asks for a requeue (sys.exit(LOCAL_REQUEUE_RETURN_CODE))", "jobs/engine/local_controller.py"
    )


def test_job_paths_name_the_folder_and_pickles_by_job_and_task(tmp_path: Path) -> None:
    user = "jobs/engine/local_controller.py (asked_requeue, main)"
    assert parameters(utils.JobPaths.__init__) == ["self", "folder", "job_id", "task_id"], changed(
        "JobPaths(folder, job_id, task_id)", user
    )
    paths = utils.JobPaths(tmp_path / "%j", job_id="12", task_id=1)
    assert paths.folder == tmp_path / "12", changed("JobPaths.folder (%j filled in)", user)
    assert paths.submitted_pickle == tmp_path / "12" / "12_submitted.pkl", changed("JobPaths.submitted_pickle", user)
    assert paths.result_pickle == tmp_path / "12" / "12_1_result.pkl", changed("JobPaths.result_pickle", user)
    assert {"stdout", "stderr"} <= set(vars(utils.JobPaths)), changed("JobPaths.stdout/stderr", "jobs/engine/jobfn.py")


# --- jobs/engine/boot.py: runs submitit's job main, wrapping _handle_signals and DelayedSubmission.result -----------


def test_the_executors_python_command_is_followed_by_the_tail_boot_expects() -> None:
    stub = SimpleNamespace(python="PYTHON", folder=Path("/f/%j"))
    for cls in (local.LocalExecutor, submitit.slurm.slurm.SlurmExecutor):
        command = cls._submitit_command_str.fget(stub).split()  # type: ignore[union-attr]
        assert command == ["PYTHON", *boot.SUBMITIT_TAIL, "/f/%j"], changed(
            f"{cls.__name__}._submitit_command_str (now {command})", "jobs/engine/boot.py (SUBMITIT_TAIL)"
        )


def test_the_job_main_reads_one_folder_argument() -> None:
    assert parameters(submission.submitit_main) == [] and 'add_argument("folder"' in source(submission.submitit_main), (
        changed("submitit_main (reads FOLDER from sys.argv)", "jobs/engine/boot.py (main)")
    )


def test_the_job_main_installs_handlers_then_runs_the_job_through_what_boot_wraps() -> None:
    user = "jobs/engine/boot.py (main)"
    assert parameters(job_environment.JobEnvironment._handle_signals) == ["self", "paths", "submission"], changed(
        "JobEnvironment._handle_signals(self, paths, submission)", user
    )
    assert parameters(utils.DelayedSubmission.result) == ["self"], changed("DelayedSubmission.result(self)", user)
    job = source(submission.process_job)
    assert job.index("env._handle_signals(paths, delayed)") < job.index("delayed.result()"), changed(
        "process_job (installs the signal handlers, then calls delayed.result())", user
    )
    environments = [
        local.LocalJobEnvironment,
        submitit.slurm.slurm.SlurmJobEnvironment,
        submitit.local.debug.DebugJobEnvironment,
    ]
    overriding = [cls.__name__ for cls in environments if "_handle_signals" in vars(cls)]
    assert not overriding, changed(f"{overriding} now override _handle_signals (boot patches the base class)", user)


def test_the_preemption_signal_is_named_by_the_variable_boot_reads() -> None:
    assert job_environment._PREEMPT_SIG_ENV == "SUBMITIT_PREEMPT_SIGNAL", changed(
        "the preemption signal's variable (SUBMITIT_PREEMPT_SIGNAL)", "jobs/engine/boot.py (EARLY_SIGNALS)"
    )
