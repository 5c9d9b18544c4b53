"""How big each benchmark item is: the tutorial's sizes, or a quick CI smoke test.

Full sizes are the tutorial's (a 600k-character text, 25,000 reviews of up to
500 words, 400 sampled characters at 4 temperatures). Where the tutorial's way
would take minutes a repeat, less is timed and the output says so:
char-LSTM training times a fixed number of steps, and the per-character
``predict`` loop draws fewer characters and is extrapolated.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    """Every size knob of the benchmark."""

    label: str
    repeats: int  # cheap items: alternating repeats per side
    heavy_repeats: int  # char-LSTM items (each repeat trains or samples a network)
    text_chars: int  # first N characters of the stand-in for nietzsche
    markov_sample: int  # characters drawn by the Markov chain
    lstm_windows: int  # windows timed per throughput repeat (steps = windows // batch)
    lstm_warmup: int  # untimed first steps of each fit (tracing, pipeline start)
    batches: tuple[int, ...]  # char-LSTM batch sizes; the first is the tutorial's
    rss_steps: int  # training steps in each peak-RSS child process
    sample_chars: int  # characters per temperature, seqjobs' sampler
    baseline_sample_chars: int  # characters per temperature the per-char predict loop really draws
    temperatures: tuple[float, ...]
    reviews: int  # training reviews, and as many test reviews
    imdb_seeds: int  # IMDB repeats: a whole training + evaluation per side and seed
    imdb_epochs: int  # epochs each IMDB training runs (the tutorial's 3), each one timed
    review_maxlen: int
    sweep_runs: int
    collect_runs: int
    scale_runs: tuple[int, ...]  # sweeps that status and collect are timed on
    packing_runs: int  # runs of the SLURM sweep timed with each --runs-per-task
    packing_per_task: tuple[int, ...]  # the --runs-per-task values compared


FULL = Sizes(
    label="full",
    repeats=7,
    heavy_repeats=3,
    text_chars=600_000,
    markov_sample=1000,
    lstm_windows=16_384,
    lstm_warmup=5,
    batches=(128, 512, 1024),
    rss_steps=30,
    sample_chars=400,
    baseline_sample_chars=25,
    temperatures=(0.2, 0.5, 1.0, 1.2),
    reviews=25_000,
    imdb_seeds=2,
    imdb_epochs=3,
    review_maxlen=500,
    sweep_runs=100,
    collect_runs=1000,
    scale_runs=(10_000, 100_000),
    packing_runs=10_000,
    packing_per_task=(1, 100),
)

QUICK = Sizes(
    label="quick",
    repeats=2,
    heavy_repeats=1,
    text_chars=30_000,
    markov_sample=1000,
    lstm_windows=1024,
    lstm_warmup=1,
    batches=(128, 512),
    rss_steps=1,
    sample_chars=20,
    baseline_sample_chars=1,
    temperatures=(0.2, 0.5, 1.0, 1.2),
    reviews=256,
    imdb_seeds=1,
    imdb_epochs=1,
    review_maxlen=500,
    sweep_runs=10,
    collect_runs=100,
    scale_runs=(1_000,),
    packing_runs=20,
    packing_per_task=(1, 10),
)
