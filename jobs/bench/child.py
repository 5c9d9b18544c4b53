"""One char-LSTM training job in a fresh process, so its peak RSS is its own.

``python -m jobs.bench.child {tutorial|seqjobs} CHARS STEPS BATCH`` loads
the text stand-in, prepares the data the way its side does, builds the same
model and trains ``STEPS`` steps; the parent reads the peak RSS from
``wait4``.
"""

from __future__ import annotations

import sys

from jobs.bench.standins import stand_in_text
from seqtasks import tfsetup

MAXLEN, STEP, UNITS, LR, VAL_FRACTION = 40, 3, 128, 0.01, 0.1  # the tutorial's, and charlm's defaults


def train_tutorial(text: str, steps: int, batch: int) -> None:
    """The tutorial's way: the one-hot arrays, then ``model.fit`` on them."""
    from jobs.bench import tutorial

    x, y, chars = tutorial.one_hot_windows(text, MAXLEN, STEP)
    model = tutorial.char_model(MAXLEN, len(chars), UNITS, LR)
    model.fit(x, y, batch_size=batch, epochs=1, steps_per_epoch=steps, verbose=0)


def train_seqjobs(text: str, steps: int, batch: int) -> None:
    """The charlm task's way: integer codes, windows cut by tf.data, one-hot inside the model."""
    from seqtasks.charlm.data import CharData
    from seqtasks.charlm.model import build_model

    data = CharData.from_text(text, MAXLEN, STEP, VAL_FRACTION)
    model = build_model(len(data.vocab), MAXLEN, UNITS, 1, LR)
    model.fit(data.train_dataset(batch, 0, 0, 1), steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)


def main(argv: list[str]) -> None:
    """Run one side's training job: ``SIDE CHARS STEPS BATCH``."""
    side, chars, steps, batch = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    text = stand_in_text(chars)
    tfsetup.setup(0)
    {"tutorial": train_tutorial, "seqjobs": train_seqjobs}[side](text, steps, batch)


if __name__ == "__main__":
    main(sys.argv[1:])
