"""Per-epoch samples on disk: ``samples/epoch_NNN.txt`` to read, ``samples.jsonl`` to parse.

``samples.jsonl`` holds one JSON object per epoch and temperature:
``{"epoch", "temperature", "seed_text", "text"}`` (``text`` is what was
generated after the seed). Both are cut back to the last committed epoch
when a run resumes (:func:`seqtasks.rundir.epochs.rollback`), so an epoch
redone after a kill appears once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from seqtasks.rundir import RunDir
from seqtasks.rundir.epochs import SAMPLES_JSONL as JSONL
from seqtasks.rundir.epochs import sample_name


def render(epoch: int, seed_text: str, temperatures: Sequence[float], texts: Sequence[str]) -> str:
    """The readable form, laid out like the tutorial's printout."""
    parts = [f"----- Generating text after epoch {epoch}"]
    for temp, text in zip(temperatures, texts):
        parts += [f"----- temperature: {temp}", f'----- seed: "{seed_text}"', seed_text + text, ""]
    return "\n".join(parts)


def write(run_dir: RunDir, epoch: int, seed_text: str, temperatures: Sequence[float], texts: Sequence[str]) -> None:
    """Write one epoch's samples to both files."""
    run_dir.write_text(sample_name(epoch), render(epoch, seed_text, temperatures, texts))
    lines = [
        json.dumps({"epoch": epoch, "temperature": t, "seed_text": seed_text, "text": s}, ensure_ascii=False) + "\n"
        for t, s in zip(temperatures, texts)
    ]
    run_dir.append_text(JSONL, "".join(lines))
