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

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


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


def parse_duration(field: str, value: Any) -> float:
    """Seconds from a number or an Argo duration string (``"90s"``, ``"10m"``, ``"1h"``).

    Examples
    --------
    >>> parse_duration("pause.duration", "10m")
    600.0
    >>> parse_duration("pause.duration", 30)
    30.0
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        check_number(field, value, low=0)
        return float(value)
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", value)
        if match:
            return float(match.group(1)) * _UNITS[match.group(2) or "s"]
    raise fail(
        field,
        value,
        'a duration: seconds, or a string such as "30s", "10m", "1h"',
        "Argo Rollouts' units are s, m and h; a bare number means seconds.",
    )


def parse_count(field: str, value: Any, replicas: int, *, round_up: bool) -> int:
    """Kubernetes' int-or-percent: ``"25%"`` of ``replicas`` rounded up or down.

    Examples
    --------
    >>> parse_count("max_surge", "25%", 10, round_up=True)
    3
    >>> parse_count("max_unavailable", "25%", 10, round_up=False)
    2
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?%", value.strip()):
        exact = float(value.strip()[:-1]) * replicas / 100.0
        # Kubernetes scales percentages with round-up (surge) or round-down
        # (unavailable); a tiny epsilon keeps 2.5000000001 from rounding up to 3.
        return math.ceil(exact - 1e-9) if round_up else math.floor(exact + 1e-9)
    raise fail(
        field,
        value,
        'a non-negative integer or a percentage string such as "25%"',
        "This mirrors Kubernetes' intOrString field.",
    )


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
