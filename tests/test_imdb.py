"""The sentiment task: loaders (Keras-exact imdb.npz, aclImdb, rt-snippets, CSV), training, resume, eval, predict."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from seqtasks.errors import UserError
from seqtasks.imdb.batches import Batches, pad
from seqtasks.imdb.config import ImdbConfig
from seqtasks.imdb.loaders import keras_imdb, load, read_npz, resolve
from seqtasks.imdb.synthetic import write_csv
from seqtasks.imdb.vocab import OOV, START, tokenize
from tests.helpers import assert_one_line_error, seqjobs

#: most tests here train or load TensorFlow (Keras loaders, models)
pytestmark = pytest.mark.slow

# A model small enough to train in a second or two on the 2-core CI machine.
TINY = ["--top-words", "200", "--embedding-dim", "8", "--units", "8", "--batch-size", "32", "--maxlen", "40"]


def object_array(seqs: list[list[int]]) -> np.ndarray:
    arr = np.empty(len(seqs), dtype=object)
    arr[:] = seqs
    return arr


@pytest.fixture(scope="module")
def imdb_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small file in Keras' exact imdb.npz form (object arrays of lists of word ranks) + word index."""
    folder = tmp_path_factory.mktemp("imdb")
    rng = np.random.default_rng(7)
    ragged = lambda n: object_array([rng.integers(1, 120, rng.integers(1, 30)).tolist() for _ in range(n)])  # noqa: E731
    np.savez(
        folder / "imdb.npz",
        x_train=ragged(40),
        y_train=rng.integers(0, 2, 40),
        x_test=ragged(30),
        y_test=rng.integers(0, 2, 30),
    )
    (folder / "imdb_word_index.json").write_text(json.dumps({f"word{r}": r for r in range(1, 120)}))
    return folder


@pytest.mark.parametrize(("num_words", "skip_top"), [(5000, 0), (60, 0), (60, 5), (10, 3), (4, 0)])
def test_imdb_npz_equals_keras_own_loader(
    imdb_folder: Path, monkeypatch: pytest.MonkeyPatch, num_words: int, skip_top: int
) -> None:
    import keras
    import keras.src.datasets.imdb as keras_imdb_module

    # Keras would check the real file's hash and download; point its get_file at the fixture instead.
    monkeypatch.setattr(keras_imdb_module, "get_file", lambda *a, **k: str(imdb_folder / "imdb.npz"))
    (kx_train, ky_train), (kx_test, ky_test) = keras.datasets.imdb.load_data(
        num_words=num_words, skip_top=skip_top, maxlen=None
    )
    (x_train, y_train), (x_test, y_test) = keras_imdb(imdb_folder / "imdb.npz", num_words, skip_top)
    assert [s.tolist() for s in x_train] == [list(s) for s in kx_train]
    assert [s.tolist() for s in x_test] == [list(s) for s in kx_test]
    assert y_train.tolist() == ky_train.tolist() and y_test.tolist() == ky_test.tolist()


def test_imdb_npz_loader_refuses_code_in_the_pickle(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> Any:
            return (os.system, ("echo pwned",))

    np.savez(tmp_path / "imdb.npz", x_train=object_array([Evil()]), y_train=[1], x_test=object_array([[1]]), y_test=[0])
    with pytest.raises(UserError, match="refusing to unpickle"):
        read_npz(tmp_path / "imdb.npz")


def test_imdb_folder_as_dataset_path_trains_with_keras_indices(imdb_folder: Path) -> None:
    config = ImdbConfig(dataset=str(imdb_folder), top_words=60)
    data = load(resolve(config.dataset), config)
    (x_train, _), _ = keras_imdb(imdb_folder / "imdb.npz", 60)
    assert [s.tolist() for s in data.x_train] == [s.tolist() for s in x_train]
    assert not data.vocab.punctuation and max(data.vocab.word_index.values()) == 56  # rank + 3 < 60


def write_aclimdb(root: Path) -> None:
    reviews = {
        ("train", "pos"): ["A great, great film.<br /><br />Loved it!", "Great cast; great fun."],
        ("train", "neg"): ["Awful film.<br />Boring!", "Boring, awful and long."],
        ("test", "pos"): ["Great unseenword film"],
        ("test", "neg"): ["Awful boring film"],
    }
    for (split, label), texts in reviews.items():
        (root / split / label).mkdir(parents=True)
        for i, text in enumerate(texts):
            (root / split / label / f"{i}_7.txt").write_text(text, encoding="utf-8")


def test_aclimdb_folder_is_tokenized_and_indexed_on_train_only(tmp_path: Path) -> None:
    write_aclimdb(tmp_path / "aclImdb")
    assert tokenize("Don't stop.<br />NOW!") == ["don't", "stop", ".", "now", "!"]
    config = ImdbConfig(dataset=str(tmp_path))  # the folder above aclImdb/ works too
    data = load(resolve(config.dataset), config)
    ranks = data.vocab.word_index
    assert "br" not in ranks and "unseenword" not in ranks and ranks["great"] == 1  # most frequent in train
    assert sorted(data.y_train.tolist()) == [0, 0, 1, 1] and sorted(data.y_test.tolist()) == [0, 1]
    pos_test = data.x_test[int(np.flatnonzero(data.y_test == 1)[0])].tolist()
    assert pos_test == [START, ranks["great"] + 3, OOV, ranks["film"] + 3]


def test_csv_and_tsv_labels(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text('text,label\n"Fine, really",POS\nbad,neg\nok,1\nmeh,0\n', encoding="utf-8")
    data = load(resolve(str(good)), ImdbConfig(dataset=str(good)))
    assert sorted(np.concatenate([data.y_train, data.y_test]).tolist()) == [0, 0, 1, 1]
    tsv = tmp_path / "good.tsv"
    tsv.write_text("label\ttext\n1\tnice, nice\n0\tugly\n", encoding="utf-8")
    assert len(load(resolve(str(tsv)), ImdbConfig(dataset=str(tsv))).x_train) == 1


def test_rt_snippets_split_is_stratified_fixed_and_drops_zero_ratings(rt_snippets: Path) -> None:
    config = ImdbConfig(dataset="rt-snippets")
    a, b = load(resolve("rt-snippets"), config), load(resolve("rt-snippets"), ImdbConfig(seed=5))
    assert len(a.x_train) + len(a.x_test) == 10_605 - 37  # zero ratings dropped
    assert abs(a.y_train.mean() - a.y_test.mean()) < 0.001  # stratified
    assert all(np.array_equal(x, y) for x, y in zip(a.x_test, b.x_test))  # --seed does not move the test set
    assert max(int(s.max()) for s in a.x_train) < config.top_words


def test_batches_pad_like_pad_sequences_and_bucket_by_length() -> None:
    seqs = [np.array([1, 5, 6, 7]), np.array([1, 8])]
    assert pad(seqs, 3).tolist() == [[5, 6, 7], [0, 1, 8]]  # pre truncating and padding
    assert pad(seqs, 3, post=True).tolist() == [[5, 6, 7], [1, 8, 0]]
    lengths = np.random.default_rng(0).integers(1, 400, 1000)
    data = Batches([np.ones(n, dtype=np.int32) for n in lengths], np.arange(1000), maxlen=300, bucket=True)
    batches = list(data.training(32, seed=0, epochs=range(1)))
    assert len(batches) == data.steps(32) and max(x.shape[1] for x, _ in batches) == 300
    assert sorted(np.concatenate([y for _, y in batches]).tolist()) == list(range(1000))  # each review once
    content = np.minimum(lengths, 300).sum()
    assert sum(x.size for x, _ in batches) < 1.05 * content  # little padding: the tutorial pads to 1000 * 300


def test_bucketed_model_reads_each_review_at_its_last_word_as_masking_would() -> None:
    """The bucketed model (post padding, no mask) gives what the masked model gives, to float precision."""
    from seqtasks import tfsetup

    tfsetup.setup(0)
    import keras
    from keras import layers

    from seqtasks.imdb.model import build_model

    config = ImdbConfig(top_words=50, embedding_dim=4, units=5, layers=2)
    ours = build_model(config)
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(50, 4, mask_zero=True)(inputs)
    x = layers.LSTM(5)(layers.LSTM(5, return_sequences=True)(x))
    masked = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))
    masked.set_weights(ours.get_weights())
    rng = np.random.default_rng(0)
    batch = pad([rng.integers(1, 50, n) for n in (1, 7, 12, 12, 3)], 12, post=True)
    expected = np.asarray(masked(batch))
    np.testing.assert_allclose(np.asarray(ours(batch)), expected, rtol=1e-5, atol=1e-6)
    # and padding really is ignored: the same review alone, unpadded
    np.testing.assert_allclose(np.asarray(ours(batch[1:2, :7])), expected[1:2], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("model", ["bilstm", "bow"])
def test_padding_never_changes_a_baselines_score(model: str) -> None:
    """A review scores the same alone, post-padded in a bucket, or pre-padded: bilstm masks padding, bow averages around it."""
    from seqtasks import tfsetup

    tfsetup.setup(0)
    from seqtasks.imdb.model import build_model

    net = build_model(ImdbConfig(model=model, top_words=50, embedding_dim=4, units=5, layers=2, bigram_buckets=97))
    rng = np.random.default_rng(0)
    reviews = [rng.integers(1, 50, n) for n in (1, 7, 12, 12, 3)]
    alone = np.concatenate([np.asarray(net(r[None, :].astype(np.int32))) for r in reviews])
    for padded in (pad(reviews, 12, post=True), pad(reviews, 16)):
        np.testing.assert_allclose(np.asarray(net(padded)), alone, rtol=1e-5, atol=1e-6)


def test_hashed_bigrams_follow_the_words_and_skip_padding() -> None:
    """Bigram (a, b) gets top_words + (a * 116049371 + b) % buckets; a pair with padding gets 0."""
    from seqtasks import tfsetup

    tfsetup.setup(0)
    from seqtasks.imdb.model import HashedBigrams

    ids = np.array([[1, 5, 7, 0], [0, 0, 3, 4]], dtype=np.int32)
    got = np.asarray(HashedBigrams(10, 13)(ids)).tolist()
    h = lambda a, b: 10 + (a * 116049371 + b) % 13  # noqa: E731
    assert got == [[1, 5, 7, 0, h(1, 5), h(5, 7), 0], [0, 0, 3, 4, 0, 0, h(3, 4)]]
    assert np.asarray(HashedBigrams(10, 0)(ids)).tolist() == ids.tolist()


def run_result(out: Path) -> dict[str, Any]:
    return json.loads((out / "result.json").read_text())


def metric_epochs(out: Path) -> list[int]:
    with (out / "metrics.csv").open() as fh:
        return [int(row["epoch"]) for row in csv.DictReader(fh)]


def test_real_rt_snippets_training_output_is_sane(cli: Callable[..., Any], rt_snippets: Path, tmp_path: Path) -> None:
    out = tmp_path / "rt"
    result = cli("run", "imdb", "--dataset", "rt-snippets", "--limit", "500", *TINY, "--epochs", "2", "--out", str(out))
    assert result.exit_code == 0, result.output
    res = run_result(out)
    assert res["status"] == "completed" and res["epochs_done"] == 2 and metric_epochs(out) == [1, 2]
    assert (res["train_size"], res["val_size"], res["test_size"]) == (450, 50, 500)
    assert res["param_count"] == 200 * 8 + 4 * (8 * 8 + 8 * 8 + 8) + 9
    assert 0.3 < res["test_accuracy"] < 1 and res["test_loss"] > 0 and res["samples_per_sec"] > 0
    assert 1 <= res["best_epoch"] <= 2 and (out / "best.keras").is_file()
    assert json.loads((out / "config.json").read_text())["data"]["name"] == "rt-snippets"
    assert set(json.loads((out / "vocab.json").read_text())["word_index"].values()) == set(range(1, 197))


@pytest.mark.parametrize(
    ("model", "params"),
    [
        ("bilstm", 200 * 8 + 2 * 4 * (8 * 8 + 8 * 8 + 8) + 17),  # two directions, their 16 outputs into Dense(1)
        ("bow", (200 + 1000) * 8 + 9),  # word and bigram-bucket embeddings, Dense(1)
    ],
)
def test_baselines_train_on_rt_snippets(
    cli: Callable[..., Any], rt_snippets: Path, tmp_path: Path, model: str, params: int
) -> None:
    out = tmp_path / model
    result = cli(
        "run",
        "imdb",
        "--dataset",
        "rt-snippets",
        "--limit",
        "300",
        *TINY,
        "--epochs",
        "2",
        "--model",
        model,
        "--bigram-buckets",
        "1000",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    res = run_result(out)
    assert res["status"] == "completed" and res["epochs_done"] == 2 and metric_epochs(out) == [1, 2]
    assert res["param_count"] == params and 0 < res["test_accuracy"] <= 1 and (out / "best.keras").is_file()
    assert json.loads((out / "config.json").read_text())["config"]["model"] == model


@pytest.fixture(scope="module")
def learnable_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic reviews whose label words make the task clearly learnable."""
    return write_csv(tmp_path_factory.mktemp("synth") / "reviews.csv", 800, median_len=12, seed=1, signal=0.4)


def test_learns_a_learnable_set_then_eval_and_predict(
    cli: Callable[..., Any], learnable_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "synth"
    result = cli(
        "run", "imdb", "--dataset", str(learnable_csv), *TINY, "--epochs", "5", "--lr", "0.01", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    res = run_result(out)
    assert res["test_accuracy"] > 0.75, res

    evaluated = cli("eval", str(out))
    assert evaluated.exit_code == 0, evaluated.output
    assert f"accuracy {res['test_accuracy']:.4f}" in evaluated.output  # the same best model, the same test split

    predicted = cli("predict", str(out), "good1 good2 good3 w1 good4", "bad1 bad2 w1 bad3 bad4")
    assert predicted.exit_code == 0, predicted.output
    probs = [float(line.split("\t")[0]) for line in predicted.output.strip().splitlines()]
    assert probs[0] > 0.5 > probs[1]

    other = write_csv(tmp_path / "other.csv", 200, median_len=12, seed=2, signal=0.4)
    evaluated = cli("eval", str(out), "--dataset", str(other))
    assert evaluated.exit_code == 0 and "(100 test reviews of" in evaluated.output, evaluated.output
    assert float(evaluated.output.split()[1]) > 0.7

    # raising --epochs resumes from the checkpoint: the saved model (with its LastWord layer) loads back
    longer = cli(
        "run", "imdb", "--dataset", str(learnable_csv), *TINY, "--epochs", "6", "--lr", "0.01", "--out", str(out)
    )
    assert longer.exit_code == 0, longer.output
    assert metric_epochs(out) == [1, 2, 3, 4, 5, 6] and run_result(out)["attempt"] == 2


@pytest.fixture(scope="module")
def separable_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 reviews of 3-14 filler words with 1-3 label words, all of the review's own sentiment: trivially learnable."""
    rng = np.random.default_rng(5)
    rows = ["text,label"]
    for i in range(600):
        label = i % 2
        words = [f"w{k}" for k in rng.integers(0, 60, rng.integers(3, 15))]
        for k in rng.integers(0, 20, rng.integers(1, 4)):
            words.insert(int(rng.integers(0, len(words) + 1)), f"{'good' if label else 'bad'}{k}")
        rows.append(f"{' '.join(words)},{label}")
    path = tmp_path_factory.mktemp("separable") / "reviews.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_bow_learns_a_separable_set_then_eval_predict_and_resume(
    cli: Callable[..., Any], separable_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bow"
    args = [
        "run",
        "imdb",
        "--dataset",
        str(separable_csv),
        *TINY,
        "--model",
        "bow",
        "--bigram-buckets",
        "500",
        "--lr",
        "0.02",
        "--out",
        str(out),
    ]
    result = cli(*args, "--epochs", "8")
    assert result.exit_code == 0, result.output
    res = run_result(out)
    assert res["test_accuracy"] > 0.95, res

    evaluated = cli("eval", str(out))  # best.keras loads back, its HashedBigrams layer with it
    assert evaluated.exit_code == 0 and f"accuracy {res['test_accuracy']:.4f}" in evaluated.output, evaluated.output
    predicted = cli("predict", str(out), "good1 good2 good3 w1 good4", "bad1 bad2 w1 bad3 bad4")
    probs = [float(line.split("\t")[0]) for line in predicted.output.strip().splitlines()]
    assert probs[0] > 0.5 > probs[1]

    longer = cli(*args, "--epochs", "9")  # trains on from the last checkpoint
    assert longer.exit_code == 0, longer.output
    assert metric_epochs(out) == list(range(1, 10)) and run_result(out)["attempt"] == 2


def test_a_model_sweep_collects_into_one_table(learnable_csv: Path, tmp_path: Path) -> None:
    seqjobs(
        "sweep",
        "imdb",
        "--dataset",
        str(learnable_csv),
        *TINY,
        "--epochs",
        "1",
        "--bigram-buckets",
        "500",
        "--grid",
        "model=lstm,bow",
        "--executor",
        "debug",
        "--name",
        "models",
        "--wait",
        cwd=tmp_path,
        check=True,
    )
    seqjobs("collect", "runs/models", "-o", "results/models.csv", cwd=tmp_path, check=True)
    import pandas as pd

    runs = pd.read_csv(tmp_path / "results/models.csv")
    summary = pd.read_csv(tmp_path / "results/models.summary.csv")
    assert sorted(runs["model"]) == ["bow", "lstm"] and runs["test_accuracy"].between(0, 1).all()
    assert sorted(summary["model"]) == ["bow", "lstm"] and (summary["test_accuracy_count"] == 1).all()


@pytest.mark.parametrize(
    ("content", "options", "fragments"),
    [
        (None, ["--top-words", "3"], ["--top-words must be >= 4"]),
        (None, ["--maxlen", "0"], ["--maxlen must be >= 1"]),
        (None, ["--model", "gru"], ["--model", "'gru'", "lstm|bilstm|bow"]),
        (None, ["--bigram-buckets", "-1"], ["--bigram-buckets must be >= 0"]),
        ("text,stars\nfine,5\n", [], ["no label column"]),
        ("text,label\nfine,1\nbad,0\nodd,maybe\n", [], ["data row 3", "'maybe'"]),
        ("text,label\n", [], ["0 labelled reviews"]),
    ],
)
def test_bad_input_is_one_line_exit_2(
    cli: Callable[..., Any], tmp_path: Path, content: str | None, options: list[str], fragments: list[str]
) -> None:
    data = tmp_path / "reviews.csv"
    data.write_text(content or "text,label\nfine,1\nbad,0\n", encoding="utf-8")
    result = cli("run", "imdb", "--dataset", str(data), *options, "--out", str(tmp_path / "run"))
    assert_one_line_error(result, *fragments)


def test_eval_of_a_folder_without_a_model_is_one_line(cli: Callable[..., Any], tmp_path: Path) -> None:
    assert_one_line_error(cli("eval", str(tmp_path)), "not a run folder")
