"""Reproducibility, invariants (hypothesis), validation, results and delivery."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlopskit.errors import RolloutError
from mlopskit.rollout import (
    ABTest,
    BayesianLoss,
    BlueGreen,
    Canary,
    FixedHorizonTest,
    MannWhitneyJudge,
    ModelBehavior,
    Ramped,
    Recreate,
    SequentialTest,
    Shadow,
    SimulationResult,
    ThresholdGate,
    Traffic,
    compare,
    power_curve,
    simulate,
    simulate_delivery,
)

GOOD = ModelBehavior(error_rate=0.005)
BAD = ModelBehavior(error_rate=0.015)


def test_issue_example_runs_with_defaults() -> None:
    res = simulate(
        Canary(),
        baseline=ModelBehavior(error_rate=0.005),
        candidate=ModelBehavior(error_rate=0.015),
        traffic=Traffic(rps=1000),
        judge=SequentialTest(alpha=0.05),
        n_runs=400,
        random_state=0,
    )
    assert isinstance(res, SimulationResult)
    assert len(res.runs) == 400
    assert res.p_rollback > 0.95
    rejected = res.runs["always_valid_p"] <= 0.05
    assert (rejected | ~res.runs["rolled_back"]).all()  # every rollback had p ≤ alpha
    assert set(res.summary["metric"]) >= {
        "rolled_back",
        "time_to_detect_s",
        "downtime_s",
    }


def test_same_seed_same_result_and_json_round_trip() -> None:
    kw = {
        "baseline": GOOD,
        "candidate": BAD,
        "traffic": Traffic(rps=300),
        "judge": SequentialTest(),
        "n_runs": 50,
    }
    a = simulate(Canary(), random_state=5, **kw)  # type: ignore[arg-type]
    b = simulate(Canary(), random_state=5, **kw)  # type: ignore[arg-type]
    c = simulate(Canary(), random_state=6, **kw)  # type: ignore[arg-type]
    assert a == b
    assert a != c
    back = SimulationResult.from_json(a.to_json())
    # _results.frame_to_json keeps 10 significant digits (pandas' default
    # double_precision), so floats round-trip to ~1e-10, not bit-exactly
    pd.testing.assert_frame_equal(back.runs, a.runs, rtol=1e-9)
    pd.testing.assert_frame_equal(back.summary, a.summary, rtol=1e-9)
    assert back.strategy == a.strategy
    assert "<table>" in a._repr_html_()


@settings(max_examples=15, deadline=None)
@given(
    weights=st.lists(st.integers(0, 100), min_size=1, max_size=4),
    routing=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_simulated_shares_stay_in_unit_interval(
    weights: list[int], routing: bool, seed: int
) -> None:
    steps = (*tuple({"setWeight": w} for w in weights), {"pause": {"duration": 30}})
    res = simulate(
        Canary(steps=steps, traffic_routing=routing),
        baseline=GOOD,
        candidate=GOOD,
        traffic=Traffic(rps=50),
        judge=None,
        n_runs=5,
        random_state=seed,
    )
    share = res.runs["peak_share_on_candidate"]
    assert ((share >= 0) & (share <= 1)).all()
    assert (res.runs["bad_requests_served"] >= 0).all()
    assert (res.runs["rolled_back"] & res.runs["promoted"]).sum() == 0


def test_compare_and_power_curve() -> None:
    strategies = [
        Recreate(),
        Ramped(),
        BlueGreen(),
        Canary(),
        ABTest(method="flagger"),
        Shadow(duration_s=600),
    ]
    table = compare(
        strategies,
        baseline=GOOD,
        candidate=ModelBehavior(error_rate=0.05),
        traffic=Traffic(rps=200),
        judge=ThresholdGate(),
        n_runs=20,
        random_state=0,
    )
    assert list(table.index) == [s.name for s in strategies]
    assert table.loc["Shadow", "users_exposed"] == 0
    assert table.loc["Recreate", "downtime_s"] > 0
    curve = power_curve(
        Canary(threshold=1),
        baseline=GOOD,
        traffic=Traffic(rps=1000),
        judge=SequentialTest(),
        effects=(0.0, 1.0, 3.0),
        n_runs=60,
        random_state=0,
    )
    assert curve["p_rollback"].is_monotonic_increasing
    assert (curve["ci_low"] <= curve["p_rollback"]).all()
    assert (curve["p_rollback"] <= curve["ci_high"]).all()


def test_ab_test_reports_effect_and_regret() -> None:
    base = ModelBehavior(conversion_rate=0.10)
    better = ModelBehavior(conversion_rate=0.12)
    res = simulate(
        ABTest(minimum_detectable_effect=0.2, max_duration_s=3600),
        baseline=base,
        candidate=better,
        traffic=Traffic(rps=200),
        n_runs=100,
        random_state=0,
    )
    r = res.runs
    assert (r["decision"] == "candidate").mean() > 0.7
    inside = (r["effect_ci_low"] <= 0.02) & (r["effect_ci_high"] >= 0.02)
    assert inside.mean() > 0.85  # 95 % intervals (stopping biases them a little)
    assert (r["regret"] > 0).all()
    sticky = res.runs["users_exposed"].mean()
    loose = simulate(
        ABTest(sticky=False, minimum_detectable_effect=0.2, max_duration_s=3600),
        baseline=base,
        candidate=better,
        traffic=Traffic(rps=200),
        n_runs=100,
        random_state=0,
    )
    assert sticky < loose.runs["users_exposed"].mean()


def test_regression_profiles_delay_detection() -> None:
    late = ModelBehavior(
        error_rate=0.05,
        regression="after_warmup",
        healthy_error_rate=0.005,
        onset_s=240,
    )
    res = simulate(
        Canary(steps=({"setWeight": 20}, {"pause": {"duration": "20m"}})),
        baseline=GOOD,
        candidate=late,
        traffic=Traffic(rps=500),
        # initialDelay: measure only once the canary has a minute of traffic
        judge=ThresholdGate(interval_s=60, initial_delay_s=120),
        n_runs=20,
        random_state=0,
    )
    assert res.runs["rolled_back"].all()
    assert (res.runs["time_to_detect_s"] >= 240).all()


def test_shadow_cannot_measure_conversions() -> None:
    beh = ModelBehavior(conversion_rate=0.1)
    with pytest.raises(RolloutError, match="conversion"):
        simulate(
            Shadow(duration_s=60),
            baseline=beh,
            candidate=beh,
            traffic=Traffic(),
            judge=SequentialTest(metric="conversion_rate"),
            n_runs=2,
        )


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Canary(step_weight=0), "step_weight"),
        (lambda: Canary(steps=({"setWeight": 120},)), "setWeight"),
        (lambda: Canary(steps=({"pause": {"duration": "ten"}},)), "duration"),
        (lambda: Ramped(max_surge=0, max_unavailable=0), "max_surge"),
        (lambda: ModelBehavior(error_rate=1.5), "error_rate"),
        (lambda: ModelBehavior(regression="gradual"), "healthy_error_rate"),
        (lambda: Traffic(pattern="trace"), "trace"),
        (lambda: ThresholdGate(max_value=None), "max_value"),
        (lambda: simulate_delivery("carrier-pigeon"), "mode"),
    ],
)
def test_errors_name_the_field(make: object, field: str) -> None:
    with pytest.raises(RolloutError, match=field) as info:
        make()  # type: ignore[operator]
    assert "Got" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_simulate_validates_its_arguments() -> None:
    with pytest.raises(RolloutError, match="strategy"):
        simulate("canary", baseline=GOOD, candidate=GOOD, traffic=Traffic())  # type: ignore[arg-type]
    with pytest.raises(RolloutError, match="n_runs"):
        simulate(Canary(), baseline=GOOD, candidate=GOOD, traffic=Traffic(), n_runs=0)


def test_delivery_push_vs_pull() -> None:
    push = simulate_delivery("push", n_runs=4000, random_state=0, apply_failure=0.05)
    argo = simulate_delivery("pull", n_runs=4000, random_state=0)
    flux = simulate_delivery("pull", tool="flux", n_runs=4000, random_state=0)
    hook = simulate_delivery("pull", webhook=True, n_runs=100, random_state=0)
    ok = argo.runs["failed_attempts"] == 0
    lag = argo.runs.loc[ok, "commit_to_running_s"]
    # Argo CD: a uniform point in a 120 + U(0, 60) s cycle, + 10 s apply →
    # within [10, 190], mean 85
    assert lag.between(10, 190).all()
    assert abs(lag.mean() - 85) < 3  # SE ≈ 0.6 s at n≈3900
    assert (
        flux.runs.loc[flux.runs["failed_attempts"] == 0, "commit_to_running_s"].max()
        <= 70
    )
    np.testing.assert_allclose(
        hook.runs.loc[hook.runs["failed_attempts"] == 0, "commit_to_running_s"], 12.0
    )
    assert push.runs["credentials_in_ci"].all()
    assert not argo.runs["credentials_in_ci"].any()
    assert (push.runs["partial_apply_s"] > 0).mean() == pytest.approx(
        0.05, abs=0.011
    )  # 3 SE
    atomic = simulate_delivery(
        "push", atomic=True, apply_failure=0.05, n_runs=2000, random_state=0
    )
    assert (atomic.runs["partial_apply_s"] == 0).all()
    healed = simulate_delivery("pull", self_heal=True, n_runs=2000, random_state=0)
    assert (
        healed.runs["drift_exposure_s"].mean()
        < 0.01 * argo.runs["drift_exposure_s"].mean()
    )
    retry = simulate_delivery(
        "pull", retry_limit=5, apply_failure=0.2, n_runs=2000, random_state=0
    )
    assert (retry.runs["recovered_by"] == "retry").mean() > 0.15
    assert isinstance(push.summary, pd.DataFrame)


def test_plot_returns_a_figure() -> None:
    pytest.importorskip("matplotlib")
    res = simulate(
        Canary(),
        baseline=GOOD,
        candidate=BAD,
        traffic=Traffic(rps=300),
        judge=SequentialTest(),
        n_runs=20,
        random_state=0,
    )
    fig = res.plot()
    assert len(fig.axes) == 4
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_delivery_lag_enters_time_to_full_rollout() -> None:
    res = simulate(
        Canary(),
        baseline=GOOD,
        candidate=GOOD,
        traffic=Traffic(rps=300),
        n_runs=20,
        random_state=0,
        delivery="pull",
    )
    r = res.runs
    parts = (
        r["delivery_lag_s"]
        + r["startup_s"]
        + r["step_time_s"]
        + r["analysis_time_s"]
        + r["human_wait_s"]
    )
    np.testing.assert_allclose(r["time_to_full_rollout_s"], parts, atol=1.0)
    assert (r["delivery_lag_s"] > 0).all()


@pytest.mark.parametrize(
    "strategy",
    [
        Recreate(),
        Ramped(),
        BlueGreen(),
        Canary(),
        ABTest(method="flagger"),
        Shadow(duration_s=600),
    ],
)
def test_speed_breakdown_adds_up(strategy: object) -> None:
    res = simulate(
        strategy,
        baseline=GOOD,
        candidate=GOOD,
        traffic=Traffic(rps=300),  # type: ignore[arg-type]
        judge=ThresholdGate(max_value=0.05),
        n_runs=10,
        random_state=0,
        delivery="push",
    )
    r = res.runs[res.runs["promoted"]]
    assert len(r) > 0
    parts = (
        r["delivery_lag_s"]
        + r["startup_s"]
        + r["step_time_s"]
        + r["analysis_time_s"]
        + r["human_wait_s"]
    )
    # events land on 1-second ticks: each of at most two phase changes rounds up
    np.testing.assert_allclose(r["time_to_full_rollout_s"], parts, atol=2.0)


def test_overload_is_rejected_and_judged() -> None:
    small = ModelBehavior(capacity_rps=10)  # 10 pods × 10 rps < 150 rps at 50 %
    res = simulate(
        Canary(),
        baseline=GOOD,
        candidate=small,
        traffic=Traffic(rps=300),
        n_runs=10,
        random_state=0,
    )
    assert res.runs["rolled_back"].all()
    assert (res.runs["dropped_requests"] > 0).all()


_BASE_CONV = ModelBehavior(conversion_rate=0.10)
_BASE_ACC = ModelBehavior(accuracy=0.9, label_delay_s=120)


@pytest.mark.parametrize(
    ("strategy", "baseline", "candidate", "judge"),
    [
        (Recreate(), GOOD, ModelBehavior(error_rate=0.05), ThresholdGate()),
        (Ramped(), GOOD, ModelBehavior(error_rate=0.05), ThresholdGate(interval_s=10)),
        (
            BlueGreen(pre_promotion_analysis=True, preview_rps=50),
            GOOD,
            ModelBehavior(error_rate=0.05),
            ThresholdGate(interval_s=30),
        ),
        (
            BlueGreen(auto_promotion_enabled=False, human_response_s=300),
            GOOD,
            GOOD,
            None,
        ),
        (
            BlueGreen(preview_replica_count=3, auto_promotion_seconds=60),
            GOOD,
            GOOD,
            None,
        ),
        (
            ABTest(method="sequential", max_duration_s=3600),
            _BASE_CONV,
            ModelBehavior(conversion_rate=0.12),
            None,
        ),
        (
            ABTest(method="bayesian", max_duration_s=3600),
            _BASE_CONV,
            ModelBehavior(conversion_rate=0.12),
            None,
        ),
        (
            Shadow(duration_s=1800),
            _BASE_ACC,
            ModelBehavior(accuracy=0.8, label_delay_s=120),
            SequentialTest(metric="accuracy"),
        ),
        (
            Shadow(duration_s=1800),
            GOOD,
            ModelBehavior(latency_median_ms=80),
            MannWhitneyJudge(metrics=("latency_p99_ms",), lifetime_s=1200),
        ),
        (
            Canary(),
            GOOD,
            ModelBehavior(
                error_rate=0.05,
                regression="under_load",
                healthy_error_rate=0.005,
                load_knee_rps=10,
            ),
            SequentialTest(),
        ),
        (
            Canary(steps=({"setWeight": 10}, {"pause": {"duration": "30m"}})),
            GOOD,
            ModelBehavior(
                error_rate=0.05,
                regression="gradual",
                healthy_error_rate=0.005,
                ramp_s=900,
            ),
            SequentialTest(),
        ),
        (
            Canary(
                steps=(
                    {"setWeight": 10},
                    {"analysis": {}},
                    {"setWeight": 50},
                    {"analysis": {}},
                )
            ),
            GOOD,
            GOOD,
            ThresholdGate(count=3, interval_s=60, max_value=0.03),
        ),
        (Canary(), GOOD, ModelBehavior(error_rate=0.05), BayesianLoss()),
        (Canary(), GOOD, ModelBehavior(error_rate=0.05), FixedHorizonTest()),
    ],
)
@pytest.mark.parametrize("pattern", ["constant", "diurnal", "trace"])
def test_every_combination_decides_consistently(
    strategy: object,
    baseline: ModelBehavior,
    candidate: ModelBehavior,
    judge: object,
    pattern: str,
) -> None:
    traffic = Traffic(
        rps=300,
        pattern=pattern,
        trace=(100, 300, 600) if pattern == "trace" else None,
        trace_step_s=60,
    )
    res = simulate(
        strategy,
        baseline=baseline,
        candidate=candidate,
        traffic=traffic,  # type: ignore[arg-type]
        judge=judge,
        n_runs=8,
        random_state=0,
    )  # type: ignore[arg-type]
    r = res.runs
    assert not (r["rolled_back"] & r["promoted"]).any()
    better = baseline.error_rate >= candidate.error_rate and (
        candidate.accuracy or 1
    ) >= (baseline.accuracy or 0)
    if better and candidate.latency_median_ms <= baseline.latency_median_ms:
        assert r["promoted"].all()  # the good candidates here are clearly good
    else:
        assert r["rolled_back"].all()  # ... and the bad ones clearly bad
        assert r["time_to_detect_s"].notna().all()
    assert (r["time_to_recover_s"].dropna() >= r["time_to_detect_s"].dropna()).all()


@settings(max_examples=40, deadline=None)
@given(
    replicas=st.integers(1, 30),
    surge=st.sampled_from(["0%", "10%", "25%", "50%", 0, 1, 3]),
    unavailable=st.sampled_from(["0%", "25%", "50%", 0, 1, 2]),
    seed=st.integers(0, 10_000),
)
def test_rolling_update_respects_surge_and_unavailable(
    replicas: int, surge: object, unavailable: object, seed: int
) -> None:
    try:
        ramp = Ramped(replicas=replicas, max_surge=surge, max_unavailable=unavailable)  # type: ignore[arg-type]
    except RolloutError:
        return  # both zero after rounding: Kubernetes rejects it too
    low, high = ramp.bounds()
    starts = np.random.default_rng(seed).uniform(5, 60, replicas)
    ev = ramp.timeline(starts)
    assert ((ev[:, 1] + ev[:, 2]) >= min(low, replicas)).all()  # available pods
    assert (ev[:, 3] <= high).all()  # total pods
    assert ev[-1, 1] == 0
    assert ev[-1, 2] == replicas
