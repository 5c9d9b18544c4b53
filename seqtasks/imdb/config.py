"""Config of the sentiment task; defaults are the tutorial's values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from seqtasks import training_options as opts
from seqtasks.config import check_fraction, check_range, option
from seqtasks.errors import UserError
from seqtasks.training_options import Schedule, TrainingConfig

# Upper bounds far above any sensible model, low enough that a typo is refused
# here instead of failing inside TensorFlow after the run folder exists.
MAX_WORDS = 10_000_000
MAX_MAXLEN = 1_000_000
MAX_WIDTH = 16_384
MAX_LAYERS = 64
MAX_BUCKETS = 100_000_000  # word ids and bigram ids share one int32 embedding index


@dataclass(frozen=True)
class ImdbConfig(TrainingConfig):
    """Embedding -> stacked LSTM, BiLSTM or bag of n-grams -> Dense(1, sigmoid), trained with Adam on 0/1 labels."""

    dataset: str = option("rt-snippets", "imdb, aclimdb, rt-snippets, or a CSV/TSV file with text and label columns.")
    top_words: int = option(5000, "Vocabulary size: words ranked beyond this become out-of-vocabulary.")
    skip_top: int = option(0, "Also treat the N most frequent words as out-of-vocabulary (Keras' skip_top).")
    maxlen: int = option(500, "Pad/truncate reviews to this many words (as pad_sequences does: pre).")
    model: Literal["lstm", "bilstm", "bow"] = option(
        "lstm",
        "lstm: the tutorial's stacked LSTM; bilstm: stacked Bidirectional LSTMs (--layers, --units); "
        "bow: fastText-style average of word and hashed word-bigram embeddings, then Dense(1) "
        "(--layers, --units, --dropout and --recurrent-dropout unused).",
    )
    bigram_buckets: int = option(
        100_000, "--model bow: hash buckets of word bigrams, added after the word ids (0: words only)."
    )
    embedding_dim: int = option(32, "Embedding vector length (the tutorial's exercise).")
    layers: int = option(1, "Stacked LSTM layers.")
    units: int = option(100, "LSTM units per layer.")
    dropout: float = opts.dropout_option()
    recurrent_dropout: float = opts.recurrent_dropout_option()
    lr: float = opts.lr_option(0.001, "Adam")
    clipnorm: float = opts.clipnorm_option("Adam")
    lr_schedule: Schedule = opts.lr_schedule_option()
    lr_factor: float = opts.lr_factor_option()
    lr_patience: int = opts.lr_patience_option()
    patience: int = opts.patience_option("validation accuracy")
    batch_size: int = option(64, "Reviews per batch.")
    epochs: int = opts.epochs_option(3)
    bucket: bool = option(
        True,
        "Batch reviews of similar length, padded only to the batch's longest "
        "(the model reads each review's last word); "
        "--no-bucket: the tutorial's unmasked 'pre' padding of every review to maxlen.",
    )
    val_fraction: float = option(0.1, "Fraction of the training split held out for validation (never the test set).")
    test_fraction: float = option(
        0.5, "Test share for data sets without a fixed split (rt-snippets, CSV); 0.5 as the tutorial."
    )
    limit: int = option(0, "Use only the first N training and N test examples (0: all).")
    mixed_precision: bool = opts.mixed_precision_option()
    seed: int = opts.seed_option("split, weights, shuffling")

    def validate(self) -> None:
        """Reject values no run could use, naming the option: this task's own, then the training ones."""
        if self.top_words < 4:
            raise UserError(
                f"--top-words must be >= 4: indices 0-2 are padding, start and out-of-vocabulary (got {self.top_words})"
            )
        check_range("--top-words", self.top_words, None, MAX_WORDS)
        for flag, value, high in (
            ("--maxlen", self.maxlen, MAX_MAXLEN),
            ("--embedding-dim", self.embedding_dim, MAX_WIDTH),
            ("--layers", self.layers, MAX_LAYERS),
            ("--units", self.units, MAX_WIDTH),
        ):
            check_range(flag, value, 1, high)
        check_range("--skip-top", self.skip_top, 0)
        check_range("--bigram-buckets", self.bigram_buckets, 0, MAX_BUCKETS)
        if self.skip_top >= self.top_words:
            raise UserError(
                f"--skip-top {self.skip_top} leaves no word of the --top-words {self.top_words}; make it smaller"
            )
        check_range("--limit", self.limit, 0)
        check_fraction("--test-fraction", self.test_fraction)
        super().validate()

    def check_data(self) -> None:
        """The data set is a labelled one (fetched into the cache if missing), a CSV/TSV file or a data folder."""
        from seqtasks.imdb.loaders import resolve

        resolve(self.dataset)
