"""Bayesian expected-loss decision rule: :class:`BayesianLoss`.

What does *not* belong here: frequentist tests (``_fixed``, ``_sequential``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from mlopskit.rollout._base import FAIL, PASS, RUNNING, check_number
from mlopskit.rollout._judge import Analysis, Codes, Idx, Judge, worse_sign

Arr = NDArray[Any]

__all__ = ["BayesianLoss"]


@dataclass(frozen=True, kw_only=True)
class BayesianLoss(Judge):
    """Stop when the expected loss of the leading version falls below a threshold.

    Beta-Bernoulli posteriors ``Beta(a + x, b + n − x)`` per version; the expected
    loss of shipping the candidate is ``E[max(Δ, 0)]`` where ``Δ`` is how much worse
    the candidate is (Stucchio's / VWO's rule). The posteriors are approximated by
    normals (exact enough at the counts a rollout sees, and closed form:
    ``E[max(Δ,0)] = μΦ(μ/s) + sφ(μ/s)``). The analysis passes when the loss of
    shipping is below ``threshold_of_caring × p0`` and fails when the loss of keeping
    the baseline is. The rule does **not** control the false-rollback rate of an
    equal version: under no difference it stops about half the time each way.

    Parameters
    ----------
    threshold_of_caring
        Loss threshold relative to the baseline rate ``p0``.
    prior
        ``(a, b)`` of the Beta prior, the same for both versions.
    metric
        ``"error_rate"``, ``"conversion_rate"`` or ``"accuracy"``.
    interval_s
        Evaluation period.

    Examples
    --------
    >>> from mlopskit.rollout import ABTest, ModelBehavior, Traffic, simulate
    >>> res = simulate(ABTest(), baseline=ModelBehavior(error_rate=0.01),
    ...                candidate=ModelBehavior(error_rate=0.005), traffic=Traffic(rps=500),
    ...                judge=BayesianLoss(), n_runs=50, random_state=0)
    >>> bool(res.runs["promoted"].mean() > 0.9)
    True
    """

    threshold_of_caring: float = 0.1
    prior: tuple[float, float] = (1.0, 1.0)
    metric: str = "error_rate"
    interval_s: float = 60.0

    def __post_init__(self) -> None:
        check_number(
            "threshold_of_caring", self.threshold_of_caring, low=0, low_open=True
        )
        check_number("interval_s", self.interval_s, low=0, low_open=True)
        for v in self.prior:
            check_number("prior", v, low=0, low_open=True)

    def expected_losses(
        self,
        xc: Arr,
        nc: Arr,
        xb: Arr,
        nb: Arr,
    ) -> tuple[Arr, Arr]:
        """Expected loss of (shipping the candidate, keeping the baseline).

        Examples
        --------
        >>> import numpy as np
        >>> ship, keep = BayesianLoss().expected_losses(
        ...     np.array([50.0]), np.array([10_000.0]), np.array([100.0]), np.array([10_000.0]))
        >>> bool(ship[0] < keep[0])
        True
        """
        a, b = self.prior
        mc, vc = _beta_moments(a + xc, b + nc - xc)
        mb, vb = _beta_moments(a + xb, b + nb - xb)
        mu = (mc - mb) * worse_sign(self.metric)
        s = np.sqrt(vc + vb)
        z = mu / s
        ship = mu * stats.norm.cdf(z) + s * stats.norm.pdf(z)
        keep = -mu * stats.norm.cdf(-z) + s * stats.norm.pdf(z)
        return ship, keep

    def _setup(self, an: Analysis) -> None:
        an.extra["eps"] = self.threshold_of_caring * an.baseline_rate(self.metric)

    def _evaluate(self, an: Analysis, idx: Idx, t: float) -> Codes:
        ship, keep = self.expected_losses(*an.counts(self.metric, idx))
        eps = an.extra["eps"]
        codes = np.full(idx.size, RUNNING, dtype=np.int8)
        codes[keep < eps] = FAIL
        codes[(ship < eps) & (ship <= keep)] = PASS
        return codes


def _beta_moments(a: Arr, b: Arr) -> tuple[Arr, Arr]:
    mean = a / (a + b)
    var = a * b / ((a + b) ** 2 * (a + b + 1))
    return mean, var
