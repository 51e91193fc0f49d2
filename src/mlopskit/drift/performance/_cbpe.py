"""Performance without labels: :class:`CBPE` and its :class:`PerformanceEstimate`.

Confidence-based performance estimation, as NannyML does it (``nannyml`` v0.13.1,
commit 4c86ee3, ``nannyml/performance_estimation/confidence_based/metrics.py``,
``cbpe.py`` and ``nannyml/calibration.py``), written from that description:

* **Calibration** (``fit``): the reference scores are mapped to calibrated
  probabilities by isotonic regression, one-vs-rest per class with the rows
  renormalised for multiclass models (``_calibrate_predicted_probabilities``). With
  ``calibration="auto"`` a class is calibrated only when that helps, by NannyML's
  rule (``needs_calibration``): not when the reference has one class or its ROC AUC
  exceeds 0.999; otherwise 10 stratified 90/10 splits (seed 42), isotonic fitted on
  each 90 %, and calibration kept when the pooled held-out expected calibration
  error (10 equal-count bins) goes down.
* **Accuracy** (``estimate_accuracy``): the mean over rows of the calibrated
  probability of the predicted class.
* **ROC AUC** (``estimate_roc_auc``): rows sorted by the model's score, expected
  true positives ``cumsum(p)`` and false positives ``i + 1 - cumsum(p)``, the area
  under the expected ROC curve (trapezoids); macro one-vs-rest for multiclass.

What differs from NannyML, and why: NannyML's band is ``estimate ± 3 σ_ref /
sqrt(n)`` with ``σ_ref`` from the *reference* labels. Here the interval is the
central ``confidence`` interval of the realised metric when each row's label is
drawn from its calibrated probabilities (``n_simulations`` Monte Carlo draws), i.e.
the spread of the performance the batch would show if calibration transfers
(covariate shift without concept shift, CBPE's assumption). It uses the batch's own
scores, so a batch of confident rows gets a narrow interval. The decision is one
stated rule: **drift when the interval's upper end lies more than ``tolerance``
below the reference's realised performance**, with at least ``min_rows`` rows.

What does *not* belong here: drift tests on features (``covariate/``) and the loop
that acts on a decision (``mlopskit.loop``).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator

from mlopskit._results import Result
from mlopskit.drift._random import resolve_seed
from mlopskit.errors import DriftInputError, InvalidParameterError, NotFittedError

__all__ = ["CBPE", "PerformanceEstimate"]

FloatArray = NDArray[np.float64]
Metric = Literal["accuracy", "roc_auc"]


class PerformanceEstimate(Result):
    """What :meth:`CBPE.estimate` returns.

    Attributes
    ----------
    metric
        ``"accuracy"`` or ``"roc_auc"``.
    estimate
        CBPE's estimate of the metric on the batch.
    lower, upper
        Central ``confidence`` interval of the realised metric under calibration.
    confidence
        Coverage of the interval.
    reference
        The metric realised on the reference (with its labels).
    tolerance
        How far below ``reference`` the interval must lie for ``drift``.
    drift
        ``upper < reference - tolerance``.
    n_rows
        Rows in the batch.
    reason
        The decision in words.
    """

    metric: str
    estimate: float
    lower: float
    upper: float
    confidence: float
    reference: float
    tolerance: float
    drift: bool
    n_rows: int
    reason: str


class CBPE(BaseEstimator):  # type: ignore[misc]
    """Estimate a classifier's accuracy or ROC AUC on unlabelled data.

    Parameters
    ----------
    metric
        ``"accuracy"`` (of the predicted class: ``argmax``, or ``p >= 0.5`` for a
        binary model, unless ``y_pred`` is given) or ``"roc_auc"``.
    calibration
        ``"auto"`` (NannyML's rule, see the module docstring), ``"isotonic"``
        (always) or ``None`` (the scores are already calibrated).
    tolerance
        Drop below the reference's performance that counts as drift.
    confidence
        Coverage of the interval.
    n_simulations
        Monte Carlo draws of the labels for the interval.
    n_bootstrap
        Calibrations refitted on bootstrap resamples of the reference; the label
        draws cycle through them, so the interval also carries the calibration's
        own estimation error (0: only the label noise).
    min_rows
        Fewest rows a batch needs.
    random_state
        Seed for the draws (same seed, same interval).

    Attributes
    ----------
    classes_
        Class labels, sorted (columns of the scores, in that order).
    calibrators_
        One fitted isotonic regression per class, or ``None`` where not calibrated.
    reference_
        The metric realised on the reference.
    reference_estimate_
        CBPE's estimate on the reference scores (close to ``reference_`` when the
        calibration is good).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from mlopskit.drift import CBPE
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X[:200], y[:200])
    >>> cbpe = CBPE(random_state=0).fit(model.predict_proba(X[200:400])[:, 1], y[200:400])
    >>> result = cbpe.estimate(model.predict_proba(X[400:])[:, 1])
    >>> result.drift, result.lower <= result.estimate <= result.upper
    (False, True)
    """

    def __init__(
        self,
        *,
        metric: Metric = "accuracy",
        calibration: Literal["auto", "isotonic"] | None = "auto",
        tolerance: float = 0.05,
        confidence: float = 0.95,
        n_simulations: int = 1000,
        n_bootstrap: int = 50,
        min_rows: int = 100,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.metric = metric
        self.calibration = calibration
        self.tolerance = tolerance
        self.confidence = confidence
        self.n_simulations = n_simulations
        self.n_bootstrap = n_bootstrap
        self.min_rows = min_rows
        self.random_state = random_state

    # -- fit ---------------------------------------------------------------------------

    def fit(self, scores: Any, y_true: Any, y_pred: Any = None) -> CBPE:
        """Calibrate on reference scores and labels; measure the reference metric.

        Parameters
        ----------
        scores
            ``(n,)`` probabilities of the positive class (binary), or ``(n, k)``
            class probabilities, columns in the order of the sorted classes.
        y_true
            The reference labels.
        y_pred
            Predicted labels, if the model does not predict the most probable class.
        """
        self._validate_params()
        labels = _labels(y_true)
        self.classes_ = np.unique(labels)
        if len(self.classes_) < 2:
            raise DriftInputError(
                f"The reference labels hold one class ({self.classes_.tolist()}); "
                "CBPE needs both outcomes to calibrate.",
            )
        proba = self._proba(scores, "reference")
        if len(proba) != len(labels):
            raise DriftInputError(
                f"The reference has {len(proba)} score rows but {len(labels)} labels.",
            )
        if np.ptp(proba, axis=0).max() == 0.0:
            raise DriftInputError(
                "The reference scores are constant: they carry no information to "
                "calibrate on. Pass the model's predict_proba output.",
            )
        onehot = labels[:, None] == self.classes_[None, :]
        if proba.shape[1] == 2:  # binary: calibrate the positive class's score
            self.calibrators_ = [None, self._fit_calibrator(proba[:, 1], onehot[:, 1])]
        else:
            self.calibrators_ = [
                self._fit_calibrator(proba[:, k], onehot[:, k])
                for k in range(proba.shape[1])
            ]
        self.seed_ = resolve_seed(self.random_state)
        self.bootstrap_calibrators_ = self._bootstrap(proba, onehot)
        calibrated = self._calibrate(proba)
        pred = self._predicted(proba, y_pred)
        self.reference_ = _realised(self.metric, onehot, pred, proba)
        self.reference_estimate_ = _estimate(self.metric, calibrated, pred, proba)
        self.n_reference_ = len(labels)
        return self

    def _validate_params(self) -> None:
        if self.metric not in ("accuracy", "roc_auc"):
            raise InvalidParameterError(
                f"metric must be 'accuracy' or 'roc_auc'. Got {self.metric!r} instead.",
                parameter="metric",
            )
        if self.calibration not in ("auto", "isotonic", None):
            raise InvalidParameterError(
                "calibration must be 'auto', 'isotonic' or None. "
                f"Got {self.calibration!r} instead.",
                parameter="calibration",
            )
        for name, low, high in (("tolerance", 0.0, 1.0), ("confidence", 0.0, 1.0)):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not low <= value < high:
                raise InvalidParameterError(
                    f"{name} must be a number in [{low}, {high}). Got {value!r} instead.",
                    parameter=name,
                )
        for name, low in (("n_simulations", 100), ("n_bootstrap", 0), ("min_rows", 2)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidParameterError(
                    f"{name} must be an int >= {low}. Got {value!r} instead.",
                    parameter=name,
                )

    def _bootstrap(
        self, proba: FloatArray, onehot: NDArray[np.bool_]
    ) -> list[list[Any]]:
        """Calibrators refitted on resamples (same classes calibrated as the full fit)."""
        from sklearn.isotonic import IsotonicRegression

        rng = np.random.default_rng([self.seed_, 1])
        sets: list[list[Any]] = []
        for _ in range(int(self.n_bootstrap)):
            rows = rng.integers(0, len(proba), len(proba))
            cals: list[Any] = []
            for k, full in enumerate(self.calibrators_):
                if full is None:
                    cals.append(None)
                    continue
                iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
                cals.append(iso.fit(proba[rows, k], onehot[rows, k]))
            sets.append(cals)
        return sets

    def _fit_calibrator(self, p: FloatArray, y: NDArray[np.bool_]) -> Any:
        if self.calibration is None:
            return None
        if self.calibration == "auto" and not needs_calibration(p, y):
            return None
        from sklearn.isotonic import IsotonicRegression

        return IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(p, y)

    # -- estimate ----------------------------------------------------------------------

    def estimate(self, scores: Any, y_pred: Any = None) -> PerformanceEstimate:
        """Estimate the metric on an unlabelled batch, with an interval and a decision.

        ``estimate`` never changes the estimator; the same seed gives the same
        interval.
        """
        if not hasattr(self, "calibrators_"):
            raise NotFittedError(
                "This CBPE is not fitted yet. Call fit(reference_scores, labels) first."
            )
        proba = self._proba(scores, "batch")
        if len(proba) < self.min_rows:
            raise DriftInputError(
                f"CBPE needs at least {self.min_rows} rows per batch (min_rows); the "
                f"batch has {len(proba)}. Pool batches or lower min_rows.",
                n_rows=len(proba),
            )
        calibrated = self._calibrate(proba)
        pred = self._predicted(proba, y_pred)
        value = _estimate(self.metric, calibrated, pred, proba)
        rng = np.random.default_rng(self.seed_)
        sets = [calibrated] + [
            self._calibrate(proba, cals) for cals in self.bootstrap_calibrators_
        ]
        per_set = -(-int(self.n_simulations) // len(sets))
        ranks = _class_ranks(proba)
        draws = np.concatenate(
            [_simulate(self.metric, c, pred, ranks, per_set, rng) for c in sets]
        )
        tail = (1.0 - float(self.confidence)) / 2.0
        lower, upper = (float(q) for q in np.quantile(draws, [tail, 1.0 - tail]))
        limit = float(self.reference_) - float(self.tolerance)
        drift = upper < limit
        verdict = "below" if drift else "not entirely below"
        reason = (
            f"estimated {self.metric} {value:.4f}, {self.confidence:.0%} interval "
            f"[{lower:.4f}, {upper:.4f}] is {verdict} reference {self.reference_:.4f} "
            f"- tolerance {self.tolerance} = {limit:.4f} ({len(proba)} rows)"
        )
        return PerformanceEstimate(
            metric=str(self.metric),
            estimate=float(value),
            lower=lower,
            upper=upper,
            confidence=float(self.confidence),
            reference=float(self.reference_),
            tolerance=float(self.tolerance),
            drift=bool(drift),
            n_rows=len(proba),
            reason=reason,
        )

    # -- helpers -----------------------------------------------------------------------

    def _proba(self, scores: Any, what: str) -> FloatArray:
        arr = np.asarray(scores, dtype=np.float64) if _numeric(scores) else None
        if arr is None:
            raise DriftInputError(
                f"The {what} scores must be numbers (predict_proba output). Got "
                f"{np.asarray(scores).dtype}.",
            )
        if arr.ndim == 1:
            arr = np.column_stack([1.0 - arr, arr])
        n_classes = len(self.classes_)
        if arr.ndim != 2 or arr.shape[1] != n_classes:
            raise DriftInputError(
                f"The {what} scores have shape {np.shape(scores)}; expected (n,) for a "
                f"binary model or (n, {n_classes}) for {n_classes} classes.",
            )
        if len(arr) == 0:
            raise DriftInputError(f"The {what} scores are empty.")
        if not np.isfinite(arr).all():
            raise DriftInputError(
                f"The {what} scores hold NaN or inf ({int((~np.isfinite(arr)).sum())} "
                "values). Drop those rows first.",
            )
        if arr.min() < 0.0 or arr.max() > 1.0:
            raise DriftInputError(
                f"The {what} scores must be probabilities in [0, 1]; got values in "
                f"[{arr.min():.3g}, {arr.max():.3g}]. Pass predict_proba, not "
                "decision_function.",
            )
        return arr

    def _calibrate(self, proba: FloatArray, calibrators: Any = None) -> FloatArray:
        cals = self.calibrators_ if calibrators is None else calibrators
        out = proba.copy()
        for k, cal in enumerate(cals):
            if cal is not None:
                out[:, k] = cal.predict(proba[:, k])
        if out.shape[1] == 2 and cals[1] is not None:
            out[:, 0] = 1.0 - out[:, 1]  # binary: the positive class's calibration
        total = out.sum(axis=1, keepdims=True)
        uniform = np.full_like(out, 1.0 / out.shape[1])
        result: FloatArray = np.divide(out, total, out=uniform, where=total > 0)
        return result

    def _predicted(self, proba: FloatArray, y_pred: Any) -> NDArray[np.intp]:
        if y_pred is None:
            return np.asarray(np.argmax(proba, axis=1), dtype=np.intp)
        labels = _labels(y_pred)
        pos = np.searchsorted(self.classes_, labels)
        pos = np.clip(pos, 0, len(self.classes_) - 1)
        if len(labels) != len(proba) or not (self.classes_[pos] == labels).all():
            raise DriftInputError(
                "y_pred must hold one known class label per score row "
                f"(classes {self.classes_.tolist()}).",
            )
        return np.asarray(pos, dtype=np.intp)


def _numeric(scores: Any) -> bool:
    try:
        return np.asarray(scores).dtype.kind in "biuf"
    except (TypeError, ValueError):
        return False


def _labels(y: Any) -> NDArray[Any]:
    arr = np.asarray(y)
    if arr.ndim != 1 or len(arr) == 0:
        raise DriftInputError(
            f"Labels must be a non-empty 1-D array. Got shape {arr.shape}."
        )
    if arr.dtype == object:
        kinds = {type(v).__name__ for v in arr}
        if len(kinds) > 1:
            raise DriftInputError(
                f"The labels mix types ({sorted(kinds)}); cast them to one type.",
            )
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise DriftInputError("The labels hold NaN; drop those rows first.")
    return arr


def needs_calibration(p: FloatArray, y: NDArray[np.bool_]) -> bool:
    """NannyML's rule: does isotonic calibration lower the held-out ECE?"""
    from sklearn.isotonic import IsotonicRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedShuffleSplit

    if y.all() or not y.any() or roc_auc_score(y, p) > 0.999:
        return False
    if min(int(y.sum()), int((~y).sum())) < 2:
        return False
    splits = StratifiedShuffleSplit(n_splits=10, test_size=0.1, random_state=42)
    truth, before, after = [], [], []
    for train, test in splits.split(p.reshape(-1, 1), y):
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(p[train], y[train])
        truth.append(y[test])
        before.append(p[test])
        after.append(iso.predict(p[test]))
    t = np.concatenate(truth)
    return _ece(t, np.concatenate(before)) > _ece(t, np.concatenate(after))


def _ece(y: NDArray[np.bool_], p: FloatArray, n_bins: int = 10) -> float:
    order = np.argsort(p, kind="stable")
    bins = np.array_split(np.arange(len(p)), min(n_bins, max(len(p) // 2, 1)))
    ys, ps = y[order].astype(np.float64), p[order]
    return float(sum(len(b) / len(p) * abs(ps[b].mean() - ys[b].mean()) for b in bins))


def _estimate(
    metric: str, calibrated: FloatArray, pred: NDArray[np.intp], proba: FloatArray
) -> float:
    rows = np.arange(len(pred))
    if metric == "accuracy":
        return float(calibrated[rows, pred].mean())
    k = calibrated.shape[1]
    classes = [1] if k == 2 else range(k)
    return float(
        np.mean([_expected_auc(calibrated[:, c], proba[:, c]) for c in classes])
    )


def _expected_auc(p_true: FloatArray, score: FloatArray) -> float:
    """NannyML's ``estimate_roc_auc``: area under the expected ROC curve."""
    order = np.argsort(score, kind="stable")[::-1]
    tps = np.concatenate([[0.0], np.cumsum(p_true[order])])
    fps = np.arange(len(tps), dtype=np.float64) - tps
    if tps[-1] <= 0 or fps[-1] <= 0:
        return float("nan")
    tpr, fpr = tps / tps[-1], fps / fps[-1]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))  # trapezoids


def _realised(
    metric: str, onehot: NDArray[np.bool_], pred: NDArray[np.intp], proba: FloatArray
) -> float:
    rows = np.arange(len(pred))
    if metric == "accuracy":
        return float(onehot[rows, pred].mean())
    k = onehot.shape[1]
    classes = [1] if k == 2 else range(k)
    return float(
        np.mean([_auc_rows(onehot[None, :, c], proba[:, c])[0] for c in classes])
    )


def _class_ranks(proba: FloatArray) -> dict[int, FloatArray]:
    """Midranks of the score of each class the AUC averages over."""
    from scipy.stats import rankdata

    k = proba.shape[1]
    classes = [1] if k == 2 else list(range(k))
    return {c: np.asarray(rankdata(proba[:, c]), dtype=np.float64) for c in classes}


def _simulate(
    metric: str,
    calibrated: FloatArray,
    pred: NDArray[np.intp],
    ranks: dict[int, FloatArray],
    n_sim: int,
    rng: np.random.Generator,
) -> FloatArray:
    """Realised metric under ``n_sim`` label draws from the calibrated probabilities."""
    n, k = calibrated.shape
    cum = np.cumsum(calibrated, axis=1)[:, :-1]
    out = np.empty(n_sim)
    block = max(1, 2_000_000 // max(n * k, 1))
    for start in range(0, n_sim, block):
        r = min(block, n_sim - start)
        u = rng.random((r, n, 1))
        labels = (u > cum[None, :, :]).sum(axis=2)  # a categorical draw per row
        if metric == "accuracy":
            out[start : start + r] = (labels == pred[None, :]).mean(axis=1)
            continue
        aucs = [_auc_from_ranks(labels == c, rk) for c, rk in ranks.items()]
        out[start : start + r] = np.nanmean(np.vstack(aucs), axis=0)
    return out


def _auc_rows(positive: NDArray[np.bool_], score: FloatArray) -> FloatArray:
    """ROC AUC (Mann–Whitney, midranks) of ``score`` for each row of labels."""
    from scipy.stats import rankdata

    return _auc_from_ranks(positive, np.asarray(rankdata(score), dtype=np.float64))


def _auc_from_ranks(positive: NDArray[np.bool_], ranks: FloatArray) -> FloatArray:
    n_pos = positive.sum(axis=1).astype(np.float64)
    n_neg = positive.shape[1] - n_pos
    rank_sum = positive.astype(np.float64) @ ranks
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    return np.asarray(auc, dtype=np.float64)
