"""Hoeffding's-bound drift detection on averages (HDDM_A): :class:`HDDM`.

What does *not* belong here: the shared ``update``/``update_many`` driver
(``_streaming.py``) and the other detectors. The W variant (HDDM_W, exponentially
weighted averages) is not implemented: its weighted recursion cannot be computed
with cumulative sums, so it could not give ``update_many`` its exact, vectorised form.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from mlopskit.drift.streaming._base import (
    StreamingDetector,
    _check_number,
    _prefixed_cumsum,
)
from mlopskit.errors import InvalidParameterError

__all__ = ["HDDM"]


class HDDM(StreamingDetector):
    """HDDM_A (Frías-Blanco et al., 2015): Hoeffding's bound on moving averages.

    Values must lie in [0, 1] (typically 0/1 error indicators; any bounded score
    rescaled to [0, 1] works). With :math:`\\bar z_t` the mean since the last reset,
    the detector keeps a cut point :math:`c` where :math:`\\bar z_c + \\epsilon_c` was
    smallest, :math:`\\epsilon_n = \\sqrt{\\ln(1/\\delta)/(2n)}`, and raises an alarm
    when :math:`\\bar z_t - \\bar z_c \\ge
    \\sqrt{\\tfrac{t - c}{2\\,c\\,t}\\ln(2/\\delta)}` — the mean rose by more than
    Hoeffding's bound allows at confidence :math:`\\delta`. With ``two_sided=True`` a
    second cut point watches for decreases.

    Only the A variant (HDDM_A) is implemented; the W variant's exponentially weighted
    averages have no exact vectorised form.

    Parameters
    ----------
    drift_confidence
        :math:`\\delta` for alarms. Default 0.001 (river's; 0 false alarms measured
        on a 10 % → 20 % error stream).
    warning_confidence
        :math:`\\delta` for warnings; must be at least ``drift_confidence``.
        Default 0.005.
    two_sided
        Also detect a *decrease* of the mean (an error rate that falls). Default False:
        for error rates only a rise needs action.

    Examples
    --------
    >>> import numpy as np
    >>> from mlopskit.drift import HDDM
    >>> rng = np.random.default_rng(0)
    >>> errors = np.concatenate([rng.random(5000) < 0.1, rng.random(2000) < 0.2])
    >>> HDDM().update_many(errors)
    array([5566])
    """

    _input_kind = "unit"

    def __init__(
        self,
        *,
        drift_confidence: float = 0.001,
        warning_confidence: float = 0.005,
        two_sided: bool = False,
    ) -> None:
        self.drift_confidence = drift_confidence
        self.warning_confidence = warning_confidence
        self.two_sided = two_sided

    @property
    def warning_detected(self) -> bool:
        """Whether the value just fed put the detector in the warning zone (read-only)."""
        return bool(getattr(self, "_warning", False)) and not self.drift_detected

    def _validate_params(self) -> None:
        for name in ("drift_confidence", "warning_confidence"):
            _check_number(
                self, name, getattr(self, name), low=0.0, high=1.0, low_open=True,
                high_open=True,
            )  # fmt: skip
        if self.warning_confidence < self.drift_confidence:
            raise InvalidParameterError(
                "HDDM: `warning_confidence` must be at least `drift_confidence` (a "
                "warning comes before a drift). Got warning_confidence="
                f"{self.warning_confidence!r} < drift_confidence="
                f"{self.drift_confidence!r} instead.",
                parameter="warning_confidence",
                value=self.warning_confidence,
            )
        if not isinstance(self.two_sided, (bool, np.bool_)):
            raise InvalidParameterError(
                f"HDDM: `two_sided` must be a bool. Got {self.two_sided!r} instead.",
                parameter="two_sided",
                value=self.two_sided,
            )
        self._c = math.log(1.0 / self.drift_confidence) / 2.0
        self._ld = math.log(2.0 / self.drift_confidence) / 2.0
        self._lw = math.log(2.0 / self.warning_confidence) / 2.0
        self._both = bool(self.two_sided)

    def _reset_state(self) -> None:
        self._n = 0
        self._sum = 0.0
        # cut point for increases (lowest mean + bound) and decreases (highest mean - bound)
        self._lo_n, self._lo_mean, self._lo_g = 0, 0.0, math.inf
        self._hi_n, self._hi_mean, self._hi_g = 0, 0.0, -math.inf
        self._warning = False

    def _update_one(self, x: float) -> bool:
        self._n += 1
        self._sum += x
        n = self._n
        mean = self._sum / n
        eps = math.sqrt(self._c / n)
        g = mean + eps
        if g <= self._lo_g:
            self._lo_n, self._lo_mean, self._lo_g = n, mean, g
        if self._both:
            h = mean - eps
            if h >= self._hi_g:
                self._hi_n, self._hi_mean, self._hi_g = n, mean, h
        drift = warning = False
        if self._lo_n != n:
            m = (n - self._lo_n) / self._lo_n * (1.0 / n)
            rise = mean - self._lo_mean
            drift = rise >= math.sqrt(m * self._ld)
            warning = rise >= math.sqrt(m * self._lw)
        if self._both and self._hi_n != n:
            m = (n - self._hi_n) / self._hi_n * (1.0 / n)
            fall = self._hi_mean - mean
            drift = drift or fall >= math.sqrt(m * self._ld)
            warning = warning or fall >= math.sqrt(m * self._lw)
        self._warning = warning and not drift
        return drift

    def _update_block(self, values: npt.NDArray[np.float64]) -> int:
        size = values.shape[0]
        n = self._n + np.arange(1, size + 1, dtype=np.float64)
        sums = _prefixed_cumsum(self._sum, values)
        mean = sums / n
        eps = np.sqrt(self._c / n)
        lo_n, lo_mean, lo_idx = _cut_points(
            mean + eps, self._lo_g, n, mean, self._lo_n, self._lo_mean, low=True
        )
        drift, warning = _hoeffding_test(n, lo_n, mean - lo_mean, self._ld, self._lw)
        if self._both:
            hi_n, hi_mean, hi_idx = _cut_points(
                mean - eps, self._hi_g, n, mean, self._hi_n, self._hi_mean, low=False
            )
            drift2, warning2 = _hoeffding_test(
                n, hi_n, hi_mean - mean, self._ld, self._lw
            )
            drift |= drift2
            warning |= warning2
        hits = np.flatnonzero(drift)
        last = int(hits[0]) if hits.size else size - 1
        self._n += last + 1
        self._sum = float(sums[last])
        if lo_idx[last] >= 0:
            j = int(lo_idx[last])
            self._lo_n, self._lo_mean, self._lo_g = (
                int(n[j]),
                float(mean[j]),
                float(mean[j] + eps[j]),
            )
        if self._both and hi_idx[last] >= 0:
            j = int(hi_idx[last])
            self._hi_n, self._hi_mean, self._hi_g = (
                int(n[j]),
                float(mean[j]),
                float(mean[j] - eps[j]),
            )
        self._warning = bool(warning[last] and not drift[last])
        return int(hits[0]) if hits.size else -1


def _cut_points(
    g: Any, g0: float, n: Any, mean: Any, n0: int, mean0: float, *, low: bool
) -> tuple[Any, Any, Any]:
    """Cut point at each step: the latest step where ``g`` reached its running min (max)."""
    size = g.shape[0]
    prev = np.empty(size)
    prev[0] = g0
    if low:
        np.minimum.accumulate(g[:-1], out=prev[1:])
        np.minimum(prev, g0, out=prev)
        is_new = g <= prev
    else:
        np.maximum.accumulate(g[:-1], out=prev[1:])
        np.maximum(prev, g0, out=prev)
        is_new = g >= prev
    idx = np.maximum.accumulate(np.where(is_new, np.arange(size), -1))
    has = idx >= 0
    safe = np.where(has, idx, 0)
    cut_n = np.where(has, n[safe], float(n0))
    cut_mean = np.where(has, mean[safe], mean0)
    return cut_n, cut_mean, idx


def _hoeffding_test(
    n: Any, cut_n: Any, diff: Any, ld: float, lw: float
) -> tuple[Any, Any]:
    """Whether ``diff`` exceeds Hoeffding's bound for the drift and warning levels."""
    tested = cut_n != n
    with np.errstate(divide="ignore", invalid="ignore"):
        m = (n - cut_n) / cut_n * (1.0 / n)
    drift = tested & (diff >= np.sqrt(m * ld))
    warning = tested & (diff >= np.sqrt(m * lw))
    return drift, warning
