"""The shared machinery of the streaming drift detectors.

Every streaming detector (:class:`~mlopskit.drift.ADWIN`, :class:`~mlopskit.drift.DDM`,
…) subclasses :class:`StreamingDetector`, which gives it the river-shaped contract:

* ``update(x)`` feeds one value and returns the detector;
* ``drift_detected`` (and ``warning_detected`` where the method has a warning zone) are
  read-only properties describing the value just fed;
* the detector resets itself on the update that follows a drift, and ``reset()`` does
  the same on demand;
* ``update_many(values)`` feeds a whole array and returns the positions of the alarms,
  exactly the alarms a loop over ``update`` would give (the same floating-point
  operations in the same order, only batched), leaving the same state behind.

A subclass implements four hooks: ``_validate_params`` (called on the first update),
``_reset_state``, ``_update_one(x) -> bool`` (pure Python floats, for speed on single
values) and ``_update_block(values) -> int`` (numpy, processes values up to and including
the first drift and returns its index, or -1). The driver here feeds blocks of growing
size so the work after a drift is proportional to the distance to the next one.

What does *not* belong here: the detectors' statistics (one module per detector) and
the batch detectors, which follow scikit-learn's ``fit``/``detect`` instead.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator

from mlopskit.errors import DriftInputError, InvalidParameterError

__all__ = ["StreamingDetector"]

_D = TypeVar("_D", bound="StreamingDetector")

_FIRST_BLOCK = 4096
_MAX_BLOCK = 1 << 18


class StreamingDetector(BaseEstimator):  # type: ignore[misc]
    """Base class of the streaming drift detectors (river-shaped).

    Subclasses store their keyword-only parameters in ``__init__`` and nothing else;
    parameters are validated on the first update (raising
    :class:`~mlopskit.errors.InvalidParameterError`).

    Examples
    --------
    >>> import numpy as np
    >>> from mlopskit.drift import PageHinkley
    >>> det = PageHinkley()
    >>> det.update(0.3) is det, det.drift_detected
    (True, False)
    >>> [cls.__name__ for cls in type(det).__mro__][:2]
    ['PageHinkley', 'StreamingDetector']
    """

    #: Whether inputs must be 0 or 1 (error indicators), or lie in [0, 1].
    _input_kind: str = "real"
    _state_ready: bool = False
    _drift: bool = False
    _n_seen: int = 0

    # -- public API ---------------------------------------------------------------

    @property
    def drift_detected(self) -> bool:
        """Whether the value just fed raised a drift alarm (read-only)."""
        return bool(getattr(self, "_drift", False))

    @property
    def n_seen(self) -> int:
        """Values fed since the last reset (read-only)."""
        return int(getattr(self, "_n_seen", 0))

    def update(self: _D, x: float) -> _D:
        """Feed one value.

        Parameters
        ----------
        x
            The next value of the stream (a finite real number; error indicators
            0/1 for the error-rate detectors).

        Returns
        -------
        self
            The detector, so calls chain; read ``drift_detected`` afterwards.

        Raises
        ------
        DriftInputError
            If ``x`` is NaN, infinite, not a number, or outside the detector's domain.

        Examples
        --------
        >>> from mlopskit.drift import ADWIN
        >>> det = ADWIN()
        >>> det.update(0.5) is det, det.drift_detected, det.n_seen
        (True, False, 1)
        """
        if not self._state_ready:
            self._start()
        # fast path: a Python float, finite (x - x is 0 unless x is NaN or ±inf)
        if type(x) is float and x - x == 0.0 and self._input_kind == "real":
            value = x
        else:
            value = self._check_value(x)
        if self._drift:
            self._clear()
        self._n_seen += 1
        self._drift = self._update_one(value)
        return self

    def update_many(self, values: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Feed a whole array of values; return the positions of the drift alarms.

        Gives exactly the alarms (and leaves exactly the state) that calling
        :meth:`update` on each value in turn would, but computes them with array
        operations.

        Parameters
        ----------
        values
            A 1-D array-like of values, fed in order.

        Returns
        -------
        numpy.ndarray
            The int64 indices into ``values`` at which ``drift_detected`` became true.

        Raises
        ------
        DriftInputError
            If ``values`` is not 1-D, or holds NaN, inf or values outside the
            detector's domain (nothing is fed in that case).

        Examples
        --------
        >>> import numpy as np
        >>> from mlopskit.drift import PageHinkley
        >>> stream = np.r_[np.zeros(500), np.full(200, 2.0)]
        >>> PageHinkley().update_many(stream)
        array([517])
        """
        if not self._state_ready:
            self._start()
        arr = self._check_array(values)
        alarms: list[int] = []
        pos, size = 0, _FIRST_BLOCK
        while pos < arr.shape[0]:
            if self._drift:
                self._clear()
            block = arr[pos : pos + size]
            hit = self._update_block(block)
            if hit >= 0:
                self._n_seen += hit + 1
                self._drift = True
                alarms.append(pos + hit)
                pos += hit + 1
                size = _FIRST_BLOCK
            else:
                self._n_seen += block.shape[0]
                self._drift = False
                pos += block.shape[0]
                size = min(2 * size, _MAX_BLOCK)
        return np.asarray(alarms, dtype=np.int64)

    def set_params(self: _D, **params: Any) -> _D:
        """Set parameters (scikit-learn's); the detector restarts on its next update.

        Examples
        --------
        >>> from mlopskit.drift import PageHinkley
        >>> PageHinkley().set_params(threshold=10.0).threshold
        10.0
        """
        super().set_params(**params)
        self._state_ready = False
        return self

    def reset(self: _D) -> _D:
        """Forget everything seen so far (as after a drift); return the detector.

        Examples
        --------
        >>> from mlopskit.drift import DDM
        >>> det = DDM().update(1).update(0)
        >>> det.reset().n_seen
        0
        """
        self._start()
        return self

    # -- machinery ----------------------------------------------------------------

    def _start(self) -> None:
        self._validate_params()
        self._clear()
        self._state_ready = True

    def _clear(self) -> None:
        self._drift = False
        self._n_seen = 0
        self._reset_state()

    def _check_value(self, x: Any) -> float:
        try:
            value = float(x)
        except (TypeError, ValueError) as exc:
            raise DriftInputError(
                f"{type(self).__name__}.update expects a real number. Got {x!r} "
                f"({type(x).__name__}) instead; pass one numeric value per call "
                "(use update_many for arrays).",
                value=x,
            ) from exc
        if not math.isfinite(value) or not self._in_domain(value):
            raise DriftInputError(
                f"{type(self).__name__}.update expects {self._domain_text()}. "
                f"Got {x!r} instead; drop or impute such values before feeding them.",
                value=x,
            )
        return value

    def _in_domain(self, value: float) -> bool:
        if self._input_kind == "binary":
            return value == 0.0 or value == 1.0
        if self._input_kind == "unit":
            return 0.0 <= value <= 1.0
        return True

    def _domain_text(self) -> str:
        if self._input_kind == "binary":
            return "an error indicator: 0 (correct) or 1 (error)"
        if self._input_kind == "unit":
            return "a finite value in [0, 1] (e.g. a 0/1 error indicator)"
        return "a finite real number (not NaN or inf)"

    def _check_array(self, values: npt.ArrayLike) -> npt.NDArray[np.float64]:
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DriftInputError(
                f"{type(self).__name__}.update_many expects a 1-D array of numbers. "
                f"Got an object of type {type(values).__name__} that does not convert "
                "to float64.",
            ) from exc
        if arr.ndim != 1:
            raise DriftInputError(
                f"{type(self).__name__}.update_many expects a 1-D array. Got shape "
                f"{arr.shape} instead; feed one stream per detector (ravel or pick a "
                "column).",
                shape=arr.shape,
            )
        finite = np.isfinite(arr)
        bad = ~finite
        if self._input_kind == "binary":
            bad |= finite & (arr != 0.0) & (arr != 1.0)
        elif self._input_kind == "unit":
            bad |= finite & ((arr < 0.0) | (arr > 1.0))
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise DriftInputError(
                f"{type(self).__name__}.update_many expects {self._domain_text()} at "
                f"every position. Got {arr[first]!r} at index {first} "
                f"({int(bad.sum())} bad values in all); nothing was fed. Drop or "
                "impute such values first.",
                index=first,
                n_bad=int(bad.sum()),
            )
        return np.ascontiguousarray(arr)

    # -- hooks for subclasses -------------------------------------------------------

    def _validate_params(self) -> None:
        raise NotImplementedError

    def _reset_state(self) -> None:
        raise NotImplementedError

    def _update_one(self, x: float) -> bool:
        raise NotImplementedError

    def _update_block(self, values: npt.NDArray[np.float64]) -> int:
        raise NotImplementedError


def _check_number(
    owner: object,
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
) -> None:
    """Raise InvalidParameterError unless ``value`` is a number in the given range."""
    kind = "an integer" if integer else "a real number"
    ok_type = (
        isinstance(value, (int, np.integer))
        if integer
        else isinstance(value, (int, float, np.integer, np.floating))
    ) and not isinstance(value, bool)
    ok = ok_type and math.isfinite(float(value))
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        interval = f"{'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"
        raise InvalidParameterError(
            f"{type(owner).__name__}: `{name}` must be {kind} in {interval}. "
            f"Got {value!r} instead.",
            parameter=name,
            value=value,
        )


def _prefixed_cumsum(start: float, values: npt.NDArray[np.float64]) -> Any:
    """``start + v0, start + v0 + v1, …`` added left to right, exactly as a loop would."""
    buf = np.empty(values.shape[0] + 1, dtype=np.float64)
    buf[0] = start
    buf[1:] = values
    return np.cumsum(buf)[1:]
