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
from seqtasks.charlm.config import MAX_SAMPLE, CharLMConfig, check_temperatures
from seqtasks.charlm.data import Vocab
from seqtasks.charlm.sampler import Mode, Sampler
from seqtasks.charlm.train import VOCAB, load_data
from seqtasks.checkpoint import BEST, trained_config
from seqtasks.config import check_range, check_seed
from seqtasks.errors import UserError
from seqtasks.rundir.safe import Damaged, check_archive


def seed_window(vocab: Vocab, text: str, maxlen: int) -> np.ndarray:
    """``text``'s last ``maxlen`` characters as codes, left-padded with :attr:`Vocab.pad_char`."""
    codes = vocab.encode(text, "--seed-text")[-maxlen:]
    pad = vocab.encode(vocab.pad_char * (maxlen - len(codes)))
    return np.concatenate([pad, codes])


def generate(
    path: Path, temperature: float, length: int, seed_text: str | None, sampler: Mode | None, seed: int
) -> str:
    """The seed text followed by ``length`` sampled characters from the run's ``best.keras``."""
    check_temperatures("--temperature", (temperature,))
    check_range("--length", length, 1, MAX_SAMPLE)
    check_seed(seed)
    run_dir, _, config = trained_config(path, "charlm", CharLMConfig, "generate")
    vocab = load_vocab(run_dir.file(VOCAB))
    model_file = run_dir.file(BEST)
    try:  # before TensorFlow takes seconds to load it: a FIFO would block that, a truncated copy fail late
        check_archive(model_file)
    except Damaged as err:
        raise UserError(f"{err}; train the run on, or copy it again") from None
    if seed_text is None:
        _, data = load_data(config)
        window = data.seed_window(np.random.default_rng(seed))
        seed_text = vocab.decode(window)
    else:
        seed_text = seed_text if config.keep_case else seed_text.lower()
        window = seed_window(vocab, seed_text, config.maxlen)

    tfsetup.setup(seed)
    import keras

    try:
        model = keras.models.load_model(model_file, compile=False)
    except Exception as err:  # whatever Keras raises for a damaged file, the user's fix is the same
        reason = f"{type(err).__name__}: {str(err).strip()[:200]}"
        raise UserError(f"cannot load {model_file} ({reason}); train the run on, or copy it again") from None
    codes = Sampler(model, sampler or config.sampler).sample(window, [temperature], length, (seed, 0))
    return seed_text + vocab.decode(codes[0])


def load_vocab(path: Path) -> Vocab:
    """The run's characters; a damaged ``vocab.json`` is one line naming it."""
    try:
        vocab = Vocab.load(path)
    except Damaged as err:
        raise UserError(f"{err}; train the run on, or copy it again") from None
    except (ValueError, KeyError, TypeError) as err:
        raise UserError(
            f"{path} is damaged ({type(err).__name__}: {err}); train the run on, or copy it again"
        ) from None
    if not vocab.chars:
        raise UserError(f"{path} is damaged (no characters); train the run on, or copy it again")
    return vocab
