"""``seqjobs logs``: a run's job output, job by job, and ``--follow`` until the run ends.

It only reads, through :mod:`jobs.monitor.logs`: no log outside the run and
its sweep, no symbolic link out of them, regular files only. A log may hold
anything a job (or whoever wrote the folder) put there: every control
character but the newline and the tab is printed escaped (``\\x1b[2J``), so
no log clears, retitles or rings the terminal. Nothing heavy is imported:
the log lines are bytes copied out, and ``--follow`` asks whether the run
has ended the way ``status --watch`` does.
"""

from __future__ import annotations

import codecs
import sys
import time
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer

from jobs.monitor.logs import JobLogs, Stream, job_logs, read_log
from jobs.text import count, is_control, say, shown
from seqtasks.errors import UserError
from seqtasks.rundir import Damaged
from seqtasks.rundir.owned import is_run_folder, is_sweep_folder

#: seconds between two looks at the logs and the run with ``--follow``
FOLLOW_INTERVAL = 1.0


def logs(
    run: Annotated[Path, typer.Argument(help="A run folder (e.g. runs/NAME/order=2).", show_default=False)],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing what the job writes, as tail -f, until the run ends.")
    ] = False,
    attempt: Annotated[
        Optional[int],
        typer.Option(min=1, help="Only the log of the job that ran this attempt (1 is the first).", show_default=False),
    ] = None,
    stderr: Annotated[
        bool, typer.Option("--stderr", help="The jobs' stderr logs (tracebacks, submitit's lines), not their stdout.")
    ] = False,
) -> None:
    """Each job's log comes under a header naming the run's attempts it ran
    and the file (`==> attempts 1-2 (job 4711): PATH <==`): a job requeued
    after a preemption or a time limit writes all its attempts to one file,
    and a new job (`seqjobs resubmit`, a halving promotion) to one of its
    own. --follow ends once the run has ended (completed, failed, cancelled)
    or has stayed stuck, unknown or unreadable for 15 looks, and exits 0 as
    tail would. Control characters in a log are printed escaped.
    """
    _check_run(run)
    stream: Stream = "err" if stderr else "out"
    chosen = _chosen(run, attempt)
    printer = Printer(run, stream)
    try:
        if follow:
            _follow(run, printer, chosen)
        else:
            for job in chosen():
                printer.print_new(job)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    printer.tell_silent()


def _check_run(run: Path) -> None:
    """One line for a path that is not a run folder."""
    if not run.exists():
        raise UserError(f"{run} does not exist; give a run folder (e.g. runs/NAME/RUN)")
    if is_sweep_folder(run):
        raise UserError(f"{run} is a sweep folder; give one of its run folders (`seqjobs status {run}` lists them)")
    if not is_run_folder(run):
        raise UserError(f"{run} is not a run folder (a run folder holds config.json)")


def _chosen(run: Path, attempt: int | None) -> Callable[[], list[JobLogs]]:
    """What to print, read anew at each look: every job of the run, or the one that ran ``attempt``.

    Checked now, in one line: a damaged record, an attempt past the last.
    """

    def every() -> list[JobLogs]:
        try:
            return job_logs(run)
        except Damaged as err:
            raise UserError(f"{err}; the run's job logs cannot be found") from None

    def jobs() -> list[JobLogs]:
        return every() if attempt is None else [job for job in every() if attempt in job.attempts]

    if attempt is not None and not jobs():
        last = max((a for job in every() for a in job.attempts), default=0)
        started = f"has {count(last, 'attempt')}" if last else "has no attempt yet"
        raise UserError(f"{run} {started}; --attempt {attempt} is past the last")
    return jobs


def _follow(run: Path, printer: Printer, chosen: Callable[[], list[JobLogs]]) -> None:
    """Print what the logs gain until the run has settled and a last look finds nothing new.

    The job writes its last lines (submitit's farewell, a traceback) after
    the run's result: the look after the run has settled catches them.
    """
    from jobs.monitor.status import statuses
    from jobs.monitor.waiting import Settling

    settling = Settling()
    settled = False
    while True:
        printed = [printer.print_new(job) for job in chosen()]  # every job: no short cut
        if settled and not any(printed):
            return
        settled = settled or settling.settled(statuses(run)) > 0
        time.sleep(FOLLOW_INTERVAL)


class Printer:
    """Prints the part of each log not printed yet, with a header whenever the output moves to another file."""

    def __init__(self, run: Path, stream: Stream) -> None:
        self.run, self.stream = run, stream
        self.offsets: dict[str, int] = {}
        self.decoders: dict[str, codecs.IncrementalDecoder] = {}
        self.current: str | None = None
        self.line_ended = True
        self.quiet: dict[str, str] = {}  # log -> what to say if nothing at all was printed from it
        self.told: set[str] = set()

    def print_new(self, job: JobLogs) -> bool:
        """Print what the job's log holds past what was printed; whether there was anything."""
        path = job.log(self.stream)
        if path is None:
            self._tell(f"{_label(job)} ran in-process (seqjobs run, --executor debug): it has no job log")
            return False
        printed = False
        while True:
            try:
                got = read_log(path, self.run, self.offsets.get(path, 0))
            except Damaged as err:
                self._tell(f"warning: {_label(job)}: {err}")
                return printed
            if got is None or not got[1]:
                self.quiet.setdefault(path, f"{_label(job)}: {'no log' if got is None else 'empty log'} at {path}")
                return printed
            start, data = got
            if start < self.offsets.get(path, 0) or path not in self.decoders:  # new, or truncated: decode afresh
                self.decoders[path] = codecs.getincrementaldecoder("utf-8")("replace")
            if self.current != path:
                self._write(("" if self.current is None else "\n" if self.line_ended else "\n\n") + _header(job, path))
                self.current = path
            self._write(printable(self.decoders[path].decode(data)))
            self.offsets[path] = start + len(data)
            self.quiet[path] = ""  # it printed: nothing to say about it
            printed = True

    def _write(self, text: str) -> None:
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()
            self.line_ended = text.endswith("\n")

    def tell_silent(self) -> None:
        """One line on stderr for each log that gave nothing to print (none yet, or empty)."""
        for line in self.quiet.values():
            if line:
                self._tell(line)

    def _tell(self, line: str) -> None:
        if line not in self.told:
            self.told.add(line)
            say(line, err=True)


def _header(job: JobLogs, path: str) -> str:
    """``==> attempts 1-2 (job 4711): PATH <==``, as ``tail`` heads each file."""
    return f"==> {shown(_label(job))}: {shown(path)} <==\n"


def _label(job: JobLogs) -> str:
    """``attempt 2 (job 4711)``, ``attempts 1-3 (job 4711)``, ``job 4712 (not started yet)``."""
    if not job.attempts:
        return f"job {job.job_id} (not started yet)"
    first, last = job.attempts[0], job.attempts[-1]
    which = f"attempt {first}" if first == last else f"attempts {first}-{last}"
    return which if job.job_id is None else f"{which} (job {job.job_id})"


def printable(text: str) -> str:
    """``text`` with every control character escaped except the newline and the tab, which keep a log's layout."""
    return "\n".join(line if line.isprintable() else _escaped(line) for line in text.split("\n"))


def _escaped(line: str) -> str:
    return "".join(shown(ch) if ch != "\t" and is_control(ch) else ch for ch in line)
