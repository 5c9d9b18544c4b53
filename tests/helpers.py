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
    """Exit code 2, one ``error:`` line, no traceback; the line mentions every fragment."""
    code = getattr(result, "exit_code", getattr(result, "returncode", None))
    out = (getattr(result, "stdout", "") or "") + (getattr(result, "stderr", "") or "")
    if hasattr(result, "output"):
        out = result.output + (getattr(result, "stderr", "") if getattr(result, "stderr_bytes", None) else "")
    assert code == 2, f"exit {code}, output:\n{out}"
    assert "Traceback" not in out, out
    lines = [ln for ln in out.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:") or "Error" in ln or "Invalid value" in ln]
    assert errors, out
    for fragment in fragments:
        assert fragment in out, f"{fragment!r} not in {out!r}"
