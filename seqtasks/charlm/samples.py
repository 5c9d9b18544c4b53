"""Per-epoch samples on disk: ``samples/epoch_NNN.txt`` to read, ``samples.jsonl`` to parse.

``samples.jsonl`` holds one JSON object per epoch and temperature:
``{"epoch", "temperature", "seed_text", "text"}`` (``text`` is what was
generated after the seed). Both are cut back to the last committed epoch
when a run resumes, so an epoch redone after a kill appears once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from seqtasks import atomic
from seqtasks.rundir import RunDir

JSONL = "samples.jsonl"


def epoch_file(run_dir: RunDir, epoch: int) -> Path:
    """An epoch's readable sample file."""
    return run_dir.samples / f"epoch_{epoch:03d}.txt"


def render(epoch: int, seed_text: str, temperatures: Sequence[float], texts: Sequence[str]) -> str:
    """The readable form, laid out like the tutorial's printout."""
    parts = [f"----- Generating text after epoch {epoch}"]
    for temp, text in zip(temperatures, texts):
        parts += [f"----- temperature: {temp}", f'----- seed: "{seed_text}"', seed_text + text, ""]
    return "\n".join(parts)


def write(run_dir: RunDir, epoch: int, seed_text: str, temperatures: Sequence[float], texts: Sequence[str]) -> None:
    """Write one epoch's samples to both files."""
    atomic.write_text(epoch_file(run_dir, epoch), render(epoch, seed_text, temperatures, texts))
    lines = [
        json.dumps({"epoch": epoch, "temperature": t, "seed_text": seed_text, "text": s}, ensure_ascii=False) + "\n"
        for t, s in zip(temperatures, texts)
    ]
    atomic.append_text(run_dir.file(JSONL), "".join(lines))


def discard_after(run_dir: RunDir, epoch: int) -> None:
    """Remove samples of epochs after ``epoch`` (written by an attempt that did not commit them)."""
    path = run_dir.file(JSONL)
    if path.exists():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [ln for ln in lines if ln.strip() and json.loads(ln)["epoch"] <= epoch]
        if len(kept) != len(lines):
            atomic.write_text(path, "".join(kept))
    for old in run_dir.samples.glob("epoch_*.txt"):
        if int(old.stem.split("_")[1]) > epoch:
            old.unlink()
