"""The promotion gates' decisions, at their boundaries (written to kill the mutants
`benchmarks/mutation.py registry` found alive: ``>=`` vs ``>``, the sign of the
tolerance, a holder without the metric, the shapes a gate may return)."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest

from mlopskit.errors import RegistryError
from mlopskit.registry import GateOutcome, ModelVersion, metric_not_worse
from mlopskit.registry._gates import run_gate
from mlopskit.schema import Column, Schema

_AT = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _mv(version: int, schema: Schema | None = None, **metrics: float) -> ModelVersion:
    return ModelVersion(
        name="m",
        version=version,
        digest=f"d{version}",
        created_at=_AT,
        metrics=metrics,
        input_schema=None if schema is None else schema.to_json(),
    )


# Values chosen exact in binary floating point, so the boundaries are exact too.
@pytest.mark.parametrize(
    ("value", "passed"),
    [(0.5, True), (0.625, True), (0.75, True), (0.875, True), (0.4999, False)],
)
def test_higher_is_better_passes_down_to_the_tolerance_and_not_below(
    value: float, passed: bool
) -> None:
    gate = metric_not_worse("auc", tolerance=0.25)
    outcome = gate(_mv(2, auc=value), _mv(1, auc=0.75))
    assert outcome.passed is passed
    assert outcome.gate == "auc_not_worse"
    verdict = "is not below" if passed else "is below"
    assert outcome.reason == (
        f"auc {value:g} {verdict} the current holder's 0.75 (v1, tolerance 0.25)"
    )


def test_without_tolerance_a_tie_passes_and_anything_worse_fails() -> None:
    gate = metric_not_worse("auc")
    assert gate(_mv(2, auc=0.75), _mv(1, auc=0.75)).passed
    assert not gate(_mv(2, auc=math.nextafter(0.75, 0.0)), _mv(1, auc=0.75)).passed


@pytest.mark.parametrize(
    ("value", "passed"),
    [(1.25, True), (1.125, True), (1.0, True), (0.5, True), (1.2501, False)],
)
def test_lower_is_better_passes_up_to_the_tolerance_and_not_above(
    value: float, passed: bool
) -> None:
    gate = metric_not_worse("rmse", higher_is_better=False, tolerance=0.25)
    outcome = gate(_mv(2, rmse=value), _mv(1, rmse=1.0))
    assert outcome.passed is passed
    verdict = "is not above" if passed else "is above"
    assert outcome.reason.startswith(f"rmse {value:g} {verdict} the current holder's 1")


@pytest.mark.parametrize("ref", [None, float("nan")])
def test_a_holder_without_the_metric_lets_the_candidate_pass(ref: float | None) -> None:
    holder = _mv(1) if ref is None else _mv(1, auc=ref)
    outcome = metric_not_worse("auc")(_mv(2, auc=0.1), holder)
    assert outcome == GateOutcome(
        gate="auc_not_worse",
        passed=True,
        reason="the current holder (v1) has no 'auc'",
    )


@pytest.mark.parametrize("value", [None, float("nan")])
def test_a_candidate_without_the_metric_fails(value: float | None) -> None:
    candidate = _mv(2) if value is None else _mv(2, auc=value)
    for holder in (None, _mv(1, auc=0.5)):
        outcome = metric_not_worse("auc")(candidate, holder)
        assert outcome == GateOutcome(
            gate="auc_not_worse",
            passed=False,
            reason="the candidate (v2) has no 'auc' metric",
        )


def test_no_holder_passes_with_that_reason() -> None:
    outcome = metric_not_worse("auc")(_mv(2, auc=0.1), None)
    assert outcome == GateOutcome(
        gate="auc_not_worse", passed=True, reason="no current holder"
    )


@pytest.mark.parametrize("metric", ["", None, 3])
def test_the_metric_must_be_a_non_empty_name(metric: object) -> None:
    with pytest.raises(RegistryError, match=r"`metric` must be a non-empty str\. Got"):
        metric_not_worse(metric)  # type: ignore[arg-type]


@pytest.mark.parametrize("tolerance", [-0.1, float("inf"), float("nan")])
def test_the_tolerance_must_be_finite_and_not_negative(tolerance: float) -> None:
    with pytest.raises(RegistryError, match="`tolerance` must be a finite number"):
        metric_not_worse("auc", tolerance=tolerance)


def test_bool_and_tuple_outcomes_are_normalised() -> None:
    def yes(candidate: ModelVersion, current: ModelVersion | None) -> bool:
        return True

    def no(candidate: ModelVersion, current: ModelVersion | None) -> bool:
        return False

    assert run_gate(yes, _mv(2), None) == GateOutcome(
        gate="yes", passed=True, reason="passed"
    )
    assert run_gate(no, _mv(2), None) == GateOutcome(
        gate="no", passed=False, reason="failed"
    )
    outcome = run_gate(lambda c, h: (False, 42), _mv(2), None)
    assert outcome == GateOutcome(gate="<lambda>", passed=False, reason="42")
    given = GateOutcome(gate="mine", passed=True, reason="as given")
    assert run_gate(lambda c, h: given, _mv(2), None) is given


class _Callable:
    """A gate object: no ``__name__``, so its class name names it."""

    def __call__(self, candidate: ModelVersion, current: ModelVersion | None) -> bool:
        raise ValueError("boom")


def test_a_crashing_gate_fails_and_a_gate_object_is_named_by_its_class() -> None:
    outcome = run_gate(_Callable(), _mv(2), None)
    assert outcome == GateOutcome(
        gate="_Callable", passed=False, reason="raised ValueError: boom"
    )


@pytest.mark.parametrize(
    "out",
    [[True, "a list"], (True, "a", "b"), ("yes", "r"), 1, None],
    ids=["list", "triple", "non-bool", "int", "none"],
)
def test_any_other_return_is_an_error_naming_the_gate(out: object) -> None:
    def odd(candidate: ModelVersion, current: ModelVersion | None) -> object:
        return out

    with pytest.raises(RegistryError, match=r"Gate 'odd' must return") as info:
        run_gate(odd, _mv(2), None)
    assert f"Got {type(out).__name__} instead" in str(info.value)
    assert info.value.gate == "odd"


def test_schema_gate_reasons() -> None:
    from mlopskit.registry import schema_compatible

    base = Schema(columns={"x": Column(dtype="float")})
    gate = schema_compatible()
    for holder in (None, _mv(1)):
        assert gate(_mv(2, base), holder) == GateOutcome(
            gate="input_schema_compatible",
            passed=True,
            reason="no schema to compare with",
        )
    assert gate(_mv(2, base), _mv(1, base)) == GateOutcome(
        gate="input_schema_compatible",
        passed=True,
        reason="input schema is backward compatible",
    )
    refused = gate(_mv(2), _mv(1, base))
    assert refused == GateOutcome(
        gate="input_schema_compatible",
        passed=False,
        reason="the current holder (v1) has an input schema and the candidate (v2) "
        "has none",
    )
    tighter = gate(_mv(2, base.with_column("x", ge=1.0)), _mv(1, base))
    assert not tighter.passed
    assert tighter.reason.startswith(
        "input schema is not backward compatible with v1's: "
    )
