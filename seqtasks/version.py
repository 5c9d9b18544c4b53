"""Where a run's code came from: seqjobs' version, its git commit (and whether it was edited) and the libraries' versions.

Each is read on first use and kept: ``importlib.metadata`` and a ``git``
process cost more than a read-only command like ``status`` may spend, and
only a run being prepared records them.
"""

from __future__ import annotations

import functools
import json
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


#: the packages a job imports, and so what a code snapshot holds (``jobs.engine.snapshot``)
CODE_PACKAGES = ("jobs", "seqtasks", "seqjobs")
#: what a run executes: a change here makes a run differ from its commit; one in results/ or docs/ does not
CODE_PATHS = (*CODE_PACKAGES, "pyproject.toml")
#: the file a code snapshot describes itself in, beside its packages
SNAPSHOT_MANIFEST = "SNAPSHOT.json"


def checkout_state(repo: Path) -> tuple[str | None, bool | None]:
    """``(commit, dirty)`` of the git checkout whose top is ``repo``; ``(None, None)`` when there is none.

    A folder merely inside another checkout has none: an installed seqjobs in
    a venv inside a user's project would otherwise record that project's commit.

    ``dirty`` says whether the code (:data:`CODE_PATHS`) differs from that
    commit, a new untracked module included: a run made from edited code is
    not what its commit says, and a sweep whose runs were created while
    someone edited the checkout would otherwise mix code versions without a
    trace. Tables written to ``results/`` (the quickstart writes one) and run
    folders do not count: they change what a checkout holds, not what runs.
    """

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout if out.returncode == 0 else None

    found = (git("rev-parse", "--show-toplevel", "HEAD") or "").splitlines()
    if len(found) != 2 or Path(found[0]).resolve() != repo.resolve():
        return None, None  # not a checkout, or seqjobs installed in a venv inside someone else's checkout
    commit = found[1]
    changes = git("status", "--porcelain", "--", *CODE_PATHS)
    return commit, None if changes is None else bool(changes.strip())


@functools.cache
def git_state() -> tuple[str | None, bool | None]:
    """:func:`checkout_state` of the seqjobs checkout the code runs from (none for an installed wheel).

    Code running from a snapshot (a job, ``seqjobs rerun``) reports the
    checkout the snapshot was taken from, as its manifest records it: the
    snapshot's own folder is no checkout, yet its code is that commit's.
    """
    top = Path(__file__).resolve().parents[1]
    manifest = top / SNAPSHOT_MANIFEST
    if manifest.is_file():
        try:
            taken = json.loads(manifest.read_text(encoding="utf-8"))
            return taken.get("git_commit"), taken.get("git_dirty")
        except (OSError, ValueError, AttributeError):
            return None, None
    return checkout_state(top)


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
