"""char-LSTM items: input memory, a training job's peak RSS, training speed, per-epoch samples.

seqjobs' side is the charlm task's own code: :class:`CharData` (integer codes,
windows cut by ``tf.data``), :func:`build_model` (one-hot inside the model)
and :class:`Sampler` (every temperature in one compiled loop), called the way
:func:`seqtasks.charlm.train.run` calls them. The tutorial's side is
:mod:`jobs.bench.tutorial`. Both models have the same layers and weights
count (LSTM 128 -> Dense V -> softmax, RMSprop 0.01).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from jobs.bench import tutorial
from jobs.bench.child import LR, MAXLEN, STEP, UNITS, VAL_FRACTION
from jobs.bench.harness import Row, Stat, Target, alternate, timed
from jobs.bench.sizes import Sizes
from jobs.bench.steps import steady_step_seconds
from seqtasks import tfsetup

MB = 1e6
REPO = Path(__file__).resolve().parents[2]


def training_bytes(data: Any) -> int:
    """Bytes seqjobs holds for training: the codes twice (numpy and the tf.data constant),
    the training window starts and one epoch's shuffled copy of them, the validation starts (all int32)."""
    return 2 * data.codes.nbytes + 4 * (2 * data.train_windows + data.val_windows)


def peak_rss_pair_mb(sizes: Sizes) -> tuple[float, float]:
    """Peak RSS (MB) of one tutorial and one seqjobs training job, each a fresh :mod:`jobs.bench.child`.

    Both start together: a process's peak RSS is its own, whatever runs
    beside it, and the pair takes half the wall time.
    """
    cmd = [sys.executable, "-m", "jobs.bench.child"]
    args = [str(sizes.text_chars), str(sizes.rss_steps), "128"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    with tempfile.TemporaryFile() as base_log, tempfile.TemporaryFile() as our_log:
        base = subprocess.Popen([*cmd, "tutorial", *args], stdout=base_log, stderr=subprocess.STDOUT, env=env)
        ours = subprocess.Popen([*cmd, "seqjobs", *args], stdout=our_log, stderr=subprocess.STDOUT, env=env)
        ended = [(_wait(base), base_log), (_wait(ours), our_log)]  # both reaped before any error is raised
        peaks = []
        for (code, peak_kib), log in ended:
            if code != 0:
                log.seek(0)
                tail = log.read().decode("utf-8", "replace").strip().splitlines()[-5:]
                raise RuntimeError(f"a peak-RSS training child failed ({code}): " + " | ".join(tail))
            peaks.append(peak_kib * 1024 / MB)  # Linux reports KiB
        return peaks[0], peaks[1]


def _wait(proc: subprocess.Popen[bytes]) -> tuple[int, int]:
    """``(exit code, peak RSS in KiB)`` of ``proc``: ``wait4`` gives this child's own peak, not the max over all."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss


def charlm_rows(text: str, sizes: Sizes) -> list[Row]:
    """``charlm_input_memory``, ``charlm_peak_rss``, ``charlm_throughput_b*`` and ``charlm_samples``."""
    from seqtasks.charlm.data import CharData

    t0 = time.perf_counter()
    x, y, chars = tutorial.one_hot_windows(text, MAXLEN, STEP)
    vectorize_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    data = CharData.from_text(text, MAXLEN, STEP, VAL_FRACTION)
    encode_s = time.perf_counter() - t0
    rows = [
        Row(
            "charlm_input_memory",
            f"char-LSTM input memory, {len(text):,} chars",
            "MB",
            Stat.once((x.nbytes + y.nbytes) / MB),
            Stat.once(training_bytes(data) / MB),
            Target(">= 50x (<= 1/50)", min_ratio=50),
            note=f"tutorial: x {x.shape} + y {y.shape} bool, built in {vectorize_s:.1f} s; "
            f"seqjobs: int32 codes + window starts, encoded in {encode_s:.2f} s",
        )
    ]
    pairs = [peak_rss_pair_mb(sizes) for _ in range(sizes.heavy_repeats)]
    base, ours = Stat.of([b for b, _ in pairs]), Stat.of([o for _, o in pairs])
    rows.append(
        Row(
            "charlm_peak_rss",
            "char-LSTM training job peak RSS",
            "MB",
            base,
            ours,
            Target(">= 2x (<= 0.5x)", min_ratio=2),
            note=f"each a fresh process (a pair at a time): load text, prepare data, build, fit {sizes.rss_steps} steps at batch 128",
        )
    )
    rows += throughput_rows(text, x, y, chars, data, sizes)
    del x, y
    return rows


def throughput_rows(text: str, x: np.ndarray, y: np.ndarray, chars: list[str], data: Any, sizes: Sizes) -> list[Row]:
    """Training speed at each batch size, then per-epoch sampling with the same two models."""
    from seqtasks.charlm.model import build_model

    tfsetup.setup(0)
    base_model = tutorial.char_model(MAXLEN, len(chars), UNITS, LR)
    our_model = build_model(len(data.vocab), MAXLEN, UNITS, 1, LR)
    same = base_model.count_params() == our_model.count_params()
    rows = []
    for batch in sizes.batches:
        warm = sizes.lstm_warmup
        steps = max(1, min(sizes.lstm_windows // batch, data.steps_per_epoch(batch) - warm))

        def base_fit(n: int, cb: list[Any], batch: int = batch) -> None:
            base_model.fit(x, y, batch_size=batch, epochs=1, steps_per_epoch=n, verbose=0, callbacks=cb)

        def our_fit(n: int, cb: list[Any], batch: int = batch) -> None:
            our_model.fit(
                data.train_dataset(batch, 0, 0, 1), steps_per_epoch=n, epochs=1, shuffle=False, verbose=0, callbacks=cb
            )

        base, ours = alternate(
            lambda: steady_step_seconds(base_fit, warm, steps) * 1e3,
            lambda: steady_step_seconds(our_fit, warm, steps) * 1e3,
            sizes.heavy_repeats,
        )
        rows.append(
            Row(
                f"charlm_throughput_b{batch}",
                f"char-LSTM training, batch {batch}",
                "ms/step",
                base,
                ours,
                Target(">= 1.0x, same model", min_ratio=1.0) if batch == sizes.batches[0] else None,
                {"same model": same} if batch == sizes.batches[0] else {},
                note=f"{steps} steps timed after {warm} warm-up steps a repeat; windows/s: tutorial "
                f"{batch / base.median * 1e3:,.0f}, seqjobs {batch / ours.median * 1e3:,.0f}; "
                f"{our_model.count_params():,} params each",
            )
        )
    rows.append(samples_row(text, base_model, our_model, data, chars, sizes))
    return rows


def samples_row(text: str, base_model: Any, our_model: Any, data: Any, chars: list[str], sizes: Sizes) -> Row:
    """Per-epoch samples: the tutorial's per-character ``predict`` loop vs charlm's compiled sampler."""
    from seqtasks.charlm.sampler import Sampler

    temps, n = sizes.temperatures, sizes.sample_chars
    sampler = Sampler(our_model, "window")
    window = data.seed_window(np.random.default_rng(0))
    t0 = time.perf_counter()
    sampler.sample(window, temps, n, (0, 0))  # the task compiles it before training, too
    compile_s = time.perf_counter() - t0
    scale = n / sizes.baseline_sample_chars
    random.seed(0)
    np.random.seed(0)
    draws = iter(range(1, 1 << 30))

    def base() -> float:
        with np.errstate(divide="ignore"):  # the tutorial's sample() takes log(0) for underflowed probabilities
            return (
                timed(lambda: tutorial.generate(base_model, text, chars, MAXLEN, temps, sizes.baseline_sample_chars))()
                * scale
            )

    def ours() -> float:
        seed = (0, next(draws))
        return timed(lambda: [data.vocab.decode(r) for r in sampler.sample(window, temps, n, seed)])()

    b, o = alternate(base, ours, sizes.heavy_repeats)
    return Row(
        "charlm_samples",
        f"samples per epoch, {n} chars x {len(temps)} temperatures",
        "s",
        b,
        o,
        Target(">= 100x, under 0.6 s", min_ratio=100, max_value=0.6),
        note=f"tutorial timed on {sizes.baseline_sample_chars} chars x {len(temps)} and extrapolated x{scale:g}; "
        f"seqjobs' sampler compiles once per run ({compile_s:.1f} s, not included)",
    )
