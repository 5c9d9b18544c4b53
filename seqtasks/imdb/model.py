"""The sentiment models: the tutorial's Embedding -> stacked LSTM -> Dense(1, sigmoid), and two baselines.

``--model`` picks what lies between the word ids and the Dense(1, sigmoid)
output:

- ``lstm`` (the tutorial's): Embedding -> ``--layers`` LSTMs.
- ``bilstm``: Embedding -> ``--layers`` Bidirectional LSTMs, their two final
  states concatenated.
- ``bow``: fastText's classifier (Joulin et al., 2016) -- the ids of the words
  and of their hashed bigrams (:class:`HashedBigrams`), one Embedding, their
  average over the review's own tokens, and the linear output. No recurrence.

The input length is left open (``None``) so bucketed batches of any width go
through one model. The LSTMs keep Keras' defaults (tanh, sigmoid gates, not
unrolled), which is what lets Keras pick the fused cuDNN kernel on a GPU;
``dropout`` acts on their inputs, which cuDNN allows; ``recurrent_dropout``
> 0 does not allow it. ``clipnorm`` is Adam's (0: off).

With ``--bucket`` the batches put padding (id 0) at the end ('post'). The
``lstm`` hands on its last layer's output at each review's last word
(:class:`LastWord`) instead of at the batch's last column. For a forward LSTM
that is exactly what masking the padding gives -- the steps after a review's
end cannot change its earlier outputs -- but without a mask: Keras' masked
LSTM selects between old and new state at every step, which costs time
(figures in docs/imdb.md). A backward LSTM, though, would read the padding
first, so ``bilstm`` masks it (``mask_zero``; right padding is what cuDNN's
masked kernel needs). ``bow`` always averages over non-padding tokens only.
Without ``--bucket`` the LSTMs read the tutorial's 'pre' padding to
``maxlen`` unmasked (see :mod:`seqtasks.imdb.batches`).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers, ops

from seqtasks.imdb.config import ImdbConfig
from seqtasks.training_options import clipnorm


@keras.saving.register_keras_serializable(package="seqjobs")
class LastWord(layers.Layer):
    """``outputs[b, length_b - 1]``: each review's output at its last word, ``length_b`` counting non-zero ids.

    The word ids must be 'post'-padded with 0 (id 0 is padding only: the
    vocabulary starts real words at 1).
    """

    def call(self, outputs: Any, word_ids: Any) -> Any:
        lengths = ops.sum(ops.cast(ops.not_equal(word_ids, 0), "int32"), axis=1)
        last = ops.maximum(lengths - 1, 0)[:, None, None]
        return ops.take_along_axis(outputs, last, axis=1)[:, 0, :]

    def compute_output_shape(
        self, outputs_shape: tuple[int | None, ...], word_ids_shape: tuple[int | None, ...]
    ) -> tuple[int | None, ...]:
        return (outputs_shape[0], outputs_shape[2])


@keras.saving.register_keras_serializable(package="seqjobs")
class HashedBigrams(layers.Layer):
    """The word ids, then one id per pair of neighbouring words: ``top_words + hash(a, b) % buckets``.

    Hashing (fastText's multiplier) keeps the bigrams inside the model: the
    data pipeline, ``vocab.json``, ``eval`` and ``predict`` stay the same for
    every ``--model``. A pair that touches padding gets id 0, padding itself,
    so the average that follows ignores it. ``buckets`` 0: the words alone.
    """

    MULTIPLIER = 116_049_371  # fastText's n-gram hash step

    def __init__(self, top_words: int, buckets: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.top_words = top_words
        self.buckets = buckets

    def call(self, word_ids: Any) -> Any:
        if self.buckets == 0:
            return word_ids
        ids = ops.cast(word_ids, "int64")  # a * MULTIPLIER overflows int32
        a, b = ids[:, :-1], ids[:, 1:]
        hashed = (a * self.MULTIPLIER + b) % self.buckets + self.top_words
        pairs = ops.where(ops.logical_and(ops.not_equal(a, 0), ops.not_equal(b, 0)), hashed, 0)
        return ops.cast(ops.concatenate([ids, pairs], axis=1), "int32")

    def compute_output_shape(self, shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        if self.buckets == 0 or shape[1] is None:
            return shape
        return (shape[0], 2 * shape[1] - 1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "top_words": self.top_words, "buckets": self.buckets}


def lstm_features(config: ImdbConfig, inputs: Any) -> Any:
    """The tutorial's stacked LSTM, read at each review's last word when bucketing."""
    x = layers.Embedding(config.top_words, config.embedding_dim, name="embedding")(inputs)
    for i in range(config.layers):
        last = i == config.layers - 1
        every_step = config.bucket or not last  # bucketing picks each review's own last step below
        x = layers.LSTM(
            config.units,
            dropout=config.dropout,
            recurrent_dropout=config.recurrent_dropout,
            return_sequences=every_step,
            name=f"lstm_{i + 1}",
        )(x)
    if config.bucket:
        x = LastWord(name="last_word")(x, inputs)
    return x


def bilstm_features(config: ImdbConfig, inputs: Any) -> Any:
    """Stacked Bidirectional LSTMs; the padding is masked when bucketing, as the backward half reads it first."""
    x = layers.Embedding(config.top_words, config.embedding_dim, mask_zero=config.bucket, name="embedding")(inputs)
    for i in range(config.layers):
        every_step = i < config.layers - 1
        lstm = layers.LSTM(
            config.units,
            dropout=config.dropout,
            recurrent_dropout=config.recurrent_dropout,
            return_sequences=every_step,
        )
        x = layers.Bidirectional(lstm, name=f"bilstm_{i + 1}")(x)
    return x


def bow_features(config: ImdbConfig, inputs: Any) -> Any:
    """fastText: the average embedding of the review's words and hashed bigrams, padding left out."""
    ids = HashedBigrams(config.top_words, config.bigram_buckets, name="bigrams")(inputs)
    vectors = layers.Embedding(
        config.top_words + config.bigram_buckets, config.embedding_dim, mask_zero=True, name="embedding"
    )(ids)
    return layers.GlobalAveragePooling1D(name="average")(vectors)


FEATURES = {"lstm": lstm_features, "bilstm": bilstm_features, "bow": bow_features}


def build_model(config: ImdbConfig) -> Any:
    """A compiled ``keras.Model`` for ``config``."""
    inputs = keras.Input(shape=(None,), dtype="int32", name="word_ids")
    x = FEATURES[config.model](config, inputs)
    # float32 output even under mixed precision: the sigmoid and the loss stay exact
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32", name="positive")(x)
    model = keras.Model(inputs, outputs, name=f"sentiment_{config.model}")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.lr, clipnorm=clipnorm(config)),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model
