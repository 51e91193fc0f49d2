"""Black-box shift estimation: :class:`BBSE` (Lipton et al. 2018) and :class:`RLLS`
(Azizzadenesheli et al. 2019).

Under label shift, a fixed classifier's predicted-label distribution on the target is
``mu = M q``, where ``M[i, j] = P(ŷ = i | y = j)`` is its confusion matrix (estimated on
held-out *source* data, where labels are known) and ``q`` the target class priors. BBSE
solves ``q = M⁻¹ mu``; RLLS solves a regularised version that shrinks towards "no
shift", for small samples or ill-conditioned confusion matrices.

What does *not* belong here: estimation from probabilities (:mod:`._mlls`) and the
plain label test (:mod:`._label`), which this module reuses for its test.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator

from mlopskit.drift.prior._label import contingency_test
from mlopskit.drift.prior._priors import (
    FloatArray,
    PriorShiftResult,
    check_labels,
    check_unit,
    importance_weights,
    python_labels,
)
from mlopskit.errors import DriftInputError, InvalidParameterError, NotFittedError

__all__ = ["BBSE", "RLLS"]

#: Above this condition number of the confusion matrix BBSE refuses (use RLLS).
MAX_CONDITION = 1e8


class BBSE(BaseEstimator):  # type: ignore[misc]
    """Estimate the target class priors from a classifier's predicted labels.

    Fit on held-out *source* data (predictions and true labels: the confusion
    matrix), then ``detect`` on predicted labels of the unlabeled target sample.

    Parameters
    ----------
    alpha
        Significance level of the test of "no prior shift" (a chi-square test of
        homogeneity between the source and target predicted-label counts, which
        under label shift is equivalent to ``q = p``).
    confidence
        Level of the per-class intervals on the target priors.
    interval
        ``"delta"`` (delta method, accounting for the uncertainty of both the
        confusion matrix and the target counts) or ``"bootstrap"`` (parametric
        bootstrap of both, percentile intervals).
    n_bootstrap
        Bootstrap replicates when ``interval="bootstrap"``.
    random_state
        Seed or :class:`numpy.random.Generator` for the bootstrap.

    Attributes
    ----------
    classes_
        Class labels (sorted), the order of every per-class array.
    confusion_
        ``confusion_[i, j] = P(ŷ = i | y = j)`` on the source data.
    class_counts_
        Source rows per true class.
    source_priors_
        Source class priors (true-label frequencies).
    pred_counts_
        Source rows per predicted class (used by the test).
    condition_number_
        2-norm condition number of ``confusion_``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> def predict(y):  # a classifier that is right 80 % of the time
    ...     flip = rng.random(y.size) < 0.2
    ...     return np.where(flip, 1 - y, y)
    >>> y_src = rng.choice(2, size=4000, p=[0.5, 0.5])
    >>> bbse = BBSE().fit(predict(y_src), y_src)
    >>> y_tgt = rng.choice(2, size=4000, p=[0.2, 0.8])
    >>> res = bbse.detect(predict(y_tgt))
    >>> res.drift, [round(q, 2) for q in res.target_priors]
    (True, [0.2, 0.8])
    >>> res.target_priors_low[1] < 0.8 < res.target_priors_high[1]
    True
    """

    _method = "bbse"
    _intervals: tuple[str, ...] = ("delta", "bootstrap")

    def __init__(
        self,
        *,
        alpha: float = 0.05,
        confidence: float = 0.95,
        interval: str = "delta",
        n_bootstrap: int = 500,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.alpha = alpha
        self.confidence = confidence
        self.interval = interval
        self.n_bootstrap = n_bootstrap
        self.random_state = random_state

    # --- fit ----------------------------------------------------------------------

    def _check_params(self) -> None:
        check_unit(self.alpha, name="alpha")
        check_unit(self.confidence, name="confidence")
        if self.interval not in self._intervals:
            raise InvalidParameterError(
                f"`interval` must be one of {list(self._intervals)} for "
                f"{type(self).__name__}. Got {self.interval!r} instead.",
            )
        if (
            isinstance(self.n_bootstrap, bool)
            or not isinstance(self.n_bootstrap, int | np.integer)
            or self.n_bootstrap < 20
        ):
            raise InvalidParameterError(
                f"`n_bootstrap` must be an integer >= 20. Got {self.n_bootstrap!r} "
                "instead.",
            )

    def fit(self, y_pred: npt.ArrayLike, y_true: npt.ArrayLike) -> BBSE:
        """Estimate the confusion matrix on held-out source data.

        Parameters
        ----------
        y_pred
            The classifier's predicted labels on held-out source rows (not the rows
            it was trained on: those make the confusion matrix optimistic).
        y_true
            The true labels of the same rows.

        Returns
        -------
        BBSE
            The fitted estimator.

        Raises
        ------
        DriftInputError
            If the lengths differ, a predicted label is not a true class, a class has
            no rows, or the confusion matrix is (near) singular (then use
            :class:`RLLS`).
        """
        self._check_params()
        pred = check_labels(y_pred, name="y_pred", min_rows=2)
        true = check_labels(y_true, name="y_true", min_rows=2)
        if pred.shape != true.shape:
            raise DriftInputError(
                "`y_pred` and `y_true` must have one entry per row. Got "
                f"{pred.shape[0]} predictions and {true.shape[0]} labels instead.",
            )
        classes, true_idx = np.unique(true, return_inverse=True)
        if classes.size < 2:
            raise DriftInputError(
                "Prior shift needs at least 2 classes in `y_true`. Got only "
                f"{python_labels(classes)}.",
            )
        pred_idx = _encode(pred, classes, name="y_pred")
        k = classes.size
        joint = np.zeros((k, k))
        np.add.at(joint, (pred_idx, true_idx), 1.0)
        counts = joint.sum(axis=0)
        self.classes_ = classes
        self.class_counts_ = counts.astype(np.int64)
        self.confusion_ = joint / counts
        self.source_priors_ = counts / counts.sum()
        self.pred_counts_ = joint.sum(axis=1)
        self.condition_number_ = float(np.linalg.cond(self.confusion_))
        self._check_conditioning()
        return self

    def _check_conditioning(self) -> None:
        if not self.condition_number_ < MAX_CONDITION:
            raise DriftInputError(
                "The confusion matrix is singular or nearly so (condition number "
                f"{self.condition_number_:.3g}; BBSE needs < {MAX_CONDITION:g}): the "
                "classifier cannot tell some classes apart, e.g. it never predicts "
                "one. Use RLLS (regularised), MLLS, or merge the confused classes.",
                condition_number=self.condition_number_,
            )

    # --- detect -------------------------------------------------------------------

    def detect(self, y_pred: npt.ArrayLike) -> PriorShiftResult:
        """Estimate the target priors from predicted labels on the target sample.

        Parameters
        ----------
        y_pred
            The same classifier's predicted labels on unlabeled target rows.

        Returns
        -------
        PriorShiftResult
            Estimated ``target_priors`` with intervals, importance ``weights`` and the
            test of "no prior shift" (``drift``, ``p_value``).
        """
        if not hasattr(self, "confusion_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet. Call "
                "fit(y_pred, y_true) on held-out source data first.",
            )
        pred = check_labels(y_pred, name="y_pred")
        idx = _encode(pred, self.classes_, name="y_pred")
        k = self.classes_.size
        counts = np.bincount(idx, minlength=k).astype(np.float64)
        m = int(counts.sum())
        mu = counts / m
        raw = self._solve(self.confusion_, mu)
        estimate = _project(raw)
        low, high = self._intervals_for(estimate, mu, m)
        statistic, p_value = contingency_test(self.pred_counts_, counts, None)
        return PriorShiftResult(
            drift=bool(p_value < self.alpha),
            statistic=statistic,
            p_value=p_value,
            threshold=self.alpha,
            method=self._method,
            n_reference=int(self.class_counts_.sum()),
            n_sample=m,
            classes=python_labels(self.classes_),
            source_priors=tuple(float(x) for x in self.source_priors_),
            target_priors=tuple(float(x) for x in estimate),
            target_priors_low=tuple(float(x) for x in low),
            target_priors_high=tuple(float(x) for x in high),
            weights=importance_weights(estimate, self.source_priors_),
            confidence=self.confidence,
            interval=self.interval,
            details=self._details(raw),
        )

    def _details(self, raw: FloatArray) -> dict[str, Any]:
        return {
            "test": "chi2 homogeneity of predicted-label counts",
            "raw_estimate": [float(x) for x in raw],
            "condition_number": self.condition_number_,
        }

    def _solve(self, confusion: FloatArray, mu: FloatArray) -> FloatArray:
        """``M⁻¹ mu`` (unprojected)."""
        out = np.asarray(np.linalg.solve(confusion, mu), dtype=np.float64)
        return out

    def _intervals_for(
        self, estimate: FloatArray, mu: FloatArray, m: int
    ) -> tuple[FloatArray, FloatArray]:
        if self.interval == "delta":
            return self._delta_interval(estimate, mu, m)
        return self._bootstrap_interval(mu, m)

    def _delta_interval(
        self, q: FloatArray, mu: FloatArray, m: int
    ) -> tuple[FloatArray, FloatArray]:
        """Delta method: ``dq = M⁻¹ (dmu − dM q)``, both sources of noise."""
        from scipy import stats

        inv = np.linalg.inv(self.confusion_)
        cov_mu = (np.diag(mu) - np.outer(mu, mu)) / m
        cov_mq = np.zeros_like(cov_mu)
        for j, n_j in enumerate(self.class_counts_):
            col = self.confusion_[:, j]
            cov_mq += q[j] ** 2 * (np.diag(col) - np.outer(col, col)) / n_j
        cov = inv @ (cov_mu + cov_mq) @ inv.T
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
        z = float(stats.norm.ppf(0.5 + self.confidence / 2))
        return np.clip(q - z * se, 0, 1), np.clip(q + z * se, 0, 1)

    def _bootstrap_interval(
        self, mu: FloatArray, m: int
    ) -> tuple[FloatArray, FloatArray]:
        """Parametric bootstrap of the target counts and of every confusion column."""
        rng = np.random.default_rng(self.random_state)
        b = int(self.n_bootstrap)
        k = mu.size
        mus = rng.multinomial(m, mu, size=b) / m
        confusions = np.empty((b, k, k))
        for j, n_j in enumerate(self.class_counts_):
            confusions[:, :, j] = (
                rng.multinomial(n_j, self.confusion_[:, j], size=b) / n_j
            )
        draws = np.clip(self._solve_many(confusions, mus), 0, None)
        totals = draws.sum(axis=1, keepdims=True)
        draws = np.divide(
            draws, totals, out=np.full_like(draws, 1 / k), where=totals > 0
        )
        tail = (1 - self.confidence) / 2 * 100
        low, high = np.percentile(draws, [tail, 100 - tail], axis=0)
        return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)

    def _solve_many(self, confusions: FloatArray, mus: FloatArray) -> FloatArray:
        """Solve a stack of systems; a singular bootstrap confusion matrix gets the
        least-squares (pseudo-inverse) solution instead of failing the interval."""
        out: FloatArray = np.einsum("bij,bj->bi", np.linalg.pinv(confusions), mus)
        return out


class RLLS(BBSE):
    """Regularised learning of label shift (Azizzadenesheli et al. 2019).

    Like :class:`BBSE` (same ``fit(y_pred, y_true)`` / ``detect(y_pred)``), but solves

    ``θ̂ = argmin_θ ‖C θ − b‖₂ + Δ_C ‖θ‖₂`` subject to ``θ ≥ −1``,

    with ``C`` the joint confusion matrix ``P(ŷ = i, y = j)``, ``b = μ̂_target − μ̂_source``
    and ``w = 1 + θ̂``: the estimate shrinks towards "no shift" (``w = 1``) by an
    amount set by how well ``C`` is known. That trades a little bias for much less
    variance when the target sample is small or the confusion matrix is
    ill-conditioned, and it works with a singular confusion matrix.

    Parameters
    ----------
    regularization
        Multiplier of ``Δ_C = 2 log(2k/δ)/(3n) + sqrt(2 log(2k/δ)/n)`` with δ = 0.05
        and ``n`` the source rows (the paper's matrix-Bernstein bound on
        ``‖Ĉ − C‖₂``). The bound is loose: with the full bound (``1.0``) RLLS
        returned "no shift" on 10-class digits with 600 source rows whatever the
        shift (error 0.73 against BBSE's 0.07, ``benchmarks/bench_drift_prior.py``),
        so the default 0.3 keeps roughly the expected size of ``‖Ĉ − C‖₂``.
        ``0`` gives BBSE's solution.
    alpha, confidence, n_bootstrap, random_state
        As in :class:`BBSE`.
    interval
        Only ``"bootstrap"``: the regularised estimator has no simple delta method.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> def predict(y):  # right 80 % of the time
    ...     return np.where(rng.random(y.size) < 0.2, 1 - y, y)
    >>> y_src = rng.choice(2, size=2000)
    >>> rlls = RLLS(random_state=0).fit(predict(y_src), y_src)
    >>> res = rlls.detect(predict(rng.choice(2, size=2000, p=[0.2, 0.8])))
    >>> res.drift, round(res.target_priors[1], 1)
    (True, 0.8)
    """

    _method = "rlls"
    _intervals = ("bootstrap",)

    def __init__(
        self,
        *,
        regularization: float = 0.3,
        alpha: float = 0.05,
        confidence: float = 0.95,
        interval: str = "bootstrap",
        n_bootstrap: int = 200,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__(
            alpha=alpha,
            confidence=confidence,
            interval=interval,
            n_bootstrap=n_bootstrap,
            random_state=random_state,
        )
        self.regularization = regularization

    def _check_params(self) -> None:
        super()._check_params()
        reg = self.regularization
        if isinstance(reg, bool) or not isinstance(reg, int | float) or not reg >= 0:
            raise InvalidParameterError(
                f"`regularization` must be a number >= 0. Got {reg!r} instead.",
            )

    def _check_conditioning(self) -> None:
        """RLLS accepts singular confusion matrices: the penalty makes it well-posed."""
        n = float(self.class_counts_.sum())
        log_term = np.log(2 * self.classes_.size / 0.05)
        self.delta_c_ = float(
            self.regularization * (2 * log_term / (3 * n) + np.sqrt(2 * log_term / n))
        )

    def _solve(self, confusion: FloatArray, mu: FloatArray) -> FloatArray:
        return _rlls(confusion, self.source_priors_, mu, self.delta_c_)

    def _solve_many(self, confusions: FloatArray, mus: FloatArray) -> FloatArray:
        return np.array(
            [self._solve(c, mu) for c, mu in zip(confusions, mus, strict=True)]
        )

    def _details(self, raw: FloatArray) -> dict[str, Any]:
        details = super()._details(raw)
        details["delta_c"] = self.delta_c_
        return details


def _rlls(
    confusion: FloatArray, priors: FloatArray, mu: FloatArray, delta: float
) -> FloatArray:
    """Solve RLLS; returns target priors ``w * p`` before projection.

    At the optimum, ``Cᵀ(Cθ − b)/‖Cθ − b‖ + Δ θ/‖θ‖ = 0``: θ is a ridge solution
    ``(CᵀC + λI)⁻¹ Cᵀ b`` for some ``λ ≥ 0`` (or 0, when ``‖Cᵀb‖ ≤ Δ‖b‖``). So
    the search is one-dimensional: along the ridge path, through the SVD of ``C``,
    on a log grid of λ refined by a finer grid around the best point. The constraint
    ``w ≥ 0`` is applied afterwards by the projection onto the simplex.
    """
    joint = confusion * priors  # C[i, j] = P(ŷ = i | y = j) p_j
    b = mu - joint.sum(axis=1)
    u, sv, vt = np.linalg.svd(joint)
    ub = u.T @ b

    def path(lam: FloatArray) -> FloatArray:
        return np.asarray((sv / (sv**2 + lam[:, None]) * ub) @ vt, dtype=np.float64)

    def objective(theta: FloatArray) -> FloatArray:
        resid = theta @ joint.T - b
        return np.asarray(
            np.linalg.norm(resid, axis=-1) + delta * np.linalg.norm(theta, axis=-1),
            dtype=np.float64,
        )

    scale = float(sv[0] ** 2) if sv[0] > 0 else 1.0
    log_lam = np.linspace(np.log(scale) - 30, np.log(scale) + 10, 201)
    best = int(np.argmin(objective(path(np.exp(log_lam)))))
    # Refine around the best grid point (the objective is smooth along the path).
    fine = np.linspace(log_lam[max(best - 1, 0)], log_lam[min(best + 1, 200)], 101)
    thetas = path(np.exp(fine))
    theta = thetas[int(np.argmin(objective(thetas)))]
    if float(objective(np.zeros((1, b.size)))[0]) <= float(objective(theta[None])[0]):
        theta = np.zeros(b.size)
    out: FloatArray = (1.0 + theta) * priors
    return out


def _project(raw: FloatArray) -> FloatArray:
    """Clip negative priors to 0 and renormalise (uniform if nothing is left)."""
    clipped = np.clip(raw, 0, None)
    total = clipped.sum()
    if total <= 0:
        return np.full(raw.shape, 1.0 / raw.size)
    out: FloatArray = clipped / total
    return out


def _encode(
    labels: np.ndarray[Any, Any], classes: np.ndarray[Any, Any], *, name: str
) -> npt.NDArray[np.intp]:
    """Indices of ``labels`` in ``classes``; unknown labels are an error."""
    lookup = {c: i for i, c in enumerate(python_labels(classes))}
    values, inverse = np.unique(labels, return_inverse=True)
    unknown = [v for v in python_labels(values) if v not in lookup]
    if unknown:
        raise DriftInputError(
            f"`{name}` holds labels that are not classes of the source data: "
            f"{unknown[:5]}. Expected only {list(lookup)[:10]}; prior-shift "
            "estimation needs every predicted class to be a true class.",
        )
    mapped = np.array([lookup[v] for v in python_labels(values)], dtype=np.intp)
    return mapped[inverse.reshape(-1)]
