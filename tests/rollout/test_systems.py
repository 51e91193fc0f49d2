"""Behaviour checked against the systems the strategies mirror (Flagger, Argo
Rollouts, Kubernetes) — deterministic arithmetic, so exact assertions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlopskit.rollout import (
    ABTest,
    BlueGreen,
    Canary,
    ModelBehavior,
    Ramped,
    Recreate,
    SequentialTest,
    Shadow,
    ThresholdGate,
    Traffic,
    simulate,
)

GOOD = ModelBehavior(error_rate=0.005)
BROKEN = ModelBehavior(error_rate=0.5)  # every check fails
FIXED_START = ModelBehavior(
    error_rate=0.005,
    schedule_s=0.0,
    image_pull_s=0.0,
    model_load_s=60.0,
    startup_sigma=0.0,
    readiness_period_s=0.0,
)
TRAFFIC = Traffic(rps=1000)


@pytest.mark.parametrize(("step", "top"), [(10, 50), (2, 50), (15, 40)])
def test_flagger_promotion_takes_interval_times_steps(step: float, top: float) -> None:
    res = simulate(
        Canary(step_weight=step, max_weight=top, interval_s=60),
        baseline=GOOD,
        candidate=GOOD,
        traffic=TRAFFIC,
        n_runs=30,
        random_state=0,
    )
    r = res.runs
    assert r["promoted"].all()
    expected = 60 * math.ceil(
        top / step
    )  # Flagger: interval × ceil(maxWeight/stepWeight)
    np.testing.assert_allclose(r["step_time_s"], expected)
    # a check that fails (noise at a 2 % weight) halts advancement for one interval:
    # that time is reported as analysis time, never as step time
    np.testing.assert_allclose(
        r["time_to_full_rollout_s"] - r["startup_s"] - r["analysis_time_s"],
        expected,
        atol=1.0,
    )  # atol: the 1 s tick at which the canary becomes ready


def test_flagger_step_weights_schedule() -> None:
    res = simulate(
        Canary(step_weights=(1, 2, 10, 80)),
        baseline=GOOD,
        candidate=GOOD,
        traffic=TRAFFIC,
        judge=None,
        n_runs=10,
        random_state=0,
    )
    np.testing.assert_allclose(res.runs["peak_share_on_candidate"], 0.80)
    np.testing.assert_allclose(
        res.runs["step_time_s"], 60 * 4
    )  # interval × len(stepWeights)


@pytest.mark.parametrize("threshold", [1, 3, 5])
def test_flagger_rollback_takes_interval_times_threshold(threshold: int) -> None:
    res = simulate(
        Canary(threshold=threshold, interval_s=60),
        baseline=GOOD,
        candidate=BROKEN,
        traffic=TRAFFIC,
        n_runs=30,
        random_state=0,
    )
    assert res.runs["rolled_back"].all()
    np.testing.assert_allclose(res.runs["time_to_detect_s"], 60 * threshold)
    # checks failed, so the weight never advanced past the first step
    np.testing.assert_allclose(res.runs["peak_share_on_candidate"], 0.10)


def test_flagger_no_data_is_a_failed_check() -> None:
    quiet = Traffic(rps=0.001)  # the canary receives nothing
    res = simulate(
        Canary(threshold=2),
        baseline=GOOD,
        candidate=GOOD,
        traffic=quiet,
        n_runs=5,
        random_state=0,
    )
    assert res.runs["rolled_back"].all()


def test_flagger_ab_test_takes_interval_times_iterations() -> None:
    res = simulate(
        ABTest(method="flagger", interval_s=60, iterations=7),
        baseline=GOOD,
        candidate=GOOD,
        traffic=TRAFFIC,
        n_runs=20,
        random_state=0,
    )
    r = res.runs
    assert r["promoted"].all()
    assert (r["decision"] == "candidate").all()
    np.testing.assert_allclose(r["step_time_s"], 60 * 7)


def test_flagger_ab_test_with_a_statistical_judge_checks_every_interval() -> None:
    res = simulate(
        ABTest(method="flagger", interval_s=60, iterations=10, threshold=5),
        baseline=GOOD,
        candidate=ModelBehavior(error_rate=0.015),
        traffic=TRAFFIC,
        judge=SequentialTest(),
        n_runs=20,
        random_state=0,
    )
    assert res.runs["rolled_back"].all()
    # rejected within the first minute, then five failed checks a minute apart
    np.testing.assert_allclose(res.runs["time_to_detect_s"], 300)


def test_argo_replica_rounding() -> None:
    canary = Canary(replicas=10, traffic_routing=False)
    assert canary.canary_replicas(41) == 4
    assert canary.canary_replicas(45) == 5  # equal deltas round up
    assert canary.canary_replicas(44) == 4
    res = simulate(
        Canary(
            replicas=10,
            traffic_routing=False,
            steps=({"setWeight": 41}, {"pause": {"duration": 60}}),
        ),
        baseline=GOOD,
        candidate=GOOD,
        traffic=TRAFFIC,
        judge=None,
        n_runs=10,
        random_state=0,
    )
    np.testing.assert_allclose(res.runs["peak_share_on_candidate"], 0.4)


@pytest.mark.parametrize(("limit", "failures"), [(0, 1), (3, 4)])
def test_argo_failure_limit_counts_cumulative_failures(
    limit: int, failures: int
) -> None:
    steps = ({"setWeight": 20}, {"pause": {"duration": "1h"}})
    res = simulate(
        Canary(steps=steps),
        baseline=GOOD,
        candidate=BROKEN,
        traffic=TRAFFIC,
        judge=ThresholdGate(interval_s=60, failure_limit=limit),
        n_runs=20,
        random_state=0,
    )
    assert res.runs["rolled_back"].all()
    # Argo: Failed when failed measurements > failureLimit
    np.testing.assert_allclose(res.runs["time_to_detect_s"], 60 * failures)


def test_argo_inconclusive_pauses_for_a_human() -> None:
    gate = ThresholdGate(max_value=0.01, failure_max=0.2, interval_s=60)
    res = simulate(
        Canary(
            steps=({"setWeight": 20}, {"pause": {"duration": 300}}),
            human_response_s=120,
        ),
        baseline=GOOD,
        candidate=ModelBehavior(error_rate=0.05),  # between success and failure
        traffic=TRAFFIC,
        judge=gate,
        n_runs=20,
        random_state=0,
    )
    r = res.runs
    assert not r["rolled_back"].any()
    assert (r["human_wait_s"] > 0).all()


def test_argo_indefinite_pause_waits_for_a_human() -> None:
    res = simulate(
        Canary(steps=({"setWeight": 10}, {"pause": {}}), human_response_s=300),
        baseline=GOOD,
        candidate=GOOD,
        traffic=TRAFFIC,
        judge=None,
        n_runs=200,
        random_state=0,
    )
    r = res.runs
    assert r["promoted"].all()
    # exponential(300 s): the mean of 200 draws is within ±25 % (≈3.5 SE) of 300
    assert 225 < r["human_wait_s"].mean() < 375


def test_kubernetes_rolling_arithmetic() -> None:
    assert Ramped(replicas=10).bounds() == (8, 13)
    res = simulate(
        Ramped(replicas=10),
        baseline=GOOD,
        candidate=GOOD,
        traffic=TRAFFIC,
        n_runs=30,
        random_state=0,
    )
    r = res.runs
    assert (r["min_ready_pods"] >= 8).all()
    assert (r["peak_pods_ratio"] <= 1.3 + 1e-12).all()
    events = Ramped(replicas=10).timeline(np.full(10, 30.0))
    assert events[:, 3].max() == 13  # the surge is used (momentarily, per event)
    assert (events[:, 1] + events[:, 2]).min() == 8  # ... and so is maxUnavailable
    assert (r["downtime_s"] == 0).all()
    one = simulate(
        Ramped(replicas=1),
        baseline=GOOD,
        candidate=GOOD,
        traffic=TRAFFIC,
        n_runs=10,
        random_state=0,
    )
    assert (one.runs["downtime_s"] == 0).all()
    np.testing.assert_allclose(one.runs["peak_pods_ratio"], 2.0)


def test_recreate_downtime_is_termination_plus_startup() -> None:
    res = simulate(
        Recreate(termination_grace_period_s=30),
        baseline=GOOD,
        candidate=FIXED_START,
        traffic=TRAFFIC,
        n_runs=10,
        random_state=0,
    )
    np.testing.assert_allclose(res.runs["downtime_s"], 30 + 60)
    assert (res.runs["dropped_requests"] > 0.9 * 90 * 1000).all()


@pytest.mark.parametrize(
    "strategy",
    [Ramped(), BlueGreen(), Canary(), ABTest(method="flagger"), Shadow(duration_s=600)],
)
def test_other_strategies_have_no_downtime_when_healthy(strategy: object) -> None:
    res = simulate(
        strategy,
        baseline=GOOD,
        candidate=GOOD,
        traffic=TRAFFIC,
        n_runs=10,
        random_state=0,
    )  # type: ignore[arg-type]
    assert (res.runs["downtime_s"] == 0).all()
    assert (res.runs["dropped_requests"] == 0).all()


def test_bluegreen_fast_rollback_and_propagation() -> None:
    bg = BlueGreen(propagation_delay_s=5)
    res = simulate(
        bg,
        baseline=GOOD,
        candidate=BROKEN,
        traffic=TRAFFIC,
        judge=ThresholdGate(interval_s=30),
        n_runs=10,
        random_state=0,
    )
    r = res.runs
    assert r["rolled_back"].all()
    # the Service flips back while blue is still up: recovery = propagation delay
    np.testing.assert_allclose(r["time_to_recover_s"] - r["time_to_detect_s"], 5.0)
    late = simulate(
        BlueGreen(
            propagation_delay_s=20,
            scale_down_delay_seconds=5,
            post_promotion_analysis=False,
        ),
        baseline=GOOD,
        candidate=GOOD,
        traffic=TRAFFIC,
        n_runs=5,
        random_state=0,
    )
    # blue scaled down before every node switched: requests routed to it are lost
    assert (late.runs["dropped_requests"] > 0).all()


def test_shadow_exposes_no_user() -> None:
    res = simulate(
        Shadow(duration_s=600),
        baseline=GOOD,
        candidate=BROKEN,
        traffic=TRAFFIC,
        judge=ThresholdGate(),
        n_runs=10,
        random_state=0,
    )
    r = res.runs
    assert r["rolled_back"].all()
    assert (r["bad_requests_served"] == 0).all()
    assert (r["users_exposed"] == 0).all()
    assert (r["shadow_requests"] > 0).all()
    assert (r["error_delta"] > 0.3).all()


@pytest.mark.parametrize(
    ("rate", "p_rollback", "minutes", "served"),
    # research note, Appendix A3 (an independent Monte-Carlo of the same rule):
    # Flagger success rate ≥ 99 %, threshold 5, stepWeight 5 → maxWeight 50, 1,000 rps
    [
        (0.008, 0.0, None, 166_000),
        (0.010, 0.90, 9.4, 110_000),
        (0.012, 1.0, 5.7, 24_000),
        (0.02, 1.0, 5.0, 15_000),
    ],
)
def test_reproduces_the_research_note_flagger_table(
    rate: float, p_rollback: float, minutes: float | None, served: int
) -> None:
    res = simulate(
        Canary(step_weight=5, max_weight=50, threshold=5),
        baseline=GOOD,
        candidate=ModelBehavior(error_rate=rate),
        traffic=TRAFFIC,
        n_runs=300,
        random_state=0,
    )
    r = res.runs
    # at p=0.9 and R=300 the SE is 0.017: ±0.06 ≈ 3.5 SE (the reference's own
    # Monte-Carlo error, R=4,000, adds ~0.005)
    assert abs(r["rolled_back"].mean() - p_rollback) <= 0.06
    if minutes is not None:
        assert abs(r["time_to_detect_s"].mean() / 60 - minutes) < 0.5
    assert abs(r["bad_requests_served"].mean() / served - 1) < 0.06


def test_bluegreen_inconclusive_pre_promotion_waits_for_a_human() -> None:
    gate = ThresholdGate(max_value=0.01, failure_max=0.2, interval_s=30)
    res = simulate(
        BlueGreen(
            pre_promotion_analysis=True, post_promotion_analysis=False, preview_rps=100
        ),
        baseline=GOOD,
        candidate=ModelBehavior(error_rate=0.05),  # between success and failure
        traffic=TRAFFIC,
        judge=gate,
        n_runs=10,
        random_state=0,
    )
    assert (res.runs["human_wait_s"] > 0).all()
    assert res.runs["bad_requests_served"].gt(0).all()  # a human promoted it


def test_bluegreen_preview_replicas_trade_cost_for_speed() -> None:
    kw = {
        "baseline": GOOD,
        "candidate": GOOD,
        "traffic": TRAFFIC,
        "n_runs": 20,
        "random_state": 0,
    }
    full = simulate(BlueGreen(auto_promotion_seconds=120), **kw).runs  # type: ignore[arg-type]
    small = simulate(
        BlueGreen(preview_replica_count=3, auto_promotion_seconds=120), **kw
    ).runs  # type: ignore[arg-type]
    # previewReplicaCount: fewer pods while paused, then a scale-up before the switch
    assert small["extra_pod_seconds"].mean() < full["extra_pod_seconds"].mean()
    assert (
        small["time_to_full_rollout_s"].mean() > full["time_to_full_rollout_s"].mean()
    )
    np.testing.assert_allclose(
        full["step_time_s"], 120 + 5
    )  # autoPromotionSeconds + propagation
