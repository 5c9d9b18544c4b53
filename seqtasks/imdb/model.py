"""The tutorial's sentiment model: Embedding -> stacked LSTM -> Dense(1, sigmoid).

The input length is left open (``None``) so bucketed batches of any width go
through one model. The LSTMs keep Keras' defaults (tanh, sigmoid gates, no
recurrent dropout, not unrolled), which is what lets Keras pick the fused
cuDNN kernel on a GPU; ``dropout`` acts on their inputs, which cuDNN allows.

With ``--bucket`` the batches put padding (id 0) at the end ('post') and the
last LSTM hands on its output at each review's last word (:class:`LastWord`)
instead of at the batch's last column. For a forward LSTM that is exactly
what masking the padding gives -- the steps after a review's end cannot
change its earlier outputs -- but without a mask: Keras' masked LSTM selects
between old and new state at every step, which costs time (figures in
docs/imdb.md). Without ``--bucket`` the model is the tutorial's, reading 'pre'
padding to ``maxlen`` unmasked (see :mod:`seqtasks.imdb.batches`).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers, ops

from seqtasks.imdb.config import ImdbConfig


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

    def compute_output_shape(self, outputs_shape: tuple[int | None, ...], word_ids_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (outputs_shape[0], outputs_shape[2])


def build_model(config: ImdbConfig) -> Any:
    """A compiled ``keras.Model`` for ``config``."""
    inputs = keras.Input(shape=(None,), dtype="int32", name="word_ids")
    x = layers.Embedding(config.top_words, config.embedding_dim, name="embedding")(inputs)
    for i in range(config.layers):
        last = i == config.layers - 1
        every_step = config.bucket or not last  # bucketing picks each review's own last step below
        x = layers.LSTM(config.units, dropout=config.dropout, return_sequences=every_step, name=f"lstm_{i + 1}")(x)
    if config.bucket:
        x = LastWord(name="last_word")(x, inputs)
    # float32 output even under mixed precision: the sigmoid and the loss stay exact
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32", name="positive")(x)
    model = keras.Model(inputs, outputs, name="sentiment_lstm")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.lr),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model
