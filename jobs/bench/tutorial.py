"""The tutorial's own code: the baseline side of every task-level benchmark item.

Written as the tutorial writes it (dictionary counting loops, ``np.random.choice``
per character, an ``N x maxlen x V`` boolean one-hot array fed to ``model.fit``,
``model.predict`` once per generated character, every review padded to 500
words) so that the benchmark compares seqjobs with what a reader of the
tutorial would run, not with a strawman. Only three things differ, all forced
by Keras 3: ``keras.Input`` replaces ``input_shape=``/``input_length=``,
``learning_rate=`` replaces ``lr=``, and ``bool`` replaces the removed
``np.bool``. Nothing is printed (``print`` would time the terminal).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np


# -- Markov chain -------------------------------------------------------------------------
def markov_fit(text: str) -> tuple[dict[str, dict[str, int]], dict[str, tuple[list[str], list[float]]]]:
    """``transition_counts`` and ``transition_probabilities``, the tutorial's loops verbatim."""
    transition_counts: dict[str, dict[str, int]] = dict()
    for i in range(0, len(text) - 1):
        currc = text[i]
        nextc = text[i + 1]
        if currc not in transition_counts:
            transition_counts[currc] = dict()
        if nextc not in transition_counts[currc]:
            transition_counts[currc][nextc] = 0
        transition_counts[currc][nextc] += 1

    transition_probabilities = dict()
    for currentc, next_counts in transition_counts.items():
        values = []
        probabilities: list[float] = []
        sumall = 0
        for nextc, count in next_counts.items():
            values.append(nextc)
            probabilities.append(count)
            sumall += count
        for i in range(0, len(probabilities)):
            probabilities[i] /= float(sumall)
        transition_probabilities[currentc] = (values, probabilities)
    return transition_counts, transition_probabilities


def markov_sample(transition_probabilities: dict[str, tuple[list[str], list[float]]], start: str, length: int) -> str:
    """The tutorial's sampling loop (it prints each character; here they are collected)."""
    out = []
    current = start
    for i in range(0, length):
        out.append(current)
        values, probabilities = transition_probabilities[current]
        current = np.random.choice(values, p=probabilities)
    return "".join(out)


# -- char-LSTM ------------------------------------------------------------------------------
def one_hot_windows(text: str, maxlen: int = 40, step: int = 3) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The tutorial's ``sentences``/``next_chars`` and its vectorization: ``(x, y, chars)``."""
    chars = sorted(list(set(text)))
    char_indices = dict((c, i) for i, c in enumerate(chars))
    sentences = []
    next_chars = []
    for i in range(0, len(text) - maxlen, step):
        sentences.append(text[i : i + maxlen])
        next_chars.append(text[i + maxlen])
    x = np.zeros((len(sentences), maxlen, len(chars)), dtype=bool)
    y = np.zeros((len(sentences), len(chars)), dtype=bool)
    for i, sentence in enumerate(sentences):
        for t, char in enumerate(sentence):
            x[i, t, char_indices[char]] = 1
        y[i, char_indices[next_chars[i]]] = 1
    return x, y, chars


def char_model(maxlen: int, n_chars: int, units: int = 128, lr: float = 0.01) -> Any:
    """The tutorial's single-LSTM model on one-hot input."""
    import keras
    from keras.layers import LSTM, Activation, Dense

    model = keras.Sequential()
    model.add(keras.Input(shape=(maxlen, n_chars)))
    model.add(LSTM(units))
    model.add(Dense(n_chars))
    model.add(Activation("softmax"))
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(learning_rate=lr))
    return model


def sample(preds: np.ndarray, temperature: float = 1.0) -> int:
    """The tutorial's annealed sampling helper."""
    preds = np.asarray(preds).astype("float64")
    preds = np.log(preds) / temperature
    exp_preds = np.exp(preds)
    preds = exp_preds / np.sum(exp_preds)
    probas = np.random.multinomial(1, preds, 1)
    return int(np.argmax(probas))


def generate(
    model: Any, text: str, chars: list[str], maxlen: int, diversities: tuple[float, ...], length: int
) -> list[str]:
    """The tutorial's ``on_epoch_end`` sampling: one ``model.predict`` per character and temperature."""
    char_indices = dict((c, i) for i, c in enumerate(chars))
    indices_char = dict((i, c) for i, c in enumerate(chars))
    start_index = random.randint(0, len(text) - maxlen - 1)
    out = []
    for diversity in diversities:
        generated = ""
        sentence = text[start_index : start_index + maxlen]
        generated += sentence
        for i in range(length):
            x_pred = np.zeros((1, maxlen, len(chars)))
            for t, char in enumerate(sentence):
                x_pred[0, t, char_indices[char]] = 1.0
            preds = model.predict(x_pred, verbose=0)[0]
            next_index = sample(preds, diversity)
            next_char = indices_char[next_index]
            generated += next_char
            sentence = sentence[1:] + next_char
        out.append(generated)
    return out


# -- IMDB -----------------------------------------------------------------------------------
def pad_reviews(reviews: list[np.ndarray], max_review_length: int = 500) -> np.ndarray:
    """``sequence.pad_sequences(X, maxlen=max_review_length)``."""
    import keras

    return keras.utils.pad_sequences(reviews, maxlen=max_review_length)


def imdb_model(top_words: int = 5000, max_review_length: int = 500, embedding_vector_length: int = 32) -> Any:
    """The tutorial's Embedding -> LSTM(100) -> Dense(1, sigmoid), compiled with Adam."""
    import keras
    from keras.layers import LSTM, Dense, Embedding

    model = keras.Sequential()
    model.add(keras.Input(shape=(max_review_length,), dtype="int32"))
    model.add(Embedding(top_words, embedding_vector_length))
    model.add(LSTM(100))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model
