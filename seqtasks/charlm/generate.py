"""Sample text from a trained char-LSTM run folder (``seqjobs generate``).

Inputs are checked before TensorFlow loads, so a mistake costs no start-up
time and prints one line. The seed text gets the run's case handling
(lowercased unless the run used ``--keep-case``). The model reads exactly
``maxlen`` characters: a longer seed contributes its last ``maxlen``, a
shorter one is left-padded with line breaks (spaces if the text has none) --
the closest thing to "start of a text" for a model trained only on full
windows. Without a seed text, a window of the
run's held-out text (chosen with ``--seed``) is used, as during training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqtasks import tfsetup
from seqtasks.checkpoint import BEST, trained_config
from seqtasks.charlm.config import CharLMConfig
from seqtasks.charlm.data import Vocab
from seqtasks.charlm.sampler import Mode, Sampler
from seqtasks.charlm.train import VOCAB, load_data
from seqtasks.errors import UserError


def seed_window(vocab: Vocab, text: str, maxlen: int) -> np.ndarray:
    """``text``'s last ``maxlen`` characters as codes, left-padded with :attr:`Vocab.pad_char`."""
    codes = vocab.encode(text, "--seed-text")[-maxlen:]
    pad = vocab.encode(vocab.pad_char * (maxlen - len(codes)))
    return np.concatenate([pad, codes])


def generate(
    path: Path, temperature: float, length: int, seed_text: str | None, sampler: Mode | None, seed: int
) -> str:
    """The seed text followed by ``length`` sampled characters from the run's ``best.keras``."""
    if temperature <= 0:
        raise UserError(f"--temperature must be > 0 (got {temperature})")
    if length < 1:
        raise UserError(f"--length must be >= 1 (got {length})")
    run_dir, _, config = trained_config(path, "charlm", CharLMConfig, "generate")
    vocab = Vocab.load(run_dir.file(VOCAB))
    if seed_text is None:
        _, data = load_data(config)
        window = data.seed_window(np.random.default_rng(seed))
        seed_text = vocab.decode(window)
    else:
        seed_text = seed_text if config.keep_case else seed_text.lower()
        window = seed_window(vocab, seed_text, config.maxlen)

    tfsetup.setup(seed)
    import keras

    model = keras.models.load_model(run_dir.file(BEST), compile=False)
    codes = Sampler(model, sampler or config.sampler).sample(window, [temperature], length, (seed, 0))
    return seed_text + vocab.decode(codes[0])
