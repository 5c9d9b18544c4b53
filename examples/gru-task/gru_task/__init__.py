"""A Keras GRU sentence classifier as a seqjobs task: a config dataclass and ``run(config, run_dir) -> dict``.

Its data is a tab-separated file of ``id, score, text`` lines (the Rotten
Tomatoes snippets: ``seqjobs data path rt-snippets``); a sentence is positive
when its score is above zero. Keras is imported inside ``run``, so listing the
task costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import seqjobs


@dataclass
class GRUConfig:
    data: str = field(default="", metadata={"help": "The id, score, text TSV file."})
    limit: int = field(default=2000, metadata={"help": "Use the first N sentences (0: all)."})
    units: int = field(default=16, metadata={"help": "GRU units."})
    embedding: int = field(default=16, metadata={"help": "Embedding size."})
    epochs: int = field(default=2, metadata={"help": "Epochs to train."})
    lr: float = field(default=0.003, metadata={"help": "Adam's learning rate."})
    seed: int = field(default=0, metadata={"help": "Seed of the split and the weights."})


def read(path: str, limit: int) -> tuple[list[str], list[int]]:
    texts, labels = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            score = parts[1].strip() if len(parts) == 3 else ""
            if score.lstrip("-").replace(".", "", 1).isdigit() and float(score) != 0:  # the header has none
                texts.append(parts[2])
                labels.append(int(float(score) > 0))
    return (texts[:limit], labels[:limit]) if limit else (texts, labels)


@seqjobs.task(main_metric="test_accuracy", higher_is_better=True)
def run(config: GRUConfig, run_dir: Any) -> dict[str, Any]:
    """Train a GRU sentence classifier; report its test accuracy."""
    import keras
    import numpy as np

    from seqjobs.keras_epochs import EpochCommits, restore

    keras.utils.set_random_seed(config.seed)
    texts, labels = read(config.data, config.limit)
    order = np.random.default_rng(config.seed).permutation(len(texts))
    x = np.array(texts, dtype=object)[order]
    y = np.array(labels, dtype="float32")[order]
    cut_val, cut_test = int(0.8 * len(x)), int(0.9 * len(x))
    vectorize = keras.layers.TextVectorization(max_tokens=5000, output_sequence_length=40)
    vectorize.adapt(x[:cut_val])
    ids = vectorize(x).numpy()
    model, progress = restore(run_dir)
    if model is None:
        model = keras.Sequential(
            [
                keras.layers.Embedding(5000, config.embedding),
                keras.layers.GRU(config.units),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        model.compile(optimizer=keras.optimizers.Adam(config.lr), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(
        ids[:cut_val],
        y[:cut_val],
        validation_data=(ids[cut_val:cut_test], y[cut_val:cut_test]),
        initial_epoch=progress.epoch,
        epochs=config.epochs,
        batch_size=64,
        callbacks=[EpochCommits(run_dir, progress, monitor="val_accuracy", higher=True)],
        verbose=2,
    )
    best = keras.models.load_model(run_dir.file("best.keras"))
    loss, accuracy = best.evaluate(ids[cut_test:], y[cut_test:], verbose=0)
    return {
        "test_accuracy": round(float(accuracy), 6),
        "test_loss": round(float(loss), 6),
        "epochs_done": config.epochs,
    }
