"""``seqjobs sweep TASK --halving ...``: the options of a successive-halving sweep, and its submission.

The sweep's runs are whatever ``--grid``/``--zip``/``--seeds`` made of them;
halving only decides how far each trains (:mod:`jobs.engine.halving`,
:mod:`jobs.engine.promotion`).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import typer

from jobs.cli.options import option
from jobs.engine.options import parse_setting
from jobs.engine.sweep import SweepRequest
from jobs.text import count
from seqtasks.config import validate
from seqtasks.errors import UserError
from seqtasks.rundir import Damaged, SweepDir
from seqtasks.rundir.records import HalvingRecord
from seqtasks.rundir.sweepdir import is_async
from seqtasks.tasks import TaskSpec

PANEL = "Successive halving"
#: ``--halving-mode``: a rung at a time with promotion jobs, or ASHA's workers (:mod:`jobs.engine.asha`)
MODES = ("sync", "async")
#: how often ``--wait`` looks whether an asynchronous search has completed
WAIT_POLL_S = 3.0

HALVING_PARAMS = [
    option(
        "halving",
        bool,
        False,
        "Successive halving: train every configuration --min-epochs, then resume only the "
        "best 1/eta, eta times longer each rung, up to --max-epochs (no controller process).",
        PANEL,
        "--halving/--no-halving",
    ),
    option("min_epochs", Optional[int], None, "Halving: epochs of the first rung.", PANEL),
    option("max_epochs", Optional[int], None, "Halving: epochs of the last rung.", PANEL),
    option(
        "eta", int, 3, "Halving: keep the best 1/eta of the configurations each rung; epochs grow eta times.", PANEL
    ),
    option(
        "metric",
        Optional[str],
        None,
        "Halving: the validation figure to rank by (default: the task's first; "
        "imdb val_accuracy, charlm val_bits_per_char; never the test set).",
        PANEL,
    ),
    option(
        "halving_mode",
        str,
        "sync",
        "Halving: sync (a rung ends when its slowest run ends, then a promotion job decides) or async "
        "(ASHA: workers pull work, promoting a configuration as soon as it is in the best 1/eta of those "
        "finished at its rung; --trials is then the budget of configurations).",
        PANEL,
    ),
    option(
        "min_competitors",
        Optional[int],
        None,
        "Async halving: configurations that must have finished a rung before any is promoted from it (default: eta).",
        PANEL,
    ),
    option(
        "promote_partition",
        Optional[str],
        None,
        "Halving on SLURM: partition of the small promotion jobs (default: the sweep's).",
        PANEL,
    ),
]


@dataclass(frozen=True)
class Halving:
    """What the halving options ask for: the plan ``sweep.json`` records, the mode, async's minimum competitors."""

    record: HalvingRecord
    mode: str = "sync"
    min_competitors: Optional[int] = None


def halving_plan(spec: TaskSpec, values: dict[str, Any]) -> Halving | None:
    """The plan the halving options ask for (``None``: not a halving sweep); a bad combination is one line."""
    from jobs.engine.halving import rung_epochs, validation_metric

    given = [
        name
        for name in ("min_epochs", "max_epochs", "metric", "promote_partition", "min_competitors")
        if values[name] is not None
    ] + ["halving_mode"] * (values["halving_mode"] != "sync")
    if not values["halving"]:
        if given:
            raise UserError(f"--{given[0].replace('_', '-')} belongs to a halving sweep; add --halving")
        return None
    if values["halving_mode"] not in MODES:
        raise UserError(f"--halving-mode is one of {', '.join(MODES)} (got '{values['halving_mode']}')")
    if values["halving_mode"] == "sync" and values["min_competitors"] is not None:
        raise UserError("--min-competitors belongs to --halving-mode async (a synchronous rung waits for all)")
    if values["min_competitors"] is not None and values["min_competitors"] < 1:
        raise UserError(f"--min-competitors must be >= 1 (got {values['min_competitors']})")
    metric, higher = validation_metric(spec, values["metric"])
    if values["min_epochs"] is None or values["max_epochs"] is None:
        raise UserError("--halving needs --min-epochs and --max-epochs (e.g. --min-epochs 1 --max-epochs 9)")
    _check_max_epochs(spec, values["max_epochs"])
    epochs = rung_epochs(values["min_epochs"], values["max_epochs"], values["eta"])
    partition = parse_setting("partition", values["promote_partition"])
    record = HalvingRecord(
        metric=metric,
        higher_is_better=higher,
        min_epochs=values["min_epochs"],
        max_epochs=values["max_epochs"],
        eta=values["eta"],
        epochs=epochs,
        promote_partition=partition,
    )
    return Halving(record, values["halving_mode"], values["min_competitors"])


def _check_max_epochs(spec: TaskSpec, max_epochs: int) -> None:
    """The last rung trains to ``--max-epochs``: more epochs than any run of the task may have is refused up front.

    Otherwise the plan (a rung per factor of eta up to it) would be recorded
    and its first rungs trained before a run refused the epochs of a later one.
    """
    try:
        validate(dataclasses.replace(spec.config_cls(), epochs=max_epochs))
    except UserError as err:
        raise UserError(
            f"--max-epochs {max_epochs} is more than a run may train ({err}); choose a smaller one"
        ) from None


def check_varied(varied: set[str]) -> None:
    """Halving sets every run's epochs: a sweep that varies them is refused."""
    if "epochs" in varied:
        raise UserError("--halving sets the epochs of each rung; do not vary epochs in --grid/--zip")


def sweep_halving(request: SweepRequest, *, plan: Halving, wait: bool) -> None:
    """Start or continue the halving sweep and say where it stands; ``wait``: until its last rung has ended.

    While it waits, this command also decides rungs whose promotion job has
    not (yet) done it, as running the command again would.
    """
    from jobs.engine.launch import check_runs
    from jobs.engine.promotion import resume, start
    from jobs.monitor.waiting import wait_for

    sweep_dir, runs, opts = request.folder, request.runs, request.opts
    check_runs(request.task, [(sweep_dir / name, config) for name, config in runs])  # before the plan is written
    _check_mode(sweep_dir, plan.mode)
    if plan.mode == "async":
        sweep_async(request, plan=plan, wait=wait)
        return
    step = start(request, plan.record)
    rungs = " -> ".join(map(str, plan.record.epochs))
    if step.unfinished and step.submitted:
        typer.echo(
            f"resubmitted {count(len(step.submitted), 'run')} of rung {step.rung} that had stopped unfinished "
            f"(stuck, cancelled, or never started): {', '.join(sorted(Path(run).name for run in step.submitted))}"
        )
    elif step.submitted:
        typer.echo(
            f"submitted rung {step.rung} ({count(len(step.submitted), 'run')}) of a halving sweep of "
            f"{count(len(runs), 'run')}, epochs per rung {rungs}, on {opts.resolved_executor()}; "
            f"sweep folder: {sweep_dir}"
        )
    elif step.completed:
        typer.echo(f"nothing to submit: the halving sweep in {sweep_dir} has completed")
    else:
        typer.echo(f"nothing to submit: rung {step.rung} of the halving sweep in {sweep_dir} is running")
    if step.decided:
        typer.echo(f"decided rung(s) {', '.join(map(str, step.decided))} here (no promotion job had done it)", err=True)
    if step.failed:
        typer.echo(f"failed runs, ranked last: {', '.join(step.failed)}", err=True)
    if step.unknown:
        typer.echo(
            f"rung {step.rung} is not decided: the state of {count(len(step.unknown), 'run')} cannot be told "
            f"now ({', '.join(step.unknown)}); run the same command again once `seqjobs status` can tell",
            err=True,
        )
    if step.promotion_job:
        typer.echo(f"promotion job {step.promotion_job} decides after rung {step.rung}", err=True)
    typer.echo(f"follow it with: seqjobs status {sweep_dir}", err=True)
    while wait and not step.completed:
        wait_for(sweep_dir)
        step = resume(sweep_dir, opts)
        if step.cancelled:
            typer.echo(
                f"rung {step.rung} has cancelled runs ({', '.join(step.cancelled)}): the halving sweep is "
                "paused; give the same command again to go on",
                err=True,
            )
            break


def _check_mode(sweep_dir: Path, mode: str) -> None:
    """A halving sweep is continued in the mode it was started in (their records differ)."""
    try:
        manifest = SweepDir(sweep_dir).manifest()
    except Damaged:
        return  # the sweep's own start names the damage
    if manifest is not None and manifest.halving is not None and is_async(manifest) != (mode == "async"):
        was = "async" if is_async(manifest) else "sync"
        raise UserError(
            f"{sweep_dir} is a halving sweep of --halving-mode {was}; continue it with --halving-mode {was}, "
            "or give this one another --name"
        )


def sweep_async(request: SweepRequest, *, plan: Halving, wait: bool) -> None:
    """Start or resume an asynchronous halving search and say where it stands; ``wait``: until it is complete."""
    from jobs.engine.asha.search import Search
    from jobs.engine.asha.start import start
    from jobs.engine.asha.workers import live_workers

    sweep_dir, runs, opts = request.folder, request.runs, request.opts
    options = {**request.options, "min_competitors": plan.min_competitors or plan.record.eta}
    started = start(dataclasses.replace(request, options=options), plan.record)
    rungs = " -> ".join(map(str, plan.record.epochs))
    if started.completed:
        typer.echo(f"nothing to submit: the asynchronous halving search in {sweep_dir} has completed")
    elif started.running:
        typer.echo(
            f"nothing to submit: {count(len(started.running), 'worker')} of the asynchronous halving search in "
            f"{sweep_dir} are at work ({', '.join(started.running)})"
        )
    else:
        typer.echo(
            f"submitted {count(len(started.submitted), 'worker')} for an asynchronous halving search of "
            f"{count(started.configurations, 'configuration')} ({count(len(runs), 'run')}), epochs per rung {rungs}, "
            f"on {opts.resolved_executor()}; sweep folder: {sweep_dir}"
        )
        if started.bounded_by:
            typer.echo(f"fewer workers than asked: {started.bounded_by} leaves room for no more", err=True)
    typer.echo(f"follow it with: seqjobs status {sweep_dir}", err=True)
    while wait and not Search.open(sweep_dir, compact=False).complete():
        if not live_workers(sweep_dir):
            typer.echo(
                "every worker has ended before the search completed (cancelled, or failed: see seqjobs status); "
                "give the same command again to go on",
                err=True,
            )
            break
        time.sleep(WAIT_POLL_S)
