"""Character data without the one-hot blow-up: an int array and lazily cut windows.

The tutorial materialises every window as an ``N x maxlen x V`` boolean array
(435 MB for Nietzsche, 1.7 GB once Keras casts it to float32). Here the text
stays one ``int32`` code per character; a window is a start index, and a
``tf.data`` map gathers each batch's ``(batch, maxlen)`` codes on the fly. The
one-hot step moved into the model (see :mod:`seqtasks.charlm.model`).

Windows are the tutorial's: ``x = text[i : i + maxlen]``, ``y = text[i + maxlen]``
for ``i`` in ``range(0, len(train) - maxlen, step)``, over the training part
of the text (:class:`seqtasks.textsplit.TextSplit`: the first
``1 - val_fraction - test_fraction``). Validation scores every validation
character once (stride 1), each with its ``maxlen`` preceding characters as
context, so ``val_loss / ln 2`` is the validation text's bits per character;
the test text, the last ``test_fraction`` (none by default), is scored the
same way, once, at the end of a run.

With ``targets="all"`` (char-rnn's way) a training window's target is the
window shifted by one character, ``y = text[i + 1 : i + maxlen + 1]``: every
position is predicted, so a window teaches ``maxlen`` characters instead of
one. Validation is unchanged in what it scores -- the same windows, the same
character after each; the model's other positions get weight 0 -- so the
bits per character of both kinds of run compare.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seqtasks.charlm.config import Targets
from seqtasks.errors import UserError
from seqtasks.rundir.safe import Damaged, read_object
from seqtasks.textsplit import TextSplit

VAL_BATCH = 1024  # evaluation keeps no activations for backprop: bigger batches, same numbers


def _code_points(text: str) -> np.ndarray:
    """One ``uint32`` code point per character, without a Python loop."""
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4")


@dataclass(frozen=True)
class Vocab:
    """The sorted distinct characters of the whole text (the tutorial's ``chars``)."""

    chars: str

    @classmethod
    def of(cls, text: str) -> "Vocab":
        """The vocabulary of ``text``."""
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str, what: str = "text") -> np.ndarray:
        """``text`` as ``int32`` codes; a :class:`UserError` names characters the model never saw."""
        points = _code_points(text)
        table = _code_points(self.chars)  # sorted: str order is code-point order
        idx = np.clip(np.searchsorted(table, points), 0, len(table) - 1)
        known = table[idx] == points
        if not known.all():
            shown = "".join(sorted(set(chr(p) for p in points[~known].tolist())))
            raise UserError(f"{what} contains characters the model was not trained on: {shown!r}")
        return idx.astype(np.int32)

    def decode(self, codes: Any) -> str:
        """Codes back to text."""
        return "".join(self.chars[i] for i in np.asarray(codes).tolist())

    @property
    def pad_char(self) -> str:
        """Left padding for seeds shorter than ``maxlen``: line breaks, as before a new chapter.

        A run of them occurs in real texts (a run of spaces rarely does), so the
        padded window stays close to what the model was trained on.
        """
        return next((c for c in "\n " if c in self.chars), self.chars[0])

    def to_json(self) -> str:
        """The vocabulary as ``vocab.json`` holds it, next to the model (``generate`` needs it)."""
        return json.dumps({"chars": list(self.chars)}, indent=2) + "\n"

    @classmethod
    def load(cls, path: Path) -> "Vocab":
        """Read a vocabulary written from :meth:`to_json`; :class:`Damaged` for a file that is not (a FIFO, not JSON)."""
        record = read_object(path)
        if record is None:
            raise Damaged(path, "is missing")
        return cls("".join(record["chars"]))


@dataclass(frozen=True)
class CharData:
    """A text as codes, split into training, validation and (optionally) test text."""

    vocab: Vocab
    codes: np.ndarray  # (N,) int32
    n_train: int  # codes[:n_train] are trained on, codes[n_train:val_end] validate, codes[val_end:] test
    val_end: int
    maxlen: int
    step: int
    targets: Targets = "last"

    @classmethod
    def from_text(
        cls,
        text: str,
        maxlen: int,
        step: int,
        val_fraction: float,
        name: str = "the text",
        targets: Targets = "last",
        test_fraction: float = 0.0,
    ) -> "CharData":
        """Encode ``text``; a :class:`UserError` when it is too short for ``maxlen`` and the split."""
        split = TextSplit(len(text), val_fraction, test_fraction).check(
            maxlen, f"--maxlen {maxlen}", name, "character", "use a longer text or a smaller --maxlen"
        )
        vocab = Vocab.of(text)
        return cls(vocab, vocab.encode(text), split.train_end, split.val_end, maxlen, step, targets)

    @property
    def train_windows(self) -> int:
        """Number of training windows (the tutorial's ``nb sequences`` on the training part)."""
        return len(range(0, self.n_train - self.maxlen, self.step))

    @property
    def val_windows(self) -> int:
        """Number of validation characters scored each epoch."""
        return self.val_end - self.n_train

    @property
    def test_chars(self) -> int:
        """Number of test characters (0 without a test split)."""
        return len(self.codes) - self.val_end

    def steps_per_epoch(self, batch_size: int) -> int:
        """Training batches per epoch (the last one may be short)."""
        return -(-self.train_windows // batch_size)

    def train_dataset(self, batch_size: int, seed: int, first_epoch: int, epochs: int) -> Any:
        """Batches for epochs ``first_epoch+1 .. epochs``, one stream, ``steps_per_epoch`` each.

        Each epoch's order is a shuffle keyed by ``(seed, epoch)`` alone, so an
        epoch redone after a resume sees exactly the batches it would have seen.
        """
        import tensorflow as tf

        starts = tf.range(0, self.n_train - self.maxlen, self.step, dtype=tf.int32)

        def one_epoch(epoch: Any) -> Any:
            order = tf.random.experimental.stateless_shuffle(
                starts, seed=tf.stack([tf.constant(seed, tf.int64), epoch])
            )
            return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

        epochs_ds = tf.data.Dataset.range(first_epoch, epochs)
        return self._windows(epochs_ds.flat_map(one_epoch))

    def val_dataset(self) -> Any:
        """Every validation character with its ``maxlen`` predecessors, in text order."""
        return self._scored(self.n_train, self.val_end)

    def test_dataset(self) -> Any:
        """Every test character with its ``maxlen`` predecessors (the last of them validation text), in text order."""
        return self._scored(self.val_end, len(self.codes))

    def _scored(self, first: int, end: int) -> Any:
        """The characters ``codes[first:end]``, each the target of the window of its ``maxlen`` predecessors."""
        import tensorflow as tf

        starts = tf.range(first - self.maxlen, end - self.maxlen, dtype=tf.int32)
        return self._windows(tf.data.Dataset.from_tensor_slices(starts).batch(VAL_BATCH), scored="last")

    def _windows(self, starts: Any, scored: Targets | None = None) -> Any:
        """Map batches of start indices to ``(codes (B, maxlen), targets)``.

        The targets are the next code ``(B,)``, or with ``targets="all"`` the
        shifted window ``(B, maxlen)``; ``scored="last"`` then adds weights
        that count only the last position (validation).
        """
        import tensorflow as tf

        codes = tf.constant(self.codes)
        offsets = tf.range(self.maxlen, dtype=tf.int32)
        last_only = tf.one_hot(self.maxlen - 1, self.maxlen)

        def cut(s: Any) -> tuple[Any, ...]:
            x = tf.gather(codes, s[:, None] + offsets)
            if self.targets == "last":
                return x, tf.gather(codes, s + self.maxlen)
            y = tf.gather(codes, s[:, None] + offsets + 1)
            if scored == "last":
                return x, y, tf.broadcast_to(last_only, tf.shape(y))
            return x, y

        return starts.map(cut, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    def seed_window(self, rng: np.random.Generator) -> np.ndarray:
        """A random ``maxlen`` window of validation text to start samples from (its end if it is shorter).

        Never test text: the samples are looked at while choosing.
        """
        last = self.val_end - self.maxlen
        start = int(rng.integers(self.n_train, last + 1)) if last >= self.n_train else last
        return self.codes[start : start + self.maxlen]
