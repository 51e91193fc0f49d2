"""The trigger rules on their own: hysteresis, cooldown, the baseline, Wilson's bound."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from scipy.stats import binomtest

from mlopskit.loop import LoopEvent, MonitorOutcome
from mlopskit.loop._triggers import TriggerState, wilson_upper

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def monitor(drift: bool, name: str = "features") -> MonitorOutcome:
    return MonitorOutcome(
        name=name, on="features", drift=drift, statistic=0.0, method="test"
    )


def event(seq: int, decision: Any, **kw: Any) -> LoopEvent:
    return LoopEvent(
        seq=seq,
        kind="observe",
        decision=decision,
        created_at=T0,
        model_name="m",
        rows=kw.pop("rows", 100),
        **kw,
    )


def evaluate(state: TriggerState, drift: bool, performance: float | None = None) -> Any:
    return state.evaluate(
        (monitor(drift),), performance, drop=0.05, cooldown=2, scheduled=False
    )


def test_a_sustained_drift_fires_once_until_a_clean_batch_rearms_it() -> None:
    state = TriggerState()
    fired, _ = evaluate(state, drift=True)
    assert fired == ("drift:features",)
    state.record(
        event(2, "refused", triggers=fired, monitors=(monitor(True),)),
        baseline_rows=100,
        cooldown=2,
    )
    for seq in range(3, 8):  # still drifting: held back (cooldown, then hysteresis)
        fired, held = evaluate(state, drift=True)
        assert fired == ()
        assert held == ("drift:features",)
        state.record(
            event(seq, "no-change", monitors=(monitor(True),), suppressed=held),
            baseline_rows=100,
            cooldown=2,
        )
    state.record(
        event(8, "no-change", monitors=(monitor(False),)), baseline_rows=100, cooldown=2
    )
    assert evaluate(state, drift=True)[0] == ("drift:features",)  # re-armed


def test_cooldown_holds_back_every_trigger_for_two_batches() -> None:
    state = TriggerState(baseline=0.9)
    state.record(
        event(2, "promoted", candidate_score=0.9), baseline_rows=100, cooldown=2
    )
    for seq in (3, 4):
        fired, held = evaluate(state, drift=False, performance=0.5)
        assert fired == ()
        assert held == ("performance",)
        state.record(
            event(seq, "no-change", performance=0.5, suppressed=held),
            baseline_rows=100,
            cooldown=2,
        )
    assert evaluate(state, drift=False, performance=0.5)[0] == ("performance",)


def test_the_baseline_is_pooled_from_fresh_rows_of_quiet_batches() -> None:
    state = TriggerState()
    state.start(0.99)  # the pipeline's own (optimistic) metric, until measured
    for seq, score in ((2, 0.80), (3, 0.90)):
        state.record(
            event(seq, "no-change", performance=score, rows=60),
            baseline_rows=100,
            cooldown=2,
        )
    assert state.baseline == pytest.approx(0.85)  # 120 pooled rows
    assert state.baseline_final
    # Once measured it stays: a later quiet batch does not move it.
    state.record(
        event(4, "no-change", performance=0.5, rows=500), baseline_rows=100, cooldown=2
    )
    assert state.baseline == pytest.approx(0.85)
    # A promotion sets it to the new model's held-out score.
    state.record(
        event(5, "promoted", candidate_score=0.88), baseline_rows=100, cooldown=2
    )
    assert state.baseline == 0.88


def test_a_batch_with_a_held_back_trigger_is_not_pooled() -> None:
    state = TriggerState()
    state.record(
        event(2, "no-change", performance=0.5, suppressed=("drift:features",)),
        baseline_rows=100,
        cooldown=2,
    )
    assert state.baseline is None
    assert state.baseline_rows == 0


def test_the_performance_trigger_uses_the_upper_bound_when_given() -> None:
    state = TriggerState(baseline=0.9)
    # 0.84 < 0.85, but the batch's upper bound (0.90) is not: noise, no trigger.
    kw: dict[str, Any] = {"drop": 0.05, "cooldown": 2, "scheduled": False}
    assert state.evaluate((), 0.84, upper=0.90, **kw)[0] == ()
    assert state.evaluate((), 0.84, **kw)[0] == ("performance",)


@pytest.mark.parametrize(("k", "n"), [(90, 100), (0, 50), (50, 50), (137, 150)])
def test_wilson_upper_matches_scipy(k: int, n: int) -> None:
    expected = binomtest(k, n).proportion_ci(confidence_level=0.98, method="wilson")
    assert wilson_upper(k / n, n) == pytest.approx(expected.high, abs=1e-12)
