"""submitit's local job controller, restarting a requeued job for as long as it asks.

submitit's own controller (``python -m submitit.local._local``) restarts a
job at most six times, whatever the job wants; a long local run under a
short ``--time`` would stop there, half trained, with nothing to resume it.
Here the job decides: :class:`jobs.engine.jobfn.RunJob` asks for a requeue
only while its run progresses, and fails the run after ``--max-stalled``
attempts that committed nothing. The controller is submitit's, with one more
reading of how a task ended (:meth:`RequeueingController.asked_requeue`).

It is started by :class:`jobs.engine.executors.DetachedLocalExecutor`, and
``status`` recognises a live local job by this module's name in its
command line (:func:`jobs.scheduler.local.local_job_alive`).
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from submitit.core.utils import JobPaths
from submitit.local.local import LOCAL_REQUEUE_RETURN_CODE, Controller

from jobs.engine.boot import EARLY_SIGNALS

#: a bound only against a job that requeues itself forever by mistake
MAX_RESTARTS = 100_000
#: the preemption signal (submitit's, as the job's boot reads it)
PREEMPT_SIGNAL = EARLY_SIGNALS[0]


class RequeueingController(Controller):
    """submitit's controller, which also restarts a task that died on its way out of a requeue, or of the
    preemption signal itself.

    A requeue ends the task with ``sys.exit(144)`` from the signal handler,
    but what runs after that decision can still end the process otherwise:
    TensorFlow has segfaulted in the interpreter's shutdown, a native library
    can abort, the kernel's OOM killer can kill it, a failed flush of stdout
    at exit turns the code into 120. submitit's controller reads only the exit
    code and would leave the run requeued, half-trained, with nothing to
    resume it. On SLURM no such reading is needed: submitit runs ``scontrol
    requeue`` before it exits, so the job is requeued however the process ends.
    """

    def run(self, max_retry: int = MAX_RESTARTS) -> None:
        """Start the tasks again for as long as one of them asked for it."""
        for _ in range(max_retry):
            started_ns = time.time_ns()
            try:
                self.start_tasks()
                exit_codes = self.wait()
                if not any(self.asked_requeue(code, task, started_ns) for task, code in enumerate(exit_codes)):
                    break
            finally:
                self.kill_tasks()

    def kill_tasks(self) -> None:
        """submitit's: SIGINT to the tasks, a second's grace, then SIGKILL -- here never cut short.

        A second SIGINT to the controller (a second cancel) during the grace
        second raised out of it before the SIGKILL: the controller ended, and
        a task that outlives SIGINT (one measured hung for good in
        TensorFlow's teardown after its KeyboardInterrupt) went on holding its
        work, an asynchronous search's lease, with nothing left to stop it.
        """
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            super().kill_tasks()
        finally:
            signal.signal(signal.SIGINT, previous)

    def asked_requeue(self, exit_code: int | None, task: int, started_ns: int) -> bool:
        """Whether task ``task``, started at ``started_ns``, ended asking to run again.

        Either it exited with submitit's requeue code, or it ended in any
        other way (a signal, another code) after its checkpoint was written
        (submitit rewrites the submitted pickle only once it has decided to
        requeue) and before any result was (a job that ended, or refused the
        requeue, writes its result pickle first), or the preemption signal
        itself killed it before any result: it came while the interpreter was
        starting, before :mod:`jobs.engine.boot`'s first line could catch it,
        and nothing of a run had begun -- SLURM requeues a job so preempted
        itself. A task that fails or crashes without checkpointing is not
        restarted.
        """
        if exit_code == LOCAL_REQUEUE_RETURN_CODE:
            return True
        if exit_code is None or exit_code == 0:
            return False
        paths = JobPaths(self.folder, self.pid, task)
        if _written_since(paths.result_pickle, started_ns):
            return False
        return exit_code == -PREEMPT_SIGNAL or _written_since(paths.submitted_pickle, started_ns)


def _written_since(path: Path, since_ns: int) -> bool:
    """Whether ``path`` exists and was last modified at or after ``since_ns``."""
    try:
        return path.stat().st_mtime_ns >= since_ns
    except OSError:
        return False


def main() -> None:
    """``python -m jobs.engine.local_controller FOLDER``: the same arguments and environment as submitit's.

    ``FOLDER`` is the executor's ``.submitit/%j``; submitit's controller
    would create it literally, leaving an empty ``%j`` folder beside the
    jobs' own. The controller's pid is the job id, so it is filled in here.
    """
    # `seqjobs cancel` stops the job with SIGINT; a job submitted from a background shell (`&`, nohup, cron)
    # inherits SIGINT ignored, and Python then installs no handler: without this, such a job could not be cancelled
    signal.signal(signal.SIGINT, signal.default_int_handler)
    controller = RequeueingController(Path(sys.argv[1]))
    controller.folder = JobPaths(controller.folder, job_id=controller.pid).folder
    controller.run()


if __name__ == "__main__":
    main()
