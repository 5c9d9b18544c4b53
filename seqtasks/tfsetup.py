"""Set TensorFlow up for a batch job: threads, precision, seeds, quiet logs.

Imported only by tasks that train. A SLURM job gets ``--cpus-per-task``
cores; TensorFlow by default sizes its thread pools to the whole node, so
several jobs sharing a node oversubscribe it. The pools follow
``SLURM_CPUS_PER_TASK`` (or ``SEQJOBS_THREADS``) instead.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # no oneDNN/CPU-feature banners in job logs


def job_threads() -> int | None:
    """Cores this job may use: ``SEQJOBS_THREADS``, else ``SLURM_CPUS_PER_TASK``, else ``None`` (all)."""
    for var in ("SEQJOBS_THREADS", "SLURM_CPUS_PER_TASK"):
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return None


def setup(seed: int, mixed_precision: bool = False) -> None:
    """Configure threads, the global precision policy and every random seed.

    Must run before the first TensorFlow op (thread pools are fixed then).
    Mixed precision uses float16 on GPUs and bfloat16 on CPUs.
    """
    import keras
    import tensorflow as tf

    keras.backend.clear_session()  # the debug executor and local workers run several tasks in one process
    threads = job_threads()
    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
        except RuntimeError:  # already initialised in this process (debug executor): keep it
            pass
    if mixed_precision:
        policy = "mixed_float16" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16"
        keras.mixed_precision.set_global_policy(policy)
    else:
        keras.mixed_precision.set_global_policy("float32")
    keras.utils.set_random_seed(seed)
