"""Kneser-Ney smoothing of Markov chains: hand-computed values, sums to one, a loop-and-dict reference, text, CLI."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from seqtasks.errors import UserError
from seqtasks.markov.chain import MarkovChain
from seqtasks.markov.kneser_ney import KneserNey, discounts
from seqtasks.markov.symbols import encode_with, tokens, vocabulary
from tests.helpers import assert_one_line_error, seqjobs


def smoothed(text: str, level: str, order: int) -> tuple[KneserNey, MarkovChain, np.ndarray]:
    """The Kneser-Ney model, the chain it smooths, and the text's codes."""
    symbols, codes = vocabulary(tokens(text, level))
    chain = MarkovChain.fit(codes, symbols, order)
    return KneserNey.from_chain(chain), chain, codes


def every_next(contexts: np.ndarray, vocab_size: int) -> np.ndarray:
    """Rows ``context + x`` for each context and each code x: the vocabulary, then the unknown slot."""
    n, width = contexts.shape
    rows = np.empty((n, vocab_size + 1, width + 1), dtype=np.int64)
    rows[:, :, :width] = contexts[:, None, :]
    rows[:, :, width] = np.arange(vocab_size + 1)
    return rows.reshape(-1, width + 1)


def test_discounts_follow_chen_and_goodman_and_fall_back_on_zero_count_of_counts() -> None:
    """n1..n4 = 4, 2, 1, 1: Y = 4 / (4 + 2*2) = 0.5,
    D1 = 1 - 2*0.5*2/4 = 0.5, D2 = 2 - 3*0.5*1/2 = 1.25, D3+ = 3 - 4*0.5*1/1 = 1.0.
    No n-gram seen 4 times: every D = Y = n1 / (n1 + 2 n2) = 2 / (2 + 2) = 0.5.
    No singletons: Y is 0, so every D = 0.5.
    Y = 0.9 with n3 tiny makes D2 = 2 - 3*0.9*100/1 < 0: out of range, every D = Y.
    """
    assert discounts(np.array([1, 1, 1, 1, 2, 2, 3, 4, 7])).tolist() == [0.0, 0.5, 1.25, 1.0]
    assert discounts(np.array([1, 1, 2, 3])).tolist() == [0.0, 0.5, 0.5, 0.5]
    assert discounts(np.array([2, 3, 5])).tolist() == [0.0, 0.5, 0.5, 0.5]
    skewed = np.array([1] * 900 + [2] * 50 + [3] * 100 + [4])
    y = 900 / (900 + 2 * 50)
    assert discounts(skewed).tolist() == [0.0, y, y, y]


def test_hand_computed_values_on_a_toy_text() -> None:
    """'abracadabra', order 1. Vocabulary a b c d r (V = 5); uniform over V + 1 = 6 (the unknown slot).

    Bigrams: ab 2, br 2, ra 2, ac 1, ca 1, ad 1, da 1. Count-of-counts 4, 3, 0, 0: fallback,
    every D = 4 / (4 + 2*3) = 0.4.
    Level 0, continuation counts (distinct symbols before): a 3 (r, c, d), b 1, c 1, d 1, r 1; total 7.
    Count-of-counts 4, 0, 1, 0: fallback, Y = 4 / (4 + 0) = 1, every D = 1; g = 1*4 + 1*1 = 5.
        P0(a) = (3 - 1 + 5/6) / 7 = 17/42;  P0(b) = P0(c) = P0(d) = P0(r) = P0(unknown) = (5/6) / 7 = 5/42.
    After 'a' (b 2, c 1, d 1; total 4; g = 0.4 * 3 = 1.2):
        P(b|a) = (1.6 + 1.2*5/42) / 4 = 61/140     P(a|a) = 1.2*17/42 / 4 = 17/140
        P(c|a) = P(d|a) = (0.6 + 1.2*5/42) / 4 = 26/140    P(r|a) = P(unknown|a) = 1.2*5/42 / 4 = 5/140
    After 'b' (r 2; total 2; g = 0.4):
        P(r|b) = (1.6 + 0.4*5/42) / 2 = 173/210    P(a|b) = 0.4*17/42 / 2 = 17/210    others 0.4*5/42 / 2 = 5/210
    After an unknown symbol: the level-0 values.
    """
    model, _, _ = smoothed("abracadabra", "char", 1)
    a, b, c, d, r, unknown = range(6)
    assert model.discounts.tolist() == [[0.0, 1.0, 1.0, 1.0], [0.0, 0.4, 0.4, 0.4]]
    expected = {
        a: {a: 17 / 140, b: 61 / 140, c: 26 / 140, d: 26 / 140, r: 5 / 140, unknown: 5 / 140},
        b: {a: 17 / 210, b: 5 / 210, c: 5 / 210, d: 5 / 210, r: 173 / 210, unknown: 5 / 210},
        unknown: {a: 17 / 42, b: 5 / 42, c: 5 / 42, d: 5 / 42, r: 5 / 42, unknown: 5 / 42},
    }
    for ctx, probs in expected.items():
        got = model.next_probabilities(np.array([ctx]))
        assert got.tolist() == pytest.approx([probs[x] for x in range(6)], abs=1e-12)
        rows = np.array([[ctx, x] for x in range(6)])
        assert model.probabilities(rows).tolist() == pytest.approx(got.tolist(), abs=1e-12)


CASES = [("char", 1), ("char", 2), ("char", 4), ("word", 1), ("word", 2), ("word", 5)]


@pytest.mark.parametrize(("level", "order"), CASES)
def test_probabilities_sum_to_one_after_seen_and_unseen_contexts(moby_dick: Path, level: str, order: int) -> None:
    text = moby_dick.read_text(encoding="utf-8").lower()[:20_000]
    model, chain, _ = smoothed(text, level, order)
    v = model.vocab_size
    seen = chain.contexts[:: max(1, len(chain.contexts) // 150)]
    rng = np.random.default_rng(0)
    candidates = rng.integers(0, v, size=(200, order))
    never = candidates[chain.counts.find(candidates) < 0][:20]  # known symbols, never in this order
    with_unknown = np.full((1, order), v)
    contexts = np.concatenate([seen, never, with_unknown])
    assert len(never) > 0 or order == 1  # at order 1 every symbol but the text's last is a seen context
    sums = model.probabilities(every_next(contexts, v)).reshape(len(contexts), v + 1).sum(axis=1)
    assert np.allclose(sums, 1.0, atol=1e-9)
    for ctx in (seen[0], contexts[-2], with_unknown[0]):
        per_symbol = model.probabilities(every_next(ctx[None, :], v))
        assert np.allclose(model.next_probabilities(ctx), per_symbol, atol=1e-12)


def reference(codes: list[int], order: int, vocab_size: int) -> Callable[[list[int], int], float]:
    """Interpolated modified Kneser-Ney from its definition, with dicts and recursion: P(x | context)."""
    counts = [Counter() for _ in range(order + 1)]
    counts[order] = Counter(tuple(codes[i : i + order + 1]) for i in range(len(codes) - order))
    for j in range(order - 1, -1, -1):
        counts[j] = Counter(gram[1:] for gram in counts[j + 1])  # one per distinct symbol before
    disc = [discounts(np.array(list(level.values()))) for level in counts]
    totals = [Counter() for _ in counts]
    backoff = [Counter() for _ in counts]
    for j, level in enumerate(counts):
        for gram, c in level.items():
            totals[j][gram[:-1]] += c
            backoff[j][gram[:-1]] += disc[j][min(c, 3)]

    def p(j: int, h: tuple[int, ...], x: int) -> float:
        if j < 0:
            return 1 / (vocab_size + 1)
        lower = p(j - 1, h[1:], x)
        if not totals[j][h]:
            return lower
        c = counts[j][h + (x,)]
        return (max(c - disc[j][min(c, 3)], 0) + backoff[j][h] * lower) / totals[j][h]

    return lambda context, x: p(order, tuple(context), x)


@pytest.mark.parametrize(("level", "order"), [("char", 1), ("char", 3), ("word", 2)])
def test_vectorised_probabilities_equal_the_reference(moby_dick: Path, level: str, order: int) -> None:
    text = moby_dick.read_text(encoding="utf-8").lower()[:30_000]
    items = tokens(text, level)
    n = int(len(items) * 0.9)
    symbols, train = vocabulary(items[:n])
    model = KneserNey.from_chain(MarkovChain.fit(train, symbols, order))
    unseen = [model.vocab_size] * 2  # symbols outside the vocabulary, scored and then in the context
    held = np.concatenate([encode_with(symbols, items[n:]), unseen, train[:order]])
    rows = np.lib.stride_tricks.sliding_window_view(np.concatenate([train[-order:], held]), order + 1)
    ref = reference(train.tolist(), order, model.vocab_size)
    expected = [ref(row[:-1].tolist(), int(row[-1])) for row in rows]
    assert model.probabilities(rows).tolist() == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("order", [3, 4])
def test_kneser_ney_beats_dirichlet_on_real_text(moby_dick: Path, order: int) -> None:
    text = moby_dick.read_text(encoding="utf-8").lower()[:200_000]
    items = tokens(text, "char")
    n = int(len(items) * 0.9)
    symbols, train = vocabulary(items[:n])
    chain = MarkovChain.fit(train, symbols, order)
    held = encode_with(symbols, items[n:])
    dirichlet = chain.bits_per_symbol(train[-order:], held, 1.0)
    kneser_ney = KneserNey.from_chain(chain).bits_per_symbol(train[-order:], held)
    assert math.isfinite(kneser_ney) and kneser_ney < dirichlet - 0.05


def test_unseen_symbols_cost_finite_bits() -> None:
    train = "abababababcabcabcab" * 20
    symbols, codes = vocabulary(tokens(train, "char"))
    model = KneserNey.from_chain(MarkovChain.fit(codes, symbols, 2))
    surprising = model.bits_per_symbol(codes[-2:], encode_with(symbols, tokens("abXYZab!!", "char")))
    easy = model.bits_per_symbol(codes[-2:], encode_with(symbols, tokens("abababab", "char")))
    assert math.isfinite(surprising) and 0 < easy < surprising


def test_sampling_draws_from_the_smoothed_distribution() -> None:
    model, chain, codes = smoothed("abracadabra", "char", 1)
    a = model.sample(codes[:1], 20_000, np.random.default_rng(3))
    assert a == model.sample(codes[:1], 20_000, np.random.default_rng(3))
    assert a != model.sample(codes[:1], 20_000, np.random.default_rng(4))
    assert set(a) <= set(range(model.vocab_size))
    seq = [int(codes[0]), *a]
    after_a = Counter(nxt for prev, nxt in zip(seq, seq[1:]) if prev == 0)
    freq = np.array([after_a[x] for x in range(model.vocab_size)]) / sum(after_a.values())
    assert np.allclose(freq, model.vocabulary_probabilities(np.array([0])), atol=0.02)
    assert ord("a") not in chain.counts_dict()[(ord("a"),)]  # 'aa' is never in the text...
    assert after_a[0] > 0  # ... and the smoothed chain writes it


def test_run_with_kneser_ney_shows_scores_and_samples(cli, small_text: Path, tmp_path: Path) -> None:
    out = tmp_path / "kn"
    result = cli(
        "run",
        "markov",
        "--corpus",
        str(small_text),
        "--order",
        "2",
        "--smoothing-method",
        "kneser-ney",
        "--show",
        "th",
        "--length",
        "200",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    record = json.loads((out / "result.json").read_text())
    dist = [ln.split("\t") for ln in (out / "show.tsv").read_text(encoding="utf-8").splitlines()]
    probs = [float(p) for _, p in dist]
    assert len(dist) == record["vocab_size"]  # every symbol, not only those seen after 'th'
    assert probs == sorted(probs, reverse=True) and abs(sum(probs) - 1) < 1e-9 and dist[0][0] == "e"
    assert record["status"] == "completed" and math.isfinite(record["heldout_bits_per_symbol"])
    assert json.loads((out / "config.json").read_text())["config"]["smoothing_method"] == "kneser-ney"
    assert len((out / "samples" / "sample.txt").read_text(encoding="utf-8").rstrip("\n")) == 202


def test_a_bad_smoothing_method_is_one_line_exit_2(cli, small_text: Path, tmp_path: Path) -> None:
    result = cli(
        "run", "markov", "--corpus", str(small_text), "--smoothing-method", "witten-bell", "--out", str(tmp_path / "b")
    )
    assert_one_line_error(result, "--smoothing-method", "witten-bell", "kneser-ney")
    assert not (tmp_path / "b").exists()


@pytest.mark.slow
def test_a_sweep_over_smoothing_methods_collects_into_one_table(tmp_path: Path, small_text: Path) -> None:
    seqjobs(
        "sweep",
        "markov",
        "--corpus",
        str(small_text),
        "--grid",
        "smoothing-method=dirichlet,kneser-ney",
        "--grid",
        "order=3",
        "--executor",
        "debug",
        "--name",
        "kn",
        "--wait",
        cwd=tmp_path,
        check=True,
    )
    seqjobs("collect", "runs/kn", "-o", "results/kn.csv", cwd=tmp_path, check=True)
    import pandas as pd

    runs = pd.read_csv(tmp_path / "results/kn.csv")
    summary = pd.read_csv(tmp_path / "results/kn.summary.csv")
    assert sorted(runs["smoothing_method"]) == ["dirichlet", "kneser-ney"]
    assert summary["smoothing_method"].tolist() == ["kneser-ney", "dirichlet"]  # best (fewest bits) first


def test_a_run_made_before_the_option_existed_means_dirichlet(cli, small_text: Path, tmp_path: Path) -> None:
    """An older config.json has no smoothing_method: it resumes as the same config and collects as dirichlet."""
    from jobs.monitor.collect import collect
    from seqtasks.markov.config import MarkovConfig
    from seqtasks.rundir import RunDir

    out = tmp_path / "sweep" / "old"
    assert cli("run", "markov", "--corpus", str(small_text), "--out", str(out)).exit_code == 0
    record = json.loads((out / "config.json").read_text())
    del record["config"]["smoothing_method"]
    (out / "config.json").write_text(json.dumps(record))
    assert RunDir(out).check_compatible("markov", MarkovConfig(corpus=str(small_text))) is not None
    with pytest.raises(UserError, match="smoothing-method: 'dirichlet' -> 'kneser-ney'"):
        RunDir(out).check_compatible("markov", MarkovConfig(corpus=str(small_text), smoothing_method="kneser-ney"))
    assert collect([tmp_path / "sweep"], per_epoch=False).runs["smoothing_method"].tolist() == ["dirichlet"]
