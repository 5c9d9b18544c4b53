"""The tutorial's sentiment model: Embedding -> stacked LSTM -> Dense(1, sigmoid).

The input length is left open (``None``) so bucketed batches of any width go
through one model. The LSTMs keep Keras' defaults (tanh, sigmoid gates, no
recurrent dropout, not unrolled), which is what lets Keras pick the fused
cuDNN kernel on a GPU; ``dropout`` acts on their inputs, which cuDNN allows.
With ``--bucket`` the embedding masks padding (id 0), which the batches put
at the end: cuDNN takes right-padded masks. Without it the model is the
tutorial's, reading 'pre' padding unmasked (see :mod:`seqtasks.imdb.batches`).
"""

from __future__ import annotations

from typing import Any

from seqtasks.imdb.config import ImdbConfig


def build_model(config: ImdbConfig) -> Any:
    """A compiled ``keras.Model`` for ``config``."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(None,), dtype="int32", name="word_ids")
    x = layers.Embedding(config.top_words, config.embedding_dim, mask_zero=config.bucket, name="embedding")(inputs)
    for i in range(config.layers):
        last = i == config.layers - 1
        x = layers.LSTM(config.units, dropout=config.dropout, return_sequences=not last, name=f"lstm_{i + 1}")(x)
    # float32 output even under mixed precision: the sigmoid and the loss stay exact
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32", name="positive")(x)
    model = keras.Model(inputs, outputs, name="sentiment_lstm")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.lr),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model
