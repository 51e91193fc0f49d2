"""Shared vocabulary of the rollout block: verdict codes, validation, durations.

What does *not* belong here: the data plane (``_engine``), any strategy or judge.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from mlopskit.errors import RolloutError

__all__: list[str] = []

# Analysis states, one small integer per replication (vectorised state machines).
RUNNING = 0  #: no decision yet
PASS = 1  #: analysis successful / candidate not worse (A/B: candidate better)
FAIL = 2  #: analysis failed / candidate worse → abort, roll back
INCONCLUSIVE = 3  #: Argo's Inconclusive → the rollout pauses for a human
NO_DIFFERENCE = 4  #: a test reached its horizon without a significant difference

#: Metrics a judge can watch; ``True`` when higher is better.
METRICS = {
    "error_rate": False,
    "latency_p99_ms": False,
    "conversion_rate": True,
    "accuracy": True,
}
PROPORTION_METRICS = ("error_rate", "conversion_rate", "accuracy")


def fail(field: str, got: Any, expected: str, fix: str) -> RolloutError:
    """Build the block's standard error: what was received, expected, and the fix."""
    return RolloutError(
        f"`{field}` must be {expected}. Got {got!r} instead. {fix}",
        field=field,
        value=got,
    )


def check_number(
    field: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
    integer: bool = False,
) -> None:
    """Validate a numeric field; raise :class:`RolloutError` naming it."""
    if value is None and allow_none:
        return
    kind = "an integer" if integer else "a number"
    ok_type = (
        isinstance(value, int | np.integer)
        if integer
        else isinstance(value, int | float | np.integer | np.floating)
    )
    if isinstance(value, bool) or not ok_type or not math.isfinite(float(value)):
        raise fail(field, value, f"{kind}", f"Pass a finite {kind[2:].strip()}.")
    lo_ok = low is None or (value > low if low_open else value >= low)
    hi_ok = high is None or (value < high if high_open else value <= high)
    if not (lo_ok and hi_ok):
        lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "" if high is None else f"{high:g}" + (")" if high_open else "]")
        rng = f"in {lo or '(-inf'}, {hi or 'inf)'}"
        raise fail(field, value, f"{kind} {rng}", "Choose a value in that range.")


def check_choice(field: str, value: Any, choices: tuple[str, ...]) -> None:
    """Validate a string option."""
    if value not in choices:
        raise fail(
            field,
            value,
            f"one of {', '.join(map(repr, choices))}",
            "Pick one of those.",
        )


#: Go's ``time.ParseDuration`` units, in seconds (Argo Rollouts and Flux parse
#: their durations with it: ``"1h30m"``, ``"90s"``, ``"1.5h"``, ``"300ms"``).
_GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,
    "\u03bcs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_GO_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def parse_duration(field: str, value: Any) -> float:
    """Seconds from a number or a Go duration string (``"90s"``, ``"1h30m"``).

    Argo Rollouts parses ``pause.duration`` with its ``DurationString.Duration``
    (a bare integer means seconds, anything else goes to Go's
    ``time.ParseDuration``), Flux its ``interval`` fields with
    ``metav1.Duration``: both accept a sequence of decimal numbers each with a
    unit among ``ns``, ``us`` (``µs``), ``ms``, ``s``, ``m``, ``h``.

    Examples
    --------
    >>> parse_duration("pause.duration", "10m")
    600.0
    >>> parse_duration("pause.duration", "1h30m")
    5400.0
    >>> parse_duration("pause.duration", "1.5s"), parse_duration("pause.duration", 30)
    (1.5, 30.0)
    """
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool
    ):
        check_number(field, value, low=0)
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+", text):  # Argo: a bare integer string is seconds
            return float(text)
        if text and re.fullmatch(f"(?:{_GO_PART.pattern})+", text):
            return float(
                sum(
                    float(num) * _GO_UNITS[unit] for num, unit in _GO_PART.findall(text)
                )
            )
    raise fail(
        field,
        value,
        'a non-negative duration: seconds, or a Go duration such as "90s", "10m", '
        '"1h30m"',
        "Units are ns, us, ms, s, m and h (Go's time.ParseDuration); a bare number "
        "means seconds; negative durations are not allowed.",
    )


def parse_count(
    field: str,
    value: Any,
    replicas: int,
    *,
    round_up: bool,
    max_percent: int | None = None,
) -> int:
    """Kubernetes' int-or-percent: ``"25%"`` of ``replicas`` rounded up or down.

    Mirrors ``intstr.GetScaledValueFromIntOrPercent`` (k8s.io/apimachinery): a
    percentage is an integer followed by ``%`` (``validation.IsValidPercent``),
    scaled by ``replicas`` and rounded up (``maxSurge``) or down
    (``maxUnavailable``). ``max_percent`` is the validation bound
    (``IsNotMoreThan100Percent`` for ``maxUnavailable``).

    Examples
    --------
    >>> parse_count("max_surge", "25%", 10, round_up=True)
    3
    >>> parse_count("max_unavailable", "25%", 10, round_up=False)
    2
    """
    if (
        isinstance(value, int | np.integer)
        and not isinstance(value, bool)
        and value >= 0
    ):
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\d+%", value):
        pct = int(value[:-1])
        if max_percent is not None and pct > max_percent:
            raise fail(
                field,
                value,
                f"at most {max_percent}%",
                "Kubernetes' validation refuses a larger percentage "
                "(IsNotMoreThan100Percent).",
            )
        scaled = pct * replicas
        return -(-scaled // 100) if round_up else scaled // 100
    raise fail(
        field,
        value,
        'a non-negative integer or an integer percentage string such as "25%"',
        "This mirrors Kubernetes' intOrString field (validation.IsValidPercent "
        "accepts only whole percentages).",
    )


def percent_value(value: int | str) -> int:
    """The literal number of an int-or-percent (``"0%"`` → 0), as Kubernetes'
    validation reads it (``getIntOrPercentValue``)."""
    return int(value[:-1]) if isinstance(value, str) else int(value)


def resolve_fenceposts(
    max_surge: int | str, max_unavailable: int | str, replicas: int
) -> tuple[int, int]:
    """``(surge, unavailable)`` pods, as Kubernetes' ``ResolveFenceposts``.

    ``maxSurge`` rounds up and ``maxUnavailable`` down; when both resolve to 0
    (e.g. ``"0%"`` and ``"10%"`` of 5 replicas), ``maxUnavailable`` becomes 1
    (kubernetes ``pkg/controller/deployment/util/deployment_util.go``,
    ``ResolveFenceposts``; Argo Rollouts' ``utils/replicaset/replicaset.go``
    ``resolveFenceposts`` does the same for canaries).

    Examples
    --------
    >>> resolve_fenceposts("0%", "10%", 5)
    (0, 1)
    >>> resolve_fenceposts("25%", "25%", 10)
    (3, 2)
    """
    surge = parse_count("max_surge", max_surge, replicas, round_up=True)
    unavailable = parse_count(
        "max_unavailable", max_unavailable, replicas, round_up=False, max_percent=100
    )
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def as_generator(random_state: Any) -> np.random.Generator:
    """``numpy.random.Generator`` from an int, ``None`` or a Generator."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or (
        isinstance(random_state, int | np.integer)
        and not isinstance(random_state, bool)
    ):
        return np.random.default_rng(random_state)
    raise fail(
        "random_state",
        random_state,
        "None, an int or a numpy.random.Generator",
        "Pass an int seed for reproducible results.",
    )
