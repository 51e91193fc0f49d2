"""Adapters that put other detectors into the harness's ``fit``/``detect`` shape.

* :class:`OnModelOutput`: run any detector on a model's predicted probabilities or
  labels instead of the raw features (black-box shift detection, BBSE on labels).
* :class:`AlibiDetectAdapter`, :class:`FrourosAdapter`: alibi-detect and frouros
  batch detectors (both optional: the ``bench`` extra).
* :class:`RiverAdapter`: a river streaming detector with mlopskit's ``update``
  returning ``self``.

What does *not* belong here: any statistic of our own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mlopskit._optional import import_optional
from mlopskit.drift._result import DriftResult
from mlopskit.errors import InvalidParameterError, NotFittedError

__all__ = ["AlibiDetectAdapter", "FrourosAdapter", "OnModelOutput", "RiverAdapter"]


class OnModelOutput:
    """Run ``detector`` on ``model``'s outputs rather than on the features.

    Parameters
    ----------
    detector
        Any detector with ``fit``/``detect`` (e.g. :class:`~mlopskit.drift.LabelDrift`
        on predicted labels, :class:`~mlopskit.drift.BBSE`, :class:`~mlopskit.drift.MLLS`).
    model
        A fitted classifier.
    output
        ``"proba"`` (``predict_proba``) or ``"label"`` (``predict``).
    needs_labels
        Fit with ``detector.fit(outputs, y)``: for BBSE and MLLS, which learn from
        the reference's true labels. The harness then calls ``fit(X, y)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from mlopskit.drift import BBSE
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 2)); y = (X[:, 0] > 0).astype(int)
    >>> model = LogisticRegression().fit(X, y)
    >>> det = OnModelOutput(BBSE(), model, output="label", needs_labels=True)
    >>> det.fit(X[:300], y[:300]).detect(X[300:][X[300:, 0] > 0]).drift
    True
    """

    def __init__(
        self,
        detector: Any,
        model: Any,
        *,
        output: str = "proba",
        needs_labels: bool = False,
    ) -> None:
        if output not in ("proba", "label"):
            raise InvalidParameterError(
                f"`output` must be 'proba' or 'label'. Got {output!r} instead.",
            )
        self.detector = detector
        self.model = model
        self.output = output
        self.needs_labels = needs_labels

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """The wrapped detector's parameters (so the harness can set ``alpha``)."""
        params = (
            dict(self.detector.get_params(deep=False))
            if hasattr(self.detector, "get_params")
            else {}
        )
        return params

    def set_params(self, **params: Any) -> OnModelOutput:
        """Set parameters of the wrapped detector."""
        self.detector.set_params(**params)
        return self

    def _outputs(self, X: Any) -> Any:
        if self.output == "label":
            return self.model.predict(X)
        return self.model.predict_proba(X)

    def fit(self, X: Any, y: Any = None) -> OnModelOutput:
        """Fit the detector on the model's outputs for ``X`` (and ``y``)."""
        if self.needs_labels:
            self.detector.fit(self._outputs(X), y)
        else:
            self.detector.fit(self._outputs(X))
        return self

    def detect(self, X: Any) -> Any:
        """The detector's result on the model's outputs for ``X``."""
        return self.detector.detect(self._outputs(X))

    def __repr__(self) -> str:
        return f"OnModelOutput({self.detector!r}, output={self.output!r})"


class AlibiDetectAdapter:
    """An alibi-detect batch detector (``KSDrift``, ``MMDDrift``, …) in the harness.

    alibi-detect takes the reference in its constructor and answers ``predict``
    with a dict; this adapter builds it at ``fit`` and turns the answer into a
    :class:`~mlopskit.drift.DriftResult`.

    Parameters
    ----------
    detector
        The detector class (e.g. ``alibi_detect.cd.KSDrift``) or its name in
        ``alibi_detect.cd`` (imported lazily; needs ``pip install alibi-detect``).
    alpha
        Passed as ``p_val``.
    **kwargs
        Other constructor arguments.

    Examples
    --------
    >>> import numpy as np
    >>> class FakeKS:  # the shape of alibi_detect.cd.KSDrift
    ...     def __init__(self, x_ref, p_val=0.05):
    ...         self.p_val = p_val
    ...     def predict(self, x):
    ...         return {"data": {"is_drift": 1, "p_val": np.array([0.001, 0.2]),
    ...                          "threshold": self.p_val / 2}}
    >>> det = AlibiDetectAdapter(FakeKS).fit(np.zeros((5, 2)))
    >>> res = det.detect(np.zeros((5, 2)))
    >>> res.drift, res.p_value
    (True, 0.001)
    """

    def __init__(self, detector: Any, *, alpha: float = 0.05, **kwargs: Any) -> None:
        self.detector = detector
        self.alpha = alpha
        self.kwargs = kwargs

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """Parameters the harness may set (``alpha``)."""
        return {"alpha": self.alpha}

    def set_params(self, **params: Any) -> AlibiDetectAdapter:
        """Set ``alpha``."""
        self.alpha = params.get("alpha", self.alpha)
        return self

    def fit(self, X: Any, y: Any = None) -> AlibiDetectAdapter:
        """Build the alibi-detect detector on the reference ``X``."""
        cls = self.detector
        if isinstance(cls, str):
            cd = import_optional(
                "alibi_detect.cd", extra="bench", feature="alibi-detect detectors"
            )
            cls = getattr(cd, cls)
        self.detector_ = cls(
            np.asarray(X, dtype=np.float32), p_val=self.alpha, **self.kwargs
        )
        self.n_reference_ = int(np.asarray(X).shape[0])
        return self

    def detect(self, X: Any) -> DriftResult:
        """alibi-detect's ``predict``, as a DriftResult (smallest p-value reported)."""
        if not hasattr(self, "detector_"):
            raise NotFittedError("Call fit(reference) before detect().")
        data = self.detector_.predict(np.asarray(X, dtype=np.float32))["data"]
        p = np.atleast_1d(np.asarray(data.get("p_val", np.nan), dtype=np.float64))
        stat = np.atleast_1d(np.asarray(data.get("distance", np.nan), dtype=np.float64))
        return DriftResult(
            drift=bool(data["is_drift"]),
            statistic=float(np.nanmax(stat))
            if np.any(np.isfinite(stat))
            else float("nan"),
            p_value=float(np.min(p)) if np.all(np.isfinite(p)) else None,
            threshold=float(np.asarray(data.get("threshold", self.alpha))),
            method=f"alibi-detect {self.detector_.__class__.__name__}",
            n_reference=self.n_reference_,
            n_sample=int(np.asarray(X).shape[0]),
        )


class FrourosAdapter:
    """frouros univariate tests, one per feature, combined with Bonferroni.

    Parameters
    ----------
    factory
        A zero-argument callable returning a fresh frouros detector (e.g.
        ``frouros.detectors.data_drift.KSTest``); its ``compare(X=...)`` must return
        ``(result, logs)`` with ``result.p_value``.
    alpha
        Family-wise significance level (Bonferroni over features).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> class FakeTest:  # the shape of frouros' KSTest
    ...     def fit(self, X):
    ...         self.mean = X.mean()
    ...     def compare(self, X):
    ...         p = 1e-6 if abs(X.mean() - self.mean) > 1 else 0.5
    ...         return SimpleNamespace(statistic=0.0, p_value=p), {}
    >>> det = FrourosAdapter(FakeTest).fit(np.zeros((10, 3)))
    >>> det.detect(np.zeros((10, 3)) + [0, 0, 5]).drift
    True
    """

    def __init__(self, factory: Callable[[], Any], *, alpha: float = 0.05) -> None:
        self.factory = factory
        self.alpha = alpha

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """Parameters the harness may set (``alpha``)."""
        return {"alpha": self.alpha}

    def set_params(self, **params: Any) -> FrourosAdapter:
        """Set ``alpha``."""
        self.alpha = params.get("alpha", self.alpha)
        return self

    def fit(self, X: Any, y: Any = None) -> FrourosAdapter:
        """Fit one frouros detector per column."""
        arr = np.asarray(X, dtype=np.float64)
        self.detectors_ = []
        for j in range(arr.shape[1]):
            det = self.factory()
            det.fit(X=arr[:, j])
            self.detectors_.append(det)
        self.n_reference_ = int(arr.shape[0])
        return self

    def detect(self, X: Any) -> DriftResult:
        """Bonferroni-combined result of the per-column tests."""
        if not hasattr(self, "detectors_"):
            raise NotFittedError("Call fit(reference) before detect().")
        arr = np.asarray(X, dtype=np.float64)
        # frouros mutates the returned objects on the next call: copy the numbers now.
        pvals = np.array(
            [
                float(det.compare(X=arr[:, j])[0].p_value)
                for j, det in enumerate(self.detectors_)
            ]
        )
        p_min = float(min(1.0, pvals.min() * pvals.size))
        return DriftResult(
            drift=bool(p_min <= self.alpha),
            statistic=float(pvals.min()),
            p_value=p_min,
            threshold=self.alpha,
            method=f"frouros {type(self.detectors_[0]).__name__}",
            n_reference=self.n_reference_,
            n_sample=int(arr.shape[0]),
            correction="bonferroni",
        )


class RiverAdapter:
    """A river drift detector (``ADWIN``, ``PageHinkley``, …) with ``update -> self``.

    Parameters
    ----------
    detector
        A river detector instance, or its name in ``river.drift`` such as
        ``"ADWIN"`` or ``"binary.DDM"`` (imported lazily; needs ``pip install
        river``), built with ``**kwargs``.

    Examples
    --------
    >>> class FakeRiver:  # the shape of river.drift.PageHinkley
    ...     drift_detected = False
    ...     def update(self, x):
    ...         self.drift_detected = x > 10
    >>> det = RiverAdapter(FakeRiver())
    >>> det.update(1.0).drift_detected, det.update(11.0).drift_detected
    (False, True)
    """

    def __init__(self, detector: Any, **kwargs: Any) -> None:
        self.detector = detector
        self.kwargs = kwargs
        self._detector = self._build()

    def _build(self) -> Any:
        if isinstance(self.detector, str):
            drift = import_optional(
                "river.drift", extra="bench", feature="river detectors"
            )
            obj: Any = drift
            for part in self.detector.split("."):  # e.g. "ADWIN" or "binary.DDM"
                obj = getattr(obj, part)
            return obj(**self.kwargs)
        return self.detector

    def update(self, x: float) -> RiverAdapter:
        """Feed one value."""
        self._detector.update(x)
        return self

    @property
    def drift_detected(self) -> bool:
        """Whether the last value triggered a drift."""
        return bool(self._detector.drift_detected)

    def __repr__(self) -> str:
        return f"RiverAdapter({self._detector!r})"
