"""Every detector exported by ``mlopskit.drift`` passes ``check_detector``.

Detectors are discovered from ``mlopskit.drift.__all__``, so new ones are covered as
they land. A class builds its cheap test instance from its ``_test_params()`` class
method when it has one; the prior-shift detectors, whose ``fit`` takes predictions
and labels, get their data from the registry below.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import mlopskit.drift as drift
from mlopskit.testing import check_detector

#: Detectors whose conformance run takes more than ~5 s here.
SLOW = {"KSWIN"}


def _detector_classes() -> list[Any]:
    return [
        pytest.param(obj, marks=pytest.mark.slow) if name in SLOW else obj
        for name in drift.__all__
        if isinstance(obj := getattr(drift, name), type)
        and (hasattr(obj, "detect") or hasattr(obj, "update"))
        and obj is not drift.BaseDriftDetector  # the abstract base
    ]


def _noisy_predictions(rng: np.random.Generator, y: Any) -> Any:
    return np.where(rng.random(y.size) < 0.2, 1 - y, y)


def _prior_data(kind: str) -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(0)
    y_src = rng.choice(2, size=800)
    y_same = rng.choice(2, size=800)
    y_shift = rng.choice(2, size=800, p=[0.1, 0.9])
    if kind == "labels":
        return y_src, y_same, y_shift
    if kind == "predictions":
        pred = _noisy_predictions
        return (pred(rng, y_src), y_src), pred(rng, y_same), pred(rng, y_shift)

    def proba(y: Any) -> Any:
        p1 = np.clip(0.5 + 0.3 * (2 * y - 1) + rng.normal(0, 0.1, y.size), 0.01, 0.99)
        return np.column_stack([1 - p1, p1])

    return (proba(y_src), y_src), proba(y_same), proba(y_shift)


#: Parameters for detectors without ``_test_params`` (seeded, so results repeat).
PRIOR_PARAMS: dict[str, dict[str, Any]] = {
    "RLLS": {"random_state": 0, "n_bootstrap": 20}
}

#: Data for detectors whose ``fit`` does not take a plain reference table.
PRIOR_DATA = {
    "LabelDrift": "labels",
    "BBSE": "predictions",
    "RLLS": "predictions",
    "MLLS": "probabilities",
}


@pytest.mark.parametrize("cls", _detector_classes(), ids=lambda c: c.__name__)
def test_check_detector(cls: type) -> None:
    if hasattr(cls, "_test_params"):
        params = cls._test_params()
    else:
        params = PRIOR_PARAMS.get(cls.__name__, {})
    data = None
    if cls.__name__ in PRIOR_DATA and not hasattr(cls, "_test_data"):
        data = _prior_data(PRIOR_DATA[cls.__name__])
    check_detector(cls(**params), data=data)


class Mutating(drift.KSDrift):
    """Breaks the contract: ``detect`` changes the detector."""

    def detect(self, sample: Any) -> Any:
        self.calls_ = getattr(self, "calls_", 0) + 1
        return super().detect(sample)


class Blind(drift.KSDrift):
    """Breaks the contract: never sees drift."""

    def _detect(self, table: Any) -> Any:
        return super()._detect(table).model_copy(update={"drift": False})


class LaxInput(drift.KSDrift):
    """Breaks the contract: swallows NaN instead of raising DriftInputError."""

    def _check_missing(self, table: Any, what: str) -> None:
        return None

    def _detect(self, table: Any) -> Any:
        if any(table.missing(j).any() for j in range(len(table.names))):
            return (
                drift.DummyDrift(random_state=0)
                .fit(np.zeros((2, 1)))
                .detect(np.zeros((2, 1)))
            )
        return super()._detect(table)


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (Mutating(), "changed the detector"),
        (Blind(), "did not detect a strong shift"),
        (LaxInput(), "accepted a sample with NaN"),
    ],
    ids=["mutating", "blind", "lax-input"],
)
def test_check_detector_catches_broken_detectors(broken: Any, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_detector(broken)
