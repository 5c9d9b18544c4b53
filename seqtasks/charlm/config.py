"""Config of the char-LSTM task; defaults are the tutorial's values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from seqtasks.config import option
from seqtasks.errors import UserError


@dataclass(frozen=True)
class CharLMConfig:
    """An LSTM over one-hot characters predicting the next one, sampled every epoch."""

    corpus: str = option("moby-dick", "Text data set name or path to a UTF-8 file (the tutorial used nietzsche).")
    keep_case: bool = option(False, "Keep upper case (the tutorial lowercases the text).")
    max_chars: int = option(0, "Use only the first N characters of the text (0: all of it).")
    maxlen: int = option(40, "Characters of context the model reads.")
    step: int = option(3, "Stride between training windows.")
    units: int = option(128, "LSTM units per layer.")
    layers: int = option(1, "Stacked LSTM layers (the tutorial's depth exercise).")
    lr: float = option(0.01, "RMSprop learning rate.")
    batch_size: int = option(128, "Windows per training batch.")
    epochs: int = option(60, "Total epochs; raise it on an existing run folder to train on.", resumable=True)
    temperatures: tuple[float, ...] = option((0.2, 0.5, 1.0, 1.2), "Sampling temperatures, comma-separated.")
    sample_length: int = option(400, "Characters sampled per temperature after every epoch.")
    sampler: Literal["window", "stateful"] = option(
        "window", "window: re-read the last maxlen characters (the tutorial); stateful: carry the LSTM state."
    )
    val_fraction: float = option(0.1, "Last fraction of the text held out for validation (never trained on).")
    mixed_precision: bool = option(False, "Compute in float16/bfloat16 with float32 weights (for GPUs).")
    seed: int = option(0, "Random seed (weights, shuffling, sampling).")

    def validate(self) -> None:
        """Reject values no run could use, naming the option."""
        positive = {"maxlen": self.maxlen, "step": self.step, "units": self.units, "layers": self.layers,
                    "batch-size": self.batch_size, "epochs": self.epochs}
        for name, value in positive.items():
            if value < 1:
                raise UserError(f"--{name} must be >= 1 (got {value})")
        if self.max_chars < 0:
            raise UserError(f"--max-chars must be >= 0 (got {self.max_chars})")
        if self.lr <= 0:
            raise UserError(f"--lr must be > 0 (got {self.lr})")
        if not self.temperatures or any(t <= 0 for t in self.temperatures):
            raise UserError(f"--temperatures must all be > 0 (got {','.join(map(str, self.temperatures))})")
        if self.sample_length < 0:
            raise UserError(f"--sample-length must be >= 0 (got {self.sample_length})")
        if not 0.0 < self.val_fraction < 1.0:
            raise UserError(f"--val-fraction must be between 0 and 1, exclusive (got {self.val_fraction})")
