"""The char-LSTM task: data windows, run folder, learning, exact resume after a kill, sampling, CLI errors."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from seqtasks.charlm.config import CharLMConfig
from seqtasks.charlm.data import CharData, Vocab
from seqtasks.runner import execute
from tests.helpers import assert_one_line_error

#: every test here trains or loads TensorFlow
pytestmark = pytest.mark.slow

PATTERN = "the cat sat on the mat; the dog dug in the fog.\n"  # learnable: 12 characters fix the next one
TINY = dict(maxlen=12, step=1, units=32, batch_size=64, sample_length=60, epochs=3)
METRIC_COLUMNS = ["epoch", "loss", "val_loss", "val_bits_per_char", "seconds", "sample_seconds", "lr"]


@pytest.fixture(scope="module")
def pattern_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("text") / "pattern.txt"
    path.write_text(PATTERN * 100, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(pattern_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model trained 3 epochs on the repeated pattern (shared by the tests that need a trained run)."""
    out = tmp_path_factory.mktemp("runs") / "pattern"
    execute("charlm", CharLMConfig(corpus=str(pattern_file), **TINY), out)
    return out


def rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "metrics.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def jsonl(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "samples.jsonl").read_text(encoding="utf-8").splitlines()]


def test_windows_are_the_tutorials(small_text: Path) -> None:
    text = small_text.read_text(encoding="utf-8").lower()
    maxlen, step = 15, 3
    data = CharData.from_text(text, maxlen, step, 0.1)
    train = text[: data.n_train]
    expected = sorted((train[i : i + maxlen], train[i + maxlen]) for i in range(0, len(train) - maxlen, step))
    assert data.train_windows == len(expected)

    def epoch(first: int) -> list[tuple[str, str]]:
        batches = data.train_dataset(batch_size=100, seed=7, first_epoch=first, epochs=first + 1)
        out = []
        for x, y in batches.as_numpy_iterator():
            assert x.dtype == np.int32 and x.shape[1:] == (maxlen,)  # codes, not one-hot
            out += [(data.vocab.decode(xi), data.vocab.decode([yi])) for xi, yi in zip(x, y)]
        return out

    e1, e1_again, e2 = epoch(0), epoch(0), epoch(1)
    assert sorted(e1) == expected  # every tutorial window exactly once an epoch
    assert e1 == e1_again and e1 != e2  # the order depends on (seed, epoch) only

    val = [
        (data.vocab.decode(xi), data.vocab.decode([yi]))
        for x, y in data.val_dataset().as_numpy_iterator()
        for xi, yi in zip(x, y)
    ]
    assert [y for _, y in val] == list(text[data.n_train :])  # every held-out character scored once
    assert val[0][0] == text[data.n_train - maxlen : data.n_train]


def test_all_targets_windows_predict_every_next_character_and_validation_scores_the_same(small_text: Path) -> None:
    text = small_text.read_text(encoding="utf-8").lower()
    maxlen, step = 15, 15
    data = CharData.from_text(text, maxlen, step, 0.1, targets="all")
    train = text[: data.n_train]
    expected = sorted(
        (train[i : i + maxlen], train[i + 1 : i + maxlen + 1]) for i in range(0, len(train) - maxlen, step)
    )
    got = sorted(
        (data.vocab.decode(xi), data.vocab.decode(yi))
        for x, y in data.train_dataset(100, 7, 0, 1).as_numpy_iterator()
        for xi, yi in zip(x, y)
    )
    assert got == expected  # the window shifted by one: every position has its target, within the training text

    window = CharData.from_text(text, maxlen, step, 0.1)
    scored = []
    for (x, y, w), (wx, wy) in zip(data.val_dataset().as_numpy_iterator(), window.val_dataset().as_numpy_iterator()):
        assert (x == wx).all() and (y[:, -1] == wy).all()  # the window model's windows and targets
        assert (w[:, -1] == 1).all() and (w[:, :-1] == 0).all()  # only the last position counts
        scored += y[:, -1].tolist()
    assert data.vocab.decode(scored) == text[data.n_train :]


def test_an_all_targets_run_trains_resumes_samples_and_scores_the_held_out_text(
    pattern_file: Path, tmp_path: Path
) -> None:
    import keras

    from seqtasks.charlm.sampler import Sampler

    config = CharLMConfig(corpus=str(pattern_file), **{**TINY, "targets": "all", "epochs": 2})
    execute("charlm", config, tmp_path)
    result = execute("charlm", CharLMConfig(**{**config.__dict__, "epochs": 4}), tmp_path)  # trains on from epoch 2
    assert result["status"] == "completed" and result["epochs_done"] == 4 and result["attempt"] == 2
    metrics = rows(tmp_path)
    assert [int(r["epoch"]) for r in metrics] == [1, 2, 3, 4]
    assert float(metrics[-1]["val_bits_per_char"]) < 0.5 * float(metrics[0]["val_bits_per_char"])  # it learns

    model = keras.models.load_model(tmp_path / "best.keras", compile=False)
    data = CharData.from_text((PATTERN * 100).lower(), TINY["maxlen"], TINY["maxlen"], 0.1, targets="all")
    x, y, _ = next(data.val_dataset().as_numpy_iterator())
    probs = model.predict(x, verbose=0)
    assert probs.shape == (len(x), TINY["maxlen"], len(data.vocab))  # every position
    by_hand = -np.log(probs[np.arange(len(x)), -1, y[:, -1]]).mean() / math.log(2)  # the last position only
    best = min(metrics, key=lambda r: float(r["val_bits_per_char"]))
    assert len(x) == data.val_windows  # one batch holds the whole held-out text here
    assert by_hand == pytest.approx(float(best["val_bits_per_char"]), rel=1e-3, abs=1e-4)

    window = data.vocab.encode(PATTERN[5:17])
    expected = model.predict(window[None], verbose=0)[0, -1]
    for mode in ("window", "stateful"):
        np.testing.assert_allclose(Sampler(model, mode).distribution(window), expected, rtol=1e-5, atol=1e-7)
    assert len(jsonl(tmp_path)) == 4 * len(config.temperatures)


def test_run_folder_is_complete_and_the_model_learns(trained: Path) -> None:
    for name in ("config.json", "metrics.csv", "samples.jsonl", "best.keras", "result.json", "vocab.json"):
        assert (trained / name).is_file(), name
    assert json.loads((trained / "checkpoints" / "state.json").read_text())["epoch"] == 3
    assert sorted(p.name for p in (trained / "checkpoints").glob("*.keras")) == ["epoch-0003.keras"]

    metrics = rows(trained)
    assert list(metrics[0]) == METRIC_COLUMNS
    assert [int(r["epoch"]) for r in metrics] == [1, 2, 3]
    val = [float(r["val_loss"]) for r in metrics]
    assert val[-1] < val[0] / 5  # a repeated pattern is learnt within three epochs
    for r in metrics:
        assert float(r["val_bits_per_char"]) == pytest.approx(float(r["val_loss"]) / math.log(2), abs=1e-5)

    temps = list(CharLMConfig().temperatures)
    samples = jsonl(trained)
    assert [(s["epoch"], s["temperature"]) for s in samples] == [(e, t) for e in (1, 2, 3) for t in temps]
    assert all(set(s) == {"epoch", "temperature", "seed_text", "text"} for s in samples)
    assert all(len(s["text"]) == TINY["sample_length"] and len(s["seed_text"]) == TINY["maxlen"] for s in samples)
    assert samples[-4]["text"] in (PATTERN * 4)  # temperature 0.2 after training: the pattern itself
    readable = (trained / "samples" / "epoch_003.txt").read_text(encoding="utf-8")
    assert "temperature: 1.2" in readable and samples[-1]["text"] in readable

    result = json.loads((trained / "result.json").read_text())
    assert result["status"] == "completed" and result["epochs_done"] == 3
    assert result["best_val_bits_per_char"] == min(float(r["val_bits_per_char"]) for r in metrics)
    assert result["final_train_loss"] == float(metrics[-1]["loss"])
    assert result["vocab_size"] == len(set(PATTERN)) and result["param_count"] > 0
    assert result["train_windows"] == int(len(PATTERN) * 100 * 0.9) - TINY["maxlen"]
    for key in ("seconds_per_epoch", "sequences_per_second", "sample_seconds_per_epoch", "val_windows"):
        assert result[key] > 0


def test_training_on_from_a_checkpoint_equals_training_straight_through(
    pattern_file: Path, trained: Path, tmp_path: Path
) -> None:
    execute("charlm", CharLMConfig(corpus=str(pattern_file), **{**TINY, "epochs": 2}), tmp_path)
    execute("charlm", CharLMConfig(corpus=str(pattern_file), **TINY), tmp_path)  # epochs 2 -> 3: trains epoch 3
    keep = ["epoch", "loss", "val_loss"]
    assert [{k: r[k] for k in keep} for r in rows(tmp_path)] == [{k: r[k] for k in keep} for r in rows(trained)]
    assert jsonl(tmp_path) == jsonl(trained)
    assert json.loads((tmp_path / "result.json").read_text())["attempt"] == 2


def test_sampler_modes_agree_on_the_first_step_and_near_zero_temperature_is_argmax(trained: Path) -> None:
    import keras

    from seqtasks.charlm.sampler import Sampler

    model = keras.models.load_model(trained / "best.keras", compile=False)
    vocab = Vocab.load(trained / "vocab.json")
    window = vocab.encode(PATTERN[5:17])
    window_mode, stateful = Sampler(model, "window"), Sampler(model, "stateful")
    expected = model.predict(window[None], verbose=0)[0]
    np.testing.assert_allclose(window_mode.distribution(window), expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(stateful.distribution(window), expected, rtol=1e-5, atol=1e-7)

    greedy, ctx = [], window.copy()
    for _ in range(30):  # the tutorial's loop, taking the argmax
        nxt = int(np.argmax(model.predict(ctx[None], verbose=0)[0]))
        greedy.append(nxt)
        ctx = np.append(ctx[1:], nxt)
    drawn = window_mode.sample(window, [1e-4, 1e-3], 30, seed=(1, 2))
    assert drawn[0].tolist() == greedy and drawn[1].tolist() == greedy
    assert stateful.sample(window, [1e-4], 1, seed=(1, 2))[0, 0] == greedy[0]
    assert (window_mode.sample(window, [1.0], 30, (3, 4)) == window_mode.sample(window, [1.0], 30, (3, 4))).all()


def test_generate_continues_the_seed_text(cli, trained: Path) -> None:  # noqa: ANN001
    seed = "In the fog.\nThe cat"  # longer than maxlen (12): its last 12 characters are read
    texts = {}
    for sampler in ("window", "stateful"):
        result = cli(
            "generate",
            str(trained),
            "--seed-text",
            seed,
            "--length",
            "40",
            "--temperature",
            "0.01",
            "--sampler",
            sampler,
        )
        assert result.exit_code == 0, result.output
        texts[sampler] = text = result.stdout.rstrip("\n")
        assert text.startswith(seed.lower()) and len(text) == len(seed) + 40  # lowercased like the run's text
    assert texts["window"][len(seed) :].startswith(" sat on the mat;")
    # Stateful carries the state past the 12 characters the model was trained on: only step 1 must agree.
    assert texts["stateful"][len(seed)] == " "
    short = cli("generate", str(trained), "--seed-text", "cat", "--length", "25")  # left-padded to maxlen
    assert short.exit_code == 0, short.output
    assert short.stdout.startswith("cat") and len(short.stdout.rstrip("\n")) == 3 + 25


def test_bad_inputs_give_one_line_and_exit_2(cli, small_text: Path, trained: Path, tmp_path: Path) -> None:  # noqa: ANN001
    assert_one_line_error(
        cli("run", "charlm", "--corpus", str(small_text), "--layers", "0", "--out", str(tmp_path / "a"))
    )
    assert_one_line_error(
        cli("run", "charlm", "--corpus", str(small_text), "--temperatures", "0.5,0", "--out", str(tmp_path / "b"))
    )
    too_long = cli("run", "charlm", "--corpus", str(small_text), "--maxlen", "50000", "--out", str(tmp_path / "c"))
    assert_one_line_error(too_long)
    assert "--maxlen 50000" in too_long.output
    unknown = cli("generate", str(trained), "--seed-text", "the cat €")
    assert_one_line_error(unknown)
    assert "€" in unknown.output
    assert_one_line_error(cli("generate", str(trained), "--temperature", "0"))
    assert_one_line_error(cli("generate", str(tmp_path / "nothing-here")))
