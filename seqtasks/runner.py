"""Run one task into one run folder: the single path every executor takes.

``seqjobs run`` calls :func:`execute` in-process; submitted jobs call it on the
compute node. It validates the config, prepares (or resumes) the folder, runs
the task and writes ``result.json`` -- ``completed`` with the task's figures,
or ``failed`` with the error's last line so ``seqjobs status`` can show it.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any

from seqtasks.config import validate
from seqtasks.rundir import RunDir, elapsed, now_iso
from seqtasks.tasks import get_task


def is_done(run_dir: RunDir, config: Any) -> bool:
    """True when the folder holds a completed result for ``config``.

    A run completed with fewer epochs than ``config`` asks for is not done:
    running it again trains the missing epochs only.
    """
    result = run_dir.result() or {}
    return result.get("status") == "completed" and result.get("epochs_requested") == getattr(config, "epochs", None)


def execute(task: str, config: Any, out: str | Path) -> dict[str, Any]:
    """Run ``task`` with ``config`` into folder ``out`` and return its result record.

    A folder that already completed with the same config is not run again:
    its stored result is returned (re-running a sweep is idempotent). Raising
    tasks leave a ``failed`` result behind and re-raise.
    """
    spec = get_task(task)
    validate(config)
    run_dir = RunDir(out)
    run_dir.prepare(task, config)
    if is_done(run_dir, config):
        return run_dir.result() or {}  # same config, same length: nothing left to do
    attempt = run_dir.mark_running()
    start = time.perf_counter()
    try:
        figures = spec.load()(config, run_dir)
    except BaseException as err:
        if isinstance(err, (KeyboardInterrupt, SystemExit)):
            raise  # a kill or a preemption: the folder stays resumable, not failed
        lines = [ln for ln in str(err).strip().splitlines() if ln.strip()]
        run_dir.write_result(
            {
                "status": "failed",
                "task": task,
                "error": lines[-1] if lines else type(err).__name__,
                "error_type": type(err).__name__,
                "traceback": traceback.format_exc(limit=8),
                "attempt": attempt,
                "ended_at": now_iso(),
            }
        )
        raise
    result = {
        "status": "completed",
        "task": task,
        **figures,
        "duration_s": elapsed(start),
        "attempt": attempt,
        "ended_at": now_iso(),
        "run_dir": str(run_dir.path.resolve()),
    }
    if hasattr(config, "epochs"):
        result["epochs_requested"] = config.epochs
    return run_dir.write_result(result)
