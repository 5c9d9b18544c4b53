"""The adaptive benchmark's synthetic workload: configurations with known score curves and epoch durations.

Owned by the benchmark, not a user task: every way of searching
(:mod:`jobs.bench.adaptive_ways`, :mod:`jobs.bench.adaptive_anchors`,
:mod:`jobs.bench.adaptive_sim`) trains the same configurations, whose every
epoch has a duration and a score fixed in advance by one seed, so that the
ways differ only in what they choose to train and when, and the pick of each
can be ranked against the truth.

- **Scores**: configuration ``i`` learns towards an asymptote ``a_i`` at a
  rate ``k_i``: ``a_i * (1 - exp(-k_i * epoch))``, plus a small fixed noise
  per epoch. Fast learners are not always the best at the end: curves cross,
  as real ones do, so early stopping can be wrong. The *true ordering* is by
  the noiseless curve at the last epoch.
- **Durations**: lognormal per configuration (its size) and per epoch
  (jitter), in units of ``epoch_s``; a few configurations are *stragglers*,
  :data:`STRAGGLER_FACTOR` times slower.
- **One preemption**: the true best configuration is preempted once, half-way
  through the first epoch any way trains of it: the half epoch is lost, and it
  waits ``requeue_s`` (a requeue's queue wait) before it goes on.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from functools import cached_property

#: a straggler's epochs take this many times as long
STRAGGLER_FACTOR = 5.0
#: the share of configurations that are stragglers
STRAGGLER_SHARE = 0.04
#: the preemption lands this far into the epoch
PREEMPT_AT = 0.5


@dataclass
class _Draws:
    """Every configuration's curve (asymptote, rate), epoch durations, score noise and straggler flag."""

    curves: list[tuple[float, float]] = field(default_factory=list)
    durations: list[list[float]] = field(default_factory=list)
    noise: list[list[float]] = field(default_factory=list)
    stragglers: list[bool] = field(default_factory=list)


@dataclass(frozen=True)
class Workload:
    """``configs`` configurations trained up to ``max_epochs``; ``epoch_s``: the median epoch's seconds."""

    configs: int
    max_epochs: int
    epoch_s: float
    requeue_s: float
    seed: int = 0

    @cached_property
    def _draws(self) -> _Draws:
        rng = random.Random(self.seed)
        draws = _Draws()
        for _ in range(self.configs):
            draws.curves.append((0.55 + 0.4 * rng.random(), math.exp(rng.gauss(math.log(0.35), 0.8))))
            straggler = rng.random() < STRAGGLER_SHARE
            size = math.exp(rng.gauss(0.0, 0.4)) * (STRAGGLER_FACTOR if straggler else 1.0)
            draws.stragglers.append(straggler)
            draws.durations.append(
                [self.epoch_s * size * math.exp(rng.gauss(0.0, 0.2)) for _ in range(self.max_epochs)]
            )
            draws.noise.append([rng.gauss(0.0, 0.004) for _ in range(self.max_epochs)])
        return draws

    def score(self, config: int, epoch: int) -> float:
        """The validation figure of ``config`` after ``epoch`` epochs (higher is better)."""
        return self.truth(config, epoch) + self._draws.noise[config][epoch - 1]

    def truth(self, config: int, epoch: int) -> float:
        """The noiseless curve."""
        asymptote, rate = self._draws.curves[config]
        return asymptote * (1.0 - math.exp(-rate * epoch))

    def duration(self, config: int, epoch: int) -> float:
        """Seconds epoch ``epoch`` (1-based) of ``config`` takes."""
        return self._draws.durations[config][epoch - 1]

    @cached_property
    def true_order(self) -> list[int]:
        """Configurations best first by their noiseless figure after the last epoch."""
        return sorted(range(self.configs), key=lambda c: (-self.truth(c, self.max_epochs), c))

    def rank(self, config: int) -> int:
        """``config``'s place in the true ordering (1 = the best)."""
        return self.true_order.index(config) + 1

    @property
    def preempted(self) -> int:
        """The configuration that is preempted once: the true best."""
        return self.true_order[0]

    def stragglers(self) -> int:
        """How many configurations are stragglers (for the report)."""
        return sum(self._draws.stragglers)
