"""Black-box shift detection: :class:`BBSD` (Lipton et al. 2018; Rabanser et al. 2019).

Per-class two-sample KS tests on a trained model's predicted probabilities, combined
with Bonferroni ("BBSDs" in "Failing Loudly", the strongest detector of that study on
images). It is :class:`KSDrift` on ``model.predict_proba`` outputs; the KS machinery
(sort-once reference, scipy-equal p-values, corrections) is reused, not rewritten.

What does *not* belong here: estimating the new priors (:mod:`._bbse`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np

from mlopskit.drift.covariate._ks import KSDrift
from mlopskit.drift.covariate._preprocess import ModelProbabilities

__all__ = ["BBSD"]


class BBSD(KSDrift):
    """Detect shift through a classifier's predicted probabilities (BBSDs).

    Parameters
    ----------
    model
        A fitted classifier with ``predict_proba``; ``fit`` and ``detect`` then take
        the model's *inputs*. With ``None`` (default) they take the predicted
        probabilities themselves, shape ``(n, k)``.
    alpha
        Significance level of the whole test.
    correction
        ``"bonferroni"`` (default, as in the paper), ``"fdr_bh"`` or ``None``.
    method
        KS p-value: ``"auto"``, ``"exact"`` or ``"asymp"`` (see :class:`KSDrift`).
    nan_policy
        ``"raise"`` or ``"omit"`` (see :class:`KSDrift`).
    n_jobs
        Threads over columns.

    Notes
    -----
    BBSD sees a shift only if it changes the model's outputs: it is blind to
    covariate shift in features the model ignores, and it sees prior shift (the
    output distribution moves with the class balance). To *estimate* the new class
    balance use :class:`BBSE` or :class:`MLLS`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 5))
    >>> model = LogisticRegression().fit(X[:1000], (X[:1000, 0] > 0).astype(int))
    >>> det = BBSD(model=model).fit(X[1000:])
    >>> det.detect(rng.normal(size=(500, 5))).drift
    False
    >>> det.detect(rng.normal(size=(500, 5)) + [0.5, 0, 0, 0, 0]).drift
    True
    """

    _method: ClassVar[str] = "bbsd"

    def __init__(
        self,
        *,
        model: Any = None,
        alpha: float = 0.05,
        correction: Literal["bonferroni", "fdr_bh"] | None = "bonferroni",
        method: Literal["auto", "exact", "asymp"] = "auto",
        nan_policy: Literal["raise", "omit"] = "raise",
        n_jobs: int | None = None,
    ) -> None:
        self.model = model
        self.alpha = alpha
        self.correction = correction
        self.method = method
        self.nan_policy = nan_policy
        self.n_jobs = n_jobs

    def __sklearn_clone__(self) -> BBSD:
        # An unfitted BBSD that keeps the same trained model: scikit-learn's clone
        # would replace it with an unfitted copy.
        return type(self)(**self.get_params(deep=False))

    @property
    def preprocessor(self) -> Any:
        """``ModelProbabilities(model)``, or ``None`` when inputs are probabilities."""
        return None if self.model is None else ModelProbabilities(self.model)

    @classmethod
    def _test_data(
        cls, rng: np.random.Generator, *, shift: bool = False
    ) -> tuple[Any, Any]:
        """Probabilities of a 3-class model; the shifted sample favours class 0."""
        n = 150
        ref = rng.dirichlet([2.0, 2.0, 2.0], size=n)
        smp = rng.dirichlet([8.0, 1.0, 1.0] if shift else [2.0, 2.0, 2.0], size=n)
        return ref, smp
