"""Statistical properties of the judges, by Monte-Carlo (seeded).

Tolerances: with R replications a rate p has standard error sqrt(p(1-p)/R); each
bound below is about 3 standard errors plus the small bias of testing binomial
counts at 1-second ticks instead of continuous Gaussian data.
"""

from __future__ import annotations

import numpy as np
import pytest

from mlopskit.rollout import (
    ABTest,
    BayesianLoss,
    Canary,
    FixedHorizonTest,
    MannWhitneyJudge,
    ModelBehavior,
    SequentialTest,
    Traffic,
    sample_size,
    simulate,
)

P = ModelBehavior(
    error_rate=0.2
)  # a common rate keeps the z test's normal approximation good
SLOW = Traffic(rps=100)  # 50 requests per arm per tick: looks fall on distinct ticks


@pytest.mark.parametrize(
    ("looks", "expected"),
    # Armitage et al. / research note §6.2 (20,000 Gaussian replications)
    [(5, 0.144), (10, 0.197), (100, 0.373)],
)
def test_peeking_inflates_false_positives(looks: int, expected: float) -> None:
    res = simulate(
        ABTest(share=0.5),
        baseline=P,
        candidate=P,
        traffic=SLOW,
        judge=FixedHorizonTest(n=10_000, looks=looks),
        n_runs=2000,
        random_state=looks,
        tick_s=1.0,
    )
    rate = float((res.runs["decision"] != "none").mean())
    # SE ≤ 0.011 at R=2000; ±0.035 ≈ 3 SE + discretisation bias (observed 0.13/0.20/0.36)
    assert abs(rate - expected) < 0.035


def test_single_look_keeps_alpha() -> None:
    res = simulate(
        ABTest(share=0.5),
        baseline=P,
        candidate=P,
        traffic=SLOW,
        judge=FixedHorizonTest(n=5000),
        n_runs=2000,
        random_state=7,
        tick_s=1.0,
    )
    rate = float((res.runs["decision"] != "none").mean())
    assert abs(rate - 0.05) < 0.015  # SE 0.0049 at R=2000: ±3 SE


@pytest.mark.slow
def test_sequential_test_stays_under_alpha_under_continuous_peeking() -> None:
    base = ModelBehavior(error_rate=0.05)
    res = simulate(
        ABTest(share=0.5, max_duration_s=2000),
        baseline=base,
        candidate=base,
        traffic=SLOW,
        judge=SequentialTest(alpha=0.05),
        n_runs=1500,
        random_state=3,
        tick_s=1.0,
    )
    rate = float((res.runs["decision"] != "none").mean())
    # evaluated after every one of 2,000 ticks; the mSPRT bound is conservative
    # (observed ≈ 0.034). SE at R=1500 is 0.0056: allow alpha + 2 SE.
    assert rate <= 0.05 + 0.011


def test_fixed_horizon_power_at_textbook_n() -> None:
    cand = ModelBehavior(error_rate=0.22)  # +10 % relative
    judge = FixedHorizonTest(minimum_detectable_effect=0.1, power=0.8)
    assert judge.planned_n(0.2) == sample_size(0.2, 0.22)
    res = simulate(
        ABTest(share=0.5),
        baseline=P,
        candidate=cand,
        traffic=SLOW,
        judge=judge,
        n_runs=2000,
        random_state=2,
        tick_s=1.0,
    )
    power = float(res.runs["rolled_back"].mean())
    # SE 0.009 at R=2000: ±0.03 ≈ 3 SE (observed 0.80)
    assert abs(power - 0.8) < 0.03


def test_sample_size_matches_research_table() -> None:
    assert sample_size(0.005, 0.006) == 85862  # research note §6.1
    assert abs(sample_size(0.005, 0.0075) - 15598) <= 1


def test_sequential_detects_regression_fast_at_5_percent() -> None:
    res = simulate(
        Canary(threshold=1),
        baseline=ModelBehavior(error_rate=0.005),
        candidate=ModelBehavior(error_rate=0.015),
        traffic=Traffic(rps=1000),
        judge=SequentialTest(),
        n_runs=200,
        random_state=0,
    )
    assert res.runs["rolled_back"].all()
    # threshold=1: the first 60-s check after rejection rolls back
    assert res.runs["time_to_detect_s"].max() <= 120


def test_bayesian_rule_does_not_control_false_rollbacks() -> None:
    base = ModelBehavior(error_rate=0.05)
    res = simulate(
        ABTest(share=0.5, max_duration_s=3600),
        baseline=base,
        candidate=base,
        traffic=SLOW,
        judge=BayesianLoss(interval_s=10),
        n_runs=400,
        random_state=0,
        tick_s=1.0,
    )
    # Stucchio's rule stops on an A/A test and picks either side about equally:
    # far above a 5 % error rate (binomial SE at R=400 is 0.025)
    assert res.runs["rolled_back"].mean() > 0.25
    assert res.runs["promoted"].mean() > 0.25


def test_mann_whitney_identical_series_pass_and_shift_fails() -> None:
    judge = MannWhitneyJudge()
    rng = np.random.default_rng(0)
    same = rng.normal(1.0, 0.1, size=(50, 60))
    assert (judge.classify(same, same.copy(), "error_rate") == 0).all()
    scores = judge.score(same[:, None, :] * 2, rng.normal(1.0, 0.1, size=(50, 1, 60)))
    assert (scores == 0).all()


def test_mann_whitney_critical_and_nodata() -> None:
    judge = MannWhitneyJudge(
        metrics=("error_rate", "latency_p99_ms"), critical=("latency_p99_ms",)
    )
    rng = np.random.default_rng(1)
    ctrl = rng.normal(1.0, 0.1, size=(10, 2, 40))
    cand = ctrl.copy()
    cand[:, 1] *= 3  # the critical metric regresses
    assert (judge.score(cand, ctrl) == 0).all()
    nodata = np.full_like(ctrl, np.nan)
    assert (judge.score(nodata, ctrl) == 0).all()  # ≥ 50 % Nodata scores 0
    assert (judge.score(ctrl.copy(), ctrl) == 100).all()


def test_mann_whitney_judge_in_a_canary() -> None:
    # Kayenta needs many time-series points: a background analysis over an Argo
    # canary with a long pause, judged every 10 minutes (10, 20, 30 points)
    # startingStep 1: the run starts with the pause, when traffic reaches the canary
    canary = Canary(
        steps=({"setWeight": 20}, {"pause": {"duration": "1h"}}),
        analysis_starting_step=1,
    )
    res = simulate(
        canary,
        baseline=ModelBehavior(error_rate=0.01),
        candidate=ModelBehavior(error_rate=0.05),
        traffic=Traffic(rps=500),
        judge=MannWhitneyJudge(lifetime_s=1800, interval_s=600),
        n_runs=50,
        random_state=0,
    )
    assert res.runs["rolled_back"].all()
    np.testing.assert_allclose(res.runs["time_to_detect_s"], 600)


def test_sequential_test_valid_at_low_rates_and_changing_weights() -> None:
    # A/A canary at 0.5 % errors with weights 5 → 20 → 50 % over an hour: few
    # events early and a changing split, the hard case for the normal mixture
    base = ModelBehavior(error_rate=0.005)
    canary = Canary(
        steps=(
            {"setWeight": 5},
            {"pause": {"duration": "15m"}},
            {"setWeight": 20},
            {"pause": {"duration": "15m"}},
            {"setWeight": 50},
            {"pause": {"duration": "30m"}},
        )
    )
    res = simulate(
        canary,
        baseline=base,
        candidate=base,
        traffic=Traffic(rps=1000),
        judge=SequentialTest(alpha=0.05),
        n_runs=1500,
        random_state=0,
        tick_s=5.0,
    )
    rejected = float((res.runs["always_valid_p"] <= 0.05).mean())  # either direction
    # observed ≈ 0.048 at 1-s ticks; SE 0.0056 at R=1500: allow alpha + 2 SE
    assert rejected <= 0.05 + 0.011
    assert res.runs["rolled_back"].mean() <= 0.05
