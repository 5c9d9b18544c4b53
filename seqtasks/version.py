"""Where a run's code came from: seqjobs' version, its git commit and the libraries' versions.

Each is read on first use and kept: ``importlib.metadata`` and a ``git``
process cost more than a read-only command like ``status`` may spend, and
only a run being prepared records them.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

#: the libraries a result depends on, by distribution name
LIBRARIES = ("tensorflow", "tensorflow-cpu", "keras", "numpy", "pandas", "submitit")


@functools.cache
def package_version() -> str:
    """seqjobs' version, from the installed distribution when there is one."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("seqjobs")
    except PackageNotFoundError:  # running from a checkout that was not pip-installed
        return "0.1.0+checkout"


@functools.cache
def git_commit() -> str | None:
    """The commit of the seqjobs checkout the code runs from, if it is one."""
    repo = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


@functools.cache
def library_versions() -> dict[str, str]:
    """Installed versions of :data:`LIBRARIES` (read from their metadata, nothing imported)."""
    from importlib import metadata

    found = {}
    for dist in LIBRARIES:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return found
