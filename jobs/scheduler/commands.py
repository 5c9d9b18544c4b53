"""The one place seqjobs runs a SLURM tool.

A scheduler that does not answer is ordinary: sacct restricted or down,
slurmctld busy, the tools missing on a laptop. So a tool here never raises:
it answers with its output, or with ``None`` (not installed, timed out,
non-zero exit), and each caller says what "no answer" means for it. Tests
replace :func:`run` to answer from recorded output (``tests/fake_slurm.py``),
which is why nothing else may run these tools.
"""

from __future__ import annotations

import subprocess

#: seconds a scheduler query may take: slurmctld answers slowly on a busy controller
QUERY_TIMEOUT_S = 60


def run(cmd: list[str], timeout_s: float = QUERY_TIMEOUT_S) -> str | None:
    """``cmd``'s standard output, or ``None`` when it cannot be run, times out or exits non-zero."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None
