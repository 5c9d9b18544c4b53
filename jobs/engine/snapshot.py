"""Code snapshots: a job imports the code it was submitted with, not whatever the checkout holds when it starts.

A sweep may wait in the queue for days and a run may be requeued days later;
with an editable install (the README's) each attempt would otherwise import
``jobs/`` and ``seqtasks/`` as they are at that moment, and a resumed run
could continue old checkpoints under new code. So every submission freezes
the packages jobs import (:data:`~seqtasks.version.CODE_PACKAGES`) into a
snapshot: a folder named by the sha256 of the files' paths and bytes (``*.py``
and :data:`PACKAGE_DATA`; no ``__pycache__``), made once per code state and
shared by every sweep with that code. It lives in ``$SEQJOBS_CODE_DIR``, else
in ``.seqjobs/code/`` of the folder that holds the sweep or run (on the same
file system as the runs, so compute nodes see it). An installed (non-editable)
seqjobs is snapshotted the same way: a ``pip install -U`` while jobs wait
changes the installed files just as an edit changes a checkout.

A job runs with the snapshot first on ``PYTHONPATH`` and ``PYTHONSAFEPATH=1``
(:meth:`Snapshot.environment`): without the latter, ``python -m`` puts the
current folder -- a checkout, when the sweep was submitted from one -- ahead
of ``PYTHONPATH``. The editable install's finder comes after ``PYTHONPATH``
in any case (setuptools appends it to ``sys.meta_path``). Python 3.10 has no
``PYTHONSAFEPATH``: there, submitting from a folder that holds one of the
packages is refused (:func:`check_not_shadowed`).

Each run's ``config.json`` records the snapshot (:meth:`Snapshot.record`);
every later submission of the run (a resume, ``resubmit``, a halving
promotion) uses that one (:func:`recorded_code`), and refuses when it is
gone. Jobs submitted by jobs (follow-ups, promotions) reuse the snapshot they
run from (:func:`running_snapshot`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqtasks.errors import UserError
from seqtasks.rundir.folder import CONFIG
from seqtasks.tasks import user_modules
from seqtasks.version import CODE_PACKAGES, SNAPSHOT_MANIFEST, git_state

#: where snapshots are kept when set (a folder on a file system compute nodes see)
STORE_ENV = "SEQJOBS_CODE_DIR"
#: set in a job's environment: the snapshot folder it runs from
RUNNING_ENV = "SEQJOBS_SNAPSHOT"
#: the store's place beside the runs when :data:`STORE_ENV` is not set
STORE_IN_ROOT = Path(".seqjobs") / "code"
#: written last into a snapshot (before the rename that publishes it): what it is, where it came from
MANIFEST = SNAPSHOT_MANIFEST
#: files besides ``*.py`` that the packages read at run time (package data)
PACKAGE_DATA = (".json", ".toml", ".txt")
#: the ``config.json`` record of a run made with ``--no-snapshot``
OPTED_OUT = {"id": None, "opted_out": True}


@dataclass(frozen=True)
class Snapshot:
    """A frozen copy of the code: ``path`` holds one folder per package; ``id`` is the content hash."""

    id: str
    path: Path

    def record(self) -> dict[str, Any]:
        """What ``config.json`` keeps of it (``snapshot``)."""
        return {"id": self.id, "path": str(self.path)}

    def environment(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` with the snapshot ahead of everything else on the import path (see the module doc)."""
        rest = base.get("PYTHONPATH")
        return {
            **base,
            "PYTHONPATH": str(self.path) + (os.pathsep + rest if rest else ""),
            "PYTHONSAFEPATH": "1",
            RUNNING_ENV: str(self.path),
        }

    def setup_lines(self) -> list[str]:
        """The same environment as lines of a job script (SLURM: a requeue runs the same script, so the same code)."""
        quoted = shlex.quote(str(self.path))
        return [
            f"export PYTHONPATH={quoted}${{PYTHONPATH:+:$PYTHONPATH}}",
            "export PYTHONSAFEPATH=1",
            f"export {RUNNING_ENV}={quoted}",
        ]


def store_for(folder: Path) -> Path:
    """Where snapshots of a submission into ``folder`` (a sweep or run folder) go."""
    chosen = os.environ.get(STORE_ENV)
    if chosen:
        return Path(chosen).absolute()
    return Path(folder).absolute().parent / STORE_IN_ROOT


def code_modules() -> tuple[str, ...]:
    """What a snapshot holds: seqjobs' packages, and the modules of the user tasks this process loaded."""
    return (*CODE_PACKAGES, *user_modules())


def package_dirs(packages: tuple[str, ...] | None = None) -> dict[str, Path]:
    """Each package's folder (a one-file module: its file), as this process imported it (a checkout,
    site-packages, or a snapshot)."""
    import importlib

    found = {}
    for name in code_modules() if packages is None else packages:
        module = importlib.import_module(name)
        path = Path(module.__file__ or "").resolve()
        found[name] = path.parent if hasattr(module, "__path__") else path
    return found


def source_files(packages: tuple[str, ...] | None = None) -> list[tuple[str, Path]]:
    """``(path inside the snapshot, file)`` of every file a snapshot holds, sorted by the former."""
    found = []
    for name, root in package_dirs(packages).items():
        if root.is_file():  # a user's task in a module of one file
            found.append((root.name, root))
            continue
        for folder, subdirs, files in os.walk(root):
            subdirs[:] = sorted(d for d in subdirs if d != "__pycache__" and not d.startswith("."))
            base = Path(folder)
            for file in files:
                if file.endswith((".py", *PACKAGE_DATA)) and not file.startswith("."):
                    found.append(((Path(name) / (base / file).relative_to(root)).as_posix(), base / file))
    return sorted(found)


def code_id(contents: list[tuple[str, bytes]]) -> str:
    """The content hash of ``(path, bytes)`` pairs: equal code, equal id, wherever it lies."""
    digest = hashlib.sha256()
    for rel, data in contents:
        digest.update(f"{rel}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:24]


def read_sources(packages: tuple[str, ...] | None = None) -> list[tuple[str, bytes]]:
    """The files of :func:`source_files` with their bytes."""
    return [(rel, path.read_bytes()) for rel, path in source_files(packages)]


def running_snapshot() -> Snapshot | None:
    """The snapshot this process runs from (a job's), or ``None``.

    Only when :data:`RUNNING_ENV` names a folder and ``jobs`` really was
    imported from it: a variable left in a shell proves nothing.
    """
    folder = os.environ.get(RUNNING_ENV)
    if not folder:
        return None
    path = Path(folder).resolve()
    if package_dirs(("jobs",))["jobs"].parent != path:
        return None
    return Snapshot(path.name, path)


def current_code_id() -> str:
    """The id of the code this process runs: its snapshot's, or the hash of the packages' files now."""
    running = running_snapshot()
    return running.id if running else code_id(read_sources())


def take(store: Path) -> Snapshot:
    """The snapshot of the code as it is now, made in ``store`` unless it is there already.

    In a job the snapshot it runs from is returned as it is. A new one is
    built in a temporary folder and renamed into place: a reader never sees a
    partial one, and of two makers at once the second finds the folder taken
    and drops its own copy.
    """
    running = running_snapshot()
    if running is not None:
        return running
    check_not_shadowed()
    contents = read_sources()
    ident = code_id(contents)
    target = Path(store) / ident
    if not target.is_dir():
        _build(target, ident, contents)
    return Snapshot(ident, target)


def _build(target: Path, ident: str, contents: list[tuple[str, bytes]]) -> None:
    """Write the files into a temporary sibling of ``target``, then rename it into place."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{ident}.", suffix=".tmp", dir=target.parent))
    except OSError as err:
        raise UserError(
            f"cannot make the code snapshot in {target.parent}: {err.strerror}; "
            f"point {STORE_ENV} at a writable folder on the runs' file system"
        ) from None
    try:
        for rel, data in contents:
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        commit, dirty = git_state()
        manifest = {
            "id": ident,
            "packages": sorted({rel.split("/")[0] for rel, _ in contents}),
            "files": len(contents),
            "source": {k: str(v) for k, v in package_dirs().items()},
            "git_commit": commit,
            "git_dirty": dirty,
            "python": sys.version.split()[0],
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        tmp.chmod(0o755)  # mkdtemp's folder is private; jobs of the same user on other nodes read it alike
        os.rename(tmp, target)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if target.is_dir():  # another maker's rename beat ours: theirs holds the same files
            return
        raise UserError(
            f"cannot make the code snapshot {target}: {err.strerror}; "
            f"point {STORE_ENV} at a writable folder on the runs' file system"
        ) from None


def check_not_shadowed() -> None:
    """On Python 3.10 (no ``PYTHONSAFEPATH``), refuse a working folder whose packages a job would import instead."""
    if sys.version_info >= (3, 11):
        return
    shadowing = [name for name in CODE_PACKAGES if (Path.cwd() / name / "__init__.py").is_file()]
    if shadowing:
        raise UserError(
            f"on Python 3.10 a job started here would import ./{shadowing[0]} instead of its code snapshot; "
            "submit from another folder (cd runs/ ...) or use Python >= 3.11"
        )


def code_now(kind: str, log_root: Path, wanted: bool) -> Snapshot | None:
    """The code jobs submitted now into ``log_root`` import: a snapshot taken now (in a job: the one it runs
    from); ``None``, the installed code, when not ``wanted`` (``--no-snapshot``) and for the debug executor,
    which runs in this very process on the code it has loaded."""
    if kind == "debug" or not wanted:
        return None
    return take(store_for(log_root))


def for_new_runs(kind: str, log_root: Path, wanted: bool, folders: list[Path]) -> dict[str, Any] | None:
    """The ``config.json`` record of the runs among ``folders`` a submission creates (:func:`code_now`'s).

    ``None`` (nothing recorded, nothing taken) for the debug executor, and
    when every folder has its config already: resumes keep theirs.
    """
    if kind == "debug" or all((Path(folder) / CONFIG).is_file() for folder in folders):
        return None
    code = code_now(kind, log_root, wanted)
    return code.record() if code else dict(OPTED_OUT)


def recorded_code(
    record: dict[str, Any] | None,
    run_dir: Path,
    now: Callable[[], Snapshot | None],
) -> Snapshot | None:
    """The code a new attempt of a run must import: its recorded snapshot, or ``None`` for the installed code.

    A run with no record (made by ``seqjobs run`` in-process, or before
    snapshots) gets the code as it is now (``now()``); otherwise see
    :func:`recorded_snapshot`.
    """
    return now() if record is None else recorded_snapshot(record, run_dir)


def recorded_snapshot(record: dict[str, Any] | None, run_dir: Path) -> Snapshot | None:
    """The snapshot a run's ``config.json`` records; ``None`` when it records none (opted out, or no record).

    A run whose snapshot is gone is refused: resuming its checkpoints under
    other code would give one result from two versions.
    """
    if record is None or record.get("id") is None:
        return None
    path = Path(str(record.get("path")))
    if not (path / MANIFEST).is_file():
        raise UserError(
            f"{run_dir}: its code snapshot {record['id']} is gone ({path}); a resume would run other code: "
            f"start the run over with `rm -r {run_dir}` and the same submit or sweep command"
        )
    return Snapshot(str(record["id"]), path)


def check_same_code(record: dict[str, Any] | None, run_dir: Path) -> None:
    """Refuse to continue, in this process, a run whose snapshot holds other code than this process runs."""
    if record is None or record.get("id") is None or current_code_id() == record["id"]:
        return
    raise UserError(
        f"{run_dir} was made by code snapshot {record['id']} and the code here differs: continuing it "
        f"here would mix two versions in one result; `seqjobs resubmit {run_dir}` runs it on its snapshot, "
        "or choose another --out"
    )
