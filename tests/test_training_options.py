"""The shared training options of charlm and imdb: dropout, clipnorm, early stopping, lr schedules, exact resume.

Runs train real TensorFlow on tiny data. An interrupted run is stopped by a
``KeyboardInterrupt`` raised right after an epoch's commit (what a kill or a
preemption leaves: the runner lets the folder stay resumable), in this
process, so the interrupted and the uninterrupted run compute the same
numbers and can be compared exactly. Kills at every write of the commit
itself are tested in tests/test_charlm.py and tests/test_runfolder.py.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import random
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from seqtasks.charlm.config import CharLMConfig
from seqtasks.config import from_dict, parse_value, with_defaults
from seqtasks.imdb.config import ImdbConfig
from seqtasks.imdb.synthetic import write_csv
from seqtasks.rundir import RunDir
from seqtasks.runner import execute
from seqtasks.training_options import Monitor, cosine_lr, plateau, watch
from tests.helpers import assert_one_line_error, kill_after_first_commit, seqjobs

SHARED = ("dropout", "recurrent_dropout", "clipnorm", "patience", "lr_schedule", "lr_factor", "lr_patience")
CHARLM_TINY = dict(maxlen=8, step=2, units=8, batch_size=64, sample_length=5, temperatures=(0.5,), max_chars=2000)


def rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "metrics.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def without_seconds(folder: Path) -> list[dict[str, str]]:
    return [{k: v for k, v in r.items() if "seconds" not in k} for r in rows(folder)]


def result(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "result.json").read_text())


# -- no TensorFlow ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [CharLMConfig, ImdbConfig])
def test_old_run_configs_load_with_the_options_off(cls: type) -> None:
    old = {k: v for k, v in with_defaults(cls, {}).items() if k not in SHARED}
    config = from_dict(cls, old)
    assert (config.dropout, config.recurrent_dropout, config.clipnorm, config.patience, config.lr_schedule) == (
        0.0,
        0.0,
        0.0,
        0,
        "constant",
    )
    assert set(SHARED) <= set(with_defaults(cls, old))
    assert parse_value(cls, "lr_schedule", "cosine") == "cosine" and parse_value(cls, "patience", "3") == 3


@pytest.mark.parametrize("task", ["charlm", "imdb"])
@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (["--dropout", "1"], "--dropout must be in [0, 1)"),
        (["--recurrent-dropout", "-0.1"], "--recurrent-dropout must be in [0, 1)"),
        (["--clipnorm", "-1"], "--clipnorm must be >= 0"),
        (["--patience", "-1"], "--patience must be >= 0"),
        (["--lr-schedule", "step"], "constant|cosine|plateau"),
        (["--lr-factor", "1"], "--lr-factor must be between 0 and 1"),
        (["--lr-patience", "0"], "--lr-patience must be >= 1"),
    ],
)
def test_bad_values_are_one_line_exit_2(
    cli: Callable[..., Any], small_text: Path, tmp_path: Path, task: str, options: list[str], fragment: str
) -> None:
    data = ["--corpus", str(small_text)] if task == "charlm" else ["--dataset", "rt-snippets"]
    assert_one_line_error(cli("run", task, *data, *options, "--out", str(tmp_path / "run")), fragment)
    assert not (tmp_path / "run").exists()


def test_a_bad_grid_value_is_one_line(cli: Callable[..., Any], small_text: Path, tmp_path: Path) -> None:
    assert_one_line_error(
        cli(
            "sweep",
            "charlm",
            "--corpus",
            str(small_text),
            "--grid",
            "lr-schedule=constant,steps",
            "--executor",
            "debug",
            "--root",
            str(tmp_path),
        ),
        "constant|cosine|plateau",
    )
    assert_one_line_error(
        cli("sweep", "imdb", "--grid", "patience=1,-2", "--executor", "debug", "--root", str(tmp_path)),
        "--patience must be >= 0",
    )


@pytest.mark.slow
def test_a_sweep_over_the_options_collects_them(small_text: Path, tmp_path: Path) -> None:
    seqjobs(
        "sweep",
        "charlm",
        "--corpus",
        str(small_text),
        "--maxlen",
        "8",
        "--units",
        "8",
        "--max-chars",
        "2000",
        "--sample-length",
        "5",
        "--epochs",
        "2",
        "--grid",
        "lr-schedule=cosine,plateau",
        "--grid",
        "clipnorm=0,1",
        "--patience",
        "1",
        "--executor",
        "debug",
        "--name",
        "opts",
        "--wait",
        cwd=tmp_path,
        check=True,
    )
    seqjobs("collect", "runs/opts", "-o", "opts.csv", cwd=tmp_path, check=True)
    with (tmp_path / "opts.csv").open(newline="", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert sorted((r["lr_schedule"], r["clipnorm"]) for r in table) == [
        ("cosine", "0.0"),
        ("cosine", "1.0"),
        ("plateau", "0.0"),
        ("plateau", "1.0"),
    ]
    assert all(r["patience"] == "1" and r["early_stopped"] in ("True", "False") for r in table)


def test_cosine_is_a_function_of_the_epoch_index() -> None:
    lrs = [cosine_lr(0.1, e, 4) for e in range(4)]
    assert lrs[0] == 0.1 and lrs[2] == pytest.approx(0.05) and lrs == sorted(lrs, reverse=True) and lrs[3] < 0.015


# -- the replays against Keras' own callbacks ------------------------------------------------------


class _Optimizer:
    def __init__(self, lr: float) -> None:
        import keras

        self.var = keras.Variable(lr, dtype="float32")

    @property
    def learning_rate(self) -> Any:
        return self.var

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self.var.assign(value)


class _Model:
    def __init__(self, lr: float) -> None:
        self.optimizer = _Optimizer(lr)
        self.stop_training = False


@pytest.mark.slow
@pytest.mark.parametrize("higher", [False, True])
def test_replays_agree_with_keras_early_stopping_and_plateau_epoch_by_epoch(higher: bool) -> None:
    """On random sequences with ties, after every prefix: the replay's state is what Keras' callbacks hold."""
    from seqtasks.training_callbacks import ResumedEarlyStopping, ResumedPlateau
    from seqtasks.training_options import Plateau, Watch

    monitor = Monitor("val_x", higher)
    rng = random.Random(3)
    for trial in range(40):
        values = [round(rng.choice([0.5, 0.6, 0.7]) + rng.random() * 0.02 * (trial % 2), 2) for _ in range(12)]
        config = CharLMConfig(
            lr=0.01, patience=rng.randint(1, 4), lr_patience=rng.randint(1, 3), lr_factor=rng.choice([0.5, 0.3, 0.9])
        )
        model = _Model(config.lr)
        stop = ResumedEarlyStopping(monitor, config.patience, Watch())
        drop = ResumedPlateau(monitor, config, Plateau(None, 0, config.lr))
        for cb in (stop, drop):
            cb.set_model(model)
            cb.on_train_begin()
        done: list[dict[str, Any]] = []
        for epoch, value in enumerate(values):
            done.append({"val_x": value, "lr": float(model.optimizer.learning_rate.numpy())})
            stop.on_epoch_end(epoch, {"val_x": value})
            drop.on_epoch_end(epoch, {"val_x": value})
            w, p = watch(done, monitor, config.patience), plateau(done, monitor, config)
            assert (w.best, w.wait, w.best_epoch - 1) == (stop.best, stop.wait, stop.best_epoch)
            assert (p.best, p.wait) == (drop.best, drop.wait)
            assert p.lr == float(model.optimizer.learning_rate.numpy())
            assert bool(w.stopped_epoch) == model.stop_training
            if model.stop_training:
                assert w.stopped_epoch == epoch + 1
                break


# -- the options in the built models ---------------------------------------------------------------


@pytest.mark.slow
def test_options_reach_the_keras_layers_and_optimizers() -> None:
    import keras

    from seqtasks.charlm.model import build_model as charlm_model
    from seqtasks.imdb.model import build_model as imdb_model

    net = charlm_model(20, 8, 6, 2, 0.01, dropout=0.25, recurrent_dropout=0.125, clipnorm=1.5)
    for name in ("lstm_1", "lstm_2"):
        layer = net.get_layer(name).get_config()
        assert (layer["dropout"], layer["recurrent_dropout"]) == (0.25, 0.125)
    assert isinstance(net.optimizer, keras.optimizers.RMSprop) and net.optimizer.get_config()["clipnorm"] == 1.5
    assert charlm_model(20, 8, 6, 1, 0.01).optimizer.get_config()["clipnorm"] is None  # the tutorial's: off

    for model, layer_name in (("lstm", "lstm_1"), ("bilstm", "bilstm_1")):
        config = ImdbConfig(
            model=model, top_words=50, embedding_dim=4, units=5, dropout=0.2, recurrent_dropout=0.3, clipnorm=2.0
        )
        net = imdb_model(config)
        layer = net.get_layer(layer_name)
        lstm = (layer.forward_layer if model == "bilstm" else layer).get_config()
        assert (lstm["dropout"], lstm["recurrent_dropout"]) == (0.2, 0.3)
        assert isinstance(net.optimizer, keras.optimizers.Adam) and net.optimizer.get_config()["clipnorm"] == 2.0
    assert imdb_model(ImdbConfig(top_words=50)).optimizer.get_config()["clipnorm"] is None


# -- runs ------------------------------------------------------------------------------------------


def interrupt_after(monkeypatch: pytest.MonkeyPatch, epoch: int) -> None:
    """The next run is stopped (KeyboardInterrupt) right after ``epoch`` (1-based) is committed and decided on."""
    import keras

    from seqtasks import training_callbacks

    original = training_callbacks.callbacks

    def stop(e: int, logs: dict[str, Any] | None = None) -> None:
        if e + 1 == epoch:
            monkeypatch.setattr(training_callbacks, "callbacks", original)  # the resumed run goes on
            raise KeyboardInterrupt

    monkeypatch.setattr(
        training_callbacks, "callbacks", lambda *a: [*original(*a), keras.callbacks.LambdaCallback(on_epoch_end=stop)]
    )


def run_interrupted(task: str, config: Any, out: Path, epoch: int, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run ``config`` into ``out``, interrupted after ``epoch``, then resumed to its end."""
    interrupt_after(monkeypatch, epoch)
    with pytest.raises(KeyboardInterrupt):
        execute(task, config, out)
    assert len(rows(out)) == epoch and not (out / "result.json").exists()
    return execute(task, config, out)


@pytest.fixture(scope="module")
def separable_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 short reviews, half their words label words: validation accuracy tops out within a few epochs."""
    return write_csv(tmp_path_factory.mktemp("separable") / "reviews.csv", 300, median_len=8, seed=5, signal=0.5)


def imdb_config(data: Path, **kw: Any) -> ImdbConfig:
    base = dict(
        dataset=str(data),
        model="bow",
        bigram_buckets=200,
        top_words=100,
        embedding_dim=8,
        batch_size=32,
        maxlen=20,
        val_fraction=0.2,
        lr=0.02,
        epochs=25,
    )
    return ImdbConfig(**{**base, **kw})


@pytest.mark.slow
def test_imdb_stops_early_tests_the_best_epoch_and_resumes_to_the_same_stop(
    separable_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    config = imdb_config(separable_csv, patience=2, lr_schedule="plateau", lr_patience=1, lr_factor=0.5)
    straight = tmp_path / "straight"
    res = execute("imdb", config, straight)
    metrics = rows(straight)
    accuracy = [float(r["val_accuracy"]) for r in metrics]
    best = accuracy.index(max(accuracy)) + 1  # the first epoch with the highest validation accuracy
    assert res["early_stopped"] is True and res["early_stopped_epoch"] == len(metrics) < config.epochs
    assert res["best_epoch"] == best and len(metrics) == best + 2  # two epochs without a better one: stop
    assert res["best_val_accuracy"] == accuracy[best - 1]

    # the test figure is the best epoch's model: best.keras is that epoch's checkpoint, evaluated on the test split
    assert (straight / "best.keras").read_bytes() == (straight / "checkpoints" / f"epoch-{best:04d}.keras").read_bytes()
    evaluated = cli("eval", str(straight))
    assert evaluated.exit_code == 0 and f"accuracy {res['test_accuracy']:.4f}" in evaluated.output, evaluated.output

    # plateau: the rate halves after every epoch that did not beat the best one
    lr, expected = np.float32(config.lr), []
    for i, acc in enumerate(accuracy):
        expected.append(float(str(lr)))
        if i and acc <= max(accuracy[:i]):
            lr = np.float32(float(lr) * 0.5)
    assert [float(r["lr"]) for r in metrics] == expected and len(set(expected)) > 1

    resumed = tmp_path / "resumed"  # killed after its second epoch: the same epochs, figures and stop
    again = run_interrupted("imdb", config, resumed, 2, monkeypatch)
    assert without_seconds(resumed) == without_seconds(straight)
    keep = ("early_stopped", "early_stopped_epoch", "best_epoch", "test_accuracy", "test_loss", "epochs_done")
    assert {k: again[k] for k in keep} == {k: res[k] for k in keep} and again["attempt"] == 2

    # a stopped run is complete for any --epochs: asked for more, it trains no further
    more = execute("imdb", dataclasses.replace(config, epochs=40), straight)
    assert more == res and len(rows(straight)) == len(metrics)
    status = cli("status", str(straight), "--json")
    assert status.exit_code == 0 and json.loads(status.output.splitlines()[-1])["state"] == "completed", status.output


@pytest.mark.slow
def test_a_run_killed_after_its_stopping_epoch_does_not_train_on(
    separable_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = imdb_config(separable_csv, patience=1)
    straight = execute("imdb", config, tmp_path / "straight")
    stop = straight["early_stopped_epoch"]
    again = run_interrupted("imdb", config, tmp_path / "killed", stop, monkeypatch)  # killed before result.json
    assert again["epochs_done"] == stop and again["early_stopped_epoch"] == stop
    assert without_seconds(tmp_path / "killed") == without_seconds(tmp_path / "straight")


@pytest.mark.slow
def test_charlm_with_a_stalled_validation_figure_stops_after_patience_and_lowers_its_rate(
    small_text: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A learning rate of 1e-9 leaves val bits/char unchanged to the recorded 6 decimals: no epoch improves."""
    config = CharLMConfig(
        corpus=str(small_text),
        **CHARLM_TINY,
        lr=1e-9,
        epochs=8,
        patience=3,
        lr_schedule="plateau",
        lr_patience=1,
        lr_factor=0.5,
    )
    out = tmp_path / "stalled"
    res = execute("charlm", config, out)
    metrics = rows(out)
    assert len({r["val_bits_per_char"] for r in metrics}) == 1  # the premise
    assert res["early_stopped"] is True and res["early_stopped_epoch"] == 4 and res["epochs_done"] == 4
    assert res["best_epoch"] == 1 and res["best_val_bits_per_char"] == float(metrics[0]["val_bits_per_char"])
    lr1 = float(np.float32(1e-9))
    assert [float(r["lr"]) for r in metrics] == pytest.approx([lr1, lr1, lr1 / 2, lr1 / 4], rel=1e-6)
    assert (out / "samples" / "epoch_004.txt").is_file() and (out / "best.keras").is_file()

    again = run_interrupted("charlm", config, tmp_path / "resumed", 2, monkeypatch)
    assert without_seconds(tmp_path / "resumed") == without_seconds(out)
    assert again["early_stopped_epoch"] == 4 and again["attempt"] == 2


@pytest.mark.slow
def test_charlm_cosine_rate_follows_the_formula_and_survives_a_resume(
    small_text: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = CharLMConfig(
        corpus=str(small_text), **CHARLM_TINY, lr=0.02, epochs=4, lr_schedule="cosine", clipnorm=1.0, dropout=0.1
    )
    execute("charlm", config, tmp_path / "straight")
    lrs = [float(r["lr"]) for r in rows(tmp_path / "straight")]
    assert lrs == pytest.approx([cosine_lr(0.02, e, 4) for e in range(4)], rel=1e-6)
    run_interrupted("charlm", config, tmp_path / "resumed", 2, monkeypatch)
    assert [float(r["lr"]) for r in rows(tmp_path / "resumed")] == lrs
    assert result(tmp_path / "resumed")["early_stopped"] is False
    assert not math.isnan(result(tmp_path / "resumed")["best_val_bits_per_char"])


@pytest.mark.slow
def test_recurrent_dropout_trains(separable_csv: Path, tmp_path: Path) -> None:
    res = execute(
        "imdb",
        imdb_config(separable_csv, model="lstm", units=4, dropout=0.2, recurrent_dropout=0.2, epochs=1),
        tmp_path / "run",
    )
    assert res["status"] == "completed" and RunDir(tmp_path / "run").config_record().config["recurrent_dropout"] == 0.2


@pytest.mark.slow
def test_a_sigkilled_run_resumes_its_patience_and_rate(small_text: Path, tmp_path: Path) -> None:
    """A real kill of a ``seqjobs run`` process after its first commit; the resumed run stops where patience says.

    The stalled run (``--lr 1e-9``) makes the stopping epoch and the rates
    independent of the numbers either process computes.
    """
    out = tmp_path / "run"
    options = dict(CHARLM_TINY, lr=1e-9, epochs=12, patience=5, lr_schedule="plateau", lr_patience=1, lr_factor=0.5)
    args = [
        f"--{k.replace('_', '-')}={','.join(map(str, v)) if isinstance(v, tuple) else v}" for k, v in options.items()
    ]
    done = kill_after_first_commit(["run", "charlm", "--corpus", str(small_text), *args, "--out", str(out)], out)
    assert 1 <= done < 6 and not (out / "result.json").exists()  # really interrupted before the stop

    res = execute("charlm", CharLMConfig(corpus=str(small_text), **options), out)
    assert res["early_stopped_epoch"] == 6 and res["epochs_done"] == 6 and res["attempt"] == 2
    lr1 = float(np.float32(1e-9))
    assert [float(r["lr"]) for r in rows(out)] == pytest.approx(
        [lr1, lr1] + [lr1 / 2**k for k in range(1, 5)], rel=1e-6
    )
