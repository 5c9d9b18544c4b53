"""Config of the char-LSTM task; defaults are the tutorial's values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from seqtasks import training_options as opts
from seqtasks.config import check_range, option
from seqtasks.errors import UserError
from seqtasks.textsplit import check_fractions, test_fraction_option
from seqtasks.training_options import Schedule, TrainingConfig

# Upper bounds far above any sensible model, low enough that a typo is refused
# here instead of failing inside TensorFlow after the run folder exists.
MAX_MAXLEN = 100_000
MAX_STEP = 1_000_000
MAX_UNITS = 16_384
MAX_LAYERS = 64
MAX_SAMPLE = 1_000_000
#: the sampler divides float32 log-probabilities by the temperature
MIN_TEMPERATURE = 1e-6
MAX_TEMPERATURE = 1000.0

#: what a training window learns to predict: the character after it (the tutorial), or the next one at every position
Targets = Literal["last", "all"]


@dataclass(frozen=True)
class CharLMConfig(TrainingConfig):
    """An LSTM over one-hot characters predicting the next one, sampled every epoch."""

    corpus: str = option("moby-dick", "Text data set name or path to a UTF-8 file (the tutorial used nietzsche).")
    keep_case: bool = option(False, "Keep upper case (the tutorial lowercases the text).")
    max_chars: int = option(0, "Use only the first N characters of the text (0: all of it).")
    maxlen: int = option(40, "Characters of context the model reads.")
    step: int = option(3, "Stride between training windows.")
    targets: Targets = option(
        "last",
        "last: train each window on the character after it (the tutorial); all: on the next character at "
        "every position (char-rnn's way; maxlen targets a window, so use --step equal to --maxlen).",
    )
    units: int = option(128, "LSTM units per layer.")
    layers: int = option(1, "Stacked LSTM layers (the tutorial's depth exercise).")
    dropout: float = opts.dropout_option()
    recurrent_dropout: float = opts.recurrent_dropout_option()
    lr: float = opts.lr_option(0.01, "RMSprop")
    clipnorm: float = opts.clipnorm_option("RMSprop")
    lr_schedule: Schedule = opts.lr_schedule_option()
    lr_factor: float = opts.lr_factor_option()
    lr_patience: int = opts.lr_patience_option()
    patience: int = opts.patience_option("validation bits/char")
    batch_size: int = option(128, "Windows per training batch.")
    epochs: int = opts.epochs_option(60)
    temperatures: tuple[float, ...] = option((0.2, 0.5, 1.0, 1.2), "Sampling temperatures, comma-separated.")
    sample_length: int = option(400, "Characters sampled per temperature after every epoch.")
    sampler: Literal["window", "stateful"] = option(
        "window", "window: re-read the last maxlen characters (the tutorial); stateful: carry the LSTM state."
    )
    val_fraction: float = option(
        0.1, "Fraction of the text held out for validation, just before any test part (never trained on)."
    )
    test_fraction: float = test_fraction_option()
    mixed_precision: bool = opts.mixed_precision_option()
    seed: int = opts.seed_option("weights, shuffling, sampling")

    def validate(self) -> None:
        """Reject values no run could use, naming the option: this task's own, then the training ones."""
        for flag, value, high in (
            ("--maxlen", self.maxlen, MAX_MAXLEN),
            ("--step", self.step, MAX_STEP),
            ("--units", self.units, MAX_UNITS),
            ("--layers", self.layers, MAX_LAYERS),
        ):
            check_range(flag, value, 1, high)
        check_range("--max-chars", self.max_chars, 0)
        check_temperatures("--temperatures", self.temperatures)
        check_range("--sample-length", self.sample_length, 0, MAX_SAMPLE)
        super().validate()
        check_fractions(self.val_fraction, self.test_fraction)

    def check_data(self) -> None:
        """The corpus is a text data set (fetched into the cache if missing) or a readable file."""
        from seqtasks.data.text import resolve_corpus

        resolve_corpus(self.corpus)


def check_temperatures(flag: str, temperatures: tuple[float, ...]) -> None:
    """Every temperature within what the float32 sampler divides by without overflowing to infinity."""
    if not temperatures:
        raise UserError(f"{flag} needs at least one temperature, e.g. {flag} 0.5")
    for t in temperatures:
        if not MIN_TEMPERATURE <= t <= MAX_TEMPERATURE:
            got = ",".join(map(str, temperatures))
            raise UserError(f"{flag} must be between {MIN_TEMPERATURE:g} and {MAX_TEMPERATURE:g} (got {got})")
