"""Bad parameters raise RolloutError with a message; Go durations parse (issue 19)."""

from __future__ import annotations

import pytest

from mlopskit.errors import MlopsKitError, RolloutError
from mlopskit.rollout import Canary, Ramped, ThresholdGate, Traffic, sample_size
from mlopskit.rollout._base import parse_duration, resolve_fenceposts


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1h30m", 5400.0),
        ("90s", 90.0),
        ("10m", 600.0),
        ("1.5h", 5400.0),
        ("300ms", 0.3),
        ("2m30.5s", 150.5),
        ("1h0m0s", 3600.0),
        ("45", 45.0),  # Argo: a bare integer string is seconds
        (30, 30.0),
    ],
)
def test_go_durations_parse(text: object, seconds: float) -> None:
    assert parse_duration("d", text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "1 h", "-5s", "1d", "m", "1h-30m", "5x"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(RolloutError, match="Go duration"):
        parse_duration("d", text)


def test_pause_accepts_a_go_duration() -> None:
    canary = Canary(steps=({"setWeight": 10}, {"pause": {"duration": "1h30m"}}))
    assert canary.parsed_steps()[1] == (1, 5400.0)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: sample_size(0.01, 0.01), "p1"),
        (lambda: sample_size(0.01, 0.02, alpha=2), "alpha"),
        (lambda: sample_size(0.01, 0.02, power=1.0), "power"),
        (lambda: sample_size(0.0, 0.02), "p0"),
        (lambda: Traffic(rps=0), "rps"),
        (lambda: ThresholdGate(max_value=-1), "max_value"),
        (lambda: ThresholdGate(max_value=1.5), "max_value"),
        (lambda: ThresholdGate(min_value=0.5, max_value=0.1), "min_value"),
        (lambda: ThresholdGate(max_value=0.1, failure_max=0.05), "failure_max"),
        (lambda: Ramped(max_unavailable="200%"), "max_unavailable"),
        (lambda: Ramped(max_surge="2.5%"), "max_surge"),
        (lambda: Ramped(max_surge=0, max_unavailable="0%"), "max_unavailable"),
        (lambda: Canary(steps=[]), "steps"),
        (lambda: Canary(steps={"setWeight": 10}), "steps"),
    ],
)
def test_bad_parameters_raise_rollout_errors(call: object, field: str) -> None:
    with pytest.raises(RolloutError) as info:
        call()  # type: ignore[operator]
    err = info.value
    assert isinstance(err, MlopsKitError)
    assert isinstance(err, ValueError)
    assert err.field == field  # type: ignore[attr-defined]
    assert f"`{field}`" in str(err)
    assert "Got" in str(err)


def test_latency_thresholds_may_exceed_one() -> None:
    assert ThresholdGate(metric="latency_p99_ms", max_value=250).max_value == 250


def test_kubernetes_fenceposts_that_round_to_zero_are_valid() -> None:
    # maxSurge 0 % and maxUnavailable 10 % of 5 replicas: both round to 0, and
    # Kubernetes' ResolveFenceposts then sets maxUnavailable to 1
    assert resolve_fenceposts("0%", "10%", 5) == (0, 1)
    ramp = Ramped(replicas=5, max_surge="0%", max_unavailable="10%")
    assert ramp.bounds() == (4, 5)
    events = ramp.timeline([30.0] * 5)
    assert (events[:, 1] + events[:, 2]).min() == 4  # one pod down at a time
    assert events[:, 3].max() == 5  # never a surge pod
    assert events[-1, 2] == 5
    assert events[-1, 1] == 0
    # surge rounds up, unavailable down (GetScaledValueFromIntOrPercent)
    assert resolve_fenceposts("1%", "99%", 10) == (1, 9)
    assert resolve_fenceposts(2, 0, 10) == (2, 0)
