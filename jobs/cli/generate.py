"""``seqjobs generate RUN_DIR``: sample text from a trained char-LSTM run.

TensorFlow loads only after the inputs were checked (inside
:mod:`seqtasks.charlm.generate`), so ``--help`` and mistakes answer at once.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Optional

import typer


class SamplerMode(str, enum.Enum):
    """The two sampling modes (an Enum, so Typer lists them as choices)."""

    window = "window"
    stateful = "stateful"


def generate(
    run_dir: Annotated[Path, typer.Argument(help="A charlm run folder (its best.keras is used).")],
    temperature: Annotated[
        float, typer.Option(help="Sampling temperature (> 0; near 0: always the likeliest character).")
    ] = 0.5,
    length: Annotated[int, typer.Option(help="Characters to generate.")] = 400,
    seed_text: Annotated[
        Optional[str],
        typer.Option(
            help="Text to continue (lowercased unless the run kept case; shorter than maxlen: left-padded with line breaks). Default: a window of the run's held-out text."
        ),
    ] = None,
    sampler: Annotated[
        Optional[SamplerMode],
        typer.Option(
            help="window: re-read the last maxlen characters (the tutorial); stateful: carry the LSTM state. Default: the run's."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the draw (and of the default seed window).")] = 0,
) -> None:
    from seqtasks.charlm.generate import generate as sample_text

    mode = sampler.value if sampler else None
    typer.echo(
        sample_text(
            run_dir,
            temperature=temperature,
            length=length,
            seed_text=seed_text,
            sampler=mode,  # type: ignore[arg-type]
            seed=seed,
        )
    )
