"""A packed task on several GPUs: one worker process per GPU, each seeing only its own.

A task given N GPUs (``--gpus-per-node N``) and several runs
(``--runs-per-task``) would otherwise train them one by one on all N. Here
the runs are dealt out to N worker processes, started fresh (``spawn``: no
TensorFlow state is shared), each with ``CUDA_VISIBLE_DEVICES`` set to one
device before anything imports TensorFlow; each works through its share one
run after another, as a one-GPU packed task would.

The task's own process keeps the job: on preemption or a time limit
submitit calls :meth:`jobs.engine.jobfn.RunJob.checkpoint` there, which
stops the workers (:meth:`Workers.stop`; a kill loses at most each run's
epoch in progress) and requeues the runs that have not ended. The workers
ignore SLURM's checkpoint signal themselves, so they are stopped only that way.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from jobs.engine.jobfn import RunJob, RunSpec


class Workers:
    """One worker process per device, each running a share of the runs."""

    def __init__(self, devices: list[str]) -> None:
        self.devices = devices
        self.pool = ProcessPoolExecutor(len(devices), mp_context=multiprocessing.get_context("spawn"))

    def run(self, runs: list[RunSpec], max_stalled: int) -> list[dict[str, Any]]:
        """Every run, dealt out round-robin to the devices; the records of all, device by device."""
        n = len(self.devices)
        shares = [(runs[i::n], device) for i, device in enumerate(self.devices) if runs[i::n]]
        futures = [self.pool.submit(_work, share, device, max_stalled) for share, device in shares]
        records = [record for future in futures for record in future.result()]
        self.pool.shutdown()
        return records

    def stop(self) -> None:
        """Kill the workers now (the checkpoint of a preempted or timed-out task)."""
        for process in multiprocessing.active_children():  # this task's only children are the workers
            process.kill()
        self.pool.shutdown(wait=True, cancel_futures=True)


def _work(runs: list[RunSpec], device: str, max_stalled: int) -> list[dict[str, Any]]:
    """In a worker: see one device only, then run ``runs`` one after another, past failures."""
    os.environ["CUDA_VISIBLE_DEVICES"] = device
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)  # submitit's checkpoint signal: the task's own process handles it
    return RunJob(runs, False, max_stalled)()
