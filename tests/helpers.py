"""Small helpers shared by the tests: run the real CLI in a subprocess, check one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def seqjobs(*args: str, cwd: Path | None = None, timeout: float = 600, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run ``seqjobs ARGS`` as a new process (``python -m jobs``), capturing its output."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "jobs", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"seqjobs {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def assert_one_line_error(result: object, *fragments: str) -> None:
    """Exit code 2, exactly one ``error:`` line on stderr, no traceback; that line mentions every fragment.

    Works for a CliRunner result (Typer's keeps stderr apart from stdout) and
    for a subprocess.CompletedProcess. Other lines may come before it on
    stderr (sbatch's own messages), but the reason and the fix must be on the
    one error line.
    """
    code = getattr(result, "exit_code", getattr(result, "returncode", None))
    stdout, stderr = streams(result)
    everything = stdout + stderr
    crash = getattr(result, "exception", None)  # CliRunner keeps an uncaught exception here, not in the output
    assert code == 2, f"exit {code} ({crash!r}), output:\n{everything}"
    assert "Traceback" not in everything, everything
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, f"expected one 'error:' line on stderr, got {len(errors)}:\n{everything}"
    assert not any(line.startswith("error:") for line in stdout.splitlines()), f"an error line on stdout:\n{stdout}"
    for fragment in fragments:
        assert fragment in errors[0], f"{fragment!r} not in {errors[0]!r}"


def streams(result: object) -> tuple[str, str]:
    """``(stdout, stderr)`` of a Typer CliRunner result or a CompletedProcess (``None`` read as empty)."""
    return getattr(result, "stdout", None) or "", getattr(result, "stderr", None) or ""
