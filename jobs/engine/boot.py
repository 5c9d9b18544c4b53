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

The handler ends an attempt by raising ``SystemExit`` wherever the main
thread is, and C code can swallow it without a trace: pybind11's
``hasattr``, which TensorFlow's ``tf.nest`` calls on every structure it
flattens, clears whatever a ``__getattr__`` it ran raised, a signal
handler's exit included (measured: ``tf.nest.flatten`` of an object whose
``__getattr__`` was running when the signal came returns normally). The job
would then train on in an attempt already marked requeued -- a local job
did, to the end of its run -- and on the local executor nothing would stop
it (on SLURM, ``scontrol requeue`` does). So an exit the handler raised is made certain:
if the process still runs :data:`FORCED_EXIT_S` later, it ends with the same
code, as a kill would end it -- which the run folder is built to survive.

What this module cannot guard is the interpreter's own start-up, before
its first line (tens of milliseconds, more on a busy machine): a signal then
kills the process, and the scheduler restarts the job -- SLURM requeues a
preempted job however it ends, and the local controller restarts a task the
preemption signal killed (:mod:`jobs.engine.local_controller`). On SLURM,
the batch script before ``srun`` has started the job step is not guarded
either: SLURM sends ``scancel -s USR2`` and a preemption's user signal to
job steps only, so a signal in that window is dropped. A preemption then
runs its GraceTime out, and SLURM kills and requeues the job itself; the
run resumes from its last commit.
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
import threading  # noqa: E402
import time  # noqa: E402
from typing import Any, Callable  # noqa: E402

#: this module, as ``python -m`` names it
MODULE = "jobs.engine.boot"
#: what submitit puts after its ``python`` command; this module expects exactly that
SUBMITIT_TAIL = ["-u", "-m", "submitit.core._submit"]
#: seconds a process may still run after the preemption handler raised its exit (an exit unwinds in less)
FORCED_EXIT_S = 5.0


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


def exit_for_sure(handler: Callable[[int, Any], Any]) -> Callable[[int, Any], Any]:
    """``handler``, whose ``SystemExit`` ends the process even where C code swallows the exception."""

    def handle(signum: int, frame: Any) -> Any:
        try:
            return handler(signum, frame)
        except SystemExit as leaving:
            code = leaving.code if isinstance(leaving.code, int) else 1
            threading.Thread(target=_force_exit, args=(code,), name="seqjobs-forced-exit", daemon=True).start()
            raise

    return handle


def _force_exit(code: int) -> None:
    time.sleep(FORCED_EXIT_S)
    print(
        f"seqjobs: the attempt's exit (code {code}) did not end the process in {FORCED_EXIT_S:g} s "
        "(swallowed on its way out); ending it now",
        file=sys.stderr,
        flush=True,
    )
    os._exit(code)


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
        preempt = EARLY_SIGNALS[0]
        handler = signal.getsignal(preempt)
        if callable(handler):
            signal.signal(preempt, exit_for_sure(handler))
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
