"""Kayenta's metric classifier and judge: :class:`KayentaJudge`.

A transcription of the *rule* (not the code) of spinnaker/kayenta @ a69573be
(2025-04-08): ``kayenta-mannwhitney/.../MannWhitney.scala`` (the confidence
interval of the location shift, R's ``wilcox.test(conf.int=TRUE)`` asymptotic
form with continuity and ties corrections, roots found by Brent's method),
``kayenta-judge/.../classifiers/metric/MannWhitneyClassifier.scala``
(``classify``/``compare``: High when the interval's lower bound exceeds
``tolerance × |estimate|``, Low when its upper bound is below minus that, each
also needing the mean-ratio effect size past ``allowedIncrease`` /
``allowedDecrease``), ``NetflixACAJudge.scala`` (``tolerance = 0.25``,
``confLevel = 0.98``, ``direction`` "either", ``nanStrategy`` "none" → NaN
replaced by 0) and ``scorers/WeightedSumScorer.scala``.

What does *not* belong here: mlopskit's own Mann-Whitney judge (``_mannwhitney``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, stats

from mlopskit.rollout._base import check_choice, check_number, fail
from mlopskit.rollout._mannwhitney import MannWhitneyJudge

Arr = NDArray[Any]

__all__ = ["KayentaJudge", "kayenta_mann_whitney"]

PASS_, HIGH, LOW, NODATA = 0, 1, 2, 3
#: Kayenta's ``BrentSolver.TOLERANCE`` (R's ``uniroot`` tolerance in
#: ``wilcox.test``): the roots sit on steps of a step function, so the solver's
#: stopping rule decides where on the step — scipy's ``brentq`` with this
#: ``xtol`` and its default ``rtol`` (4 ε) stops as zeroin does.
BRENT_TOL = 1e-4


def _wilcoxon_diff(mu: float, quantile: float, x: Arr, y: Arr) -> float:
    """Kayenta's ``wilcoxonDiff``: the continuity-corrected standardised rank sum
    of ``x - mu`` against ``y``, minus ``quantile``."""
    nx, ny = float(x.size), float(y.size)
    ranks = stats.rankdata(np.concatenate([x - mu, y]))
    dz = ranks[: x.size].sum() - nx * (nx + 1) / 2 - nx * ny / 2
    _, ties = np.unique(ranks, return_counts=True)
    tie_term = float(np.sum(ties.astype(float) ** 3 - ties)) / (
        (nx + ny) * (nx + ny - 1)
    )
    sigma = math.sqrt(nx * ny / 12 * ((nx + ny + 1) - tie_term))
    if sigma == 0:
        raise fail(
            "values",
            "all tied",
            "series that are not all tied",
            "Kayenta cannot compute a confidence interval when every value is equal.",
        )
    return float((dz - math.copysign(0.5, dz) * (dz != 0)) / sigma - quantile)


def kayenta_mann_whitney(
    experiment: Arr, control: Arr, *, confidence: float = 0.95
) -> tuple[float, float, float]:
    """``(lower, upper, estimate)`` of the shift ``experiment − control`` (Kayenta).

    The estimate solves ``wilcoxonDiff(mu, 0) = 0`` (a Hodges-Lehmann-type
    median of pairwise differences); the bounds solve it at ∓ the normal quantile
    of ``(1 − confidence) / 2``, clamped to ``[min(x) − max(y), max(x) − min(y)]``
    as Kayenta's ``findRoot`` does.

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi, est = kayenta_mann_whitney(np.array([10.0, 20, 30, 40]),
    ...                                    np.array([1.0, 2, 3, 4]))
    >>> round(lo, 4), round(hi, 4), round(est, 4)
    (6.0, 39.0, 22.5)
    """
    x = np.asarray(experiment, dtype=float)
    y = np.asarray(control, dtype=float)
    check_number("confidence", confidence, low=0, high=1, low_open=True, high_open=True)
    if x.size < 1 or y.size < 1 or np.isnan(x).any() or np.isnan(y).any():
        raise fail(
            "experiment",
            x.size,
            "two non-empty series without NaN",
            "Remove or replace NaN values first (Kayenta's nanStrategy).",
        )
    mu_min, mu_max = float(x.min() - y.max()), float(x.max() - y.min())
    zq = float(stats.norm.ppf((1 - confidence) / 2))

    def root(q: float, clamp: bool = True) -> float:
        f_lo = _wilcoxon_diff(mu_min, q, x, y)
        f_hi = _wilcoxon_diff(mu_max, q, x, y)
        if clamp and f_lo <= 0:
            return mu_min
        if clamp and f_hi >= 0:
            return mu_max
        if f_lo * f_hi > 0:  # no sign change: the nearer end (Brent would stop there)
            return mu_min if abs(f_lo) < abs(f_hi) else mu_max
        out: float = optimize.brentq(
            lambda m: _wilcoxon_diff(m, q, x, y), mu_min, mu_max, xtol=BRENT_TOL
        )
        return out

    return root(-zq), root(zq), root(0.0, clamp=False)


@dataclass(frozen=True, kw_only=True)
class KayentaJudge(MannWhitneyJudge):
    """Kayenta's automated canary analysis, with Kayenta's classifier and defaults.

    Same data as :class:`MannWhitneyJudge` (one point per version per ``step_s``,
    a growing window judged every ``interval_s`` or at the end of ``lifetime_s``,
    the weighted-sum score against ``pass_score`` / ``marginal_score``), but each
    metric is classified as Kayenta does: identical series, or a single distinct
    value, pass; two constant series get a 1e-5 relative Gaussian jitter; the
    confidence interval of the shift at ``confidence`` (0.98, NetflixACAJudge)
    must clear ``tolerance × |estimate|`` (0.25) — *High* if its lower bound is
    above, *Low* if its upper bound is below minus it — and the mean ratio
    candidate/baseline must reach ``allowed_increase`` / ``allowed_decrease``
    (Kayenta's ``effectSize``; 1.0, ignored when a mean is 0). A critical
    metric that is High fails the analysis only if its mean ratio reaches
    ``critical_increase`` (Low: ``critical_decrease``). NaN points (a step without
    requests) are replaced by 0 (``nan_strategy="none"``, Kayenta's default) or
    removed (``"remove"``; an empty series is then Nodata). Each classification
    finds three roots by Brent's method per run (a Python loop over runs, about a
    millisecond each), so judge every few steps rather than every step when
    simulating thousands of runs.

    Parameters
    ----------
    tolerance, confidence
        Kayenta's classifier constants (0.25 and 0.98 in NetflixACAJudge).
    critical_increase, critical_decrease
        ``effectSize.criticalIncrease`` / ``criticalDecrease`` (1.0).
    nan_strategy
        ``"none"`` (NaN → 0) or ``"remove"``.
    random_state
        Seed of the 1e-5 jitter Kayenta adds to two constant series.
    metrics, critical, direction, allowed_increase, allowed_decrease, step_s, lifetime_s, interval_s, pass_score, marginal_score
        As :class:`MannWhitneyJudge`; ``direction`` defaults to Kayenta's "either".

    Examples
    --------
    >>> import numpy as np
    >>> judge = KayentaJudge()
    >>> base = np.array([[1.0, 1.1, 0.9, 1.05, 0.95] * 4])
    >>> judge.classify(base * 1.5, base, "error_rate").tolist()  # 0 Pass, 1 High
    [1]
    >>> judge.classify(base * 1.05, base, "error_rate").tolist()  # inside tolerance
    [0]
    """

    direction: str = "either"
    confidence: float = 0.98
    tolerance: float = 0.25
    critical_increase: float = 1.0
    critical_decrease: float = 1.0
    nan_strategy: str = "none"
    random_state: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number("tolerance", self.tolerance, low=0)
        check_number("critical_increase", self.critical_increase, low=0)
        check_number("critical_decrease", self.critical_decrease, low=0)
        check_choice("nan_strategy", self.nan_strategy, ("none", "remove"))

    def classify(self, cand: Arr, ctrl: Arr, metric: str) -> Arr:
        """Per-run class of one metric: 0 Pass, 1 High, 2 Low, 3 Nodata.

        ``cand`` and ``ctrl`` are (runs, points) arrays with NaN for steps
        without data.
        """
        return self._classify(cand, ctrl)[0]

    def _classify(self, cand: Arr, ctrl: Arr) -> tuple[Arr, Arr]:
        """Classes and Kayenta's ``critical`` flag (High/Low past the critical
        effect size, or Nodata) per run."""
        rng = np.random.default_rng(self.random_state)
        out = np.zeros(cand.shape[0], dtype=np.int8)
        severe = np.zeros(cand.shape[0], dtype=bool)
        for i in range(cand.shape[0]):
            out[i], severe[i] = self._classify_one(cand[i], ctrl[i], rng)
        return out, severe

    def score(self, cand: Arr, ctrl: Arr) -> Arr:
        """Kayenta's weighted-sum score (0–100) per run from (runs, metrics, points):
        one group, ``Pass / (Pass + High + Low) × 100`` (100 if nothing was
        classified), 0 when at least half the metrics are Nodata or a critical
        metric failed critically (``WeightedSumScorer``)."""
        parts = [
            self._classify(cand[:, j], ctrl[:, j]) for j in range(len(self.metrics))
        ]
        classes = np.stack([p[0] for p in parts], axis=1)
        passed = np.sum(classes == PASS_, axis=1)
        judged = np.sum(classes != NODATA, axis=1)
        score = np.where(judged > 0, 100.0 * passed / np.maximum(judged, 1), 100.0)
        score[np.sum(classes == NODATA, axis=1) >= 0.5 * len(self.metrics)] = 0.0
        for name in self.critical:
            j = self.metrics.index(name)
            score[parts[j][1] | (classes[:, j] == NODATA)] = 0.0
        return np.round(score, 2)

    def _classify_one(
        self, x: Arr, y: Arr, rng: np.random.Generator
    ) -> tuple[int, bool]:
        if self.nan_strategy == "remove":
            x, y = x[~np.isnan(x)], y[~np.isnan(y)]
            if x.size == 0 or y.size == 0:
                return NODATA, False
        else:
            x, y = np.nan_to_num(x, nan=0.0), np.nan_to_num(y, nan=0.0)
        if np.array_equal(np.sort(x), np.sort(y)):
            return PASS_, False
        if np.unique(np.concatenate([x, y])).size == 1:
            return PASS_, False
        if np.unique(x).size == 1 and np.unique(y).size == 1:
            x = x + rng.normal(0.0, abs(x[0]) * 1e-5, x.size)
            y = y + rng.normal(0.0, abs(y[0]) * 1e-5, y.size)
        lo, hi, est = kayenta_mann_whitney(x, y, confidence=self.confidence)
        bound = self.tolerance * abs(est)
        mx, my = float(np.mean(x)), float(np.mean(y))
        effect = mx / my if mx != 0 and my != 0 else math.nan
        high = self.direction in ("increase", "either") and lo > bound
        high = high and (math.isnan(effect) or effect >= self.allowed_increase)
        low = self.direction in ("decrease", "either") and hi < -bound
        low = low and (math.isnan(effect) or effect <= self.allowed_decrease)
        if high:
            return HIGH, math.isnan(effect) or effect >= self.critical_increase
        if low:
            return LOW, math.isnan(effect) or effect <= self.critical_decrease
        return PASS_, False
