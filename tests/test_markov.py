"""The Markov task: counts equal the tutorial's loop, sampling, held-out bits, CLI, bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import seqtasks
from seqtasks.markov.chain import MarkovChain
from seqtasks.markov.symbols import encode_with, render, tokens, vocabulary
from seqtasks.version import checkout_state
from tests.helpers import assert_one_line_error


def tutorial_counts(symbols: list[str], order: int) -> dict[tuple[str, ...], dict[str, int]]:
    """The tutorial's dictionary loop, generalised from one previous symbol to ``order``."""
    counts: dict[tuple[str, ...], dict[str, int]] = {}
    for i in range(order, len(symbols)):
        ctx, nxt = tuple(symbols[i - order : i]), symbols[i]
        if ctx not in counts:
            counts[ctx] = {}
        if nxt not in counts[ctx]:
            counts[ctx][nxt] = 0
        counts[ctx][nxt] += 1
    return counts


def fitted(text: str, level: str, order: int) -> MarkovChain:
    items = tokens(text, level)
    symbols, codes = vocabulary(items)
    return MarkovChain.fit(codes, symbols, order)


def as_text_keys(model: MarkovChain, level: str) -> dict[tuple[str, ...], dict[str, int]]:
    conv = chr if level == "char" else str
    return {
        tuple(conv(s) for s in ctx): {conv(k): v for k, v in nxt.items()} for ctx, nxt in model.counts_dict().items()
    }


@pytest.mark.parametrize(("level", "order"), [("char", 1), ("char", 3), ("word", 1), ("word", 2)])
def test_counts_equal_the_tutorial_loop_on_real_text(moby_dick: Path, level: str, order: int) -> None:
    text = moby_dick.read_text(encoding="utf-8").lower()[:300_000]
    symbols = list(text) if level == "char" else text.split()
    expected = tutorial_counts(symbols, order)
    got = as_text_keys(fitted(text, level, order), level)
    assert got == expected
    if level == "char" and order == 1:
        assert sum(sum(v.values()) for v in got.values()) == len(text) - 1


@pytest.mark.slow
def test_high_order_word_model_takes_the_row_path_and_still_matches(moby_dick: Path) -> None:
    # 5 words of context over a ~10k-word vocabulary overflow int64 keys: the unique-rows path.
    text = moby_dick.read_text(encoding="utf-8").lower()[:200_000]
    words = text.split()
    model = fitted(text, "word", 5)
    assert model.vocab_size**6 >= 1 << 62
    assert as_text_keys(model, "word") == tutorial_counts(words, 5)


def test_sampling_is_reproducible_and_follows_seen_transitions(moby_dick: Path) -> None:
    text = moby_dick.read_text(encoding="utf-8").lower()[:100_000]
    model = fitted(text, "char", 2)
    start = vocabulary(tokens(text, "char"))[1][:2]
    a = model.sample(start, 500, np.random.default_rng(7))
    b = model.sample(start, 500, np.random.default_rng(7))
    c = model.sample(start, 500, np.random.default_rng(8))
    assert a == b and a != c
    seen = model.counts_dict()
    seq = list(start) + a
    for i in range(2, len(seq)):
        ctx = tuple(int(model.symbols[s]) for s in seq[i - 2 : i])
        assert int(model.symbols[seq[i]]) in seen[ctx]


def test_heldout_bits_are_finite_with_unseen_symbols_and_contexts() -> None:
    train = "abababababcabcabcab" * 20
    held = "abXYZab!!"  # X, Y, Z, ! never seen in training
    symbols, codes = vocabulary(tokens(train, "char"))
    model = MarkovChain.fit(codes, symbols, 2)
    val = encode_with(symbols, tokens(held, "char"))
    assert (val == model.vocab_size).sum() == 5
    bits = model.bits_per_symbol(codes[-2:], val, smoothing=1.0)
    assert math.isfinite(bits) and bits > 0
    # a predictable text costs fewer bits than a surprising one
    easy = encode_with(symbols, tokens("abababab", "char"))
    assert model.bits_per_symbol(codes[-2:], easy, 1.0) < bits


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    symbols, codes = vocabulary(tokens("the cat sat on the mat " * 10, "word"))
    model = MarkovChain.fit(codes, symbols, 1)
    (tmp_path / "model.npz").write_bytes(model.to_bytes())
    again = MarkovChain.load(tmp_path / "model.npz")
    assert again.counts_dict() == model.counts_dict()
    assert render(again.symbols, [0, 1], "word") == render(symbols, [0, 1], "word")


def test_run_markov_writes_a_self_describing_run_folder(cli, moby_dick: Path, tmp_path: Path) -> None:
    out = tmp_path / "m1"
    result = cli(
        "run",
        "markov",
        "--corpus",
        "moby-dick",
        "--order",
        "1",
        "--show",
        "a",
        "--length",
        "300",
        "--seed",
        "1",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    dist = [ln.split("\t") for ln in (out / "show.tsv").read_text(encoding="utf-8").splitlines()]
    probs = [float(p) for _, p in dist]
    assert probs == sorted(probs, reverse=True) and abs(sum(probs) - 1) < 1e-9
    assert dist[0][0] == "n"  # as in the tutorial: 'n' most often follows 'a'
    record = json.loads((out / "result.json").read_text())
    assert record["status"] == "completed" and 3.0 < record["heldout_bits_per_symbol"] < 4.5
    config = json.loads((out / "config.json").read_text())
    assert config["task"] == "markov" and config["config"]["order"] == 1
    assert config["data"]["name"] == "moby-dick" and len(config["data"]["sha256"]) == 64
    assert {"seqjobs_version", "git_commit", "git_dirty", "host", "created_at"} <= set(config)
    assert (config["git_commit"], config["git_dirty"]) == checkout_state(Path(seqtasks.__file__).resolve().parents[1])
    sample = (out / "samples" / "sample.txt").read_text(encoding="utf-8")
    assert len(sample.rstrip("\n")) == 301  # the start symbol + 300 sampled
    assert (out / "model.npz").exists()
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temp files


@pytest.mark.slow
def test_word_level_run(cli, moby_dick: Path, tmp_path: Path) -> None:
    out = tmp_path / "w"
    result = cli(
        "run", "markov", "--corpus", "moby-dick", "--level", "word", "--order", "2", "--length", "50", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    record = json.loads((out / "result.json").read_text())
    assert record["level"] == "word" and math.isfinite(record["heldout_bits_per_symbol"])
    assert len((out / "samples" / "sample.txt").read_text(encoding="utf-8").split()) == 52


def test_a_different_config_on_an_existing_folder_is_refused(cli, small_text: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert cli("run", "markov", "--corpus", str(small_text), "--out", str(out)).exit_code == 0
    again = cli("run", "markov", "--corpus", str(small_text), "--order", "2", "--out", str(out))
    assert_one_line_error(again, "different config", "order: 1 -> 2")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--corpus", "no-such-dataset"], "no-such-dataset"),
        (["--order", "0"], "--order must be >= 1"),
        (["--length", "-1"], "--length must be >= 0"),
        (["--show", "ж"], "never occur"),
        (["--level", "sentence"], "--level"),
    ],
)
def test_bad_input_is_one_line_exit_2(cli, small_text: Path, tmp_path: Path, args: list[str], fragment: str) -> None:
    base = ["run", "markov", "--out", str(tmp_path / "bad")]
    if "--corpus" not in args:
        base += ["--corpus", str(small_text)]
    assert_one_line_error(cli(*base, *args), fragment)


def test_empty_file_is_refused(cli, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    assert_one_line_error(cli("run", "markov", "--corpus", str(empty), "--out", str(tmp_path / "e")), "empty")
