"""Behaviour checked against the systems the strategies mirror (Flagger, Argo
Rollouts, Kubernetes) — deterministic arithmetic, so exact assertions."""

from __future__ import annotations

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
    # seven passing iterations, then Promoting; Finalising routes everything to
    # the new primary one interval later (runAB, runPromotionTrafficShift)
    np.testing.assert_allclose(r["step_time_s"], 60 * 8)


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
    # rejected within the first minute, then five failed checks a minute apart;
    # Flagger rolls back at the next tick (FailedChecks >= threshold, tested first)
    np.testing.assert_allclose(res.runs["time_to_detect_s"], 360)


def test_argo_inconclusive_pauses_for_a_human() -> None:
    # initialDelay: Argo's first measurement comes when the background run starts,
    # before the canary has served a request ("no data" would fail it)
    gate = ThresholdGate(
        max_value=0.01, failure_max=0.2, interval_s=60, initial_delay_s=60
    )
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


def test_bluegreen_inconclusive_pre_promotion_waits_for_a_human() -> None:
    # the first measurement would come before any preview request: delay it
    gate = ThresholdGate(
        max_value=0.01, failure_max=0.2, interval_s=30, initial_delay_s=30
    )
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


def _flagger_reference(
    rate: float, n_runs: int, seed: int
) -> tuple[float, float, float]:
    """An independent scalar Monte-Carlo of Flagger's loop (scheduler.go, v1.44.0):
    a check per minute on the last minute's success rate (≥ 99 %, no data fails),
    stepWeight 5 → maxWeight 50, threshold 5 tested at the start of each tick."""
    rng = np.random.default_rng(seed)
    back, detect, served = 0, [], []  # served: of the rolled-back runs
    for _ in range(n_runs):
        w, failed, t, total = 0.0, 0, 0, 0
        while True:
            if w > 0:  # a minute of canary traffic before this tick
                n = rng.poisson(1000 * 60 * w)
                total += n
            t += 60
            if failed >= 5:
                back += 1
                detect.append(t - 60)  # seconds after the first weight
                served.append(total)
                break
            if w == 0:
                w = 0.05
                continue
            errors = rng.binomial(n, rate)
            if n == 0 or errors / n > 0.01:
                failed += 1
            elif w >= 0.5 - 1e-9:
                break  # Promoting: the canary keeps 50 % one more interval
            else:
                w = min(w + 0.05, 1.0)
        served.append(total)
    return (
        back / n_runs,
        float(np.mean(detect)) if detect else np.nan,
        float(np.mean(served)),
    )


@pytest.mark.parametrize("rate", [0.008, 0.010, 0.012, 0.02])
def test_flagger_table_matches_an_independent_monte_carlo(rate: float) -> None:
    res = simulate(
        Canary(step_weight=5, max_weight=50, threshold=5),
        baseline=GOOD,
        candidate=ModelBehavior(error_rate=rate),
        traffic=TRAFFIC,
        n_runs=300,
        random_state=0,
    )
    r = res.runs
    p_ref, detect_ref, served_ref = _flagger_reference(rate, 300, seed=1)
    # two samples of 300: SE of a difference of proportions ≤ 0.041 at p = 0.5,
    # ≤ 0.025 at p = 0.9; ±0.1 is ≥ 2.5 SE at the worst case
    assert abs(r["rolled_back"].mean() - p_ref) <= 0.1
    if p_ref > 0.5:
        assert abs(r["time_to_detect_s"].mean() - detect_ref) < 45
    if p_ref > 0.5:  # requests the bad version served before the rollback
        served = r.loc[r["rolled_back"], "bad_requests_served"].mean()
        assert served == pytest.approx(served_ref, rel=0.15)
