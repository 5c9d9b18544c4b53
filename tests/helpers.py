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
    """Exit code 2, exactly one ``error:`` line, no traceback; that line mentions every fragment.

    Other lines may come before it (a run's ``run folder:`` line, sbatch's own
    stderr), but the reason and the fix must be on the one error line.
    """
    code = getattr(result, "exit_code", getattr(result, "returncode", None))
    if hasattr(result, "output"):  # CliRunner: stdout and stderr interleaved, as a terminal shows them
        out = result.output
    else:  # subprocess.CompletedProcess
        out = (result.stdout or "") + (result.stderr or "")  # type: ignore[attr-defined]
    assert code == 2, f"exit {code}, output:\n{out}"
    assert "Traceback" not in out, out
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, f"expected one 'error:' line, got {len(errors)}:\n{out}"
    for fragment in fragments:
        assert fragment in errors[0], f"{fragment!r} not in {errors[0]!r}"
