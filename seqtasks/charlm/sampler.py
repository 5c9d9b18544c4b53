"""Fast temperature sampling: every temperature in one batch, one compiled loop.

The tutorial calls ``model.predict`` once per character and temperature.
Here the rows of one batch are the temperatures, and the whole draw -- model
call, temperature, random choice, window update -- is one ``tf.function``
(XLA-compiled on CPU hosts, where it is faster; on GPU hosts plain graph
mode, so that the window mode's LSTM can take the cuDNN kernel). Timings are
in docs/charlm.md.

Two modes:

* ``window`` (the tutorial's semantics, the default): every step re-reads the
  last ``maxlen`` characters from a zero LSTM state.
* ``stateful``: the seed window is read once, then the LSTM cells advance one
  character per step, carrying their state (a cheaper step, and the
  context is no longer cut at ``maxlen`` characters). It uses the trained
  model's own layers and weights; its first step equals the window mode's.

A model trained with ``--targets all`` gives probabilities at every position
of the window; the sampler reads the last, which is the window model's output.

Choosing a character: ``log(clip(p, PROB_FLOOR, 1)) / T`` and the Gumbel-max
trick -- ``argmax(logits + Gumbel noise)`` is an exact draw from
``softmax(logits)``, i.e. from ``p ** (1/T)`` renormalised, which is the
tutorial's ``sample()``. The clip keeps a probability that underflowed to 0
from turning into ``log(0)`` (the tutorial's sampler breaks there).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

PROB_FLOOR = 1e-10

Mode = Literal["window", "stateful"]


class Sampler:
    """Draw characters from a trained (or training) model; reads its current weights at each call."""

    def __init__(self, model: Any, mode: Mode) -> None:
        import keras
        import tensorflow as tf

        self.model = model
        self.mode = mode
        self.maxlen = int(model.input_shape[1])
        layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
        lstm_at = [i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.LSTM)]
        self._encode = layers[: lstm_at[0]]  # codes -> per-character features (the one-hot layer)
        self._lstms = layers[lstm_at[0] : lstm_at[-1] + 1]
        self._head = layers[lstm_at[-1] + 1 :]  # Dense + softmax
        jit = not tf.config.list_physical_devices("GPU")
        self._draw_fn = tf.function(self._draw, jit_compile=jit)
        self._first_fn = tf.function(lambda windows: self._start(windows)[1])

    # -- public ---------------------------------------------------------------------
    def sample(self, window: np.ndarray, temperatures: Sequence[float], length: int, seed: Sequence[int]) -> np.ndarray:
        """``(len(temperatures), length)`` codes drawn after ``window`` (``maxlen`` codes), one row a temperature.

        ``seed`` (two ints) fixes the draw: same weights, window and seed give the same text.
        """
        import tensorflow as tf

        if length == 0:
            return np.zeros((len(temperatures), 0), dtype=np.int32)
        windows = np.repeat(np.asarray(window, dtype=np.int32)[None, -self.maxlen :], len(temperatures), axis=0)
        temps = tf.constant(temperatures, dtype=tf.float32)
        return self._draw_fn(tf.constant(windows), temps, tf.constant(seed, dtype=tf.int64), int(length)).numpy()

    def distribution(self, window: np.ndarray) -> np.ndarray:
        """The next-character probabilities after ``window``, as this mode computes them."""
        windows = np.asarray(window, dtype=np.int32)[None, -self.maxlen :]
        return self._first_fn(windows).numpy()[0]

    # -- compiled parts ------------------------------------------------------------------
    def _draw(self, windows: Any, temps: Any, seed: Any, length: int) -> Any:
        import tensorflow as tf

        def pick(probs: Any, i: Any) -> Any:
            logits = tf.math.log(tf.clip_by_value(probs, PROB_FLOOR, 1.0)) / temps[:, None]
            step_seed = tf.random.experimental.stateless_fold_in(seed, i)
            noise = tf.random.stateless_uniform(tf.shape(probs), step_seed, minval=np.finfo(np.float32).tiny)
            return tf.argmax(logits - tf.math.log(-tf.math.log(noise)), axis=-1, output_type=tf.int32)

        state, probs = self._start(windows)
        first = pick(probs, 0)
        out = tf.TensorArray(tf.int32, size=length).write(0, first)

        def body(i: Any, state: Any, prev: Any, out: Any) -> tuple[Any, Any, Any, Any]:
            state, probs = self._advance(state, prev)
            nxt = pick(probs, i)
            return i + 1, state, nxt, out.write(i, nxt)

        _, _, _, out = tf.while_loop(lambda i, *_: i < length, body, (tf.constant(1), state, first, out))
        return tf.transpose(out.stack())

    def _start(self, windows: Any) -> tuple[Any, Any]:
        """Read the seed windows: ``(state, next-character probabilities)``."""
        import tensorflow as tf

        if self.mode == "window":
            return windows, self._next(windows)
        batch = tf.shape(windows)[0]
        state = [
            (tf.zeros((batch, lstm.units), lstm.compute_dtype), tf.zeros((batch, lstm.units), lstm.compute_dtype))
            for lstm in self._lstms
        ]
        probs = tf.zeros((batch, self.model.output_shape[-1]), tf.float32)

        def body(t: Any, state: Any, probs: Any) -> tuple[Any, Any, Any]:
            state, probs = self._advance(state, windows[:, t])
            return t + 1, state, probs

        _, state, probs = tf.while_loop(lambda t, *_: t < self.maxlen, body, (tf.constant(0), state, probs))
        return state, probs

    def _next(self, windows: Any) -> Any:
        """The model's next-character probabilities after each window (its last position's, if it gives all)."""
        probs = self.model(windows, training=False)
        return probs[:, -1] if len(probs.shape) == 3 else probs

    def _advance(self, state: Any, codes: Any) -> tuple[Any, Any]:
        """Feed one character a row: ``(new state, next-character probabilities)``."""
        import tensorflow as tf

        if self.mode == "window":
            windows = tf.concat([state[:, 1:], codes[:, None]], axis=1)
            return windows, self._next(windows)
        x = codes[:, None]  # a one-character window
        for layer in self._encode:
            x = layer(x)
        x = tf.reshape(x, (tf.shape(codes)[0], -1))  # (B, 1, F) or (B, F) -> (B, F)
        new_state = []
        for lstm, (h, c) in zip(self._lstms, state):
            x, (h, c) = lstm.cell(x, [h, c], training=False)
            new_state.append((h, c))
        for layer in self._head:
            x = layer(x)
        return new_state, x
