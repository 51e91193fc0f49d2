"""Argo Rollouts' / Flagger's threshold analysis: :class:`ThresholdGate`.

What does *not* belong here: statistical comparisons against the baseline (the other
judges); Flagger's step gating (``_canary``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlopskit.rollout._base import (
    FAIL,
    INCONCLUSIVE,
    METRICS,
    PASS,
    PROPORTION_METRICS,
    RUNNING,
    check_choice,
    check_number,
    fail,
)
from mlopskit.rollout._judge import Analysis, Codes, Idx, Judge

Arr = NDArray[Any]

__all__ = ["ThresholdGate"]

MEASURE_OK, MEASURE_FAIL, MEASURE_INCONCLUSIVE, MEASURE_ERROR = 1, 2, 3, 4
#: Argo's ``DefaultErrorRetryInterval``: an Error measurement is retried after 10 s
ERROR_RETRY_S = 10.0


@dataclass(frozen=True, kw_only=True)
class ThresholdGate(Judge):
    """A success condition on the candidate's metric, measured every ``interval_s``.

    Mirrors an Argo Rollouts ``AnalysisTemplate`` metric and Flagger's
    ``thresholdRange``. Each measurement is the candidate's metric over the last
    interval: *successful* if it lies in ``[min_value, max_value]``
    (``successCondition``), *failed* if it lies beyond ``failure_min`` /
    ``failure_max`` (``failureCondition``; when neither is set, anything not
    successful fails), otherwise *inconclusive*. The analysis **fails** when the
    cumulative failed measurements exceed ``failure_limit`` (Argo's code: ``Failed >
    failureLimit``, so the default 0 fails on the first failure and 3 on the fourth),
    is **inconclusive** when inconclusive measurements exceed ``inconclusive_limit``
    (the rollout pauses for a human), and **succeeds** after ``count`` measurements.

    Timing follows Argo's ``generateMetricTasks`` (argoproj/argo-rollouts 9f8d111,
    ``analysis/analysis.go``): the first measurement is taken when the analysis
    starts (after ``initial_delay_s``), the next ``interval_s`` after the last one
    finished — ``count: 5`` at 1 m succeeds 240 s after the start. A measurement
    over a window without requests is an *Error* by default (a PromQL ``sum`` over
    no series is empty, and ``result[0]`` fails to evaluate): errors are retried
    after 10 s (``DefaultErrorRetryInterval``), and more than
    ``consecutive_error_limit`` (default 4) in a row fail the run
    (``assessMetricFailureInconclusiveOrError``: phase Error, which aborts the
    rollout). Under Flagger's loop any such measurement is a failed check.

    Parameters
    ----------
    metric
        ``"error_rate"``, ``"latency_p99_ms"``, ``"conversion_rate"`` or ``"accuracy"``.
    max_value, min_value
        The success range. The default ``max_value=0.01`` is Flagger's built-in
        ``request-success-rate`` with ``thresholdRange.min: 99``.
    failure_max, failure_min
        Argo's ``failureCondition``; values between the success range and these
        bounds are inconclusive.
    interval_s
        ``interval`` (Flagger's default 1m).
    count
        ``count``: measurements before success; ``None`` runs until the rollout ends.
    failure_limit, inconclusive_limit
        Argo's ``failureLimit`` and ``inconclusiveLimit`` (defaults 0; -1 disables).
    initial_delay_s
        ``initialDelay`` before the first measurement.
    no_data
        What a measurement with no requests is: ``"error"`` (Argo's Error; under
        Flagger, whose "no values found" halts advancement, a failed check),
        ``"fail"``, ``"inconclusive"`` or ``"pass"``.
    consecutive_error_limit
        Argo's ``consecutiveErrorLimit`` (default 4).

    Examples
    --------
    >>> from mlopskit.rollout import Canary, ModelBehavior, Traffic, simulate
    >>> res = simulate(Canary(), baseline=ModelBehavior(error_rate=0.005),
    ...                candidate=ModelBehavior(error_rate=0.03), traffic=Traffic(rps=200),
    ...                judge=ThresholdGate(max_value=0.01), n_runs=20, random_state=0)
    >>> bool(res.runs["rolled_back"].all())
    True
    """

    metric: str = "error_rate"
    max_value: float | None = 0.01
    min_value: float | None = None
    failure_max: float | None = None
    failure_min: float | None = None
    interval_s: float = 60.0
    count: int | None = None
    failure_limit: int = 0
    inconclusive_limit: int = 0
    initial_delay_s: float = 0.0
    no_data: str = "error"
    consecutive_error_limit: int = 4

    def __post_init__(self) -> None:
        check_choice("metric", self.metric, tuple(METRICS))
        # a proportion lies in [0, 1], a latency is positive: a bound outside the
        # metric's range makes every measurement fail (or pass), silently
        high = 1.0 if self.metric in PROPORTION_METRICS else None
        for name in ("max_value", "min_value", "failure_max", "failure_min"):
            check_number(name, getattr(self, name), low=0, high=high, allow_none=True)
        if (
            self.max_value is not None
            and self.min_value is not None
            and self.min_value > self.max_value
        ):
            raise fail(
                "min_value",
                self.min_value,
                f"at most max_value ({self.max_value})",
                "The success range [min_value, max_value] is empty; swap them.",
            )
        if self.failure_max is not None and (
            self.max_value is not None and self.failure_max < self.max_value
        ):
            raise fail(
                "failure_max",
                self.failure_max,
                f"at least max_value ({self.max_value})",
                "A value cannot both succeed and fail; failure_max bounds the "
                "inconclusive band above max_value.",
            )
        if self.failure_min is not None and (
            self.min_value is not None and self.failure_min > self.min_value
        ):
            raise fail(
                "failure_min",
                self.failure_min,
                f"at most min_value ({self.min_value})",
                "A value cannot both succeed and fail; failure_min bounds the "
                "inconclusive band below min_value.",
            )
        if self.max_value is None and self.min_value is None:
            raise fail(
                "max_value",
                None,
                "set, or min_value set (a success condition needs a bound)",
                "E.g. ThresholdGate(max_value=0.01) for an error rate ≤ 1 %.",
            )
        check_number("interval_s", self.interval_s, low=0, low_open=True)
        check_number("count", self.count, low=1, integer=True, allow_none=True)
        check_number("failure_limit", self.failure_limit, low=-1, integer=True)
        check_number(
            "inconclusive_limit", self.inconclusive_limit, low=-1, integer=True
        )
        check_number("initial_delay_s", self.initial_delay_s, low=0)
        check_choice("no_data", self.no_data, ("error", "fail", "inconclusive", "pass"))
        check_number(
            "consecutive_error_limit", self.consecutive_error_limit, low=0, integer=True
        )

    def _proportion_only(self) -> bool:
        return False

    def _measure_at_start(self) -> bool:
        return True

    def _uses_window(self) -> bool:
        return True

    def _setup(self, an: Analysis) -> None:
        n = an.engine.n
        an.extra["failed"] = np.zeros(n, dtype=np.int64)
        an.extra["inconclusive"] = np.zeros(n, dtype=np.int64)
        an.extra["measured"] = np.zeros(n, dtype=np.int64)
        an.extra["errors"] = np.zeros(n, dtype=np.int64)  # consecutive

    def _reset(self, an: Analysis, mask: Arr) -> None:
        for key in ("failed", "inconclusive", "measured", "errors"):
            an.extra[key][mask] = 0

    def measure(self, value: Arr) -> Arr:
        """Classify measured values: 1 successful, 2 failed, 3 inconclusive,
        4 error (no data, with ``no_data="error"``).

        Examples
        --------
        >>> import numpy as np
        >>> gate = ThresholdGate(max_value=0.01, failure_max=0.02)
        >>> gate.measure(np.array([0.005, 0.015, 0.03, np.nan])).tolist()
        [1, 3, 2, 4]
        """
        ok = np.ones(value.shape, dtype=bool)
        if self.max_value is not None:
            ok &= value <= self.max_value
        if self.min_value is not None:
            ok &= value >= self.min_value
        if self.failure_max is None and self.failure_min is None:
            bad = ~ok
        else:
            bad = np.zeros(value.shape, dtype=bool)
            if self.failure_max is not None:
                bad |= value > self.failure_max
            if self.failure_min is not None:
                bad |= value < self.failure_min
        out = np.where(
            ok, MEASURE_OK, np.where(bad, MEASURE_FAIL, MEASURE_INCONCLUSIVE)
        )
        nodata = {
            "error": MEASURE_ERROR,
            "fail": MEASURE_FAIL,
            "inconclusive": MEASURE_INCONCLUSIVE,
            "pass": MEASURE_OK,
        }
        return np.where(np.isnan(value), nodata[self.no_data], out).astype(np.int8)

    def _evaluate(self, an: Analysis, idx: Idx, t: float) -> Codes:
        value = an.value(self.metric, idx, version="c", window=True)
        m = self.measure(value)
        if an.checks_only:  # Flagger counts failed checks itself
            an.measure[idx] = np.where(m == MEASURE_ERROR, MEASURE_FAIL, m)
            return np.full(idx.size, RUNNING, dtype=np.int8)
        an.measure[idx] = m
        ex = an.extra
        err = m == MEASURE_ERROR
        ex["errors"][idx] = np.where(err, ex["errors"][idx] + 1, 0)
        # an Error is retried after 10 s (the caller adds one interval)
        an.next_eval[idx[err]] = t + ERROR_RETRY_S - an.interval
        ex["failed"][idx] += m == MEASURE_FAIL
        ex["inconclusive"][idx] += m == MEASURE_INCONCLUSIVE
        ex["measured"][idx] += ~err  # Argo's count counts measurements, not errors
        codes = np.full(idx.size, RUNNING, dtype=np.int8)
        if self.count is not None:
            codes[ex["measured"][idx] >= self.count] = PASS
        if self.inconclusive_limit >= 0:
            codes[ex["inconclusive"][idx] > self.inconclusive_limit] = INCONCLUSIVE
        if self.failure_limit >= 0:
            codes[ex["failed"][idx] > self.failure_limit] = FAIL
        codes[ex["errors"][idx] > self.consecutive_error_limit] = FAIL  # phase Error
        return codes
