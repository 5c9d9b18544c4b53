"""The adaptive benchmark's anchors: Optuna's and Ray Tune's successive halving on workload (a).

Both search the same configurations with the same slots, plan and
training (:func:`jobs.bench.adaptive_ways.train`) as seqjobs' ways, as
their documentation has it:

- **Optuna** ``SuccessiveHalvingPruner`` (its default ``bootstrap_count``
  0: a trial is never held back, the first at a rung goes on) with
  ``JournalStorage`` + ``JournalFileBackend`` on the benchmark's folder
  (Optuna's documented storage for a shared file system; SQLite on NFS is
  known to break), ``slots`` worker processes each asking for the next
  enqueued configuration: no driver, as seqjobs' workers;
- **Ray Tune** ``ASHAScheduler`` (a trial stops at a milestone unless it is
  in the best 1/eta recorded there so far), one trial per configuration,
  ``slots`` at a time on a local Ray instance of ``slots`` CPUs; the
  decisions run in Tune's driver.

They are imported only here, only when the adaptive item runs, and only if
installed (``pip install 'seqjobs[bench]'``): an anchor that cannot run
says why in its outcome's note.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Literal

from jobs.bench.adaptive_ways import Ledger, Outcome, Plan, outcome, train, waits_requeue
from jobs.bench.adaptive_workload import Workload

STUDY = "adaptive"


# -- the plumbing both workloads' anchors share (the real search's: jobs.bench.adaptive_search) ---------------


def optuna_study(journal: Path, configs: int) -> Any:
    """A new study on ``journal`` with configurations ``0..configs-1`` enqueued, in order."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=STUDY, storage=JournalStorage(JournalFileBackend(str(journal))), direction="maximize"
    )
    for config in range(configs):
        study.enqueue_trial({"config": config}, user_attrs={"enqueued": True})
    return study


def optuna_workers(
    target: Callable[..., None], args: tuple[Any, ...], slots: int, start_method: Literal["fork", "spawn"]
) -> float:
    """``slots`` processes running ``target(*args)``; the wall clock until all have ended (failed: an error)."""
    context = multiprocessing.get_context("spawn") if start_method == "spawn" else multiprocessing.get_context("fork")
    start = time.perf_counter()
    procs = [context.Process(target=target, args=args) for _ in range(slots)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    if any(proc.exitcode != 0 for proc in procs):
        raise RuntimeError("an Optuna worker failed")
    return time.perf_counter() - start


def pruned_count(study: Any) -> int:
    import optuna

    return sum(t.state == optuna.trial.TrialState.PRUNED for t in study.get_trials(deepcopy=False))


def optuna_trials(journal: Path, plan: Plan, configs: int) -> Iterator[tuple[Any, int]]:
    """In a worker: ``(trial, configuration)`` until no enqueued configuration is left, pruned by Optuna's
    ``SuccessiveHalvingPruner`` (its default ``bootstrap_count`` 0); the caller tells each trial's end."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=plan.rungs[0], reduction_factor=plan.eta)
    study = optuna.load_study(study_name=STUDY, storage=JournalStorage(JournalFileBackend(str(journal))), pruner=pruner)
    while True:
        trial = study.ask()
        if not trial.user_attrs.get("enqueued"):  # every configuration is taken: this one is none of them
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            return
        yield trial, trial.suggest_int("config", 0, configs - 1)


def tell(trial: Any, last: int, plan: Plan, score: float) -> None:
    """End ``trial``: pruned if it stopped before the last rung, else complete with ``score``."""
    import optuna

    study = trial.study
    if last < plan.rungs[-1]:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    else:
        study.tell(trial, score)


def ray_asha(
    trainable: Callable[[dict[str, Any]], None], configs: int, plan: Plan, storage: Path, time_attr: str
) -> tuple[Any, float, float, str]:
    """Ray Tune's ``ASHAScheduler`` over configurations ``0..configs-1``, ``plan.slots`` at a time, on a local Ray
    instance of ``plan.slots`` CPUs: ``(results, wall clock, seconds Ray took to start, Ray's version)``."""
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    start = time.perf_counter()
    ray.init(num_cpus=plan.slots, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    started = time.perf_counter() - start
    try:
        tuner = tune.Tuner(
            trainable,
            param_space={"config": tune.grid_search(list(range(configs)))},
            tune_config=tune.TuneConfig(
                scheduler=ASHAScheduler(
                    time_attr=time_attr,
                    metric="score",
                    mode="max",
                    max_t=plan.rungs[-1],
                    grace_period=plan.rungs[0],
                    reduction_factor=plan.eta,
                ),
                max_concurrent_trials=plan.slots,
            ),
            run_config=tune.RunConfig(storage_path=str(storage), name=STUDY, verbose=0),
        )
        results = tuner.fit()
        wall = time.perf_counter() - start
    finally:
        ray.shutdown()
    return results, wall, started, ray.__version__


# -- workload (a) ------------------------------------------------------------------------------------------------


def optuna_way(workload: Workload, plan: Plan, work: Path) -> Outcome:
    """Optuna's pruner with ``plan.slots`` worker processes on a journal file; its figures once all have ended."""
    import optuna

    journal = work / "optuna.journal"
    study = optuna_study(journal, workload.configs)  # the same configurations, in the same order
    ledger = Ledger(work / "optuna.ledger")
    wall = optuna_workers(_optuna_worker, (journal, work, workload, plan, ledger), plan.slots, "fork")
    finished = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    pick = max(finished, key=lambda t: (t.value, -t.params["config"])).params["config"]
    name, note = f"Optuna {optuna.__version__} SuccessiveHalvingPruner", f"{pruned_count(study)} trials pruned"
    return outcome(name, workload, plan, ledger, wall, pick, note)


def _optuna_worker(journal: Path, work: Path, workload: Workload, plan: Plan, ledger: Ledger) -> None:
    """Trials until no enqueued configuration is left: report each epoch, stop when the pruner says so."""
    for trial, config in optuna_trials(journal, plan, workload.configs):

        def report(epoch: int) -> bool:
            trial.report(workload.score(config, epoch), epoch)
            return not trial.should_prune()

        last = train(
            workload,
            config,
            range(1, plan.rungs[-1] + 1),
            ledger,
            preempt=waits_requeue(workload),
            marker=work / "optuna.preempted",
            each=report,
        )
        tell(trial, last, plan, workload.score(config, last))


def ray_way(workload: Workload, plan: Plan, work: Path) -> Outcome:
    """Ray Tune's ASHA scheduler, ``plan.slots`` trials at a time; its figures once the tuner has returned.

    The clock includes starting the local Ray instance (its note says how long that took).
    """
    from ray import tune

    ledger = Ledger(work / "ray.ledger")
    marker, last_epoch = work / "ray.preempted", plan.rungs[-1]

    def trainable(params: dict[str, Any]) -> None:
        config = int(params["config"])

        def report(epoch: int) -> bool:
            tune.report({"score": workload.score(config, epoch)})
            return True  # the scheduler stops the trial itself

        train(workload, config, range(1, last_epoch + 1), ledger, waits_requeue(workload), marker, each=report)

    results, wall, started, version = ray_asha(trainable, workload.configs, plan, work / "ray", "training_iteration")
    finals = [  # (score, -config) of each trial that reached the last epoch
        (float(r.metrics["score"]), -int((r.config or {})["config"]))
        for r in (results[i] for i in range(len(results)))
        if r.metrics and r.metrics.get("training_iteration") == last_epoch
    ]
    pick = -max(finals)[1]
    note = f"Ray started in {started:.1f} s (in the wall clock); {len(finals)} trials reached the last epoch"
    return outcome(f"Ray {version} Tune ASHAScheduler", workload, plan, ledger, wall, int(pick), note)
