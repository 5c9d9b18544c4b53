"""The module a job's Python starts in: a preemption signal is never fatal, however early it comes.

submitit's job process (``python -u -m submitit.core._submit FOLDER``)
installs its preemption handler only after it has imported submitit and
unpickled the job, which imports seqjobs and seqtasks: a few hundred
milliseconds, seconds on a busy node. Until then SIGUSR2 (and SIGTERM) kill
the process with the signal's default action, and the scheduler records the
job as failed although it was preempted. The executors therefore start jobs
as ``python -u -m jobs.engine.boot -u -m submitit.core._submit FOLDER``
(:func:`command`); the first statement of this module notes those signals
instead, before anything is imported, and the noted signals are delivered
again to submitit's own handler as soon as it is installed: the job is then
checkpointed and requeued as for a signal that came later. Nothing of a run
has begun by then (the job callable has not been called), so its folders are
untouched. At the other end, a signal after the job's function has returned
(every run ended) is only logged: submitit's handler would find nothing to
requeue and fail a job whose runs all completed. And once the interpreter
exits, the signals are ignored: Python's finalization puts back the default
action of every signal that had a Python handler, and a preemption in its
last milliseconds would kill a job whose work was done (SLURM then records
the attempt FAILED, exit 12).

What remains unguarded is the interpreter's own start-up, before this
module's first line (tens of milliseconds), and, on SLURM, the batch script
before ``srun`` has started the job step: SLURM sends ``scancel -s USR2``
and a preemption's user signal to job steps only, so a signal in that window
is dropped. A preemption then runs its GraceTime out, and SLURM kills and
requeues the job itself; the run resumes from its last commit.
"""

import os
import signal

#: submitit's preemption signal, and the SIGTERM it only logs
EARLY_SIGNALS = (getattr(signal, "SIG" + os.environ.get("SUBMITIT_PREEMPT_SIGNAL", "USR2")), signal.SIGTERM)
noted: list[int] = []

if __name__ == "__main__":  # first, before anything is imported; never in a process that only imports this module
    for _early in EARLY_SIGNALS:
        signal.signal(_early, lambda signum, frame: noted.append(signum))

import atexit  # noqa: E402  (after the handlers: they must be in place before anything else runs)
import shlex  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

#: this module, as ``python -m`` names it
MODULE = "jobs.engine.boot"
#: what submitit puts after its ``python`` command; this module expects exactly that
SUBMITIT_TAIL = ["-u", "-m", "submitit.core._submit"]


def command() -> str:
    """The ``python`` command the executors give submitit: this interpreter, starting in this module."""
    return f"{shlex.quote(sys.executable)} -u -m {MODULE}"


def deliver_noted() -> None:
    """Raise every noted signal again, once each, in the order they came; the handlers now in place run."""
    for signum in dict.fromkeys(noted):
        print(
            f"seqjobs: {signal.Signals(signum).name} came while the job was starting; handled now",
            file=sys.stderr,
            flush=True,
        )
        signal.raise_signal(signum)
    noted.clear()


def too_late(signum: int, frame: object) -> None:
    """A preemption once the job's work has returned: nothing is left to requeue, and the job ends as it is.

    submitit's handler would call the job's checkpoint, find no run left,
    and raise: the job, whose runs all completed, would end failed.
    """
    print(
        f"seqjobs: {signal.Signals(signum).name} after the job's runs ended; nothing to requeue",
        file=sys.stderr,
        flush=True,
    )


def settle() -> None:
    """The job's work has returned: later signals are only logged (:func:`too_late`), and ignored from the
    interpreter's exit on, where a Python handler no longer runs."""
    for signum in EARLY_SIGNALS:
        signal.signal(signum, too_late)
    atexit.register(_ignore_from_now)


def _ignore_from_now() -> None:
    for signum in EARLY_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def main(argv: list[str]) -> None:
    """Run submitit's job main on ``FOLDER``: noted signals go to submitit's handler once it is installed,
    and signals after the job's function returned are only logged (:func:`settle`)."""
    if argv[:-1] != SUBMITIT_TAIL:
        sys.exit(f"error: usage: python -m {MODULE} {' '.join(SUBMITIT_TAIL)} FOLDER (got {argv})")
    from submitit.core import job_environment, submission, utils

    install, work = job_environment.JobEnvironment._handle_signals, utils.DelayedSubmission.result

    def install_then_deliver(env: Any, paths: Any, delayed: Any) -> None:
        install(env, paths, delayed)
        deliver_noted()

    def work_then_ignore(delayed: Any) -> Any:
        result = work(delayed)
        settle()
        return result

    job_environment.JobEnvironment._handle_signals = install_then_deliver  # type: ignore[method-assign,assignment]
    utils.DelayedSubmission.result = work_then_ignore  # type: ignore[method-assign,assignment]
    sys.argv = [sys.argv[0], argv[-1]]
    submission.submitit_main()


if __name__ == "__main__":
    main(sys.argv[1:])
