"""The tutorial's network: LSTM(s) over one-hot characters, then Dense + softmax.

The only change of substance is where the one-hot encoding happens: the
tutorial feeds a precomputed ``(N, maxlen, V)`` boolean array; this model takes
``(batch, maxlen)`` integer codes and one-hot encodes them with a
``CategoryEncoding`` layer, which has no weights. The LSTM therefore sees
exactly the tutorial's input. The LSTM keeps Keras' defaults (tanh / sigmoid,
``use_bias=True``, not unrolled) so that on a GPU it runs the fused cuDNN
kernel -- unless ``recurrent_dropout`` > 0, which Keras cannot run there.
``dropout`` (on the LSTMs' inputs) and ``clipnorm`` (RMSprop's, per weight)
default to off, as in the tutorial.

``targets="all"`` keeps the last LSTM's sequence: the same layers then give
next-character probabilities at every position ``(batch, maxlen, V)``, of
which the last is the window model's output (the sampler reads that one).
The loss averages over the weighted positions (``mean_with_sample_weight``),
so validation, which weights only the last, scores the same thing as for a
window model.
"""

from __future__ import annotations

from typing import Any


def build_model(
    vocab_size: int,
    maxlen: int,
    units: int,
    layers: int,
    lr: float,
    *,
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    clipnorm: float | None = None,
    targets: str = "last",
) -> Any:
    """A compiled ``keras.Model``: codes ``(batch, maxlen)`` -> next-character probabilities ``(batch, V)``.

    With ``targets="all"``: probabilities at every position, ``(batch, maxlen, V)``.
    """
    import keras

    codes = keras.Input(shape=(maxlen,), dtype="int32", name="codes")
    x = keras.layers.CategoryEncoding(vocab_size, output_mode="one_hot", name="one_hot")(codes)
    for i in range(layers):  # layers > 1: the tutorial's "add another LSTM layer" exercise
        x = keras.layers.LSTM(
            units,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            return_sequences=i < layers - 1 or targets == "all",
            name=f"lstm_{i + 1}",
        )(x)
    x = keras.layers.Dense(vocab_size, name="dense")(x)
    probs = keras.layers.Activation("softmax", dtype="float32", name="softmax")(x)  # float32 under mixed precision too

    model = keras.Model(codes, probs, name="charlm")
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=lr, clipnorm=clipnorm),
        # integer targets: no one-hot y either
        loss=keras.losses.SparseCategoricalCrossentropy(reduction="mean_with_sample_weight")
        if targets == "all"
        else "sparse_categorical_crossentropy",
    )
    return model
