"""Column-wise Wasserstein (earth mover's) distance: :class:`WassersteinDrift`."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np

from mlopskit.drift._base import Table
from mlopskit.drift._random import resolve_seed
from mlopskit.drift.covariate._permutation import (
    check_permutation_params,
    permutation_pvalue,
    permuted_counts,
)
from mlopskit.drift.covariate._stats import SortedColumns
from mlopskit.drift.covariate._summaries import (
    NumericSummary,
    pooled_range,
    wasserstein,
    wasserstein_pvalue,
)
from mlopskit.drift.covariate._univariate import FloatArray, UnivariateNumericDrift
from mlopskit.errors import InvalidParameterError

__all__ = ["WassersteinDrift", "wasserstein_permutation_pvalue"]


class WassersteinDrift(UnivariateNumericDrift):
    """Wasserstein-1 distance per numeric column, with a permutation p-value.

    The distance is the effect size: with ``normalize=True`` (default) it is divided
    by the reference column's standard deviation (ddof 0; a constant column is left
    unscaled), so ``0.1`` means "the mass moved a tenth of a standard deviation on
    average" whatever the column's unit. The raw distance equals
    ``scipy.stats.wasserstein_distance``.

    By default (``threshold=None``) drift is decided by a permutation test of "both
    samples come from one distribution", at ``alpha`` after the ``correction`` over
    columns, so the false-alarm rate is ``alpha`` at any sample size and any scale
    (the p-value does not change when a column is rescaled). The null distribution
    is sampled on the pooled sample's bins: its distinct values when there are at
    most ``max_bins`` of them (then the test is the exact permutation test of the
    distance), else ``max_bins`` bins of equal pooled mass, each represented by its
    mean (then it is the exact permutation test of the distance between the binned
    samples, a valid test of the same hypothesis, with a statistic that differs from
    the reported distance by at most the widest bin). All ``n_permutations`` are
    drawn at once (multivariate hypergeometric counts per bin), so a column costs
    ``O(n log n)`` to sort and ``O(n_permutations × max_bins)`` for the null,
    whatever ``n``.

    ``threshold=<float>`` restores the fixed rule of earlier releases (drift when a
    distance reaches it, no p-value). A fixed threshold ignores sampling noise: the
    distance between two samples of ``n`` rows from the same distribution is about
    ``1 / sqrt(n)`` standard deviations, so ``threshold=0.1`` raises false alarms in
    most batches of a few hundred rows.

    Parameters
    ----------
    alpha
        Significance level of the whole test (after correction).
    correction
        ``"bonferroni"`` (default), ``"fdr_bh"`` or ``None``.
    threshold
        ``None`` (default) for the permutation test, or a distance at or above
        which a column has drifted (no p-value).
    n_permutations
        Random permutations per column (the smallest p-value is
        ``1 / (n_permutations + 1)``).
    max_bins
        Most bins of the pooled sample the null is computed on.
    normalize
        Divide the reported distance by the reference's standard deviation.
    random_state
        Seed (int), ``numpy.random.Generator`` or ``None``; the same seed gives the
        same p-values.
    nan_policy
        ``"raise"`` (default) or ``"omit"`` (drop NaN/inf per column).
    preprocessor
        Optional scikit-learn transformer, cloned and fitted on the reference.

    Examples
    --------
    >>> import numpy as np
    >>> from mlopskit.drift import WassersteinDrift
    >>> rng = np.random.default_rng(0)
    >>> det = WassersteinDrift(random_state=0).fit(rng.normal(size=(300, 2)))
    >>> det.detect(rng.normal(size=(300, 2))).drift
    False
    >>> result = det.detect(rng.normal(size=(300, 2)) + [0.0, 0.5])
    >>> result.drift, round(result.statistic, 1), result.p_value
    (True, 0.5, 0.002)
    >>> WassersteinDrift(threshold=0.1).fit(rng.normal(size=(300, 2))).detect(
    ...     rng.normal(size=(300, 2)) + [0.0, 0.5]).p_value is None
    True
    """

    _method: ClassVar[str] = "wasserstein"
    _is_distance: ClassVar[bool] = True
    _min_rows: ClassVar[int] = 10

    def __init__(
        self,
        *,
        alpha: float = 0.05,
        correction: Literal["bonferroni", "fdr_bh"] | None = "bonferroni",
        threshold: float | None = None,
        n_permutations: int = 999,
        max_bins: int = 200,
        normalize: bool = True,
        random_state: int | np.random.Generator | None = None,
        nan_policy: Literal["raise", "omit"] = "raise",
        preprocessor: Any = None,
    ) -> None:
        self.alpha = alpha
        self.correction = correction
        self.threshold = threshold
        self.n_permutations = n_permutations
        self.max_bins = max_bins
        self.normalize = normalize
        self.random_state = random_state
        self.nan_policy = nan_policy
        self.preprocessor = preprocessor

    def _validate_params(self) -> None:
        super()._validate_params()
        check_permutation_params(self)
        bins = self.max_bins
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
            raise InvalidParameterError(
                f"max_bins must be an int >= 2. Got {bins!r} instead.",
                parameter="max_bins",
            )

    def _fit(self, table: Table) -> None:
        super()._fit(table)
        self.seed_ = resolve_seed(self.random_state)
        matrix = table.numeric_matrix()
        finite = np.where(np.isfinite(matrix), matrix, np.nan)
        scale = np.nanstd(finite, axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0) if self.normalize else None

    def _test_group(
        self, reference: SortedColumns, sample: FloatArray
    ) -> tuple[FloatArray, FloatArray | None, dict[str, list[Any]]]:
        out = np.empty(sample.shape[1])
        test = self.threshold is None
        pvals = np.empty(sample.shape[1]) if test else None
        rng = np.random.default_rng(self.seed_)
        for j in range(sample.shape[1]):
            a = reference.values[j]
            b = np.sort(sample[:, j])
            out[j] = _wasserstein_sorted(a, b)
            if pvals is not None:
                pvals[j] = wasserstein_permutation_pvalue(
                    a,
                    b,
                    n_permutations=int(self.n_permutations),
                    max_bins=int(self.max_bins),
                    rng=rng,
                )
        return out, pvals, {}

    def _scale_statistics(self, stats: FloatArray) -> FloatArray:
        if self.scale_ is None:
            return stats
        scaled: FloatArray = stats / self.scale_
        return scaled

    def _detect(self, table: Table) -> Any:
        result = super()._detect(table)
        details = dict(result.details)
        if self.scale_ is not None:
            details["scale"] = self.scale_.tolist()
        if self.threshold is None:
            details["n_permutations"] = int(self.n_permutations)
            details["max_bins"] = int(self.max_bins)
        return result.model_copy(update={"details": details})

    @classmethod
    def _test_data(
        cls, rng: np.random.Generator, *, shift: bool = False
    ) -> tuple[Any, Any]:
        ref, smp = rng.normal(size=(300, 2)), rng.normal(size=(300, 2))
        return ref, smp + 3.0 if shift else smp

    def _fit_profile(self, reference: Any) -> None:
        super()._fit_profile(reference)
        self.seed_ = resolve_seed(self.random_state)
        scale = np.array([s.std for s in self.reference_summaries_])
        self.scale_ = np.where(scale > 0, scale, 1.0) if self.normalize else None

    def _test_summaries(
        self, reference: list[NumericSummary], sample: list[NumericSummary]
    ) -> tuple[FloatArray, FloatArray, dict[str, list[Any]]]:
        """W1 on summaries, ``|W_sketch - W| <= eps * range`` (raw units)."""
        rng = np.random.default_rng(self.seed_)
        dist, pvals, bound = [], [], []
        for r, s in zip(reference, sample, strict=True):
            dist.append(wasserstein(r, s))
            bound.append((r.rank_error + s.rank_error) * pooled_range(r, s))
            if self.threshold is None:
                pvals.append(
                    wasserstein_pvalue(
                        r,
                        s,
                        n_permutations=int(self.n_permutations),
                        max_bins=int(self.max_bins),
                        rng=rng,
                    )
                )
            else:
                pvals.append(np.nan)
        return np.array(dist), np.array(pvals), {"distance_error_bound": bound}

    def _detect_profile(self, sample: Any) -> Any:
        result = super()._detect_profile(sample)
        details = dict(result.details)
        if self.scale_ is not None:
            details["scale"] = self.scale_.tolist()
        if self.threshold is None:
            details["n_permutations"] = int(self.n_permutations)
            details["max_bins"] = int(self.max_bins)
        return result.model_copy(update={"details": details})


def _wasserstein_sorted(a: FloatArray, b: FloatArray) -> float:
    """W1 between two sorted samples (``scipy.stats.wasserstein_distance``)."""
    n1, n2 = len(a), len(b)
    pooled = np.sort(np.concatenate([a, b]), kind="stable")
    widths = np.diff(pooled)
    fa = np.searchsorted(a, pooled[:-1], side="right") / n1
    fb = np.searchsorted(b, pooled[:-1], side="right") / n2
    return float(np.sum(np.abs(fa - fb) * widths))


def wasserstein_permutation_pvalue(
    a: FloatArray,
    b: FloatArray,
    *,
    n_permutations: int = 999,
    max_bins: int = 200,
    rng: np.random.Generator | None = None,
) -> float:
    """Permutation p-value of W1 between the sorted 1-D samples ``a`` and ``b``.

    See :class:`WassersteinDrift` for the binning of the pooled sample.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a, b = np.sort(rng.normal(size=50)), np.sort(rng.normal(1.0, size=50))
    >>> wasserstein_permutation_pvalue(a, b, rng=np.random.default_rng(0))
    0.001
    """
    rng = np.random.default_rng(rng)
    n1, n2 = len(a), len(b)
    pooled = np.sort(np.concatenate([a, b]), kind="stable")
    starts = np.flatnonzero(pooled[1:] != pooled[:-1]) + 1
    if len(starts) + 1 <= max_bins:
        inner = pooled[starts]  # each distinct value but the smallest opens a bin
    else:
        cuts = np.linspace(0, len(pooled), max_bins + 1)[1:-1].astype(np.intp)
        inner = np.unique(pooled[cuts])
    n_bins = len(inner) + 1
    ids = np.searchsorted(inner, pooled, side="right")
    counts = np.bincount(ids, minlength=n_bins)
    keep = counts > 0
    means = np.bincount(ids, weights=pooled, minlength=n_bins)[keep] / counts[keep]
    ref = np.bincount(np.searchsorted(inner, a, side="right"), minlength=n_bins)
    counts, ref = counts[keep], ref[keep]
    rows = np.vstack([ref, permuted_counts(counts, n1, n_permutations, rng)])
    cum_a = np.cumsum(rows, axis=1) / n1
    cum_b = np.cumsum(counts - rows, axis=1) / n2
    stats = np.abs(cum_a - cum_b)[:, :-1] @ np.diff(means)
    return permutation_pvalue(stats)
