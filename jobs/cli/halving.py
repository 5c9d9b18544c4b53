"""``seqjobs sweep TASK --halving ...``: the options of a successive-halving sweep, and its submission.

The sweep's runs are whatever ``--grid``/``--zip``/``--seeds`` made of them;
halving only decides how far each trains (:mod:`jobs.engine.halving`,
:mod:`jobs.engine.promotion`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional

import typer

from jobs.cli.options import option
from jobs.engine.options import ExecutorOptions, parse_setting
from jobs.text import count
from seqtasks.config import validate
from seqtasks.errors import UserError
from seqtasks.rundir.records import HalvingRecord
from seqtasks.tasks import TaskSpec

PANEL = "Successive halving"

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
        "promote_partition",
        Optional[str],
        None,
        "Halving on SLURM: partition of the small promotion jobs (default: the sweep's).",
        PANEL,
    ),
]


def halving_plan(spec: TaskSpec, values: dict[str, Any]) -> HalvingRecord | None:
    """The plan the halving options ask for (``None``: not a halving sweep); a bad combination is one line."""
    from jobs.engine.halving import rung_epochs, validation_metric

    given = [name for name in ("min_epochs", "max_epochs", "metric", "promote_partition") if values[name] is not None]
    if not values["halving"]:
        if given:
            raise UserError(f"--{given[0].replace('_', '-')} belongs to a halving sweep; add --halving")
        return None
    metric, higher = validation_metric(spec, values["metric"])
    if values["min_epochs"] is None or values["max_epochs"] is None:
        raise UserError("--halving needs --min-epochs and --max-epochs (e.g. --min-epochs 1 --max-epochs 9)")
    _check_max_epochs(spec, values["max_epochs"])
    epochs = rung_epochs(values["min_epochs"], values["max_epochs"], values["eta"])
    partition = parse_setting("partition", values["promote_partition"])
    return HalvingRecord(
        metric=metric,
        higher_is_better=higher,
        min_epochs=values["min_epochs"],
        max_epochs=values["max_epochs"],
        eta=values["eta"],
        epochs=epochs,
        promote_partition=partition,
    )


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


def sweep_halving(
    spec: TaskSpec,
    sweep_dir: Path,
    runs: list[tuple[str, Any]],
    opts: ExecutorOptions,
    *,
    base: Any,
    sweep_options: dict[str, Any],
    plan: HalvingRecord,
    wait: bool,
) -> None:
    """Start or continue the halving sweep and say where it stands; ``wait``: until its last rung has ended.

    While it waits, this command also decides rungs whose promotion job has
    not (yet) done it, as running the command again would.
    """
    from jobs.engine.launch import check_runs
    from jobs.engine.promotion import resume, start
    from jobs.monitor.waiting import wait_for

    check_runs(spec.name, [(sweep_dir / name, config) for name, config in runs])  # before the plan is written
    step = start(spec.name, sweep_dir, runs, opts, base, {**sweep_options, "halving": True}, plan)
    rungs = " -> ".join(map(str, plan.epochs))
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
