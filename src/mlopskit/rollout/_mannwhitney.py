"""mlopskit's own Mann-Whitney judge of time-series points: :class:`MannWhitneyJudge`.

Kayenta-shaped (points per step, a growing window, a weighted score) but with
its own classifier: a Mann-Whitney p-value, the Hodges-Lehmann direction and a
mean-ratio threshold. For Kayenta's own rule use :class:`KayentaJudge`.

What does *not* belong here: request-level tests (``_fixed``, ``_sequential``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from mlopskit.rollout._base import FAIL, PASS, RUNNING, check_choice, check_number, fail
from mlopskit.rollout._judge import Analysis, Codes, Idx, Judge

Arr = NDArray[Any]

__all__ = ["MannWhitneyJudge"]

_HL_MAX_POINTS = 200  # above this, the Hodges-Lehmann shift is approximated


@dataclass(frozen=True, kw_only=True)
class MannWhitneyJudge(Judge):
    """Per-metric Mann-Whitney U test of candidate vs baseline time series.

    Not Kayenta's classifier (which tests a confidence interval of the shift
    against an effect-size tolerance: :class:`KayentaJudge`): this judge rejects on
    the test's p-value, which at many points flags any consistent shift, however
    small, unless ``allowed_increase`` sets a minimum mean ratio.

    Every ``step_s`` each version contributes one data point per metric (its
    error rate or p99 latency over that step — Kayenta compares time-series points,
    not requests). Every ``interval_s`` (``analysisIntervalMins``; default: once, at
    the end of ``lifetime_s``) the judge runs a two-sided Mann-Whitney test on all
    points so far (Kayenta's growing window, ``lookbackMins: 0``). A metric is
    *High* when the test rejects at ``confidence`` (0.98, the level Kayenta's judge uses),
    the Hodges-Lehmann shift points up, and the mean ratio is at least
    ``allowed_increase``; *Low* symmetrically; otherwise *Pass*. Metrics with fewer
    than three points per version are *Nodata*. The score is the share of Pass among
    classified metrics × 100; a critical metric not passing, or half the metrics
    without data, scores 0. The final judgement passes at ``score ≥ pass_score``;
    an intermediate one fails at ``score ≤ marginal_score`` (``MonitorCanaryTask``).

    Parameters
    ----------
    metrics
        Metrics to compare (one group of equal weight).
    critical
        Metrics whose failure fails the whole analysis.
    direction
        ``"increase"`` (only higher values fail; right for errors and latency),
        ``"decrease"`` or ``"either"`` (Kayenta's default).
    confidence
        Confidence level of the test.
    allowed_increase, allowed_decrease
        Effect-size thresholds on the mean ratio candidate/baseline (1.0: any).
    step_s, lifetime_s, interval_s
        ``step``, ``lifetimeDurationMins`` and ``analysisIntervalMins`` in seconds.
    pass_score, marginal_score
        Kayenta's ``thresholds.pass`` and ``thresholds.marginal``.

    Examples
    --------
    >>> from mlopskit.rollout import ModelBehavior, Shadow, Traffic, simulate
    >>> judge = MannWhitneyJudge(lifetime_s=1800)
    >>> res = simulate(Shadow(duration_s=1800), baseline=ModelBehavior(error_rate=0.01),
    ...                candidate=ModelBehavior(error_rate=0.03), traffic=Traffic(rps=100),
    ...                judge=judge, n_runs=20, random_state=0)
    >>> bool(res.runs["rolled_back"].mean() > 0.9)
    True
    """

    metrics: tuple[str, ...] = ("error_rate",)
    critical: tuple[str, ...] = ()
    direction: str = "increase"
    confidence: float = 0.98
    allowed_increase: float = 1.0
    allowed_decrease: float = 1.0
    step_s: float = 60.0
    lifetime_s: float = 3600.0
    interval_s: float | None = None
    pass_score: float = 95.0
    marginal_score: float = 75.0

    def __post_init__(self) -> None:
        if not self.metrics or not isinstance(self.metrics, tuple):
            raise fail(
                "metrics",
                self.metrics,
                "a non-empty tuple of metric names",
                'E.g. metrics=("error_rate", "latency_p99_ms").',
            )
        for name in self.critical:
            if name not in self.metrics:
                raise fail(
                    "critical",
                    self.critical,
                    "a subset of metrics",
                    f"Add {name!r} to metrics or remove it from critical.",
                )
        check_choice("direction", self.direction, ("increase", "decrease", "either"))
        check_number(
            "confidence", self.confidence, low=0, high=1, low_open=True, high_open=True
        )
        check_number("step_s", self.step_s, low=0, low_open=True)
        check_number("lifetime_s", self.lifetime_s, low=self.step_s * 3)
        check_number("interval_s", self.interval_s, low=self.step_s, allow_none=True)
        check_number("pass_score", self.pass_score, low=0, high=100)
        check_number("marginal_score", self.marginal_score, low=0, high=self.pass_score)
        check_number("allowed_increase", self.allowed_increase, low=0)
        check_number("allowed_decrease", self.allowed_decrease, low=0)

    def _metrics(self) -> tuple[str, ...]:
        return self.metrics

    def _interval(self) -> float:
        return float(self.step_s)

    def _proportion_only(self) -> bool:
        return False

    def _uses_window(self) -> bool:
        return True

    def _setup(self, an: Analysis) -> None:
        points = math.floor(self.lifetime_s / self.step_s + 1e-9)
        shape = (an.engine.n, len(self.metrics), points)
        an.extra["xc"] = np.full(shape, np.nan)
        an.extra["xb"] = np.full(shape, np.nan)
        an.extra["k"] = np.zeros(an.engine.n, dtype=np.int64)
        an.extra["score"] = np.full(an.engine.n, np.nan)
        judge_every = (
            self.interval_s if self.interval_s is not None else self.lifetime_s
        )
        an.extra["every"] = max(1, round(judge_every / self.step_s))
        an.extra["points"] = points

    def _columns(self, an: Analysis) -> dict[str, Arr]:
        return {"kayenta_score": an.extra["score"].copy()}

    def _reset(self, an: Analysis, mask: Arr) -> None:
        an.extra["xc"][mask] = np.nan
        an.extra["xb"][mask] = np.nan
        an.extra["k"][mask] = 0

    def _evaluate(self, an: Analysis, idx: Idx, t: float) -> Codes:
        ex = an.extra
        k = ex["k"][idx]
        for j, metric in enumerate(self.metrics):
            ex["xc"][idx, j, k] = an.value(metric, idx, version="c", window=True)
            ex["xb"][idx, j, k] = an.value(metric, idx, version="b", window=True)
        k = k + 1
        ex["k"][idx] = k
        codes = np.full(idx.size, RUNNING, dtype=np.int8)
        final = k >= ex["points"]
        judge_now = final | (k % ex["every"] == 0)
        if not judge_now.any():
            return codes
        sel = idx[judge_now]
        upto = int(k[judge_now].max())
        score = self.score(ex["xc"][sel, :, :upto], ex["xb"][sel, :, :upto])
        ex["score"][sel] = score
        sub = np.full(sel.size, RUNNING, dtype=np.int8)
        fin = final[judge_now]
        sub[~fin & (score <= self.marginal_score)] = FAIL
        sub[fin] = np.where(score[fin] >= self.pass_score, PASS, FAIL)
        codes[judge_now] = sub
        return codes

    def classify(self, cand: Arr, ctrl: Arr, metric: str) -> Arr:
        """Per-run class of one metric: 0 Pass, 1 High, 2 Low, 3 Nodata.

        ``cand`` and ``ctrl`` are (runs, points) arrays; NaN points are removed.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> base = rng.normal(1.0, 0.1, size=(2, 30))
        >>> cand = base + np.array([[0.0], [0.5]])
        >>> MannWhitneyJudge().classify(cand, rng.normal(1.0, 0.1, size=(2, 30)), "error_rate").tolist()
        [0, 1]
        """
        out = np.zeros(cand.shape[0], dtype=np.int8)
        valid = (np.sum(~np.isnan(cand), axis=1) >= 3) & (
            np.sum(~np.isnan(ctrl), axis=1) >= 3
        )
        out[~valid] = 3
        if not valid.any():
            return out
        c, b = cand[valid], ctrl[valid]
        # all-tied series give a NaN p-value: identical data pass, as in Kayenta
        if np.isnan(c).any() or np.isnan(b).any():
            p = stats.mannwhitneyu(
                c, b, axis=1, method="asymptotic", nan_policy="omit"
            ).pvalue
        else:
            p = stats.mannwhitneyu(c, b, axis=1, method="asymptotic").pvalue
        p = np.where(np.isnan(p), 1.0, p)
        shift = _hodges_lehmann(c, b)  # Kayenta's direction is about raw values
        ratio = np.divide(
            np.nanmean(c, axis=1),
            np.nanmean(b, axis=1),
            out=np.full(c.shape[0], np.inf),
            where=np.nanmean(b, axis=1) != 0,
        )
        sig = p < 1 - self.confidence
        high = sig & (shift > 0) & (ratio >= self.allowed_increase)
        low = sig & (shift < 0) & (ratio <= 1 / max(self.allowed_decrease, 1e-12))
        cls = np.zeros(c.shape[0], dtype=np.int8)
        if self.direction in ("increase", "either"):
            cls[high] = 1
        if self.direction in ("decrease", "either"):
            cls[low] = 2
        out[valid] = cls
        return out

    def score(self, cand: Arr, ctrl: Arr) -> Arr:
        """Kayenta's weighted-sum score (0–100) per run from (runs, metrics, points)."""
        classes = np.stack(
            [
                self.classify(cand[:, j], ctrl[:, j], m)
                for j, m in enumerate(self.metrics)
            ],
            axis=1,
        )
        passed = np.sum(classes == 0, axis=1)
        judged = np.sum(classes != 3, axis=1)
        score = np.where(judged > 0, 100.0 * passed / np.maximum(judged, 1), 100.0)
        nodata = np.sum(classes == 3, axis=1) >= 0.5 * len(self.metrics)
        score[nodata] = 0.0
        for name in self.critical:
            j = self.metrics.index(name)
            score[classes[:, j] != 0] = 0.0
        return score


def _hodges_lehmann(c: Arr, b: Arr) -> Arr:
    """Median of pairwise differences c_i − b_j per row (NaN-aware)."""
    if c.shape[1] > _HL_MAX_POINTS:
        approx: Arr = np.nanmedian(c, axis=1) - np.nanmedian(b, axis=1)
        return approx
    diffs = c[:, :, None] - b[:, None, :]
    flat = diffs.reshape(c.shape[0], -1)
    if np.isnan(flat).any():
        return np.array(
            [np.median(r[~np.isnan(r)]) if (~np.isnan(r)).any() else 0.0 for r in flat]
        )
    med: Arr = np.median(flat, axis=1)
    return med
