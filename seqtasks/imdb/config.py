"""Config of the sentiment task; defaults are the tutorial's values."""

from __future__ import annotations

from dataclasses import dataclass

from seqtasks.config import option
from seqtasks.errors import UserError


@dataclass(frozen=True)
class ImdbConfig:
    """Embedding -> stacked LSTM -> Dense(1, sigmoid), trained with Adam on binary labels."""

    dataset: str = option("rt-snippets", "imdb, aclimdb, rt-snippets, or a CSV/TSV file with text and label columns.")
    top_words: int = option(5000, "Vocabulary size: words ranked beyond this become out-of-vocabulary.")
    skip_top: int = option(0, "Also treat the N most frequent words as out-of-vocabulary (Keras' skip_top).")
    maxlen: int = option(500, "Pad/truncate reviews to this many words (as pad_sequences does: pre).")
    embedding_dim: int = option(32, "Embedding vector length (the tutorial's exercise).")
    layers: int = option(1, "Stacked LSTM layers.")
    units: int = option(100, "LSTM units per layer.")
    dropout: float = option(0.0, "Dropout on each LSTM layer's inputs.")
    lr: float = option(0.001, "Adam learning rate.")
    batch_size: int = option(64, "Reviews per batch.")
    epochs: int = option(3, "Total epochs; raise it on an existing run folder to train on.", resumable=True)
    bucket: bool = option(True, "Batch reviews of similar length, padded only to the batch's longest "
                                "(the model reads each review's last word); "
                                "--no-bucket: the tutorial's unmasked 'pre' padding of every review to maxlen.")
    val_fraction: float = option(0.1, "Fraction of the training split held out for validation (never the test set).")
    test_fraction: float = option(0.5, "Test share for data sets without a fixed split (rt-snippets, CSV); 0.5 as the tutorial.")
    limit: int = option(0, "Use only the first N training and N test examples (0: all).")
    mixed_precision: bool = option(False, "Compute in float16/bfloat16 with float32 weights (for GPUs).")
    seed: int = option(0, "Random seed (split, weights, shuffling).")

    def validate(self) -> None:
        """Reject values no run could use, naming the option."""
        if self.top_words < 4:
            raise UserError(f"--top-words must be >= 4: indices 0-2 are padding, start and out-of-vocabulary (got {self.top_words})")
        positive = {"maxlen": self.maxlen, "embedding-dim": self.embedding_dim, "layers": self.layers,
                    "units": self.units, "batch-size": self.batch_size, "epochs": self.epochs}
        for name, value in positive.items():
            if value < 1:
                raise UserError(f"--{name} must be >= 1 (got {value})")
        if self.skip_top < 0 or self.limit < 0:
            raise UserError("--skip-top and --limit must be >= 0")
        if not 0.0 <= self.dropout < 1.0:
            raise UserError(f"--dropout must be in [0, 1) (got {self.dropout})")
        if self.lr <= 0:
            raise UserError(f"--lr must be > 0 (got {self.lr})")
        for name, value in {"val-fraction": self.val_fraction, "test-fraction": self.test_fraction}.items():
            if not 0.0 < value < 1.0:
                raise UserError(f"--{name} must be between 0 and 1, exclusive (got {value})")
