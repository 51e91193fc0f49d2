"""An always-valid sequential test (mSPRT): :class:`SequentialTest`.

What does *not* belong here: fixed-horizon tests (``_fixed``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlopskit.rollout._base import FAIL, PASS, RUNNING, check_number
from mlopskit.rollout._judge import Analysis, Codes, Idx, Judge, worse_sign

Arr = NDArray[Any]

__all__ = ["SequentialTest"]


@dataclass(frozen=True, kw_only=True)
class SequentialTest(Judge):
    """Mixture sequential probability ratio test (Johari et al.), safe under peeking.

    The difference of the two proportions, ``θ̂ = p̂_c − p̂_b`` with variance
    ``v = p̄(1 − p̄)(1/n_c + 1/n_b)``, is tested against 0 with the normal-mixture
    likelihood ratio ``Λ = √(v/(v+τ²)) · exp(τ²θ̂² / (2v(v+τ²)))``; the test rejects
    when ``Λ ≥ 1/alpha``. The always-valid p-value ``min(1/Λ)`` may be watched after
    every tick without inflating the false-positive rate (unlike
    :class:`FixedHorizonTest` with several ``looks``). It handles unequal and
    changing traffic splits (canary weights) because only the two arms' counts enter.
    Rejection in the worse direction fails the analysis; in the better one it passes.

    Parameters
    ----------
    alpha
        Bound on the false-positive probability over the whole (unbounded) run.
    metric
        ``"error_rate"``, ``"conversion_rate"`` or ``"accuracy"``.
    tau
        Mixing standard deviation relative to the baseline's rate (``τ = tau × p0``):
        the effect size the test is most sensitive to.
    min_events
        Pooled events (errors, conversions) required before testing; guards the
        normal approximation in the first seconds.
    interval_s
        Evaluation period (every tick by default: continuous monitoring).

    Examples
    --------
    >>> from mlopskit.rollout import Canary, ModelBehavior, Traffic, simulate
    >>> res = simulate(Canary(), baseline=ModelBehavior(error_rate=0.005),
    ...                candidate=ModelBehavior(error_rate=0.02), traffic=Traffic(rps=1000),
    ...                judge=SequentialTest(alpha=0.05), n_runs=50, random_state=0)
    >>> bool(res.runs["rolled_back"].mean() > 0.9)
    True
    """

    alpha: float = 0.05
    metric: str = "error_rate"
    tau: float = 0.5
    min_events: int = 10
    interval_s: float = 1.0

    def __post_init__(self) -> None:
        check_number("alpha", self.alpha, low=0, high=1, low_open=True, high_open=True)
        check_number("tau", self.tau, low=0, low_open=True)
        check_number("min_events", self.min_events, low=0, integer=True)
        check_number("interval_s", self.interval_s, low=0, low_open=True)

    def log_lambda(
        self,
        theta: Arr,
        v: Arr,
        tau2: float,
    ) -> Arr:
        """log Λ of the normal mixture for estimate ``theta`` with variance ``v``.

        Examples
        --------
        >>> import numpy as np
        >>> t = SequentialTest()
        >>> float(t.log_lambda(np.array([0.0]), np.array([1.0]), 1.0)[0]) < 0
        True
        """
        return 0.5 * np.log(v / (v + tau2)) + tau2 * theta**2 / (2 * v * (v + tau2))

    def _setup(self, an: Analysis) -> None:
        an.extra["tau2"] = (self.tau * an.baseline_rate(self.metric)) ** 2
        an.extra["p"] = np.ones(an.engine.n)

    def _reset(self, an: Analysis, mask: Arr) -> None:
        an.extra["p"][mask] = 1.0

    def _columns(self, an: Analysis) -> dict[str, Arr]:
        return {"always_valid_p": an.extra["p"].copy()}

    def _evaluate(self, an: Analysis, idx: Idx, t: float) -> Codes:
        xc, nc, xb, nb = an.counts(self.metric, idx)
        codes = np.full(idx.size, RUNNING, dtype=np.int8)
        ok = (nc > 0) & (nb > 0) & (xc + xb >= max(self.min_events, 1))
        if not ok.any():
            return codes
        xc, nc, xb, nb = xc[ok], nc[ok], xb[ok], nb[ok]
        pbar = (xc + xb) / (nc + nb)
        v = np.maximum(pbar * (1 - pbar) * (1 / nc + 1 / nb), 1e-300)
        theta = (xc / nc - xb / nb) * worse_sign(self.metric)
        log_lam = self.log_lambda(theta, v, an.extra["tau2"])
        sel = idx[ok]
        an.extra["p"][sel] = np.minimum(
            an.extra["p"][sel], np.exp(-np.maximum(log_lam, 0.0))
        )
        reject = log_lam >= math.log(1 / self.alpha)
        sub = np.where(reject, np.where(theta > 0, FAIL, PASS), RUNNING).astype(np.int8)
        codes[ok] = sub
        return codes
