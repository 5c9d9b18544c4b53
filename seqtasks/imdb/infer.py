"""Use a trained run: re-evaluate its best model, or score new reviews.

Everything comes from the run folder: ``config.json`` (how text was cut and
padded), ``vocab.json`` (the word index) and ``best.keras``. A review is
cut to its last ``maxlen`` words as in training, then padded ('pre') to
``maxlen`` for runs without ``--bucket``; with it, not padded at all (one
review is its own batch, read at its last word by
:class:`seqtasks.imdb.model.LastWord`). Another data set given to ``eval``
is read as text and encoded with the run's vocabulary (Keras-form data is
decoded with its own word index first), then its test split is scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seqtasks import tfsetup
from seqtasks.checkpoint import trained_config
from seqtasks.data import DATASETS
from seqtasks.errors import UserError
from seqtasks.imdb.batches import Batches, eval_order
from seqtasks.imdb.config import ImdbConfig
from seqtasks.imdb.loaders import encode_with, load, read_texts, resolve
from seqtasks.imdb.vocab import Vocabulary
from seqtasks.rundir.safe import Damaged, check_archive, read_object


@dataclass(frozen=True)
class TrainedRun:
    """A finished (or at least once checkpointed) sentiment run, loaded for use."""

    path: Path
    config: ImdbConfig
    data: dict[str, Any]
    vocab: Vocabulary
    model: Any


def open_run(path: Path) -> TrainedRun:
    """Load a run folder's config, vocabulary and best model; say plainly what is missing or damaged."""
    run_dir, record, config = trained_config(path, "imdb", ImdbConfig, "eval/predict")
    vocab = load_vocab(run_dir.file("vocab.json"))
    model_file = run_dir.file("best.keras")
    try:  # before TensorFlow takes seconds to load it: a FIFO would block that, a truncated copy fail late
        check_archive(model_file)
    except Damaged as err:
        raise UserError(f"{err}; train the run on, or copy it again") from None
    tfsetup.setup(config.seed, config.mixed_precision)
    import keras

    from seqtasks.imdb import model as _model  # noqa: F401 -- registers LastWord, so best.keras loads

    try:
        model = keras.models.load_model(model_file)
    except Exception as err:  # whatever Keras raises for a damaged file, the user's fix is the same
        reason = f"{type(err).__name__}: {str(err).strip()[:200]}"
        raise UserError(f"cannot load {model_file} ({reason}); train the run on, or copy it again") from None
    return TrainedRun(path, config, record.data or {}, vocab, model)


def load_vocab(path: Path) -> Vocabulary:
    """The run's word index; a damaged ``vocab.json`` is one line naming it."""
    try:
        record = read_object(path)
        if record is None:
            raise UserError(f"{path} is missing; train the run on, or copy it again")
        vocab = Vocabulary.from_json(record)
        if not all(isinstance(w, str) and type(i) is int for w, i in vocab.word_index.items()):
            raise TypeError("word_index must map words to integers")
    except Damaged as err:
        raise UserError(f"{err}; train the run on, or copy it again") from None
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise UserError(
            f"{path} is damaged ({type(err).__name__}: {err}); train the run on, or copy it again"
        ) from None
    return vocab


def evaluate_run(run: TrainedRun, dataset: str | None = None) -> dict[str, Any]:
    """Loss and accuracy of the run's best model on its own test split, or on ``dataset``'s."""
    from seqtasks.imdb.train import evaluate

    config = run.config
    if dataset is None:
        # a path is looked up where training found it, whatever the current folder is now
        own = config.dataset if config.dataset in DATASETS else run.data.get("path", config.dataset)
        encoded = load(resolve(own), config)
        x, y, name = encoded.x_test, encoded.y_test, config.dataset
    else:
        texts = read_texts(resolve(dataset), config.test_fraction)
        x, y, name = encode_with(run.vocab, texts.test, config), texts.y_test, dataset
    loss, accuracy = evaluate(run.model, Batches(x, y, config.maxlen, config.bucket))
    return {"dataset": name, "reviews": len(x), "accuracy": round(accuracy, 6), "loss": round(loss, 6)}


def predict_texts(run: TrainedRun, texts: list[str]) -> list[float]:
    """Probability that each review is positive, in the order given.

    Scored in batches, as evaluation batches them (sorted by length and
    'post'-padded when the run buckets, the model reading each review at its
    own last word): one model call per :data:`~seqtasks.imdb.train.EVAL_BATCH`
    reviews, not one per review, and the same figures.
    """
    from seqtasks.imdb.train import EVAL_BATCH

    config = run.config
    data = Batches(encode_with(run.vocab, texts, config), np.zeros(len(texts)), config.maxlen, config.bucket)
    probs = np.zeros(len(texts))
    for idx in eval_order(data.lengths, EVAL_BATCH, config.bucket):
        x, _ = data.batch(idx)
        probs[idx] = np.asarray(run.model(x, training=False), dtype=np.float64)[:, 0]
    return [float(p) for p in probs]
