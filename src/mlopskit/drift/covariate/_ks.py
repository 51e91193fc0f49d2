"""Column-wise two-sample Kolmogorov–Smirnov drift test: :class:`KSDrift`."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np

from mlopskit.drift._base import adjust_pvalues
from mlopskit.drift.covariate._stats import (
    KS_EXACT_MAX_N,
    SortedColumns,
    ks_2samp_exact_scipy,
    ks_2samp_pvalue,
    ks_2samp_statistic,
)
from mlopskit.drift.covariate._summaries import (
    NumericSummary,
    ks_exact_pvalue,
    ks_statistic,
)
from mlopskit.drift.covariate._univariate import FloatArray, UnivariateNumericDrift
from mlopskit.errors import InvalidParameterError

__all__ = ["KSDrift"]


class KSDrift(UnivariateNumericDrift):
    """Two-sample Kolmogorov–Smirnov test on every numeric column.

    The reference is sorted once at ``fit``; ``detect`` sorts the sample and finds
    every column's statistic with one ``searchsorted`` per column (no pooled sort).
    Statistics and p-values equal ``scipy.stats.ks_2samp`` with the same ``method``.
    Per-column p-values are combined with ``correction``; drift is declared when a
    corrected p-value is at most ``alpha``.

    Parameters
    ----------
    alpha
        Significance level of the whole test (after correction).
    correction
        ``"bonferroni"`` (default), ``"fdr_bh"`` (Benjamini–Hochberg) or ``None``.
    method
        ``"auto"`` (exact when both samples have at most 10,000 rows, like scipy),
        ``"exact"`` or ``"asymp"``. The exact p-value comes from scipy's compiled
        routine; if it overflows (very large unequal samples) the asymptotic one is
        used and ``details["ks_method"]`` says so.
    nan_policy
        ``"raise"`` (default): NaN or inf raise :class:`~mlopskit.errors.DriftInputError`.
        ``"omit"``: drop them per column; ``details`` reports how many.
    preprocessor
        Optional scikit-learn transformer (PCA, random projection,
        :class:`ModelProbabilities` …), cloned and fitted on the reference.
    n_jobs
        Threads over columns (numpy releases the GIL while sorting); ``None`` or 1
        for one thread, -1 for all cores.

    Attributes
    ----------
    feature_names_in_, n_features_in_, n_reference_
        What ``fit`` saw.
    reference_
        The reference, sorted per column.

    Examples
    --------
    >>> import numpy as np
    >>> from mlopskit.drift import KSDrift
    >>> rng = np.random.default_rng(1)
    >>> det = KSDrift(alpha=0.05).fit(rng.normal(size=(1000, 3)))
    >>> det.detect(rng.normal(size=(1000, 3))).drift
    False
    >>> shifted = rng.normal(size=(1000, 3)) + [0.0, 0.0, 0.5]
    >>> result = det.detect(shifted)
    >>> result.drift, result.features.loc[result.features["drift"], "feature"].tolist()
    (True, ['x2'])
    """

    _method: ClassVar[str] = "ks"
    _min_rows: ClassVar[int] = 1

    def __init__(
        self,
        *,
        alpha: float = 0.05,
        correction: Literal["bonferroni", "fdr_bh"] | None = "bonferroni",
        method: Literal["auto", "exact", "asymp"] = "auto",
        nan_policy: Literal["raise", "omit"] = "raise",
        preprocessor: Any = None,
        n_jobs: int | None = None,
    ) -> None:
        self.alpha = alpha
        self.correction = correction
        self.method = method
        self.nan_policy = nan_policy
        self.preprocessor = preprocessor
        self.n_jobs = n_jobs

    def _validate_params(self) -> None:
        super()._validate_params()
        if self.method not in ("auto", "exact", "asymp"):
            raise InvalidParameterError(
                f"method must be 'auto', 'exact' or 'asymp'. Got {self.method!r} instead.",
                parameter="method",
            )

    def _test_group(
        self, reference: SortedColumns, sample: FloatArray
    ) -> tuple[FloatArray, FloatArray, dict[str, list[Any]]]:
        n1, n2 = reference.n_rows, sample.shape[0]
        d = ks_2samp_statistic(reference, sample, n_jobs=self.n_jobs)
        method = self.method
        if method == "auto":
            method = "exact" if max(n1, n2) <= KS_EXACT_MAX_N else "asymp"
        if method == "asymp":
            p = ks_2samp_pvalue(d, n1, n2, method="asymp")
            return d, p, {"ks_method": ["asymp"] * len(d)}
        exact = [
            ks_2samp_exact_scipy(reference.values[j], sample[:, j])
            for j in range(sample.shape[1])
        ]
        used = [
            "asymp (exact failed)" if fell_back else "exact" for _, fell_back in exact
        ]
        return d, np.array([p for p, _ in exact]), {"ks_method": used}

    def _test_summaries(
        self, reference: list[NumericSummary], sample: list[NumericSummary]
    ) -> tuple[FloatArray, FloatArray, dict[str, list[Any]]]:
        """KS on summaries, with the p-value interval the rank errors allow.

        ``|D_sketch - D| <= eps`` (the two rank errors added), so the exact test's
        p-value is within ``[p(D + eps), p(D - eps)]`` with probability 0.99 per
        sketch (``covariate/_summaries.py``).
        """
        k = len(reference)
        d, p, lo, hi = np.empty(k), np.empty(k), np.empty(k), np.empty(k)
        eps = np.array(
            [
                r.rank_error + s.rank_error
                for r, s in zip(reference, sample, strict=True)
            ]
        )
        used = []
        for j, (r, s) in enumerate(zip(reference, sample, strict=True)):
            d[j] = ks_statistic(r, s)
            method = self.method
            if method == "auto":
                method = "exact" if max(r.n, s.n) <= KS_EXACT_MAX_N else "asymp"
            if method == "exact" and eps[j] == 0.0:
                p[j], fell_back = ks_exact_pvalue(float(d[j]), r.n, s.n)
                used.append("asymp (exact failed)" if fell_back else "exact")
                lo[j] = hi[j] = p[j]
                continue
            used.append("asymp")
            p[j], lo[j], hi[j] = ks_2samp_pvalue(
                np.array([d[j], min(1.0, d[j] + eps[j]), max(0.0, d[j] - eps[j])]),
                r.n,
                s.n,
                method="asymp",
            )
        return (
            d,
            p,
            {
                "ks_method": used,
                "rank_error": eps.tolist(),
                "p_value_bounds": [
                    (float(a), float(b)) for a, b in zip(lo, hi, strict=True)
                ],
            },
        )

    def _detect_profile(self, sample: Any) -> Any:
        result = super()._detect_profile(sample)
        bounds = result.details.get("p_value_bounds", {})
        if not bounds or result.features is None:
            return result
        names = list(bounds)
        correction = self.correction if len(names) > 1 else None
        alpha = float(self.alpha)
        adj_lo = adjust_pvalues([bounds[n][0] for n in names], correction)
        adj_hi = adjust_pvalues([bounds[n][1] for n in names], correction)
        certain = bool(((adj_lo <= alpha) == (adj_hi <= alpha)).all())
        details = dict(result.details) | {"decision_certain": certain}
        return result.model_copy(update={"details": details})
