"""The conformance checks for streaming drift detectors: :func:`check_streaming_detector`.

:func:`mlopskit.testing.check_detector` hands every detector with an ``update``
method to this function. What does *not* belong here: the batch detectors' checks
(``_detectors.py``) and statistical quality (delays, false alarms), which the drift
block's tests and benchmarks measure.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
from sklearn.base import clone

from mlopskit.errors import DriftInputError

__all__ = ["check_streaming_detector"]


def _streams() -> list[tuple[str, Any]]:
    """Seeded streams with changes: 0/1 errors (valid for every detector), then reals."""
    rng = np.random.default_rng(20240601)
    errors = np.concatenate(
        [rng.random(2000) < 0.1, rng.random(1000) < 0.45, rng.random(1000) < 0.1]
    ).astype(np.float64)
    real = np.concatenate(
        [rng.normal(0, 1, 2000), rng.normal(2, 1, 1000), rng.normal(-1, 3, 1000)]
    )
    return [("0/1 errors", errors), ("real values", real)]


def _loop(det: Any, values: Any) -> list[int]:
    alarms = []
    for i, x in enumerate(values.tolist()):
        returned = det.update(x)
        assert returned is det, (
            f"{type(det).__name__}.update must return the detector itself "
            f"(got {type(returned).__name__})."
        )
        if det.drift_detected:
            alarms.append(i)
    return alarms


def _accepts(det: Any, values: Any) -> bool:
    try:
        clone(det).update_many(values)
    except DriftInputError:
        return False
    return True


def _check_properties(det: Any) -> None:
    name = type(det).__name__
    for attr in ("drift_detected", "warning_detected"):
        if attr == "warning_detected" and not hasattr(det, attr):
            continue
        descriptor = getattr(type(det), attr, None)
        message = f"{name}.{attr} must be a read-only property."
        assert isinstance(descriptor, property), message
        assert descriptor.fset is None, message
        try:
            setattr(det, attr, True)
        except AttributeError:
            pass
        else:  # pragma: no cover - only a broken detector gets here
            raise AssertionError(
                f"{name}.{attr} could be assigned; it must be read-only."
            )
        assert isinstance(getattr(det, attr), bool), f"{name}.{attr} must be a bool."


def _check_bad_input(det: Any) -> None:
    name = type(det).__name__
    fresh = clone(det)
    for bad in (float("nan"), float("inf")):
        try:
            fresh.update(bad)
        except DriftInputError:
            pass
        else:
            raise AssertionError(f"{name}.update({bad}) must raise DriftInputError.")
        try:
            fresh.update_many(np.array([0.0, bad]))
        except DriftInputError:
            pass
        else:
            raise AssertionError(
                f"{name}.update_many with {bad} must raise DriftInputError."
            )


def check_streaming_detector(detector: Any) -> None:
    """Run the streaming-detector contract on ``detector``; raise AssertionError if broken.

    Checks, on seeded streams with known changes:

    * ``clone`` reproduces the parameters (and cloning twice is idempotent);
    * ``update`` returns the detector and does not change ``get_params()``;
    * ``drift_detected`` (and ``warning_detected`` if present) are read-only bool
      properties;
    * ``update_many(values)`` returns exactly the alarm positions of a loop over
      ``update``, and leaves a state that continues identically;
    * the detector resets after a drift: the alarms after one equal those of a fresh
      clone fed the values from the next position on;
    * ``reset()`` returns the detector and makes it behave as a fresh clone;
    * a pickled, half-fed detector continues with the same alarms;
    * NaN and inf raise :class:`~mlopskit.errors.DriftInputError`.

    Parameters
    ----------
    detector
        An unfed streaming detector (its parameters are used, it is not mutated).

    Examples
    --------
    >>> from mlopskit.drift import PageHinkley
    >>> from mlopskit.testing._streaming_checks import check_streaming_detector
    >>> check_streaming_detector(PageHinkley())
    """
    name = type(detector).__name__
    params = detector.get_params(deep=False)
    twice = clone(clone(detector))
    assert twice.get_params(deep=False) == params, f"clone({name}) changed parameters."
    _check_properties(clone(detector))
    _check_bad_input(detector)
    streams = [(label, v) for label, v in _streams() if _accepts(detector, v)]
    assert streams, f"{name} accepted neither a 0/1 stream nor a real-valued stream."
    for label, values in streams:
        looped = clone(detector)
        alarms = _loop(looped, values)
        assert looped.get_params(deep=False) == params, (
            f"{name}.update changed the detector's parameters."
        )
        batched = clone(detector)
        many = batched.update_many(values)
        message = f"{name}.update_many must return an int64 numpy array."
        assert isinstance(many, np.ndarray), message
        assert many.dtype == np.int64, message
        assert many.tolist() == alarms, (
            f"{name}.update_many gave alarms {many.tolist()[:10]} on {label}, a loop "
            f"over update gave {alarms[:10]}."
        )
        # split the stream: first half by update_many, rest by update, must agree
        half = values.shape[0] // 2
        mixed = clone(detector)
        first = mixed.update_many(values[:half]).tolist()
        rest = [half + i for i in _loop(mixed, values[half:])]
        assert first + rest == alarms, (
            f"{name}: update_many then update gave {(first + rest)[:10]} on {label}, "
            f"a loop gave {alarms[:10]}."
        )
        # pickle half-way, continue both
        half_fed = clone(detector)
        half_fed.update_many(values[:half])
        restored = pickle.loads(pickle.dumps(half_fed))
        assert (
            restored.update_many(values[half:]).tolist()
            == half_fed.update_many(values[half:]).tolist()
        ), f"{name}: an unpickled detector continued differently on {label}."
        if alarms:
            # reset after a drift: what follows the alarm is a fresh start
            nxt = alarms[0] + 1
            fresh = clone(detector).update_many(values[nxt:]).tolist()
            assert [a - nxt for a in alarms[1:]] == fresh, (
                f"{name} did not reset after the drift at {alarms[0]} on {label}."
            )
        # reset() behaves like a fresh clone
        used = clone(detector)
        used.update_many(values[: values.shape[0] // 3])
        assert used.reset() is used, f"{name}.reset() must return the detector."
        assert not used.drift_detected, f"{name}.reset() left drift_detected set."
        assert used.update_many(values).tolist() == alarms, (
            f"{name} after reset() differs from a fresh detector on {label}."
        )
