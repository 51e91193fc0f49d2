"""Requests per second over time: :class:`Traffic`.

What does *not* belong here: how traffic is split between versions (the strategies).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mlopskit.rollout._base import check_choice, check_number, fail

__all__ = ["Traffic"]


@dataclass(frozen=True, kw_only=True)
class Traffic:
    """Request rate over time, and the user population behind it.

    Parameters
    ----------
    rps
        Mean requests per second (``"constant"``), or the daily mean (``"diurnal"``);
        must be positive (a rollout without traffic cannot be judged).
    pattern
        ``"constant"``, ``"diurnal"`` (a sinusoid with the given ``amplitude`` and
        ``period_s``; ``phase_s`` shifts the start) or ``"trace"`` (the recorded
        ``trace`` of requests per second, one value per ``trace_step_s``, repeated).
    amplitude
        Relative amplitude of the diurnal swing, in [0, 1).
    n_users
        Distinct users sending the requests, for ``users_exposed``.

    Examples
    --------
    >>> Traffic(rps=1000).rate_at(0.0)
    1000.0
    >>> day = Traffic(rps=100, pattern="diurnal", amplitude=0.5)
    >>> round(day.rate_at(6 * 3600.0), 1)
    150.0
    >>> Traffic(pattern="trace", trace=(10, 20), trace_step_s=60).rate_at(90.0)
    20.0
    """

    rps: float = 100.0
    pattern: str = "constant"
    amplitude: float = 0.5
    period_s: float = 86400.0
    phase_s: float = 0.0
    trace: tuple[float, ...] | None = None
    trace_step_s: float = 1.0
    n_users: int = 100_000

    def __post_init__(self) -> None:
        check_choice("pattern", self.pattern, ("constant", "diurnal", "trace"))
        check_number("rps", self.rps, low=0, low_open=True)
        check_number("amplitude", self.amplitude, low=0, high=1, high_open=True)
        check_number("period_s", self.period_s, low=0, low_open=True)
        check_number("phase_s", self.phase_s)
        check_number("trace_step_s", self.trace_step_s, low=0, low_open=True)
        check_number("n_users", self.n_users, low=1, integer=True)
        if self.pattern == "trace":
            if not self.trace or any(
                not isinstance(v, int | float) or v < 0 or not math.isfinite(v)
                for v in self.trace
            ):
                raise fail(
                    "trace",
                    self.trace,
                    "a non-empty tuple of non-negative requests-per-second values",
                    "Pass e.g. trace=tuple(df['rps']) with trace_step_s set to the "
                    "sampling step.",
                )
            object.__setattr__(self, "trace", tuple(float(v) for v in self.trace))

    def rate_at(self, t: float) -> float:
        """Requests per second at ``t`` seconds after the rollout starts."""
        if self.pattern == "constant":
            return float(self.rps)
        if self.pattern == "diurnal":
            angle = 2 * math.pi * (t + self.phase_s) / self.period_s
            return float(self.rps * (1 + self.amplitude * math.sin(angle)))
        assert self.trace is not None
        return self.trace[int(t // self.trace_step_s) % len(self.trace)]

    def mean_rate(self, duration_s: float) -> float:
        """Mean requests per second over ``[0, duration_s]`` (sampled each second)."""
        if self.pattern == "constant" or duration_s <= 0:
            return float(self.rps)
        ts = np.arange(0.0, duration_s, max(1.0, duration_s / 10_000))
        return float(np.mean([self.rate_at(float(t)) for t in ts]))
