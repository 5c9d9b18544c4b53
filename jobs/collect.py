"""Every run folder under some paths as one pandas table, plus a summary over seeds.

One row per completed run: every config parameter, every final figure of
``result.json``, and provenance (job id, host, duration, git commit, library
versions, data checksum). Runs that are missing, failed or have a corrupt
``result.json`` are reported and left out -- a half-finished sweep still
collects.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd

from jobs.status import find_runs
from seqtasks import atomic
from seqtasks.rundir import RunDir, read_json
from seqtasks.tasks import TASKS

SKIP_RESULT = {"status", "task", "run_dir", "traceback", "attempt", "ended_at", "epochs_requested"}


def _flat(value: Any) -> Any:
    return ",".join(map(str, value)) if isinstance(value, list) else value


def run_row(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """``(row, None)`` for a completed run, ``(None, reason)`` otherwise."""
    run = RunDir(path)
    config = run.config()
    if config is None:
        return None, "corrupt or missing config.json"
    result = run.result()
    if result is None:
        return None, "corrupt result.json" if run.file("result.json").exists() else "no result yet"
    if result.get("status") != "completed":
        return None, f"{result.get('status')}: {result.get('error', '')}".strip()
    job = read_json(path / "job.json") or {}
    row: dict[str, Any] = {"run": path.name, "sweep": path.parent.name, "task": config.get("task")}
    row.update({k: _flat(v) for k, v in (config.get("config") or {}).items()})
    row.update({k: v for k, v in result.items() if k not in SKIP_RESULT and not isinstance(v, (dict, list))})
    data = config.get("data") or {}
    row.update(
        state="completed",
        job_id=job.get("job_id", ""),
        executor=job.get("executor", "run"),
        host=(run.state() or {}).get("host", config.get("host")),
        git_commit=config.get("git_commit"),
        seqjobs_version=config.get("seqjobs_version"),
        data_name=data.get("name"),
        data_sha256=data.get("sha256"),
        path=str(path),
    )
    row.update({f"version_{k}": v for k, v in (config.get("libraries") or {}).items()})
    return row, None


def collect(paths: list[Path]) -> tuple[pd.DataFrame, list[str]]:
    """The runs table and the list of ``"run: reason"`` for runs left out."""
    rows, problems = [], []
    for root in paths:
        for path in find_runs(root):
            row, reason = run_row(path)
            if row is None:
                problems.append(f"{path}: {reason}")
            else:
                rows.append(row)
    return pd.DataFrame(rows), problems


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and count of each task's main figure per parameter combination, best first."""
    parts = []
    for task, group in runs.groupby("task", sort=True):
        spec = TASKS.get(str(task))
        if spec is None or spec.main_metric not in group:
            continue
        params = [
            name for name in spec.config_cls.__dataclass_fields__
            if name != "seed" and name in group and group[name].astype(str).nunique() > 1
        ]
        metric = pd.to_numeric(group[spec.main_metric], errors="coerce")
        frame = group[params].astype(str).assign(**{spec.main_metric: metric}) if params else pd.DataFrame({spec.main_metric: metric})
        if params:
            agg = frame.groupby(params, sort=False)[spec.main_metric].agg(["mean", "std", "count"]).reset_index()
        else:
            agg = frame[spec.main_metric].agg(["mean", "std", "count"]).to_frame().T
        agg = agg.rename(columns={c: f"{spec.main_metric}_{c}" for c in ("mean", "std", "count")})
        agg = agg.sort_values(f"{spec.main_metric}_mean", ascending=not spec.higher_is_better)
        agg.insert(0, "task", task)
        parts.append(agg.reset_index(drop=True))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def per_epoch(runs: pd.DataFrame) -> pd.DataFrame:
    """The long table: every ``metrics.csv`` row of every collected run, with its run and params."""
    frames = []
    for _, run in runs.iterrows():
        path = Path(run["path"]) / "metrics.csv"
        if not path.exists():
            continue
        try:
            metrics = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError):
            continue
        keep = [c for c in runs.columns if c not in metrics.columns]
        for col in keep:
            metrics[col] = run[col]
        frames.append(metrics)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV atomically."""
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return atomic.write_text(path, buf.getvalue())


def write_parquet(frame: pd.DataFrame, path: Path) -> Path | None:
    """Also write Parquet when pyarrow is installed (skipped silently otherwise)."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return None
    buf = io.BytesIO()
    frame.astype({c: str for c in frame.columns if frame[c].dtype == object}).to_parquet(buf, index=False)
    return atomic.write_bytes(path, buf.getvalue())


def to_json(frame: pd.DataFrame) -> str:
    """Records as JSON text (for scripts)."""
    return json.dumps(json.loads(frame.to_json(orient="records")), indent=2)
