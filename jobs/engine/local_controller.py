"""submitit's local job controller, restarting a requeued job for as long as it asks.

submitit's own controller (``python -m submitit.local._local``) restarts a
job at most six times, whatever the job wants; a long local run under a
short ``--time`` would stop there, half trained, with nothing to resume it.
Here the job decides: :class:`jobs.engine.jobfn.RunJob` asks for a requeue
only while its run progresses, and fails the run after ``--max-stalled``
attempts that committed nothing. The controller itself is submitit's.

It is started by :class:`jobs.engine.executors.DetachedLocalExecutor`, and
``status`` recognises a live local job by this module's name in its
command line (:func:`jobs.monitor.status.local_job_alive`).
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from submitit.core.utils import JobPaths
from submitit.local.local import Controller

#: a bound only against a job that requeues itself forever by mistake
MAX_RESTARTS = 100_000


def main() -> None:
    """``python -m jobs.engine.local_controller FOLDER``: the same arguments and environment as submitit's.

    ``FOLDER`` is the executor's ``.submitit/%j``; submitit's controller
    would create it literally, leaving an empty ``%j`` folder beside the
    jobs' own. The controller's pid is the job id, so it is filled in here.
    """
    # `seqjobs cancel` stops the job with SIGINT; a job submitted from a background shell (`&`, nohup, cron)
    # inherits SIGINT ignored, and Python then installs no handler: without this, such a job could not be cancelled
    signal.signal(signal.SIGINT, signal.default_int_handler)
    controller = Controller(Path(sys.argv[1]))
    controller.folder = JobPaths(controller.folder, job_id=controller.pid).folder
    controller.run(max_retry=MAX_RESTARTS)


if __name__ == "__main__":
    main()
