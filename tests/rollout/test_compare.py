"""compare(): intervals over runs, P(detect by a deadline), exposure to a bad
version, time-varying error rates (issue 19)."""

from __future__ import annotations

import numpy as np
import pytest

from mlopskit.rollout import (
    BlueGreen,
    Canary,
    ModelBehavior,
    Ramped,
    SequentialTest,
    Traffic,
    compare,
    is_worse,
    simulate,
)

GOOD = ModelBehavior(error_rate=0.005)
BAD = ModelBehavior(error_rate=0.03)


def test_compare_reports_intervals_and_deadline_detection() -> None:
    table = compare(
        [Canary(), Canary(threshold=1), BlueGreen()],
        baseline=GOOD,
        candidate=BAD,
        traffic=Traffic(rps=500),
        judge=SequentialTest(),
        n_runs=40,
        random_state=0,
        deadline_s=200,
    )
    assert list(table.index) == ["Canary", "Canary#1", "BlueGreen"]
    # Flagger at threshold 5 rolls back 360 s after the first weight: never by
    # 200 s; at threshold 1, 120 s: always
    assert table.loc["Canary", "p_detect_by_deadline"] == 0.0
    assert table.loc["Canary#1", "p_detect_by_deadline"] == 1.0
    # Wilson 95 % intervals bracket the estimate and stay in [0, 1]
    for key in ("p_rollback", "p_promote", "p_detect_by_deadline"):
        low, mid, high = (table[f"{key}_ci_low"], table[key], table[f"{key}_ci_high"])
        assert ((low <= mid) & (mid <= high)).all()
        assert ((low >= 0) & (high <= 1)).all()
    assert table.loc["Canary#1", "p_detect_by_deadline_ci_low"] > 0.9  # 40/40
    # exposure named after the bad version, with a 5–95 % interval over runs
    for name in ("requests_exposed_to_bad_version", "users_exposed_to_bad_version"):
        assert (table[f"{name}_q05"] <= table[name]).all()
        assert (table[name] <= table[f"{name}_q95"]).all()
    assert "requests_on_candidate" not in table.columns
    # threshold 1 exposes fewer requests than threshold 5 in every quantile
    bad = "requests_exposed_to_bad_version"
    assert table.loc["Canary#1", f"{bad}_q95"] < table.loc["Canary", f"{bad}_q05"]


def test_compare_matches_simulate() -> None:
    kw = {"baseline": GOOD, "candidate": BAD, "traffic": Traffic(rps=300)}
    table = compare([Canary()], n_runs=30, random_state=3, **kw)  # type: ignore[arg-type]
    runs = simulate(Canary(), n_runs=30, random_state=3, **kw).runs  # type: ignore[arg-type]
    row = table.loc["Canary"]
    assert row["p_rollback"] == runs["rolled_back"].mean()
    assert row["requests_exposed_to_bad_version"] == runs["bad_requests_served"].mean()
    assert row["requests_exposed_to_bad_version_q95"] == pytest.approx(
        runs["bad_requests_served"].quantile(0.95)
    )


def test_a_good_candidate_is_not_called_bad() -> None:
    table = compare(
        [Ramped()],
        baseline=GOOD,
        candidate=GOOD,
        traffic=Traffic(rps=100),
        n_runs=5,
        random_state=0,
    )
    assert "requests_on_candidate" in table.columns
    assert "requests_exposed_to_bad_version" not in table.columns
    assert not is_worse(GOOD, GOOD)
    assert is_worse(GOOD, ModelBehavior(error_rate=0.005, latency_median_ms=80))
    assert is_worse(ModelBehavior(accuracy=0.9), ModelBehavior(accuracy=0.85))


def test_time_varying_error_rates() -> None:
    # a step 10 min after the candidate starts serving, a ramp over 20 min, and
    # errors that follow a diurnal load curve (overloaded pods above 60 rps each)
    step = ModelBehavior(
        error_rate=0.03, regression="step", healthy_error_rate=0.005, onset_s=600
    )
    ramp = ModelBehavior(
        error_rate=0.03, regression="ramp", healthy_error_rate=0.005, ramp_s=1200
    )
    assert (step.regression, ramp.regression) == ("after_warmup", "gradual")
    canary = Canary(steps=({"setWeight": 50}, {"pause": {"duration": "1h"}}))
    kw = {
        "baseline": GOOD,
        "traffic": Traffic(rps=500),
        "judge": SequentialTest(),
        "n_runs": 20,
        "random_state": 0,
    }
    t_step = simulate(canary, candidate=step, **kw).runs  # type: ignore[arg-type]
    t_ramp = simulate(canary, candidate=ramp, **kw).runs  # type: ignore[arg-type]
    t_now = simulate(canary, candidate=BAD, **kw).runs  # type: ignore[arg-type]
    assert t_step["rolled_back"].all()
    assert t_ramp["rolled_back"].all()
    # nothing to detect before the step; an immediate regression is caught first
    assert (t_step["time_to_detect_s"] >= 600).all()
    assert t_now["time_to_detect_s"].median() < t_ramp["time_to_detect_s"].median()
    assert t_ramp["time_to_detect_s"].median() < 1200
    # diurnal: 500 rps ± 50 %, 750 rps at the peak and 250 at the trough; at a
    # 50 % weight the 5 canary pods carry 75 vs 25 rps each (the knee is 60)
    load = ModelBehavior(
        error_rate=0.05,
        regression="under_load",
        healthy_error_rate=0.005,
        load_knee_rps=60,
    )
    base_load = ModelBehavior(
        error_rate=0.05,
        regression="under_load",
        healthy_error_rate=0.005,
        load_knee_rps=1e9,
    )
    trough = Traffic(rps=500, pattern="diurnal", amplitude=0.5, phase_s=64800)
    peak = Traffic(rps=500, pattern="diurnal", amplitude=0.5, phase_s=21600)
    common = {
        "baseline": base_load,
        "candidate": load,
        "judge": SequentialTest(),
        "n_runs": 20,
        "random_state": 0,
    }
    half = Canary(steps=({"setWeight": 50}, {"pause": {"duration": "30m"}}))
    at_trough = simulate(half, traffic=trough, **common).runs  # type: ignore[arg-type]
    at_peak = simulate(half, traffic=peak, **common).runs  # type: ignore[arg-type]
    # the same candidate fails only when the load curve pushes pods past the knee
    assert at_peak["rolled_back"].all()
    # at the trough only the sequential test's false alarms (≤ alpha = 0.05):
    # P(more than 4 of 20) < 0.003 under Binomial(20, 0.05)
    assert at_trough["rolled_back"].sum() <= 4
    assert np.isfinite(at_peak["time_to_detect_s"]).any()
