"""Timelines checked against the controllers' source code (issue 19).

Each test names the controller behaviour it checks and the source it was read
from; docs/rollout.md keeps the same table. Deterministic arithmetic, so exact
assertions (times are exact to the 1-s tick).
"""

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
    Shadow,
    Strategy,
    ThresholdGate,
    Traffic,
    simulate,
    timeline,
)

GOOD = ModelBehavior(error_rate=0.005)
BROKEN = ModelBehavior(error_rate=0.5)  # every check fails
GREY = ModelBehavior(error_rate=0.05)  # between a 1 % success and a 20 % failure bound
TRAFFIC = Traffic(rps=1000)


def _first(tl_rows, column: str, value: object) -> float:
    hit = tl_rows.loc[tl_rows[column] == value, "t_s"]
    assert len(hit), f"no row with {column} == {value!r}"
    return float(hit.iloc[0])


# -- Flagger (fluxcd/flagger v1.44.0, pkg/controller/scheduler.go) -----------------


def test_flagger_caps_weights_at_the_total_not_at_max_weight() -> None:
    # runCanary adds stepWeight while canaryWeight < maxWeight, capping at 100
    assert Canary(step_weight=20, max_weight=50).schedule() == [0.2, 0.4, 0.6]
    assert Canary(step_weight=10, max_weight=50).schedule() == [
        0.1,
        0.2,
        0.3,
        0.4,
        0.5,
    ]
    assert Canary(step_weight=30, max_weight=80).schedule() == [0.3, 0.6, 0.9]
    assert Canary(step_weight=60, max_weight=70).schedule() == [0.6, 1.0]
    tl = timeline(
        Canary(step_weight=20, max_weight=50),
        baseline=GOOD,
        candidate=GOOD,
        traffic=TRAFFIC,
        random_state=0,
    )
    weights = tl.to_frame().query("phase == 'Progressing'")["set_weight"]
    assert sorted(set(weights) - {0.0}) == [20.0, 40.0, 60.0]


@pytest.mark.parametrize(("step", "top"), [(20, 50), (10, 50), (2, 50), (15, 40)])
def test_flagger_promotes_one_interval_after_the_last_step(
    step: float, top: float
) -> None:
    canary = Canary(step_weight=step, max_weight=top, interval_s=60)
    tl = timeline(
        canary, baseline=GOOD, candidate=GOOD, traffic=TRAFFIC, random_state=1
    )
    rows = tl.to_frame()
    t0 = _first(rows, "canary_share", step / 100)  # the first weight is set
    n_steps = len(canary.schedule())
    assert n_steps == math.ceil(top / step)
    promoting = _first(rows, "phase", "Promoting")
    assert promoting - t0 == 60 * n_steps  # one passing check per weight
    finalising = _first(rows, "phase", "Finalising")
    # at least one interval Promoting (longer while the primary rolls over),
    # then one Finalising, then Succeeded
    assert finalising - promoting >= 60
    assert (finalising - promoting) % 60 == 0
    assert _first(rows, "phase", "Succeeded") - finalising == 60
    # during Promoting the canary keeps the last weight while the primary rolls
    # over to the new spec, so the new version's share only grows; Finalising is
    # all-new
    prom = rows.query("phase == 'Promoting'")
    np.testing.assert_allclose(prom["set_weight"], 100 * canary.schedule()[-1])
    assert prom["canary_share"].iloc[0] == pytest.approx(canary.schedule()[-1])
    assert prom["canary_share"].is_monotonic_increasing
    assert (prom["ready_stable"] + prom["ready_canary"] >= 2 * 10 - 3).all()
    assert (rows.query("phase == 'Finalising'")["canary_share"] == 1.0).all()
    assert tl.outcome == "promoted"


@pytest.mark.parametrize(("threshold", "expected"), [(1, 120), (3, 240), (5, 360)])
def test_flagger_rolls_back_the_tick_after_threshold_failed_checks(
    threshold: int, expected: float
) -> None:
    # failed checks at 60, 120, … after the first weight; FailedChecks >= threshold
    # is tested at the start of the next tick, before its analysis
    res = simulate(
        Canary(threshold=threshold, interval_s=60),
        baseline=GOOD,
        candidate=BROKEN,
        traffic=TRAFFIC,
        n_runs=20,
        random_state=0,
    )
    assert res.runs["rolled_back"].all()
    np.testing.assert_allclose(res.runs["time_to_detect_s"], expected)
    assert expected == 60 * (threshold + 1)


def test_flagger_step_weights_are_walked_in_order() -> None:
    tl = timeline(
        Canary(step_weights=(1, 5, 25, 80)),
        baseline=GOOD,
        candidate=GOOD,
        traffic=TRAFFIC,
        random_state=0,
    )
    rows = tl.to_frame().query("phase == 'Progressing' and set_weight > 0")
    assert list(dict.fromkeys(rows["set_weight"])) == [1.0, 5.0, 25.0, 80.0]


# -- Argo Rollouts basic canary (argoproj/argo-rollouts 9f8d111,
#    utils/replicaset/canary.go approximateWeightedCanaryStableReplicaCounts) --------


def _argo_rule(replicas: int, weight: int, surge: int) -> tuple[int, int]:
    """An independent transcription of Argo's documented rule: the candidate
    (canary, total) pairs in Argo's order, the first with the smallest |share − w|."""
    exact = replicas * weight / 100
    lo, hi = math.floor(exact), math.ceil(exact)

    def tie(total: int) -> bool:
        return (total * weight) % 100 == 50

    zero_ok = weight in (0, 100) or (replicas == 1 and surge == 0)
    cands = []
    if hi < replicas or zero_ok:
        cands.append((hi, replicas))
    if not tie(replicas) and (lo > 0 or zero_ok):
        cands.append((lo, replicas))
    if surge > 0:
        cands.append((hi, replicas + 1))
        if not tie(replicas + 1) and (lo > 0 or zero_ok):
            cands.append((lo, replicas + 1))
    if not cands:  # Argo: "should not get here" → (0, spec.replicas)
        return 0, replicas
    deltas = [abs(100 * c / t - weight) for c, t in cands]
    c, t = cands[deltas.index(min(deltas))]
    return c, t - c


@pytest.mark.parametrize(
    ("replicas", "weight", "expected"),
    [(10, 5, (1, 10)), (10, 4, (1, 10)), (3, 50, (2, 2)), (10, 41, (4, 6))],
)
def test_argo_basic_canary_uses_a_surge_pod(
    replicas: int, weight: int, expected: tuple[int, int]
) -> None:
    canary = Canary(replicas=replicas, traffic_routing=False)
    assert canary.replica_counts(weight) == expected


def test_argo_basic_canary_over_many_pairs() -> None:
    for replicas in range(1, 31):
        for weight in range(101):
            for surge, unavailable in (("25%", "25%"), (0, 1)):
                canary = Canary(
                    replicas=replicas,
                    traffic_routing=False,
                    max_surge=surge,
                    max_unavailable=unavailable,
                )
                s = canary._fenceposts()[0]
                c, st = canary.replica_counts(weight)
                assert (c, st) == _argo_rule(replicas, weight, s), (replicas, weight)
                tie_at_top = s == 0 and math.ceil(replicas * weight / 100) == replicas
                tie_at_top &= (replicas * weight) % 100 == 50
                if 0 < weight < 100 and not (replicas == 1 and s == 0):
                    # never 0 canary pods for a positive weight — except Argo's own
                    # corner: no surge, the ceiling is every pod and the floor ties
                    # (2 replicas at 75 %), where its code falls back to (0, replicas)
                    assert c >= 1 or tie_at_top, (replicas, weight)
                    if tie_at_top:
                        assert (c, st) == (0, replicas)
                assert replicas <= c + st <= replicas + (1 if s else 0)


def test_argo_basic_canary_timeline_shares_traffic_by_ready_pods() -> None:
    for replicas, weight, share in ((10, 5, 1 / 11), (3, 50, 0.5), (10, 4, 1 / 11)):
        tl = timeline(
            Canary(
                replicas=replicas,
                traffic_routing=False,
                steps=({"setWeight": weight}, {"pause": {"duration": 120}}),
            ),
            baseline=GOOD,
            candidate=GOOD,
            traffic=TRAFFIC,
            random_state=0,
        )
        paused = tl.to_frame().query("phase == 'Paused'")
        assert len(paused) == 120  # the pause starts once the pods are available
        np.testing.assert_allclose(paused["canary_share"], share)
        c, s = Canary(replicas=replicas, traffic_routing=False).replica_counts(weight)
        assert (paused["ready_canary"] == c).all()
        assert (paused["ready_stable"] == s).all()


def test_argo_traffic_router_keeps_the_old_weight_until_pods_are_ready() -> None:
    # rollout/trafficrouting.go: !atDesiredReplicaCount → the previous setWeight
    tl = timeline(
        Canary(replicas=10, steps=({"setWeight": 30}, {"pause": {"duration": 60}})),
        baseline=GOOD,
        candidate=GOOD,
        traffic=TRAFFIC,
        random_state=0,
    )
    rows = tl.to_frame()
    waiting = rows.query("ready_canary < 3 and phase == 'Progressing' and step == 0")
    assert len(waiting) > 0
    assert (waiting["canary_share"] == 0).all()
    assert (rows.query("phase == 'Paused'")["canary_share"] == 0.3).all()
    assert (rows.query("phase == 'Paused'")["ready_stable"] == 10).all()


# -- Argo analysis (analysis/analysis.go generateMetricTasks, assessMetric...) -------

_STEPS = ({"setWeight": 20}, {"pause": {"duration": 120}}, {"analysis": {}})


def test_argo_first_measurement_is_taken_when_the_analysis_starts() -> None:
    gate = ThresholdGate(max_value=0.01, interval_s=60, count=5)
    tl = timeline(
        Canary(steps=_STEPS),
        baseline=GOOD,
        candidate=GOOD,
        traffic=TRAFFIC,
        judge=gate,
        random_state=0,
    )
    rows = tl.to_frame()
    start = _first(rows, "step", 2)
    # measurements at 0, 60, 120, 180, 240 s: Successful (count 5) at 240 s
    taken = rows.loc[rows["measurements"].diff() > 0, "t_s"] - start
    assert taken.tolist() == [0.0, 60.0, 120.0, 180.0, 240.0]
    assert _first(rows, "step", 3) - start == 240
    assert tl.outcome == "promoted"


def test_argo_failure_limit_aborts_after_limit_plus_one_failures() -> None:
    # failureLimit 2: Failed when failed > 2, i.e. the 3rd failure at 0, 60, 120 s
    gate = ThresholdGate(max_value=0.01, interval_s=60, failure_limit=2)
    tl = timeline(
        Canary(steps=_STEPS),
        baseline=GOOD,
        candidate=BROKEN,
        traffic=TRAFFIC,
        judge=gate,
        random_state=0,
    )
    rows = tl.to_frame()
    start = _first(rows, "step", 2)
    assert _first(rows, "phase", "Degraded") - start == 120
    assert tl.outcome == "rolled_back"


@pytest.mark.parametrize(("limit", "failures"), [(0, 1), (3, 4)])
@pytest.mark.parametrize("seed", [0, 1])
def test_argo_background_failure_limit(limit: int, failures: int, seed: int) -> None:
    steps = ({"setWeight": 20}, {"pause": {"duration": "1h"}})
    gate = ThresholdGate(interval_s=60, failure_limit=limit, initial_delay_s=60)
    tl = timeline(
        Canary(steps=steps),
        baseline=GOOD,
        candidate=BROKEN,
        traffic=TRAFFIC,
        judge=gate,
        random_state=seed,
    )
    # the background run starts with the update (t=0); after initialDelay the
    # failures come at 60, 120, … s and the run fails at the (limit+1)-th
    assert _first(tl.to_frame(), "phase", "Degraded") == 60 * failures
    assert tl.outcome == "rolled_back"


def test_argo_no_data_is_an_error_retried_every_10_seconds() -> None:
    # a measurement without data is an Error (not counted), retried after
    # DefaultErrorRetryInterval = 10 s; > consecutiveErrorLimit (4) → Error → abort
    slow = ModelBehavior(
        error_rate=0.005, model_load_s=300, startup_sigma=0, readiness_period_s=0
    )
    steps = ({"setWeight": 20}, {"pause": {"duration": "10m"}})
    tl = timeline(
        Canary(steps=steps),
        baseline=GOOD,
        candidate=slow,
        traffic=TRAFFIC,
        judge=ThresholdGate(interval_s=60),
        random_state=0,
    )
    rows = tl.to_frame()
    taken = rows.loc[rows["measurements"].diff() > 0, "t_s"].tolist()
    # errors at 0, 10, 20, 30 and 40 s; the fifth (> 4) ends the run
    assert taken == [10.0, 20.0, 30.0]
    assert int(rows["measurements"].iloc[0]) == 1
    assert _first(rows, "phase", "Degraded") == 40
    ok = timeline(
        Canary(steps=steps),
        baseline=GOOD,
        candidate=slow,
        traffic=TRAFFIC,
        judge=ThresholdGate(interval_s=60, consecutive_error_limit=100),
        random_state=0,
    )
    assert ok.outcome == "promoted"


def test_argo_promote_after_inconclusive_moves_to_the_next_step() -> None:
    # promote.go: an Inconclusive pause → currentStepIndex + 1
    gate = ThresholdGate(max_value=0.01, failure_max=0.2, interval_s=60)
    steps = (*_STEPS, {"setWeight": 50}, {"pause": {"duration": 60}})
    tl = timeline(
        Canary(steps=steps, human_response_s=300),
        baseline=GOOD,
        candidate=GREY,
        traffic=TRAFFIC,
        judge=gate,
        random_state=0,
    )
    rows = tl.to_frame()
    paused = _first(rows, "phase", "Paused (Inconclusive)")
    resumed = _first(rows, "step", 3)
    assert resumed > paused
    assert rows.loc[rows["t_s"] == resumed - 1, "phase"].iloc[0] == (
        "Paused (Inconclusive)"
    )
    assert rows.loc[rows["t_s"] > resumed, "step"].max() >= 4  # past the analysis
    assert tl.outcome == "promoted"


def test_timeline_is_a_frozen_result_that_round_trips() -> None:
    from mlopskit.rollout import Timeline

    tl = timeline(
        Canary(steps=_STEPS),
        baseline=GOOD,
        candidate=GOOD,
        traffic=TRAFFIC,
        judge=ThresholdGate(count=2, interval_s=60),
        random_state=0,
    )
    back = Timeline.from_json(tl.to_json())
    assert back == tl
    frame = tl.to_frame()
    frame.loc[0, "pods"] = -1.0  # a copy: the result is not changed
    assert tl.rows.loc[0, "pods"] != -1.0
    with pytest.raises(Exception):  # noqa: B017, PT011 - pydantic's frozen error
        tl.outcome = "x"  # type: ignore[misc]
    # the first and the last row: the update starts, the rollout ends Healthy
    assert frame["t_s"].iloc[0] == 0.0
    assert frame["phase"].iloc[-1] == "Healthy"
    # a Timeline replays the first run of simulate() with the same seed
    res = simulate(
        Canary(steps=_STEPS),
        baseline=GOOD,
        candidate=GOOD,
        traffic=TRAFFIC,
        judge=ThresholdGate(count=2, interval_s=60),
        n_runs=1,
        random_state=0,
    )
    assert res.runs["time_to_full_rollout_s"].iloc[0] == frame["t_s"].iloc[-1]


@pytest.mark.parametrize(
    "strategy",
    [
        Recreate(),
        Ramped(),
        BlueGreen(auto_promotion_seconds=60),
        ABTest(method="flagger", iterations=3),
        Shadow(duration_s=300),
    ],
    ids=lambda s: type(s).__name__,
)
def test_every_strategy_has_a_timeline(strategy: Strategy) -> None:
    tl = timeline(
        strategy, baseline=GOOD, candidate=GOOD, traffic=TRAFFIC, random_state=0
    )
    rows = tl.to_frame()
    assert len(rows) > 10
    assert rows["t_s"].is_monotonic_increasing
    assert rows["canary_share"].between(0, 1).all()
    assert tl.outcome in ("promoted", "no_decision")
    if isinstance(strategy, BlueGreen):
        assert "Paused" in set(rows["phase"])
