"""Shell completion: the script Typer makes, and the answers the shell gets (commands, tasks, options, paths).

The shell runs ``seqjobs`` with ``_SEQJOBS_COMPLETE`` set at every Tab, so
each answer is a real process start: these tests ask the way bash does and
check what came back, and that the commands listed stayed unimported.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

#: every test here starts the CLI in a new process (the shell's way)
pytestmark = pytest.mark.slow


def complete(*words: str, cwd: Path = REPO) -> list[str]:
    """What bash gets for ``seqjobs WORDS`` with the cursor on the last word (``""``: after a space)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "_SEQJOBS_COMPLETE": "complete_bash",
        "COMP_WORDS": " ".join(("seqjobs", *words)),
        "COMP_CWORD": str(len(words)),
    }
    proc = subprocess.run([sys.executable, "-m", "jobs"], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_commands_tasks_and_options_complete() -> None:
    assert complete("st") == ["status"]
    assert {"logs", "export", "sweep", "submit"} <= set(complete(""))
    assert complete("run", "") == ["markov", "charlm", "imdb"]
    assert complete("export", "") == ["tensorboard"]
    assert "--follow" in complete("logs", "--f") and "--json" in complete("status", "--j")
    assert "--grid" in complete("sweep", "charlm", "--gr")


def test_a_path_argument_is_left_to_the_shell(tmp_path: Path) -> None:
    (tmp_path / "runs" / "mk").mkdir(parents=True)
    # no answer of its own: bash (complete -o default), zsh (_files) and fish then complete the path themselves
    assert complete("status", "ru", cwd=tmp_path) == []


def test_completing_a_command_name_imports_no_command() -> None:
    probe = (
        "import os, sys\n"
        "os.environ.update(_SEQJOBS_COMPLETE='complete_bash', COMP_WORDS='seqjobs st', COMP_CWORD='1')\n"
        "from jobs.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('jobs.cli.') and m != 'jobs.cli.common'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.stdout.split("\n")[0] == "status" and out.stdout.strip().endswith("[]"), out.stdout + out.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_show_completion_prints_the_bash_script() -> None:
    """The shell is told from the parent process: ``bash`` stays it (a lone command would be exec'd in its place,
    and the shell found, if any, would be whatever started pytest)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m jobs --show-completion; exit $?"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "_SEQJOBS_COMPLETE=complete_bash" in proc.stdout
    assert "complete -o default -F _seqjobs_completion seqjobs" in proc.stdout
