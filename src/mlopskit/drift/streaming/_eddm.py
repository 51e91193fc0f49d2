"""The Early Drift Detection Method for a classifier's errors: :class:`EDDM`.

What does *not* belong here: the shared ``update``/``update_many`` driver
(``_streaming.py``) and the other detectors.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from mlopskit.drift.streaming._base import (
    StreamingDetector,
    _check_number,
    _prefixed_cumsum,
)
from mlopskit.errors import InvalidParameterError

__all__ = ["EDDM"]


class EDDM(StreamingDetector):
    """Early Drift Detection Method (Baena-García et al., 2006) on 0/1 errors.

    EDDM watches the *distance between consecutive errors*: with :math:`\\mu'` and
    :math:`\\sigma'` the mean and standard deviation (ddof = 1) of those distances since
    the last reset, it remembers the largest :math:`m = \\mu' + 2\\sigma'` seen and
    warns when :math:`m / m_{max} < \\alpha`, alarms when :math:`m / m_{max} < \\beta`.
    Errors getting closer together (a rising error rate) shrink the ratio. It reacts
    to gradual drift earlier than :class:`DDM`.

    Parameters
    ----------
    min_errors
        Errors needed after a reset before :math:`m_{max}` is tracked and alarms can be
        raised. Default 300 (the paper and river use 30). With 30, :math:`m_{max}` is
        set from a noisy early estimate and a 10 % dip below it is common under no
        change: river's EDDM raised 82 false alarms before the change on a
        10 % → 20 % error stream, and with 30 errors this implementation raised 115
        on ten such streams; with 300, 3.
    alpha
        Warning level for the ratio. Default 0.95, as in the paper.
    beta
        Drift level for the ratio. Default 0.9, as in the paper.

    Examples
    --------
    >>> import numpy as np
    >>> from mlopskit.drift import EDDM
    >>> rng = np.random.default_rng(0)
    >>> errors = np.concatenate([rng.random(5000) < 0.1, rng.random(3000) < 0.3])
    >>> EDDM().update_many(errors)
    array([5451])
    """

    _input_kind = "binary"

    def __init__(
        self, *, min_errors: int = 300, alpha: float = 0.95, beta: float = 0.9
    ) -> None:
        self.min_errors = min_errors
        self.alpha = alpha
        self.beta = beta

    @property
    def warning_detected(self) -> bool:
        """Whether the detector is in the warning zone after the value just fed (read-only)."""
        return bool(getattr(self, "_warning", False)) and not self.drift_detected

    def _validate_params(self) -> None:
        _check_number(self, "min_errors", self.min_errors, low=2, integer=True)
        _check_number(self, "alpha", self.alpha, low=0.0, high=1.0, low_open=True)
        _check_number(self, "beta", self.beta, low=0.0, high=1.0, low_open=True)
        if self.beta > self.alpha:
            raise InvalidParameterError(
                "EDDM: `beta` (drift level) must not exceed `alpha` (warning level). "
                f"Got beta={self.beta!r} > alpha={self.alpha!r} instead.",
                parameter="beta",
                value=self.beta,
            )
        self._min = int(self.min_errors)
        self._alpha = float(self.alpha)
        self._beta = float(self.beta)

    def _reset_state(self) -> None:
        self._n = 0
        self._last_error = 0
        self._k = 0
        self._sum = 0.0
        self._sumsq = 0.0
        self._m_max = -math.inf
        self._warning = False

    def _update_one(self, x: float) -> bool:
        self._n += 1
        if x != 1.0:
            return False
        d = float(self._n - self._last_error)
        self._last_error = self._n
        self._k += 1
        self._sum += d
        self._sumsq += d * d
        if self._k < self._min:
            return False
        k = float(self._k)
        var = (self._sumsq - self._sum * self._sum / k) / (k - 1.0)
        m = self._sum / k + 2.0 * math.sqrt(max(var, 0.0))
        if m > self._m_max:
            self._m_max = m
            self._warning = False
            return False
        level = m / self._m_max
        self._warning = level < self._alpha
        return level < self._beta

    def _update_block(self, values: npt.NDArray[np.float64]) -> int:
        size = values.shape[0]
        where = np.flatnonzero(values == 1.0)
        if where.size == 0:
            self._n += size
            return -1
        pos = where + (self._n + 1)  # positions since the reset, 1-based
        prev = np.empty(pos.shape[0], dtype=np.int64)
        prev[0] = self._last_error
        prev[1:] = pos[:-1]
        d = (pos - prev).astype(np.float64)
        k = self._k + np.arange(1, pos.shape[0] + 1, dtype=np.float64)
        sums = _prefixed_cumsum(self._sum, d)
        sumsq = _prefixed_cumsum(self._sumsq, d * d)
        with np.errstate(divide="ignore", invalid="ignore"):
            var = (sumsq - sums * sums / k) / (k - 1.0)
        m = sums / k + 2.0 * np.sqrt(np.maximum(var, 0.0))
        eligible = k >= self._min
        cand = np.where(eligible, m, -math.inf)
        prev_max = np.empty(pos.shape[0])
        prev_max[0] = self._m_max
        np.maximum.accumulate(cand[:-1], out=prev_max[1:])
        np.maximum(prev_max, self._m_max, out=prev_max)
        tested = eligible & ~(m > prev_max)
        with np.errstate(divide="ignore", invalid="ignore"):
            level = m / prev_max
        drift = tested & (level < self._beta)
        hits = np.flatnonzero(drift)
        last = int(hits[0]) if hits.size else pos.shape[0] - 1
        self._n = int(pos[last]) if hits.size else self._n + size
        self._last_error = int(pos[last])
        self._k = int(k[last])
        self._sum = float(sums[last])
        self._sumsq = float(sumsq[last])
        self._m_max = max(float(prev_max[last]), float(cand[last]))
        if eligible[last]:
            self._warning = bool(tested[last] and level[last] < self._alpha)
        return int(where[last]) if hits.size else -1
