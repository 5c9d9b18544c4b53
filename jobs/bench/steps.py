"""Steady-state training speed: time ``fit`` steps after a few untimed ones.

The first steps of a ``fit`` call trace the train function and start the
input pipeline (for the tutorial's numpy arrays, Keras also copies the whole
array); both sides pay that once per job, so the speed of an epoch is the
speed of the steps after it. A callback stamps the end of every batch and the
timed span runs from the end of the last warm-up step to the end of the last
step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def batch_end_stamps() -> Any:
    """A Keras callback that records ``perf_counter()`` at the end of every training batch."""
    import keras

    class Stamps(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.ends: list[float] = []

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            self.ends.append(time.perf_counter())

    return Stamps()


def steady_step_seconds(fit: Callable[[int, list[Any]], object], warmup: int, steps: int) -> float:
    """Seconds per step of ``fit(total_steps, callbacks)`` over its last ``steps`` steps."""
    stamps = batch_end_stamps()
    fit(warmup + steps, [stamps])
    ends = stamps.ends
    if len(ends) < warmup + steps:
        raise RuntimeError(f"fit ran {len(ends)} steps, {warmup + steps} were asked (input ran out)")
    return (ends[warmup + steps - 1] - ends[warmup - 1]) / steps
