"""The conformance suite every drift detector passes: :func:`check_detector`.

What does *not* belong here: checks of statistical quality (calibration, power,
agreement with scipy), which live in the drift block's tests, and the streaming
checks (``_streaming_checks.py``), which this module only dispatches to.
"""

from __future__ import annotations

import copy
import pickle
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

__all__ = ["check_detector"]


def check_detector(
    detector: Any,
    *,
    data: tuple[Any, Any, Any] | None = None,
    random_state: int = 0,
) -> None:
    """Check that a drift detector follows mlopskit's detector contract.

    Streaming detectors (those with ``update``) are handed to
    ``check_streaming_detector``. For a batch detector the checks are:

    * it is a scikit-learn estimator: ``get_params`` round-trips through ``clone``,
      and ``__init__`` stored its parameters unchanged;
    * ``detect`` before ``fit`` raises :class:`~mlopskit.errors.NotFittedError`;
    * ``fit`` returns the detector itself, sets only attributes ending in ``_``,
      and leaves the parameters and the caller's data untouched;
    * ``detect`` returns a :class:`~mlopskit.drift.DriftResult` with consistent
      fields (float p-value in [0, 1] or ``None``, row counts, a ``features``
      frame with the documented columns), which round-trips through JSON;
    * ``detect`` changes neither the detector nor the data, and is deterministic;
    * a pickled and unpickled detector gives the same result; a clone is unfitted;
    * a strong shift is detected, and the reference compared with itself is not
      (skipped for baselines that ignore the data);
    * for :class:`~mlopskit.drift.BaseDriftDetector` subclasses, bad input (a 1-D
      array, the wrong number of columns, NaN under ``nan_policy="raise"``) raises
      :class:`~mlopskit.errors.DriftInputError`.

    Parameters
    ----------
    detector
        An unfitted detector instance.
    data
        ``(reference, sample, shifted_sample)`` to use. By default the detector
        class's ``_test_data(rng, shift=...)`` makes them (2-D normal data if it
        has none). A tuple as ``reference`` is unpacked into ``fit(*reference)``.
    random_state
        Seed for the generated data.

    Raises
    ------
    AssertionError
        On the first check that fails, saying which.

    Examples
    --------
    >>> from mlopskit.drift import KSDrift
    >>> from mlopskit.testing import check_detector
    >>> check_detector(KSDrift())
    """
    if hasattr(detector, "update"):
        try:
            from mlopskit.testing._streaming_checks import (  # type: ignore[import-not-found,unused-ignore]
                check_streaming_detector,
            )
        except ImportError as exc:  # pragma: no cover - until the streaming checks land
            raise AssertionError(
                f"{type(detector).__name__} is a streaming detector (it has update()), "
                "but mlopskit.testing._streaming_checks.check_streaming_detector is "
                "not available in this installation."
            ) from exc
        check_streaming_detector(detector)
        return
    reference, sample, shifted = data or _make_data(type(detector), random_state)
    name = type(detector).__name__
    _check_estimator(detector, name)
    _check_not_fitted(detector, sample, name)
    fitted = _check_fit(detector, reference, name)
    result = _check_detect(fitted, reference, sample, name)
    _check_pickle_and_clone(fitted, sample, result, name)
    if not getattr(type(detector), "_ignores_data", False):
        shifted_result = fitted.detect(shifted)
        assert shifted_result.drift, (
            f"{name} did not detect a strong shift: {shifted_result!r}"
        )
        same = fitted.detect(
            reference[0] if isinstance(reference, tuple) else reference
        )
        assert not same.drift, (
            f"{name} declared drift between the reference and itself: {same!r}"
        )
    from mlopskit.drift import BaseDriftDetector

    if isinstance(detector, BaseDriftDetector):
        _check_bad_input(fitted, reference, sample, name)


def _make_data(cls: type, random_state: int) -> tuple[Any, Any, Any]:
    make = getattr(cls, "_test_data", None)
    if make is None:
        rng = np.random.default_rng(random_state)
        ref, smp = rng.normal(size=(200, 3)), rng.normal(size=(200, 3))
        return ref, smp, smp + 3.0
    reference, sample = make(np.random.default_rng(random_state), shift=False)
    _, shifted = make(np.random.default_rng(random_state + 1), shift=True)
    return reference, sample, shifted


def _fit(detector: Any, reference: Any) -> Any:
    if isinstance(reference, tuple):
        return detector.fit(*reference)
    return detector.fit(reference)


def _check_estimator(detector: Any, name: str) -> None:
    assert isinstance(detector, BaseEstimator), (
        f"{name} must subclass sklearn.base.BaseEstimator (free get_params/clone)."
    )
    params = detector.get_params(deep=False)
    twin = clone(detector)
    assert set(twin.get_params(deep=False)) == set(params), (
        f"{name}: clone() does not reproduce the parameters {sorted(params)}."
    )
    for key, value in params.items():
        assert getattr(detector, key) is value, (
            f"{name}.__init__ must store parameter {key!r} unchanged as an attribute."
        )
    fitted_looking = [
        k for k in vars(detector) if k.endswith("_") and not k.startswith("_")
    ]
    assert not fitted_looking, (
        f"{name}.__init__ sets fitted-looking attributes {fitted_looking}."
    )


def _check_not_fitted(detector: Any, sample: Any, name: str) -> None:
    from mlopskit.errors import NotFittedError

    try:
        clone(detector).detect(sample)
    except NotFittedError:
        return
    raise AssertionError(f"{name}.detect before fit must raise NotFittedError.")


def _check_fit(detector: Any, reference: Any, name: str) -> Any:
    params_before = {
        k: copy.deepcopy(v) for k, v in detector.get_params(deep=False).items()
    }
    before = set(vars(detector))
    ref_copy = copy.deepcopy(reference)
    out = _fit(detector, reference)
    assert out is detector, f"{name}.fit must return the detector itself."
    added = set(vars(detector)) - before
    bad = [k for k in added if not k.endswith("_")]
    assert not bad, f"{name}.fit set attributes not ending in '_': {sorted(bad)}."
    assert _same(ref_copy, reference), f"{name}.fit modified the reference data."
    for key, value in detector.get_params(deep=False).items():
        if isinstance(value, BaseEstimator | np.ndarray | pd.DataFrame):
            continue  # compared by identity above; estimators are cloned, not fitted
        assert _same(params_before[key], value), (
            f"{name}.fit changed parameter {key!r}."
        )
    return detector


def _check_detect(detector: Any, reference: Any, sample: Any, name: str) -> Any:
    from mlopskit.drift import DriftResult

    state = pickle.dumps(_state(detector))
    smp_copy = copy.deepcopy(sample)
    result = detector.detect(sample)
    assert _same(smp_copy, sample), f"{name}.detect modified the sample."
    assert pickle.dumps(_state(detector)) == state, (
        f"{name}.detect changed the detector."
    )
    assert isinstance(result, DriftResult), (
        f"{name}.detect must return a DriftResult, got {type(result).__name__}."
    )
    assert isinstance(result.drift, bool), f"{name}: drift must be a bool."
    assert isinstance(result.statistic, float), f"{name}: statistic must be a float."
    if result.p_value is not None:
        assert isinstance(result.p_value, float), f"{name}: p_value must be a float."
        assert 0.0 <= result.p_value <= 1.0, (
            f"{name}: p_value {result.p_value} not in [0, 1]."
        )
    assert isinstance(result.threshold, float), f"{name}: threshold must be a float."
    assert result.method, f"{name}: method must name the test."
    assert result.n_sample == _n_rows(sample), (
        f"{name}: n_sample {result.n_sample} but the sample has {_n_rows(sample)} rows."
    )
    if result.features is not None:
        missing = {"feature", "test", "statistic", "p_value", "drift"} - set(
            result.features.columns
        )
        assert not missing, f"{name}: features frame lacks columns {sorted(missing)}."
        assert bool(result.features["drift"].any()) == result.drift or (
            result.correction is None and result.p_value is None
        ), f"{name}: per-feature drift flags disagree with result.drift."
    again = detector.detect(sample)
    assert again == result, f"{name}.detect is not deterministic."
    _check_json(result, name)
    return result


def _check_json(result: Any, name: str) -> None:
    restored = type(result).from_json(result.to_json())
    for field in type(result).model_fields:
        a, b = getattr(result, field), getattr(restored, field)
        if isinstance(a, pd.DataFrame):
            # Frames go through pandas' JSON writer, which keeps 10 decimal places
            # of a float (mlopskit._results.frame_to_json); compare to that.
            assert list(a.columns) == list(b.columns), (
                f"{name}: the {field} frame's columns change through JSON."
            )
            assert len(a) == len(b), f"{name}: the {field} frame's rows change."
            for col in a.columns:
                x, y = a[col].to_numpy(), b[col].to_numpy()
                if x.dtype.kind == "f":
                    ok = np.allclose(x, y, rtol=1e-9, atol=1e-10, equal_nan=True)
                else:
                    ok = [str(v) for v in x] == [str(v) for v in y]
                assert ok, f"{name}: column {col!r} of {field} changes through JSON."
        else:
            assert _same(a, b) or (a != a and b != b), (
                f"{name}: field {field!r} does not round-trip through JSON."
            )


def _check_pickle_and_clone(detector: Any, sample: Any, result: Any, name: str) -> None:
    from mlopskit.errors import NotFittedError

    restored = pickle.loads(pickle.dumps(detector))
    assert restored.detect(sample) == result, (
        f"{name}: a pickled and restored detector gives another result."
    )
    try:
        clone(detector).detect(sample)
    except NotFittedError:
        return
    raise AssertionError(f"{name}: clone() of a fitted detector must be unfitted.")


def _check_bad_input(detector: Any, reference: Any, sample: Any, name: str) -> None:
    from mlopskit.errors import DriftInputError

    frame = (
        sample if isinstance(sample, pd.DataFrame) else pd.DataFrame(np.asarray(sample))
    )
    bad_inputs: dict[str, Any] = {
        "a 1-D array": frame.iloc[:, 0].to_numpy(),
        "a sample with a column missing": _drop_last_column(sample),
    }
    if detector.get_params().get("nan_policy", "raise") == "raise":
        bad_inputs["a sample with NaN"] = _with_nan(sample)
    for what, bad in bad_inputs.items():
        try:
            detector.detect(bad)
        except DriftInputError:
            continue
        raise AssertionError(
            f"{name}.detect accepted {what}; expected DriftInputError."
        )


def _drop_last_column(sample: Any) -> Any:
    if isinstance(sample, pd.DataFrame):
        return sample.iloc[:, :-1] if sample.shape[1] > 1 else sample.assign(extra=1.0)
    arr = np.asarray(sample)
    return arr[:, :-1] if arr.shape[1] > 1 else np.column_stack([arr, arr])


def _with_nan(sample: Any) -> Any:
    if isinstance(sample, pd.DataFrame):
        out = sample.copy()
        out.iloc[0, 0] = np.nan if out.dtypes.iloc[0].kind == "f" else None
        return out
    arr = np.array(sample, dtype=np.float64)
    arr[0, 0] = np.nan
    return arr


def _state(detector: Any) -> dict[str, Any]:
    return dict(vars(detector))


def _n_rows(data: Any) -> int:
    if isinstance(data, tuple):
        data = data[0]
    return len(data)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, pd.DataFrame | pd.Series):
        return bool(a.equals(b))
    if isinstance(a, np.ndarray):
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if isinstance(a, tuple | list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return pickle.dumps(a) == pickle.dumps(b)
