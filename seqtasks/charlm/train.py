"""Train the char-LSTM into a run folder, resumably, sampling every epoch.

Besides the shared run-folder files (config.json, metrics.csv, samples/,
samples.jsonl, checkpoints/, best.keras) this task writes ``vocab.json``:
the characters ``seqjobs generate`` needs to encode a seed and decode output.

With ``--test-fraction`` the test text is touched once, when the run ends,
by the best validation epoch's model (``best.keras``), as imdb's test split
is: nothing during training -- best epoch, early stopping, schedules, a
halving search's ranking -- ever sees it, and the evaluation writes nothing
into the run folder, so the epoch commits and a resume are what they were.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from typing import Any

from seqtasks import checkpoint, tfsetup, training_options
from seqtasks.charlm.callbacks import MONITOR, EpochEnd
from seqtasks.charlm.config import CharLMConfig
from seqtasks.charlm.data import CharData
from seqtasks.charlm.model import build_model
from seqtasks.charlm.sampler import Sampler
from seqtasks.checkpoint import BEST
from seqtasks.data import Corpus, load_text
from seqtasks.errors import UserError
from seqtasks.rundir import RunDir

VOCAB = "vocab.json"


def load_data(config: CharLMConfig) -> tuple[Corpus, CharData]:
    """The corpus (cut to ``--max-chars``) as codes, split into training and held-out text."""
    corpus = load_text(config.corpus, keep_case=config.keep_case)
    text = corpus.text[: config.max_chars] if config.max_chars else corpus.text
    return corpus, CharData.from_text(
        text, config.maxlen, config.step, config.val_fraction, corpus.name, config.targets, config.test_fraction
    )


def check_same_data(run_dir: RunDir, corpus: Corpus) -> None:
    """Refuse to resume a folder whose corpus file has changed since it was started."""
    record = run_dir.config_record()
    old = (record.data if record is not None else None) or {}
    if old.get("sha256") not in (None, corpus.sha256):
        raise UserError(
            f"{run_dir.path} was trained on a different version of {corpus.name} "
            f"(sha256 {old['sha256'][:12]}..., now {corpus.sha256[:12]}...); use another --out"
        )


def run(config: CharLMConfig, run_dir: RunDir) -> dict[str, Any]:
    """Train (or resume) up to ``config.epochs`` epochs; return the run's figures."""
    corpus, data = load_data(config)  # before TensorFlow: a too-short text fails at once
    check_same_data(run_dir, corpus)
    run_dir.record_data(corpus.name, corpus.sha256, chars=len(data.codes), vocab_size=len(data.vocab))
    run_dir.write_text(VOCAB, data.vocab.to_json())

    tfsetup.setup(config.seed, config.mixed_precision)
    model, progress = checkpoint.restore(run_dir)
    model = model or build_model(
        len(data.vocab),
        config.maxlen,
        config.units,
        config.layers,
        config.lr,
        dropout=config.dropout,
        recurrent_dropout=config.recurrent_dropout,
        clipnorm=training_options.clipnorm(config),
        targets=config.targets,
    )
    sampler = Sampler(model, config.sampler)
    end = EpochEnd(run_dir, model, data, sampler, config, progress)
    compile_s = 0.0
    rows = run_dir.metrics_rows()
    if progress.epoch < config.epochs and not training_options.watch(rows, MONITOR, config.patience).stopped_epoch:
        from seqtasks.training_callbacks import callbacks

        t0 = time.perf_counter()  # compile the sampler now, so epoch 1's sampling time is comparable
        with checkpoint.random_state_kept(model):
            sampler.sample(data.codes[: config.maxlen], config.temperatures, config.sample_length, (0, 0))
        compile_s = time.perf_counter() - t0
        model.fit(
            data.train_dataset(config.batch_size, config.seed, progress.epoch, config.epochs),
            steps_per_epoch=data.steps_per_epoch(config.batch_size),
            validation_data=data.val_dataset(),
            shuffle=False,  # each epoch's batches come shuffled already (keyed by seed and epoch)
            initial_epoch=progress.epoch,
            epochs=config.epochs,
            callbacks=[end.callback(), *callbacks(config, MONITOR, rows)],  # end first: it commits the epoch
            verbose=1 if sys.stdout.isatty() else 2,  # a progress bar on a terminal, a line an epoch in logs
        )
    return figures(run_dir, end, model, data, compile_s)


def figures(run_dir: RunDir, end: EpochEnd, model: Any, data: CharData, compile_s: float) -> dict[str, Any]:
    """The flat result record; timings are this attempt's epochs (all epochs if it trained none).

    The ``best_*`` figures are the best epoch's by validation bits/char, whose
    model is ``best.keras``; ``final_*`` the last epoch's.
    """
    rows = run_dir.metrics_rows()
    best = rows[end.progress.best_epoch - 1]
    seconds = end.seconds or [float(r["seconds"]) for r in rows]
    sample_s = end.sample_seconds or [float(r["sample_seconds"]) for r in rows]
    per_epoch = statistics.fmean(seconds)
    return {
        "best_val_bits_per_char": float(best["val_bits_per_char"]),
        "best_val_loss": float(best["val_loss"]),
        "best_epoch": int(best["epoch"]),  # the epoch the test figures are of
        **test_figures(run_dir, data),
        "final_val_bits_per_char": float(rows[-1]["val_bits_per_char"]),
        "final_val_loss": float(rows[-1]["val_loss"]),
        "final_train_loss": float(rows[-1]["loss"]),
        "epochs_done": len(rows),
        "param_count": int(model.count_params()),
        "seconds_per_epoch": round(per_epoch, 3),
        "sequences_per_second": round(data.train_windows / per_epoch, 1),
        "sample_seconds_per_epoch": round(statistics.fmean(sample_s), 4),
        "sampler": end.config.sampler,
        "sampler_compile_seconds": round(compile_s, 3),
        "vocab_size": len(data.vocab),
        "train_windows": data.train_windows,
        "val_windows": data.val_windows,
        **training_options.outcome(rows, MONITOR, end.config),
    }


def test_figures(run_dir: RunDir, data: CharData) -> dict[str, Any]:
    """The best epoch's model scored on the test text, the way validation is scored; nothing without a test split."""
    if not data.test_chars:
        return {}
    import keras

    scores = keras.models.load_model(run_dir.file(BEST)).evaluate(data.test_dataset(), verbose=0, return_dict=True)
    loss = float(scores["loss"])
    return {
        "test_bits_per_char": round(loss / math.log(2), 6),
        "test_loss": round(loss, 6),
        "test_chars": data.test_chars,
    }
