"""The decisions of asynchronous successive halving: pure functions over what each rung holds.

No file, clock or process here, so the rule is unit-tested directly and a
simulation of 10,000 configurations can drive it. A rung is a :class:`Rung`:
each finished configuration's score (``None``: a seed failed; it ranks last
and is never promoted), each decided one's outcome.

- **Promotable** (ASHA, Li et al. 2020): a configuration finished at rung k
  and not decided there, among the best ``n // eta`` of the ``n`` finished at
  k so far -- once at least ``min_competitors`` have finished (like Optuna's
  ``bootstrap_count``): nothing goes on on the word of one or two runs.
- **Closing**: once rung k can get no more results (every rung below is
  decided and every configuration that entered k has finished it), every
  configuration still undecided at k is decided on the complete rung: the
  best ``max(1, n // eta)`` go on, the others stop. So every configuration
  ends with a decision at every rung it finished below the last, and the
  search is complete when nothing is left to train or decide.

Ties are broken by configuration id, so two workers with the same view decide the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from jobs.engine.halving import kept
from seqtasks.rundir.ashadir import PROMOTED, STOPPED


@dataclass
class Rung:
    """One rung as a worker sees it: scores of the finished configurations, outcomes of the decided ones."""

    scores: dict[str, Optional[float]] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)


def ranked(scores: dict[str, Optional[float]], higher: bool) -> list[str]:
    """Configuration ids best first in the metric's direction; those without a score last; ties by id."""

    def order(config: str) -> tuple[bool, float, str]:
        score = scores[config]
        if score is None:
            return (True, 0.0, config)
        return (False, -score if higher else score, config)

    return sorted(scores, key=order)


def promotable(rung: Rung, eta: int, min_competitors: int, higher: bool) -> list[str]:
    """The configurations of ``rung`` that may go on now, best first (none before ``min_competitors`` finished)."""
    if len(rung.scores) < max(1, min_competitors):
        return []
    top = ranked(rung.scores, higher)[: len(rung.scores) // eta]
    return [c for c in top if c not in rung.outcomes and rung.scores[c] is not None]


def closing(rung: Rung, eta: int, higher: bool) -> dict[str, str]:
    """The outcome of every undecided configuration of a rung that can get no more results."""
    best = set(ranked(rung.scores, higher)[: kept(len(rung.scores), eta)])
    return {
        c: PROMOTED if c in best and rung.scores[c] is not None else STOPPED
        for c in sorted(rung.scores)
        if c not in rung.outcomes
    }


def position(config: str, rung: Rung, eta: int, higher: bool, closed: bool) -> tuple[int, int, Optional[float]]:
    """A decision's figures: ``config``'s rank (1 = best), how many the rule keeps, and the score of the last kept."""
    order = ranked(rung.scores, higher)
    keep = kept(len(order), eta) if closed else len(order) // eta
    threshold = rung.scores[order[keep - 1]] if keep else None
    return order.index(config) + 1, keep, threshold


def entrants(level: int, configs: list[str], rungs: list[Rung]) -> list[str]:
    """Who trains to rung ``level``: every configuration at rung 0; those promoted at the rung below after."""
    if level == 0:
        return list(configs)
    return sorted(c for c, outcome in rungs[level - 1].outcomes.items() if outcome == PROMOTED)


def unfinished(configs: list[str], rungs: list[Rung]) -> list[tuple[int, str]]:
    """``(rung, config)`` entered and not finished, top rung first (work in flight, or left by a dead worker)."""
    return [
        (level, c)
        for level in reversed(range(len(rungs)))
        for c in entrants(level, configs, rungs)
        if c not in rungs[level].scores
    ]


def to_close(configs: list[str], rungs: list[Rung]) -> Optional[int]:
    """The lowest rung below the last with undecided configurations, if it can get no more results."""
    for level, rung in enumerate(rungs[:-1]):
        if any(c not in rung.scores for c in entrants(level, configs, rungs)):
            return None  # still training here: neither this rung nor any above is closed
        if any(c not in rung.outcomes for c in rung.scores):
            return level
    return None


def complete(configs: list[str], rungs: list[Rung]) -> bool:
    """Nothing left to train and nothing left to decide."""
    return not unfinished(configs, rungs) and all(set(r.scores) <= set(r.outcomes) for r in rungs[:-1])
