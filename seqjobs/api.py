"""seqjobs from Python: the functions the CLI runs, with Python values instead of command-line text.

Each function here goes through the same code as its command (``seqjobs
sweep`` is :func:`jobs.cli.submit.start_sweep`, ``collect`` is
:func:`jobs.cli.views.gather`, ...): the same checks, the same run folders,
the same one-line messages. A mistake raises :class:`UserError` with the line
the CLI would print after ``error:``; warnings about damaged runs go to
stderr, as the CLI's do. Nothing here imports TensorFlow; pandas is imported
by the calls that return a DataFrame.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seqtasks.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

PathLike = str | Path


@dataclass(frozen=True)
class Sweep:
    """A sweep folder (or a run folder, or a folder of sweeps): look at it, wait for it, collect it, cancel it."""

    path: Path

    def status(self) -> pd.DataFrame:
        """One row per run: its state, epoch, last metric, job, node, elapsed time (``seqjobs status --json``)."""
        from jobs.cli.views import read_statuses
        from jobs.monitor.status import as_dicts

        return _frame(as_dicts(read_statuses(self.path)))

    def wait(self, interval: float = 5.0) -> pd.DataFrame:
        """Block until every run has ended (or can no longer change); then :meth:`status`."""
        from jobs.cli.views import read_statuses
        from jobs.monitor.waiting import poll

        read_statuses(self.path)  # refuses a folder with no readable run before waiting on it
        poll(self.path, interval, lambda rows, settled: None)
        return self.status()

    def collect(self, per_epoch: bool = False) -> pd.DataFrame:
        """The completed runs, one row each (the long table of every epoch with ``per_epoch``); see :func:`collect`."""
        return collect([self.path], per_epoch=per_epoch)

    def summary(self) -> pd.DataFrame:
        """``collect``'s summary: the mean over seeds of every configuration, best first."""
        from jobs.monitor.collect import summarise

        return summarise(self.collect())

    def cancel(self) -> int:
        """Cancel every run that has not ended; how many were."""
        from jobs.cli.control import cancel_under

        return cancel_under(self.path)

    def report(self, out: PathLike | None = None) -> Path:
        """Write ``report.md`` and its plots into ``out`` (default: the folder's ``report/``); the page's path."""
        from jobs.cli.report import OWN_FOLDER, make_report

        return make_report([self.path], Path(out) if out is not None else self.path / OWN_FOLDER)


def sweep(
    task: str,
    *,
    grid: Mapping[str, Sequence[Any]] | None = None,
    zip: Mapping[str, Sequence[Any]] | None = None,  # noqa: A002 -- the CLI's --zip
    seeds: int = 1,
    sample: Mapping[str, str] | None = None,
    trials: int | None = None,
    sampler_seed: int | None = None,
    name: str | None = None,
    root: PathLike = "runs",
    wait: bool = False,
    snapshot: bool = True,
    profile: str | None = None,
    **options: Any,
) -> Sweep:
    """Submit a sweep of ``task`` (``seqjobs sweep``) and return it; with ``wait``, once every run has ended.

    ``grid={"embedding_dim": [8, 16]}`` is ``--grid embedding-dim=8,16``;
    ``sample={"lr": "loguniform(1e-4,1e-2)"}`` is ``--sample lr=...``.
    ``options`` are the task's options (``epochs=3``), the executor settings
    (``executor="local"``, ``partition="gpu"``, ``time=60``) and the halving
    ones (``halving=True, min_epochs=1, max_epochs=9``), by their Python
    names. Running the same call again submits only what is not done.
    """
    from jobs.cli.halving import HALVING_PARAMS
    from jobs.cli.submit import start_sweep
    from jobs.engine.options import FIELDS

    spec, config, rest = _task_config(task, options)
    halving = {p.name: rest.pop(p.name, p.default) for p in HALVING_PARAMS}
    settings = {field: _text(rest.pop(field)) if field in rest else None for field in FIELDS}
    _refuse_unknown(rest, task)
    folder = start_sweep(
        spec,
        config,
        grid=_assignments(grid),
        zip_=_assignments(zip),
        seeds=seeds,
        sample=[f"{key}={value}" for key, value in (sample or {}).items()] or None,
        trials=trials,
        sampler_seed=sampler_seed,
        name=name,
        root=Path(root),
        wait=wait,
        no_snapshot=not snapshot,
        profile=profile,
        **halving,
        **settings,
    )
    found = Sweep(folder)
    if wait:
        found.wait()
    return found


def run(task: str, *, out: PathLike | None = None, **options: Any) -> dict[str, Any]:
    """Run ``task`` here and now, in this process (``seqjobs run``); its result record (``result.json``)."""
    from jobs.cli.run import run_task

    spec, config, rest = _task_config(task, options)
    _refuse_unknown(rest, task)
    return run_task(spec, config, Path(out) if out is not None else None)[1]


def open(path: PathLike) -> Sweep:  # noqa: A001 -- seqjobs.open(path), as the CLI's PATH arguments
    """An existing sweep, run or runs/ folder; refused (:class:`UserError`) when it holds no run folder."""
    from jobs.cli.common import check_runs

    check_runs(Path(path))
    return Sweep(Path(path))


def collect(paths: PathLike | Iterable[PathLike], per_epoch: bool = False) -> pd.DataFrame:
    """The completed runs under ``paths`` (folders and tables ``collect`` wrote, mixed), one row each.

    The same table as ``seqjobs collect``'s per-run CSV; ``per_epoch``: the
    long table of every epoch's metrics row instead.
    """
    from jobs.cli.views import gather

    found = gather([Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths], per_epoch=per_epoch)
    if per_epoch:
        return found.epochs if found.epochs is not None else _frame([])
    return found.runs


def _task_config(task: str, options: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    """``(spec, checked config, the options that are not the task's)``."""
    from seqtasks import config as cfg
    from seqtasks.tasks import get_task

    spec = get_task(task)
    fields = cfg.fields(spec.config_cls)
    own = {key: options[key] for key in options if key in fields}
    config: Any = cfg.from_dict(spec.config_cls, own)
    cfg.validate(config)
    return spec, config, {key: value for key, value in options.items() if key not in own}


def _refuse_unknown(rest: dict[str, Any], task: str) -> None:
    if rest:
        raise UserError(
            f"unknown option {sorted(rest)[0]!r} for {task}; see `seqjobs sweep {task} --help` for the options "
            "(in Python: their names with _ for -)"
        )


def _assignments(values: Mapping[str, Sequence[Any]] | None) -> list[str] | None:
    """``{"lr": [0.1, 0.01]}`` as ``--grid`` text: ``["lr=0.1,0.01"]``."""
    if not values:
        return None
    for key, listed in values.items():
        if isinstance(listed, (str, bytes)) or not isinstance(listed, Sequence):
            raise UserError(f"grid/zip value of {key!r} must be a list of values, e.g. {key}=[1, 2]")
    return [f"{key}={','.join(_text(v) for v in listed)}" for key, listed in values.items()]


def _text(value: Any) -> str:
    """A value as the command line writes it (booleans as true/false)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(rows)


__all__ = ["Sweep", "collect", "open", "run", "sweep"]
