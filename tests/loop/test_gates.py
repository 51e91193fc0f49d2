"""The promotion decision keeps its promises: false promotions at most alpha, power
when there is a real gain, ties never promote, too few rows never decide."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlopskit.errors import InvalidParameterError
from mlopskit.loop import HoldoutGate
from mlopskit.loop._compare import PairedComparison, paired_accuracy, paired_bootstrap

ALPHA = 0.05


def tolerance(rate: float, trials: int) -> float:
    """Three binomial standard errors: a correct gate exceeds rate + this with
    probability about 0.13 %, so the test fails on a miscalibrated gate, not on luck."""
    return 3 * math.sqrt(rate * (1 - rate) / trials)


def holdout(
    rng: np.random.Generator, n: int, *, p: float, gain: float, agree: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row correctness of two models: production right with probability p; the
    candidate agrees with it on a share ``agree`` of rows and is redrawn elsewhere so
    that its accuracy is ``p + gain``."""
    production = rng.random(n) < p
    candidate = production.copy()
    redraw = rng.random(n) >= agree
    q = (p + gain - agree * p) / (1 - agree)
    candidate[redraw] = rng.random(int(redraw.sum())) < q
    return candidate, production


def promotion_rate(
    gate: HoldoutGate,
    *,
    n: int,
    gain: float,
    agree: float,
    trials: int,
    scheduled: bool = False,
) -> float:
    promoted = 0
    for seed in range(trials):
        rng = np.random.default_rng([13, seed])
        cand, prod = holdout(rng, n, p=0.85, gain=gain, agree=agree)
        comparison = paired_accuracy(cand, prod, alpha=gate.alpha)
        promoted += gate.outcome(comparison, scheduled=scheduled).passed
    return promoted / trials


@pytest.mark.parametrize(("n", "agree"), [(100, 0.0), (150, 0.8), (1000, 0.5)])
def test_false_promotion_rate_is_at_most_alpha_under_no_real_gain(
    n: int, agree: float
) -> None:
    trials = 1000
    rate = promotion_rate(
        HoldoutGate(alpha=ALPHA), n=n, gain=0.0, agree=agree, trials=trials
    )
    assert rate <= ALPHA + tolerance(ALPHA, trials)


def test_a_margin_is_honoured_when_the_true_gain_equals_it() -> None:
    trials = 1000
    gate = HoldoutGate(min_gain=0.03, alpha=ALPHA)
    rate = promotion_rate(gate, n=400, gain=0.03, agree=0.5, trials=trials)
    assert rate <= ALPHA + tolerance(ALPHA, trials)


def test_power_when_the_candidate_is_really_better() -> None:
    # The candidate fixes about 40 % of production's errors (0.85 → 0.91) on 300 rows;
    # the normal approximation puts power near 0.94, so >= 0.85 leaves room.
    trials = 500
    rate = promotion_rate(HoldoutGate(), n=300, gain=0.06, agree=0.8, trials=trials)
    assert rate >= 0.85


def test_non_inferiority_for_scheduled_retrains() -> None:
    gate = HoldoutGate(schedule_margin=0.02, alpha=ALPHA)
    trials = 1000
    # Truly worse by the margin: promoted at most alpha of the time.
    worse = promotion_rate(
        gate, n=400, gain=-0.02, agree=0.8, trials=trials, scheduled=True
    )
    assert worse <= ALPHA + tolerance(ALPHA, trials)
    # Equally good: promoted when the observed difference is positive and the bound
    # clears the margin, far more often than superiority would allow.
    equal = promotion_rate(gate, n=400, gain=0.0, agree=0.8, trials=500, scheduled=True)
    assert equal > 0.2
    # The same gate applies superiority to drift- or performance-triggered retrains.
    assert promotion_rate(gate, n=400, gain=0.0, agree=0.8, trials=trials) <= (
        ALPHA + tolerance(ALPHA, trials)
    )


def test_a_tie_never_promotes_even_under_non_inferiority() -> None:
    same = np.array([True] * 90 + [False] * 10)
    gate = HoldoutGate(schedule_margin=0.5)
    outcome = gate.outcome(paired_accuracy(same, same, alpha=ALPHA), scheduled=True)
    assert not outcome.passed
    assert "tie" in outcome.reason
    # Discordant but balanced: still a tie.
    cand = same.copy()
    cand[[0, 95]] = [False, True]
    outcome = gate.outcome(paired_accuracy(cand, same, alpha=ALPHA), scheduled=True)
    assert not outcome.passed


def test_too_few_held_out_rows_never_decide() -> None:
    cand = np.ones(40, dtype=bool)
    prod = np.zeros(40, dtype=bool)
    outcome = HoldoutGate().outcome(paired_accuracy(cand, prod, alpha=ALPHA))
    assert not outcome.passed
    assert "only 40 held-out rows (needs 100)" in outcome.reason


def test_the_outcome_states_n_difference_interval_and_rule() -> None:
    rng = np.random.default_rng(0)
    cand, prod = holdout(rng, 300, p=0.8, gain=0.1, agree=0.5)
    comparison = paired_accuracy(cand, prod, alpha=ALPHA)
    reason = HoldoutGate().outcome(comparison).reason
    assert "on 300 held-out rows" in reason
    assert f"{comparison.difference:+.4f}" in reason
    assert f"[{comparison.low:+.4f}, {comparison.high:+.4f}]" in reason
    assert "superiority" in reason
    assert "Bonett-Price" in reason
    assert PairedComparison.from_json(comparison.to_json()) == comparison


def test_bonett_price_interval_covers_the_true_difference() -> None:
    # Two-sided nominal coverage 1 - 2 alpha = 90 %; over 1000 holdouts the observed
    # coverage must not fall below 90 % by more than three binomial errors.
    trials, covered = 1000, 0
    for seed in range(trials):
        rng = np.random.default_rng([7, seed])
        cand, prod = holdout(rng, 200, p=0.8, gain=0.04, agree=0.7)
        c = paired_accuracy(cand, prod, alpha=ALPHA)
        covered += c.low <= 0.04 <= c.high
    assert covered / trials >= 0.9 - tolerance(0.1, trials)


def test_paired_accuracy_matches_a_hand_computation() -> None:
    # n = 50, 8 rows only the candidate gets right, 2 only production:
    # p12 = 9/52, p21 = 3/52, d = 6/52, se = sqrt((12/52 - (6/52)^2) / 52).
    cand = np.array([True] * 8 + [False] * 2 + [True] * 30 + [False] * 10)
    prod = np.array([False] * 8 + [True] * 2 + [True] * 30 + [False] * 10)
    c = paired_accuracy(cand, prod, alpha=0.025)
    d = 6 / 52
    se = math.sqrt((12 / 52 - d * d) / 52)
    assert c.discordant == (8, 2)
    assert c.difference == pytest.approx(6 / 50)
    assert c.low == pytest.approx(d - 1.959963984540054 * se)
    assert c.high == pytest.approx(d + 1.959963984540054 * se)


def test_paired_bootstrap_false_promotion_rate() -> None:
    # A metric other than accuracy (mean squared error, negated): two models with
    # the same expected error; the percentile bootstrap's rate stays near alpha.
    trials, promoted = 200, 0
    gate = HoldoutGate(alpha=ALPHA, min_rows=1)
    for seed in range(trials):
        rng = np.random.default_rng([21, seed])
        shared = rng.normal(size=150)
        a = (shared + rng.normal(size=150)) ** 2
        b = (shared + rng.normal(size=150)) ** 2

        def score(
            rows: np.ndarray, a: np.ndarray = a, b: np.ndarray = b
        ) -> tuple[float, float]:
            return -float(a[rows].mean()), -float(b[rows].mean())

        c = paired_bootstrap(
            score, 150, metric="neg_mse", alpha=ALPHA, n_boot=100, random_state=seed
        )
        promoted += gate.outcome(c).passed
    assert promoted / trials <= ALPHA + tolerance(ALPHA, trials)


def test_bad_gate_parameters_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="alpha"):
        HoldoutGate(alpha=0.7)
    with pytest.raises(InvalidParameterError, match="min_rows"):
        HoldoutGate(min_rows=0)
    with pytest.raises(InvalidParameterError, match="schedule_margin"):
        HoldoutGate(schedule_margin=-0.1)
