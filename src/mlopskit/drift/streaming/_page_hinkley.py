"""The Page-Hinkley test for a change in the mean of a stream: :class:`PageHinkley`.

What does *not* belong here: the shared ``update``/``update_many`` driver
(``_streaming.py``) and the other detectors.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from mlopskit.drift.streaming._base import (
    StreamingDetector,
    _check_number,
    _prefixed_cumsum,
)
from mlopskit.errors import InvalidParameterError

__all__ = ["PageHinkley"]

_MODES = ("both", "down", "up")


class PageHinkley(StreamingDetector):
    """Page-Hinkley test: a cumulative-sum detector of shifts in a stream's mean.

    With :math:`\\bar x_t` the mean of the values since the last reset, the detector
    accumulates :math:`U_t = \\sum_{i \\le t} (x_i - \\bar x_i - \\delta)` and raises an
    alarm when :math:`U_t - \\min_{i \\le t} U_i > \\lambda` (an increase; the decrease
    side mirrors it with :math:`+\\delta` and the maximum). This is the classic test
    (Page, 1954) without river's fading factor, which is what lets ``update_many``
    compute it with cumulative sums.

    Parameters
    ----------
    delta
        The magnitude of change tolerated, in the stream's units: deviations smaller
        than ``delta`` drift the statistic back towards zero. Set it to about half the
        smallest shift worth detecting. Default 0.25 (streams with a standard
        deviation near 1; river's 0.005 makes the statistic a random walk that
        crosses any threshold eventually).
    threshold
        The alarm level :math:`\\lambda`, in the stream's units. With ``delta = 0.25``
        and unit variance, ``threshold = 30`` gives an in-control average run length
        of the order of 10⁷ values (:math:`\\approx e^{2\\delta\\lambda/\\sigma^2}/
        (2\\delta^2/\\sigma^2)`), so false alarms are rare, and detects a 0.5 σ shift
        within about 120–150 values. Scale both with the stream's standard deviation.
    min_instances
        Values needed after a reset before an alarm can be raised. Default 30.
    mode
        ``"both"`` (default) detects increases and decreases of the mean, ``"up"``
        only increases, ``"down"`` only decreases.

    See Also
    --------
    ADWIN : adapts to the scale of the stream, at some cost in delay.

    Examples
    --------
    >>> import numpy as np
    >>> from mlopskit.drift import PageHinkley
    >>> rng = np.random.default_rng(0)
    >>> stream = np.concatenate([rng.normal(0, 1, 2000), rng.normal(1, 1, 500)])
    >>> det = PageHinkley()
    >>> for i, x in enumerate(stream):
    ...     if det.update(x).drift_detected:
    ...         print(f"drift at {i}")
    drift at 2037
    >>> PageHinkley().update_many(stream)
    array([2037])
    """

    def __init__(
        self,
        *,
        delta: float = 0.25,
        threshold: float = 30.0,
        min_instances: int = 30,
        mode: str = "both",
    ) -> None:
        self.delta = delta
        self.threshold = threshold
        self.min_instances = min_instances
        self.mode = mode

    def _validate_params(self) -> None:
        _check_number(self, "delta", self.delta, low=0.0)
        _check_number(self, "threshold", self.threshold, low=0.0, low_open=True)
        _check_number(self, "min_instances", self.min_instances, low=1, integer=True)
        if self.mode not in _MODES:
            raise InvalidParameterError(
                f"PageHinkley: `mode` must be one of {_MODES}. Got {self.mode!r} instead.",
                parameter="mode",
                value=self.mode,
            )
        self._delta = float(self.delta)
        self._threshold = float(self.threshold)
        self._min = int(self.min_instances)
        self._up = self.mode in ("both", "up")
        self._down = self.mode in ("both", "down")

    def _reset_state(self) -> None:
        self._n = 0
        self._sum = 0.0
        self._u_inc = 0.0
        self._u_dec = 0.0
        self._min_inc = 0.0
        self._max_dec = 0.0

    def _update_one(self, x: float) -> bool:
        self._n += 1
        self._sum += x
        dev = x - self._sum / self._n
        self._u_inc += dev - self._delta
        self._u_dec += dev + self._delta
        if self._u_inc < self._min_inc:
            self._min_inc = self._u_inc
        if self._u_dec > self._max_dec:
            self._max_dec = self._u_dec
        if self._n < self._min:
            return False
        return (self._up and self._u_inc - self._min_inc > self._threshold) or (
            self._down and self._max_dec - self._u_dec > self._threshold
        )

    def _update_block(self, values: npt.NDArray[np.float64]) -> int:
        n = self._n + np.arange(1, values.shape[0] + 1, dtype=np.float64)
        sums = _prefixed_cumsum(self._sum, values)
        dev = values - sums / n
        u_inc = _prefixed_cumsum(self._u_inc, dev - self._delta)
        u_dec = _prefixed_cumsum(self._u_dec, dev + self._delta)
        min_inc = np.minimum.accumulate(np.minimum(u_inc, self._min_inc))
        max_dec = np.maximum.accumulate(np.maximum(u_dec, self._max_dec))
        alarm = np.zeros(values.shape[0], dtype=bool)
        if self._up:
            alarm |= u_inc - min_inc > self._threshold
        if self._down:
            alarm |= max_dec - u_dec > self._threshold
        alarm &= n >= self._min
        hits = np.flatnonzero(alarm)
        last = int(hits[0]) if hits.size else values.shape[0] - 1
        self._n += last + 1
        self._sum = float(sums[last])
        self._u_inc = float(u_inc[last])
        self._u_dec = float(u_dec[last])
        self._min_inc = float(min_inc[last])
        self._max_dec = float(max_dec[last])
        return int(hits[0]) if hits.size else -1
