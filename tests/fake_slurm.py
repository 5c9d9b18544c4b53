"""SLURM's tools answered from recorded output, for unit tests of :mod:`jobs.scheduler`.

seqjobs runs every SLURM tool through :func:`jobs.scheduler.commands.run`;
:func:`install` replaces that one function with a :class:`FakeSlurm`, which
answers from transcripts under ``tests/fixtures/slurm/``: what the real
tools printed on the test cluster (``slurm/start-cluster.sh``, Slurm 22.05)
at moments of a few tiny jobs' lives. A transcript is comment lines
(``#``), then for each command a ``$ COMMAND`` line, an optional
``[exit N]`` line (a tool that failed: the fake answers ``None``, as
``run`` does), and the tool's standard output.

A recorded ``sacct``/``squeue`` answered for every job of the moment
(``-j`` all of them). Asked about some (``-j 75`` or ``-j 75_3,75_4``), the
fake keeps the lines the real tool would print, as it printed them on the
cluster: a line whose job id is asked for, or whose array is asked for by its
own id (``-j 75`` lists ``75_0`` and ``75_[3-4%1]``; ``-j 75_3`` does not
match the array's pending record, which is why ``sacct -j 75_3`` prints
nothing while 75_3 waits). Asking about a job the transcript does not know
fails the test, so a test cannot pass on jobs nobody recorded. Any other
command is answered only when recorded exactly; otherwise ``None``, like a
tool that is missing.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

import pytest

from jobs.scheduler import commands

RECORDS = Path(__file__).parent / "fixtures" / "slurm"


@dataclass(frozen=True)
class Answer:
    """What one recorded command printed, its exit status, and the jobs it was asked about (``-j``)."""

    output: str
    status: int
    jobs: Optional[set[str]]


def read_transcript(path: Path) -> dict[str, Answer]:
    """``$ COMMAND`` sections of a transcript -> their answers, keyed by :func:`key`."""
    answers: dict[str, Answer] = {}
    command: Optional[list[str]] = None
    status = 0
    lines: list[str] = []
    for line in [*path.read_text().splitlines(), "$ end"]:
        if line.startswith("$ "):
            if command is not None:
                answers[key(command)] = Answer("".join(f"{out}\n" for out in lines), status, asked_jobs(command))
            command, status, lines = shlex.split(line[2:]), 0, []
        elif command is None:
            assert not line.strip() or line.startswith("#"), f"{path.name}: text before the first command: {line!r}"
        elif not lines and line.startswith("[exit "):
            status = int(line.removeprefix("[exit ").rstrip("]"))
        else:
            lines.append(line)
    return answers


def key(cmd: list[str]) -> str:
    """A command without its ``-j`` list: the recording answered for every job, the fake keeps the asked ones."""
    return shlex.join(without_jobs(cmd))


def without_jobs(cmd: list[str]) -> list[str]:
    if "-j" not in cmd:
        return cmd
    at = cmd.index("-j")
    return cmd[:at] + cmd[at + 2 :]


def asked_jobs(cmd: list[str]) -> Optional[set[str]]:
    """The ids after ``-j`` (``None``: the command names no jobs)."""
    return set(cmd[cmd.index("-j") + 1].split(",")) if "-j" in cmd else None


def line_job(line: str) -> str:
    return line.split("|")[0].strip()


def base(job: str) -> str:
    return job.split("_")[0]


@dataclass
class FakeSlurm:
    """Stands in for :func:`jobs.scheduler.commands.run`; ``calls`` holds every command, as seqjobs built it."""

    answers: dict[str, Answer]
    failing: frozenset[str] = frozenset()
    calls: list[list[str]] = field(default_factory=list)

    def __call__(self, cmd: list[str], timeout_s: float = commands.QUERY_TIMEOUT_S) -> Optional[str]:
        self.calls.append(list(cmd))
        answer = self.answers.get(key(cmd))
        if cmd[0] in self.failing or answer is None or answer.status != 0:
            return None
        wanted = asked_jobs(cmd)
        if wanted is None:
            return answer.output
        recorded = {base(job) for job in answer.jobs or ()}
        unknown = sorted(job for job in wanted if base(job) not in recorded)
        assert not unknown, f"{cmd[0]} asked about jobs its transcript did not record: {unknown}"
        jobs = [line_job(line) for line in answer.output.splitlines()]
        kept = [line for line, job in zip(answer.output.splitlines(), jobs) if job in wanted or base(job) in wanted]
        return "".join(f"{line}\n" for line in kept)

    def asked(self, tool: str) -> list[list[str]]:
        """The commands of ``tool`` seqjobs ran, in order."""
        return [cmd for cmd in self.calls if cmd[0] == tool]


def install(monkeypatch: pytest.MonkeyPatch, *transcripts: str, failing: Iterable[str] = ()) -> FakeSlurm:
    """Answer SLURM's tools from the named transcripts (later ones win); the tools in ``failing`` fail."""
    answers: dict[str, Answer] = {}
    for name in transcripts:
        answers.update(read_transcript(RECORDS / f"{name}.txt"))
    fake = FakeSlurm(answers, frozenset(failing))
    monkeypatch.setattr(commands, "run", fake)
    return fake
