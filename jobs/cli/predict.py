"""``seqjobs eval`` and ``seqjobs predict``: use a trained sentiment run.

Both import TensorFlow only once they run (inside :mod:`seqtasks.imdb.infer`),
so ``seqjobs --help`` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

RunArg = Annotated[Path, typer.Argument(help="Folder of a trained imdb run (holds best.keras and vocab.json).")]


def evaluate(
    run_dir: RunArg,
    dataset: Annotated[
        Optional[str],
        typer.Option(
            "--dataset",
            help="Score another data set's test split instead (name, aclImdb folder or CSV/TSV); "
            "its text is encoded with the run's vocabulary.",
        ),
    ] = None,
) -> None:
    from seqtasks.imdb.infer import evaluate_run, open_run

    scores = evaluate_run(open_run(run_dir), dataset)
    typer.echo(
        f"accuracy {scores['accuracy']:.4f}  loss {scores['loss']:.4f}  "
        f"({scores['reviews']} test reviews of {scores['dataset']})"
    )


def predict(
    run_dir: RunArg,
    texts: Annotated[list[str], typer.Argument(help="Review text(s) to score; quote each one.")],
) -> None:
    from seqtasks.imdb.infer import open_run, predict_texts

    for prob, text in zip(predict_texts(open_run(run_dir), texts), texts):
        typer.echo(f"{prob:.4f}\t{text}")
