"""The train / validation / test split of the character-level tasks (``--test-fraction``).

The split's boundaries, the old two-way split kept to the character when
there is no test part, the Markov chain and the char-LSTM of one text seeing
the same characters in each part, one clear line for a text too short, and a
small real run of each task reporting its test figure -- which must not
change what training does (the rows of a resumed run stay those of an
uninterrupted one).
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import pytest

from seqtasks.charlm.config import CharLMConfig
from seqtasks.charlm.data import CharData
from seqtasks.config import from_dict, with_defaults
from seqtasks.markov.chain import MarkovChain
from seqtasks.markov.config import MarkovConfig
from seqtasks.runner import execute
from seqtasks.textsplit import TextSplit
from tests.helpers import assert_one_line_error

#: a text whose characters vary along it, so that a boundary off by one shows
TEXT = "".join(f"line {i}: the cat sat on mat {i % 7}; the dog dug {i * 3 % 11}.\n" for i in range(60))
TINY_LM: dict[str, Any] = dict(maxlen=12, step=3, units=16, batch_size=64, sample_length=20, temperatures=(0.5,))


def corpus(folder: Path, text: str = TEXT) -> Path:
    path = folder / "text.txt"
    path.write_text(text, encoding="utf-8")
    return path


def result(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "result.json").read_text(encoding="utf-8"))


def rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "metrics.csv").open(newline="", encoding="utf-8") as fh:
        return [{k: v for k, v in row.items() if "seconds" not in k} for row in csv.DictReader(fh)]


# -- the split itself ------------------------------------------------------------------------------


def test_the_parts_are_consecutive_and_the_test_part_is_the_end() -> None:
    split = TextSplit(1000, 0.1, 0.1)
    assert (split.train_end, split.val_end) == (800, 900)
    assert (split.train, split.val, split.test) == (slice(0, 800), slice(800, 900), slice(900, 1000))
    for n in (7, 100, 999, 1_191_000):
        for val, test in ((0.1, 0.1), (0.05, 0.2), (0.3, 0.0)):
            s = TextSplit(n, val, test)
            assert 0 <= s.train_end <= s.val_end <= n
            assert s.val_end == int(n * (1 - test)) and n - s.val_end == n - int(n * (1 - test))


@pytest.mark.parametrize("n", [10, 333, 1000, 119_032, 1_190_317])
@pytest.mark.parametrize("val", [0.1, 0.05, 0.2, 0.37])
def test_no_test_fraction_is_the_old_two_way_split_to_the_symbol(n: int, val: float) -> None:
    split = TextSplit(n, val, 0.0)
    assert (split.train_end, split.val_end) == (int(n * (1.0 - val)), n)  # the formula both tasks used
    assert split.test == slice(n, n)


def test_a_run_made_before_the_option_existed_has_no_test_split() -> None:
    for cls in (MarkovConfig, CharLMConfig):
        stored = {k: v for k, v in with_defaults(cls, {}).items() if k != "test_fraction"}
        assert getattr(from_dict(cls, stored), "test_fraction") == 0.0
        assert with_defaults(cls, stored)["test_fraction"] == 0.0
    old = CharData.from_text(TEXT, 12, 3, 0.1)
    assert (old.n_train, old.val_end, old.test_chars) == (int(len(TEXT) * 0.9), len(TEXT), 0)


def test_an_older_run_folder_resumes_as_the_same_config_and_collects_as_no_test_split(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    """Its config.json has no test_fraction: resuming it is not "a different config", asking for a test split is."""
    from jobs.monitor.collect import collect
    from seqtasks.errors import UserError
    from seqtasks.rundir import RunDir

    path, out = corpus(tmp_path), tmp_path / "sweep" / "old"
    assert cli("run", "markov", "--corpus", str(path), "--out", str(out)).exit_code == 0
    record = json.loads((out / "config.json").read_text())
    del record["config"]["test_fraction"]
    (out / "config.json").write_text(json.dumps(record))
    assert RunDir(out).check_compatible("markov", MarkovConfig(corpus=str(path))) is not None
    with pytest.raises(UserError, match="test-fraction: 0.0 -> 0.1"):
        RunDir(out).check_compatible("markov", MarkovConfig(corpus=str(path), test_fraction=0.1))
    assert collect([tmp_path / "sweep"], per_epoch=False).runs["test_fraction"].tolist() == [0.0]


# -- the same characters in both tasks -------------------------------------------------------------


@pytest.mark.parametrize(("val", "test"), [(0.1, 0.1), (0.15, 0.05), (0.1, 0.0)])
def test_markov_and_charlm_see_the_same_characters_in_each_part(tmp_path: Path, val: float, test: float) -> None:
    from seqtasks.charlm.train import load_data

    path = corpus(tmp_path)
    _, lm = load_data(CharLMConfig(corpus=str(path), val_fraction=val, test_fraction=test, **TINY_LM))
    chain_run = execute(
        "markov", MarkovConfig(corpus=str(path), order=2, val_fraction=val, test_fraction=test), tmp_path / "mk"
    )
    text = TEXT.lower()
    parts = {
        "train": lm.vocab.decode(lm.codes[: lm.n_train]),
        "val": lm.vocab.decode(lm.codes[lm.n_train : lm.val_end]),
        "test": lm.vocab.decode(lm.codes[lm.val_end :]),
    }
    assert "".join(parts.values()) == text and all(parts["val"]) and bool(parts["test"]) == (test > 0)
    assert chain_run["train_symbols"] == len(parts["train"]) == lm.n_train
    assert chain_run["heldout_symbols"] == len(parts["val"]) == lm.val_windows
    assert chain_run.get("test_symbols", 0) == len(parts["test"]) == lm.test_chars
    # what the chain counted is the LSTM's training text, character for character
    chain = MarkovChain.load(tmp_path / "mk" / "model.npz")
    counted = {chr(c): int(k) for c, k in zip(chain.symbols.tolist(), chain.unigram.tolist())}
    assert counted == dict(Counter(parts["train"]))
    assert ("test_bits_per_symbol" in chain_run) == (test > 0)


# -- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["markov", "charlm"])
@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (["--test-fraction", "1"], "--test-fraction must be in [0, 1)"),
        (["--test-fraction", "-0.1"], "--test-fraction must be in [0, 1)"),
        (["--val-fraction", "0.5", "--test-fraction", "0.5"], "leave no training text"),
    ],
)
def test_bad_fractions_are_one_line_exit_2(
    cli: Callable[..., Any], tmp_path: Path, task: str, options: list[str], fragment: str
) -> None:
    args = ["run", task, "--corpus", str(corpus(tmp_path)), *options, "--out", str(tmp_path / "run")]
    assert_one_line_error(cli(*args), fragment)
    assert not (tmp_path / "run").exists()  # refused before any folder is made


@pytest.mark.parametrize(
    ("task", "fractions", "fragments"),
    [
        (["markov", "--order", "3"], ["0.3", "0.1"], ["6 chars", "training 3, validation 2, test 1", "order 3"]),
        (["charlm", "--maxlen", "4"], ["0.3", "0.1"], ["6 characters", "training 3", "--maxlen 4"]),
        (["markov"], ["0.05", "0.1"], ["training 5, validation 0, test 1", "--val-fraction 0.05"]),
        (["charlm", "--maxlen", "2"], ["0.05", "0.1"], ["validation 0", "--test-fraction 0.1"]),
    ],
)
def test_a_text_too_short_for_the_split_is_one_line_exit_2(
    cli: Callable[..., Any], tmp_path: Path, task: list[str], fractions: list[str], fragments: list[str]
) -> None:
    path = corpus(tmp_path, "abcabc")
    val, test = fractions
    args = ["run", *task, "--corpus", str(path), "--val-fraction", val, "--test-fraction", test]
    assert_one_line_error(cli(*args, "--out", str(tmp_path / "r")), *fragments)


# -- small real runs -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["dirichlet", "kneser-ney"])
def test_a_markov_run_reports_its_test_bits_scored_like_validation(
    tmp_path: Path, method: Literal["dirichlet", "kneser-ney"]
) -> None:
    from seqtasks.markov.kneser_ney import KneserNey

    path = corpus(tmp_path)
    config = MarkovConfig(corpus=str(path), order=3, val_fraction=0.1, test_fraction=0.1, smoothing_method=method)
    figures = execute("markov", config, tmp_path / "mk")
    assert figures["status"] == "completed" and math.isfinite(figures["test_bits_per_symbol"])

    chain = MarkovChain.load(tmp_path / "mk" / "model.npz")
    model = KneserNey.from_chain(chain) if method == "kneser-ney" else chain
    codes = np.searchsorted(chain.symbols, np.frombuffer(TEXT.lower().encode("utf-32-le"), dtype="<u4"))
    split = TextSplit(len(TEXT), 0.1, 0.1)

    def bits(start: int, end: int) -> float:
        args = (codes[start - 3 : start], codes[start:end])
        return model.bits_per_symbol(*args) if isinstance(model, KneserNey) else model.bits_per_symbol(*args, 1.0)

    unknown = set(TEXT.lower()[split.train_end :]) - set(TEXT.lower()[: split.train_end])
    assert not unknown  # every held-out character is in the training vocabulary: searchsorted encodes it
    assert figures["heldout_bits_per_symbol"] == round(bits(split.train_end, split.val_end), 6)
    assert figures["test_bits_per_symbol"] == round(bits(split.val_end, split.total), 6)
    assert figures["test_symbols"] == split.total - split.val_end


@pytest.mark.slow
def test_a_charlm_run_tests_its_best_epoch_once_and_resumes_to_the_same_rows(tmp_path: Path) -> None:
    import keras

    path = corpus(tmp_path)
    config = CharLMConfig(corpus=str(path), epochs=3, test_fraction=0.1, **TINY_LM)
    straight = execute("charlm", config, tmp_path / "straight")
    execute("charlm", CharLMConfig(**{**config.__dict__, "epochs": 2}), tmp_path / "resumed")
    resumed = execute("charlm", config, tmp_path / "resumed")  # trains epoch 3 only, then tests
    assert resumed["attempt"] == 2 and rows(tmp_path / "resumed") == rows(tmp_path / "straight")
    assert list(rows(tmp_path / "straight")[0]) == ["epoch", "loss", "val_loss", "val_bits_per_char", "lr"]
    for key in ("best_epoch", "best_val_bits_per_char", "test_bits_per_char", "test_loss", "test_chars"):
        assert resumed[key] == straight[key], key

    data = CharData.from_text(TEXT.lower(), 12, 3, 0.1, test_fraction=0.1)
    assert straight["test_chars"] == data.test_chars == len(TEXT) - int(len(TEXT) * 0.9)
    assert straight["val_windows"] == data.val_windows == int(len(TEXT) * 0.9) - int(len(TEXT) * 0.8)
    model = keras.models.load_model(tmp_path / "straight" / "best.keras", compile=False)
    x, y = next(data.test_dataset().as_numpy_iterator())
    assert len(y) == data.test_chars and data.vocab.decode(y) == TEXT.lower()[data.val_end :]
    probs = model.predict(x, verbose=0)
    by_hand = -np.log(probs[np.arange(len(y)), y]).mean() / math.log(2)
    assert by_hand == pytest.approx(straight["test_bits_per_char"], rel=1e-4, abs=1e-5)
    assert result(tmp_path / "straight")["test_bits_per_char"] == straight["test_bits_per_char"]
