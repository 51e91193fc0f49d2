"""Shared machinery of the histogram distances (PSI, Jensen–Shannon, Hellinger).

Numeric columns are binned at the reference's quantiles (``n_bins`` bins of equal
reference mass; the outer bins are open, so sample values beyond the reference's
range still land in a bin). Categorical columns use the reference's categories plus
one extra bin for every category the reference never saw. Proportions are smoothed
by ``smoothing`` pseudo-counts per bin, ``p_i = (c_i + s) / (n + s B)`` for ``B``
bins, so that an empty bin does not make a log-ratio infinite.

With ``threshold=None`` (the default) each column also gets a permutation p-value
(``_permutation.py``): the bins stay those fixed at ``fit``, and a permutation of
the pooled rows redistributes the pooled count of every bin between the two samples
(multivariate hypergeometric), so all ``n_permutations`` distances are computed in
one vectorised pass over a ``(n_permutations + 1) × bins`` array. For categorical
columns this is the exact permutation test; for numeric ones the bins are the
reference's quantiles, which the permutation does not redraw: the null keeps the
two-sample variance ``p (1 - p) (1 / n_ref + 1 / n_sample)`` of a bin's share, and
the calibration table in ``benchmarks/RESULTS.md`` measures the size (within the
binomial band of ``alpha`` from 50 to 1,000,000 rows).

What does *not* belong here: the single distances (``_psi.py``,
``_jensen_shannon.py``, ``_hellinger.py``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import NDArray

from mlopskit.drift._base import BaseDriftDetector, Table
from mlopskit.drift._random import resolve_seed
from mlopskit.drift._result import DriftResult
from mlopskit.drift.covariate._counts import CategoryCounts, bin_counts, quantile_edges
from mlopskit.drift.covariate._permutation import (
    check_permutation_params,
    permutation_pvalue,
    permuted_counts,
)
from mlopskit.drift.covariate._summaries import (
    CategorySummary,
    NumericSummary,
    align_counts,
    binned_counts,
    category_summary,
)
from mlopskit.drift.covariate._univariate import distance_result, pvalue_result
from mlopskit.drift.profiles._profile import Profile
from mlopskit.errors import InvalidParameterError

__all__: list[str] = []

FloatArray = NDArray[np.float64]


class BinnedDistanceDrift(BaseDriftDetector):
    """Base of the histogram distances; subclasses implement ``_distance(p, q)``.

    ``_distance`` receives ``(r, bins)`` arrays of proportions (row ``i`` of the
    reference against row ``i`` of the sample) and returns ``(r,)`` distances.
    """

    _input_kind: ClassVar[str] = "any"
    _method: ClassVar[str] = ""
    _min_rows: ClassVar[int] = 10

    # One constructor for every histogram distance (scikit-learn reads the parameter
    # names from it, inherited or not); the subclasses document the parameters.
    def __init__(
        self,
        *,
        alpha: float = 0.05,
        correction: Literal["bonferroni", "fdr_bh"] | None = "bonferroni",
        threshold: float | None = None,
        n_permutations: int = 999,
        n_bins: int = 10,
        smoothing: float = 0.5,
        random_state: int | np.random.Generator | None = None,
        nan_policy: Literal["raise", "omit"] = "raise",
        preprocessor: Any = None,
    ) -> None:
        self.alpha = alpha
        self.correction = correction
        self.threshold = threshold
        self.n_permutations = n_permutations
        self.n_bins = n_bins
        self.smoothing = smoothing
        self.random_state = random_state
        self.nan_policy = nan_policy
        self.preprocessor = preprocessor

    def _validate_params(self) -> None:
        super()._validate_params()
        check_permutation_params(self)
        n_bins = getattr(self, "n_bins", None)
        if not isinstance(n_bins, int) or n_bins < 2:
            raise InvalidParameterError(
                f"n_bins must be an integer >= 2. Got {n_bins!r} instead.",
                parameter="n_bins",
            )
        smoothing = getattr(self, "smoothing", None)
        if not isinstance(smoothing, int | float) or not smoothing > 0:
            raise InvalidParameterError(
                f"smoothing must be a positive number of pseudo-counts. Got "
                f"{smoothing!r} instead.",
                parameter="smoothing",
            )

    def _fit(self, table: Table) -> None:
        self.bins_: list[Any] = []
        self.reference_counts_: list[NDArray[np.int64]] = []
        for j, name in enumerate(table.names):
            values = _valid(table, j)
            if len(values) < self._min_rows:
                raise self._too_few("reference", name, len(values))
            if table.kinds[j] == "numeric":
                edges = quantile_edges(values.astype(np.float64), int(self.n_bins))
                self.bins_.append(edges)
                self.reference_counts_.append(bin_counts(values, edges))
            else:
                cats = CategoryCounts(values)
                self.bins_.append(cats)
                self.reference_counts_.append(np.append(cats.counts, 0))
        self.seed_ = resolve_seed(getattr(self, "random_state", None))

    def _fit_profile(self, reference: Profile) -> None:
        self.bins_ = []
        self.reference_counts_ = []
        probs = np.linspace(0.0, 1.0, int(self.n_bins) + 1)[1:-1]
        for col in reference.columns:
            if col.kind == "categorical":
                summary = category_summary(col)
                n = summary.n
                cats = CategoryCounts.from_counts(summary.categories, summary.counts)
                self.bins_.append(cats)
                self.reference_counts_.append(np.append(cats.counts, 0))
            else:
                numeric = NumericSummary.from_column(col)
                n = numeric.n
                edges = np.unique(numeric.quantiles(probs)) if n else np.empty(0)
                self.bins_.append(edges)
                self.reference_counts_.append(binned_counts(numeric, edges))
            if n < self._min_rows:
                raise self._too_few("reference", col.name, n)
        self.seed_ = resolve_seed(getattr(self, "random_state", None))

    def _detect_profile(self, sample: Profile | Table) -> DriftResult:
        if isinstance(sample, Table):
            return self._detect(sample)
        counts = []
        for j, col in enumerate(sample.columns):
            bins = self.bins_[j]
            if isinstance(bins, CategoryCounts):
                ref = CategorySummary(bins.natives(), bins.counts)
                aligned, new_counts = align_counts(ref, category_summary(col))
                counts.append(np.append(aligned, new_counts.sum()))
            else:
                numeric = NumericSummary.from_column(col)
                counts.append(binned_counts(numeric, bins))
        table = Table(sample.names, self.feature_kinds_, (), sample.n_rows, None)
        return self._detect_counts(table, counts)

    def _detect(self, table: Table) -> DriftResult:
        counts = []
        for j in range(len(table.names)):
            values = _valid(table, j)
            bins = self.bins_[j]
            if isinstance(bins, CategoryCounts):
                aligned, _, new_counts = bins.align(values)
                counts.append(np.append(aligned, new_counts.sum()))
            else:
                counts.append(bin_counts(values, bins))
        return self._detect_counts(table, counts)

    def _detect_counts(
        self, table: Table, sample_counts: list[NDArray[np.int64]]
    ) -> DriftResult:
        dist = np.empty(len(table.names))
        pvals = np.full(len(table.names), np.nan)
        test = self.threshold is None
        rng = np.random.default_rng(self.seed_)
        for j, name in enumerate(table.names):
            counts = sample_counts[j]
            if int(counts.sum()) < self._min_rows:
                raise self._too_few("sample", name, int(counts.sum()))
            ref = self.reference_counts_[j][None, :]
            if test:
                pooled = ref[0] + counts
                perm = permuted_counts(
                    pooled, int(ref.sum()), int(self.n_permutations), rng
                )
                ref = np.vstack([ref, perm])
                counts = pooled - ref
            d = self._distance(self._proportions(ref), self._proportions(counts))
            dist[j] = d[0]
            if test:
                pvals[j] = permutation_pvalue(d)
        details: dict[str, Any] = {
            "n_bins": int(self.n_bins),
            "smoothing": float(self.smoothing),
        }
        if not test:
            return distance_result(self, table, dist, details)
        details["n_permutations"] = int(self.n_permutations)
        return pvalue_result(self, table, dist, pvals, details)

    def _proportions(self, counts: NDArray[np.int64]) -> FloatArray:
        s = float(self.smoothing)
        counts = np.atleast_2d(counts)
        total = counts.sum(axis=-1, keepdims=True)
        out: FloatArray = (counts + s) / (total + s * counts.shape[-1])
        return out

    def _distance(self, reference: FloatArray, sample: FloatArray) -> FloatArray:
        raise NotImplementedError

    @classmethod
    def _test_data(
        cls, rng: np.random.Generator, *, shift: bool = False
    ) -> tuple[Any, Any]:
        import pandas as pd

        n = 400
        cats = np.array(["a", "b", "c"], dtype=object)
        ref = pd.DataFrame({"num": rng.normal(size=n), "cat": rng.choice(cats, n)})
        smp = pd.DataFrame({"num": rng.normal(size=n), "cat": rng.choice(cats, n)})
        if shift:
            smp["num"] += 3.0
            smp["cat"] = rng.choice(cats, n, p=[0.9, 0.05, 0.05])
        return ref, smp


def _valid(table: Table, j: int) -> Any:
    return table.valid(j)
