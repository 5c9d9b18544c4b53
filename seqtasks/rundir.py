"""Run folders: every run is one self-describing folder, written atomically.

Layout (every task)::

    config.json    task, every parameter, data set + checksum, version, git commit, host, start time
    state.json     running / where / which attempt (rewritten at each start)
    metrics.csv    one row an epoch (tasks that train)
    samples/       generated text
    result.json    flat final figures + ``status`` ("completed" or "failed")

A folder that already holds a config is resumed only with the same config
(fields marked ``resumable`` excepted); anything else is refused so that two
experiments never mix in one folder.
"""

from __future__ import annotations

import csv
import functools
from importlib import metadata
import io
import json
import os
import platform
import socket
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from seqtasks import atomic
from seqtasks.config import cli_name, resumable_fields, to_dict
from seqtasks.errors import UserError
from seqtasks.version import __version__

CONFIG = "config.json"
STATE = "state.json"
RESULT = "result.json"
METRICS = "metrics.csv"


def now_iso() -> str:
    """Current UTC time, ISO 8601, second precision."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the seqjobs checkout the code runs from, if it is one."""
    repo = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


@functools.lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a result depends on (no imports needed)."""
    found = {}
    for dist in ("tensorflow", "tensorflow-cpu", "keras", "numpy", "pandas", "submitit"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return found


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``, or ``None`` when missing or corrupt."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


class RunDir:
    """One run's folder and the files in it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @property
    def samples(self) -> Path:
        """Folder of generated text files."""
        return self.path / "samples"

    @property
    def checkpoints(self) -> Path:
        """Folder of resumable training state."""
        return self.path / "checkpoints"

    def file(self, name: str) -> Path:
        """Path of ``name`` inside the run folder."""
        return self.path / name

    # -- config -----------------------------------------------------------------
    def config(self) -> dict[str, Any] | None:
        """The stored config record, or ``None``."""
        return read_json(self.path / CONFIG)

    def result(self) -> dict[str, Any] | None:
        """The stored result record, or ``None`` (missing or corrupt)."""
        return read_json(self.path / RESULT)

    def state(self) -> dict[str, Any] | None:
        """The stored state record, or ``None``."""
        return read_json(self.path / STATE)

    def prepare(self, task: str, config: Any) -> None:
        """Create the folder and write ``config.json``, or check it matches an existing one.

        Raises :class:`UserError` when the folder holds a different task or config.
        """
        params = to_dict(config)
        old = self.check_compatible(task, config)
        if old is not None:
            old["config"] = params  # resumable fields (epochs) may have grown
            atomic.write_json(self.path / CONFIG, old)
            return
        if self.path.exists() and not self.path.is_dir():
            raise UserError(f"{self.path} exists and is not a folder; choose another --out")
        self.path.mkdir(parents=True, exist_ok=True)
        record = {
            "task": task,
            "config": params,
            "seed": params.get("seed"),
            "data": None,
            "seqjobs_version": __version__,
            "git_commit": git_commit(),
            "host": socket.gethostname(),
            "python": platform.python_version(),
            "libraries": dict(library_versions()),
            "created_at": now_iso(),
        }
        atomic.write_json(self.path / CONFIG, record)

    def check_compatible(self, task: str, config: Any) -> dict[str, Any] | None:
        """The stored config record, after checking it matches ``task`` and ``config``.

        ``None`` for a new folder; :class:`UserError` for a different task or config.
        """
        old = self.config()
        if old is None:
            return None
        params = to_dict(config)
        if old.get("task") != task:
            raise UserError(
                f"{self.path} holds a '{old.get('task')}' run, not '{task}'; choose another --out"
            )
        stored = old.get("config") or {}
        skip = resumable_fields(type(config))
        diff = [
            f"{cli_name(k)}: {stored.get(k)!r} -> {v!r}"
            for k, v in params.items()
            if k not in skip and stored.get(k) != v
        ]
        if diff:
            raise UserError(
                f"{self.path} was made with a different config ({'; '.join(diff)}); "
                "use another --out, or the same options to resume it"
            )
        return old

    def record_data(self, name: str, sha256: str, **extra: Any) -> None:
        """Add the data set's name and checksum to ``config.json``."""
        record = self.config() or {}
        record["data"] = {"name": name, "sha256": sha256, **extra}
        atomic.write_json(self.path / CONFIG, record)

    # -- state and result ---------------------------------------------------------
    def mark_running(self) -> int:
        """Write ``state.json`` for a new attempt and return its number (1, 2, ...)."""
        old = self.state() or {}
        attempt = int(old.get("attempt", 0)) + 1
        atomic.write_json(
            self.path / STATE,
            {
                "state": "running",
                "attempt": attempt,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "started_at": now_iso(),
                "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
                "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
            },
        )
        return attempt

    def write_result(self, result: dict[str, Any]) -> dict[str, Any]:
        """Write the final flat ``result.json`` and mark the state accordingly."""
        atomic.write_json(self.path / RESULT, result)
        state = self.state() or {}
        state.update(state=result.get("status", "completed"), ended_at=now_iso())
        atomic.write_json(self.path / STATE, state)
        return result

    # -- per-epoch metrics ----------------------------------------------------------
    def metrics_rows(self) -> list[dict[str, str]]:
        """Rows of ``metrics.csv`` (empty when absent)."""
        path = self.path / METRICS
        if not path.exists():
            return []
        with path.open(newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))

    def append_metrics(self, row: dict[str, Any]) -> None:
        """Append one epoch's row to ``metrics.csv`` (atomic rewrite; header from the first row)."""
        path = self.path / METRICS
        rows = self.metrics_rows()
        header = list(rows[0].keys()) if rows else list(row.keys())
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=header, extrasaction="ignore", lineterminator="\n")
        if not rows:
            writer.writeheader()
        writer.writerow(row)
        atomic.append_text(path, buf.getvalue())

    def truncate_metrics(self, epochs: int) -> None:
        """Keep only the first ``epochs`` rows: rows written after the last checkpoint are redone."""
        rows = self.metrics_rows()
        if len(rows) <= epochs:
            return
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0].keys()), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows[:epochs])
        atomic.write_text(self.path / METRICS, buf.getvalue())


def elapsed(since: float) -> float:
    """Seconds since ``since`` (a ``time.perf_counter()`` value), rounded to ms."""
    return round(time.perf_counter() - since, 3)
