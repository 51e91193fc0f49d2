"""A fixed-horizon two-proportion z test: :class:`FixedHorizonTest`.

What does *not* belong here: sequential (anytime-valid) tests (``_sequential``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from mlopskit.rollout._base import (
    FAIL,
    NO_DIFFERENCE,
    PASS,
    RUNNING,
    check_number,
    fail,
)
from mlopskit.rollout._judge import Analysis, Codes, Idx, Judge, worse_sign

Arr = NDArray[Any]

__all__ = ["FixedHorizonTest", "sample_size"]


def sample_size(
    p0: float, p1: float, *, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Requests per arm for a two-sided two-proportion z test (the textbook formula).

    ``n = [z₁₋α/₂·√(2p̄(1−p̄)) + z₁₋β·√(p₀(1−p₀) + p₁(1−p₁))]² / (p₁ − p₀)²``.

    Examples
    --------
    >>> sample_size(0.005, 0.006)
    85862

    Equal rates, rates outside (0, 1) or ``alpha`` / ``power`` outside (0, 1) raise
    :class:`~mlopskit.errors.RolloutError`:

    >>> sample_size(0.01, 0.01)
    Traceback (most recent call last):
    ...
    mlopskit.errors.RolloutError: `p1` must be different from p0 (no difference cannot be detected at any sample size). Got 0.01 instead. Pass the smallest rate you must detect, e.g. p1 = p0 * 1.2.
    """
    for name, value in (("p0", p0), ("p1", p1)):
        check_number(name, value, low=0, high=1, low_open=True, high_open=True)
    for name, value in (("alpha", alpha), ("power", power)):
        check_number(name, value, low=0, high=1, low_open=True, high_open=True)
    if p0 == p1:
        raise fail(
            "p1",
            p1,
            "different from p0 (no difference cannot be detected at any sample size)",
            "Pass the smallest rate you must detect, e.g. p1 = p0 * 1.2.",
        )
    za = stats.norm.ppf(1 - alpha / 2)
    zb = stats.norm.ppf(power)
    pbar = (p0 + p1) / 2
    num = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(
        p0 * (1 - p0) + p1 * (1 - p1)
    )
    return math.ceil(float(num) ** 2 / (p1 - p0) ** 2)


@dataclass(frozen=True, kw_only=True)
class FixedHorizonTest(Judge):
    """Two-sided two-proportion z test at a planned sample size per arm.

    The planned size is the textbook formula for the baseline's rate ``p0`` and
    ``p1 = p0 × (1 + minimum_detectable_effect)`` unless ``n`` is given. The test is
    run once both arms reach it (``looks=1``, the correct use), or — to reproduce the
    peeking problem — at ``looks`` equally spaced sample sizes, stopping at the first
    significant look. A significant result in the worse direction fails the analysis
    (rollback); in the better direction it passes (A/B: ship the candidate); no
    significance at the horizon is "no difference" (a canary promotes).

    Parameters
    ----------
    alpha, power
        Significance level (two-sided) and planned power.
    minimum_detectable_effect
        Relative effect the plan is powered for (0.5 = +50 % errors).
    metric
        A proportion metric: ``"error_rate"``, ``"conversion_rate"`` or ``"accuracy"``.
    n
        Planned requests per arm; ``None`` uses :func:`sample_size`.
    looks
        Number of equally spaced interim analyses (1 = no peeking).
    interval_s
        How often the sample size is checked.

    Examples
    --------
    >>> from mlopskit.rollout import ABTest, ModelBehavior, Traffic, simulate
    >>> test = FixedHorizonTest(minimum_detectable_effect=1.0)
    >>> res = simulate(ABTest(), baseline=ModelBehavior(error_rate=0.01),
    ...                candidate=ModelBehavior(error_rate=0.02), traffic=Traffic(rps=500),
    ...                judge=test, n_runs=50, random_state=0)
    >>> bool(0.6 < res.runs["rolled_back"].mean() <= 1.0)
    True
    """

    alpha: float = 0.05
    power: float = 0.8
    minimum_detectable_effect: float = 0.5
    metric: str = "error_rate"
    n: int | None = None
    looks: int = 1
    interval_s: float = 1.0

    def __post_init__(self) -> None:
        check_number("alpha", self.alpha, low=0, high=1, low_open=True, high_open=True)
        check_number("power", self.power, low=0, high=1, low_open=True, high_open=True)
        check_number(
            "minimum_detectable_effect",
            self.minimum_detectable_effect,
            low=0,
            low_open=True,
        )
        check_number("n", self.n, low=2, integer=True, allow_none=True)
        check_number("looks", self.looks, low=1, integer=True)
        check_number("interval_s", self.interval_s, low=0, low_open=True)

    def planned_n(self, p0: float) -> int:
        """Requests per arm planned for baseline rate ``p0``.

        Examples
        --------
        >>> FixedHorizonTest(minimum_detectable_effect=0.2).planned_n(0.005)
        85862
        """
        if self.n is not None:
            return self.n
        p1 = min(p0 * (1 + self.minimum_detectable_effect), 1 - 1e-9)
        if self.metric != "error_rate":
            # for "higher is better" metrics plan for a drop of the same size
            p1 = max(p0 * (1 - self.minimum_detectable_effect), 1e-9)
        return sample_size(p0, p1, alpha=self.alpha, power=self.power)

    def _setup(self, an: Analysis) -> None:
        an.extra["look"] = np.zeros(an.engine.n, dtype=np.int64)
        an.extra["n_plan"] = self.planned_n(an.baseline_rate(self.metric))

    def _reset(self, an: Analysis, mask: Arr) -> None:
        an.extra["look"][mask] = 0

    def _evaluate(self, an: Analysis, idx: Idx, t: float) -> Codes:
        xc, nc, xb, nb = an.counts(self.metric, idx)
        look = an.extra["look"][idx]
        target = an.extra["n_plan"] * (look + 1) / self.looks
        at_look = np.minimum(nc, nb) >= target
        codes = np.full(idx.size, RUNNING, dtype=np.int8)
        if not at_look.any():
            return codes
        z = two_proportion_z(xc, nc, xb, nb) * worse_sign(self.metric)
        crit = stats.norm.ppf(1 - self.alpha / 2)
        last = look + 1 >= self.looks
        codes[at_look & last] = NO_DIFFERENCE
        codes[at_look & (z > crit)] = FAIL
        codes[at_look & (z < -crit)] = PASS
        an.extra["look"][idx[at_look]] += 1
        return codes


def two_proportion_z(
    xc: Arr,
    nc: Arr,
    xb: Arr,
    nb: Arr,
) -> Arr:
    """Pooled two-proportion z statistic (candidate minus control); 0 without data."""
    pc = np.divide(xc, nc, out=np.zeros(xc.shape), where=nc > 0)
    pb = np.divide(xb, nb, out=np.zeros(xb.shape), where=nb > 0)
    n_tot = nc + nb
    pbar = np.divide(xc + xb, n_tot, out=np.zeros(xc.shape), where=n_tot > 0)
    inv = np.divide(1.0, nc, out=np.zeros(xc.shape), where=nc > 0) + np.divide(
        1.0, nb, out=np.zeros(xb.shape), where=nb > 0
    )
    se = np.sqrt(pbar * (1 - pbar) * inv)
    z: Arr = np.divide(pc - pb, se, out=np.zeros(xc.shape), where=se > 0)
    return z
