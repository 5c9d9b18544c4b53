"""The end-of-epoch hook: the tutorial's sampling ``LambdaCallback``, plus the run's bookkeeping.

After every epoch, in this order: draw samples at every temperature from a
seed window of held-out text (chosen with ``(seed, epoch)``, so a redone
epoch draws the same; the draw leaves the dropout generators as it found
them, see :func:`seqtasks.checkpoint.random_state_kept`), write them,
append the metrics row, then commit the checkpoint (see
:mod:`seqtasks.rundir.epochs`) -- the commit comes last.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from seqtasks import checkpoint
from seqtasks.charlm import samples
from seqtasks.charlm.config import CharLMConfig
from seqtasks.charlm.data import CharData
from seqtasks.charlm.sampler import Sampler
from seqtasks.rundir import RunDir
from seqtasks.training_options import Monitor

#: what the best epoch, early stopping and ``--lr-schedule plateau`` go by
MONITOR = Monitor("val_bits_per_char", higher=False)


class EpochEnd:
    """Samples, metrics row and checkpoint commit at the end of every epoch."""

    def __init__(
        self,
        run_dir: RunDir,
        model: Any,
        data: CharData,
        sampler: Sampler,
        config: CharLMConfig,
        progress: checkpoint.Progress,
        echo: bool = True,
    ) -> None:
        self.run_dir, self.model, self.data, self.sampler = run_dir, model, data, sampler
        self.config, self.progress, self.echo = config, progress, echo
        self.seconds: list[float] = []  # this attempt's epochs (training + validation)
        self.sample_seconds: list[float] = []
        self._started = 0.0

    def callback(self) -> Any:
        """As a Keras callback."""
        import keras

        return keras.callbacks.LambdaCallback(on_epoch_begin=self._begin, on_epoch_end=self._end)

    def _begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self._started = time.perf_counter()

    def _end(self, epoch: int, logs: dict[str, float]) -> None:
        seconds = time.perf_counter() - self._started
        done = epoch + 1
        cfg, vocab = self.config, self.data.vocab
        window = self.data.seed_window(np.random.default_rng([cfg.seed, done]))
        t0 = time.perf_counter()
        with checkpoint.random_state_kept(self.model):  # sampling must not change the next epoch's dropout masks
            codes = self.sampler.sample(window, cfg.temperatures, cfg.sample_length, (cfg.seed, done))
        sample_s = time.perf_counter() - t0
        seed_text, texts = vocab.decode(window), [vocab.decode(row) for row in codes]
        samples.write(self.run_dir, done, seed_text, cfg.temperatures, texts)
        if self.echo:
            print(samples.render(done, seed_text, cfg.temperatures, texts), flush=True)

        val_loss = float(logs["val_loss"])
        row = {
            "epoch": done,
            "loss": round(float(logs["loss"]), 6),
            "val_loss": round(val_loss, 6),
            "val_bits_per_char": round(val_loss / math.log(2), 6),
            "seconds": round(seconds, 3),
            "sample_seconds": round(sample_s, 3),
        }
        self.seconds.append(seconds)
        self.sample_seconds.append(sample_s)
        checkpoint.commit(self.run_dir, self.model, self.progress, row, MONITOR, logs)
