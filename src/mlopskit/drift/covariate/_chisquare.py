"""Column-wise chi-square contingency test for categorical data: :class:`ChiSquareDrift`."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from scipy import stats

from mlopskit.drift._base import BaseDriftDetector, Table, combine_features
from mlopskit.drift._result import DriftResult
from mlopskit.drift.covariate._counts import (
    CategoryCounts,
    quantile_edges,
    value_counts,
)
from mlopskit.drift.covariate._summaries import (
    CategorySummary,
    align_counts,
    category_summary,
)
from mlopskit.drift.profiles._profile import Profile
from mlopskit.errors import DriftInputError, InvalidParameterError

__all__ = ["ChiSquareDrift"]


class ChiSquareDrift(BaseDriftDetector):
    """Chi-square test of homogeneity (2 × K contingency table) on every column.

    Every column is treated as categorical (strings, booleans, pandas categories,
    integer codes). The reference counts are computed once at ``fit``; ``detect``
    counts the sample (``np.bincount`` for small-range integer codes, a hash table
    otherwise) and runs ``scipy.stats.chi2_contingency`` on the ``2 × K`` table, so
    the p-values are scipy's. Categories seen only in the sample are categories of
    their own (with a reference count of 0), not an error.

    A numeric, datetime or timedelta column with more than ``max_categories``
    distinct values in the reference is not a categorical column: every value would
    be a category of its own, and the test would have no power (a 30-day shift of a
    timestamp column gave p = 0.48). Such a column is binned at ``n_bins``
    quantiles of the reference instead (outer bins open), and the contingency test
    runs on the bin counts; ``details["binned"]`` lists those columns.

    This is the contingency test, which accounts for the reference being a sample
    too. The goodness-of-fit variant that treats reference frequencies as exact
    (evidently's default below 1,000 rows) raises false alarms far above ``alpha``
    when both samples are of similar size.

    Parameters
    ----------
    alpha
        Significance level of the whole test (after correction).
    correction
        ``"bonferroni"`` (default), ``"fdr_bh"`` or ``None``.
    yates
        Yates' continuity correction when a table has one degree of freedom (two
        categories), as scipy does by default. It makes the test conservative.
    max_categories
        Most distinct values a numeric or datetime column may have and still be
        counted value by value; ``None`` never bins (integer codes with many
        categories).
    n_bins
        Quantile bins of a column that has more than ``max_categories`` values.
    nan_policy
        ``"raise"`` (default) or ``"omit"`` (drop missing values per column).
    preprocessor
        Optional scikit-learn transformer, e.g.
        ``ModelProbabilities(model, output="label")`` for black-box shift detection
        on hard predictions (BBSDh).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from mlopskit.drift import ChiSquareDrift
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"colour": rng.choice(["red", "green", "blue"], 2000)})
    >>> det = ChiSquareDrift().fit(ref)
    >>> cur = pd.DataFrame({"colour": rng.choice(["red", "green", "blue", "pink"], 2000)})
    >>> result = det.detect(cur)
    >>> result.drift, result.details["unseen_categories"]["colour"]
    (True, 1)
    """

    _input_kind: ClassVar[str] = "categorical"
    _method: ClassVar[str] = "chi2"

    def __init__(
        self,
        *,
        alpha: float = 0.05,
        correction: Literal["bonferroni", "fdr_bh"] | None = "bonferroni",
        yates: bool = True,
        max_categories: int | None = 50,
        n_bins: int = 10,
        nan_policy: Literal["raise", "omit"] = "raise",
        preprocessor: Any = None,
    ) -> None:
        self.alpha = alpha
        self.correction = correction
        self.yates = yates
        self.max_categories = max_categories
        self.n_bins = n_bins
        self.nan_policy = nan_policy
        self.preprocessor = preprocessor

    def _validate_params(self) -> None:
        super()._validate_params()
        for name, value, low in (
            ("max_categories", self.max_categories, 2),
            ("n_bins", self.n_bins, 2),
        ):
            if value is None and name == "max_categories":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidParameterError(
                    f"{name} must be an int >= {low}"
                    f"{' or None' if name == 'max_categories' else ''}. "
                    f"Got {value!r} instead.",
                    parameter=name,
                )

    def _fit(self, table: Table) -> None:
        self.reference_counts_: list[CategoryCounts] = []
        self.bin_edges_: dict[int, Any] = {}
        for j, name in enumerate(table.names):
            values = _valid(table, j)
            if len(values) < self._min_rows:
                raise self._too_few("reference", name, len(values))
            numbers = _as_numbers(values)
            if (
                numbers is not None
                and self.max_categories is not None
                and len(value_counts(values)[0]) > self.max_categories
            ):
                edges = quantile_edges(numbers, int(self.n_bins))
                self.bin_edges_[j] = edges
                values = bin_counts_codes(numbers, edges)
            self.reference_counts_.append(CategoryCounts(values))

    def _detect(self, table: Table) -> DriftResult:
        k = len(table.names)
        stat, pvals = np.empty(k), np.empty(k)
        unseen: dict[str, int] = {}
        omitted: dict[str, int] = {}
        for j, name in enumerate(table.names):
            values = _valid(table, j)
            omitted[name] = table.n_rows - len(values)
            if len(values) < self._min_rows:
                raise self._too_few("sample", name, len(values))
            if j in self.bin_edges_:
                values = _as_numbers(values)
                if values is None:
                    raise self._not_numbers(name)
                values = bin_counts_codes(values, self.bin_edges_[j])
            ref = self.reference_counts_[j]
            aligned, new_values, new_counts = ref.align(values)
            unseen[name] = len(new_values)
            observed = np.vstack(
                [
                    np.concatenate([ref.counts, np.zeros(len(new_counts), np.int64)]),
                    np.concatenate([aligned, new_counts]),
                ]
            )
            stat[j], pvals[j] = chi2_homogeneity(observed, yates=self.yates)
        return self._result(table.names, table.n_rows, stat, pvals, unseen, omitted)

    def _result(
        self,
        names: tuple[str, ...],
        n_rows: int,
        stat: Any,
        pvals: Any,
        unseen: dict[str, int],
        omitted: dict[str, int],
    ) -> DriftResult:
        k = len(names)
        correction = self.correction if k > 1 else None
        frame, best, p_best = combine_features(
            names,
            ["chi2"] * k,
            stat,
            pvals,
            alpha=float(self.alpha),
            correction=correction,
        )
        details: dict[str, Any] = {
            "unseen_categories": unseen,
            "binned": [names[j] for j in sorted(self.bin_edges_)],
        }
        if self.nan_policy == "omit":
            details["n_omitted_sample"] = omitted
        return DriftResult(
            drift=bool(frame["drift"].any()),
            statistic=float(stat[best]),
            p_value=p_best,
            threshold=float(self.alpha),
            method="chi2",
            n_reference=self.n_reference_,
            n_sample=n_rows,
            features=frame,
            correction=correction,
            details=details,
        )

    # -- profiles: category counts are exact, so this is the exact test ---------------

    def _fit_profile(self, reference: Profile) -> None:
        self.bin_edges_ = {}  # a profile's categorical columns hold exact counts
        self.reference_counts_ = []
        for col in reference.columns:
            summary = category_summary(col)
            if summary.n < self._min_rows:
                raise self._too_few("reference", col.name, summary.n)
            self.reference_counts_.append(
                CategoryCounts.from_counts(summary.categories, summary.counts)
            )

    def _detect_profile(self, sample: Profile | Table) -> DriftResult:
        if isinstance(sample, Table):
            return self._detect(sample)
        k = len(sample.columns)
        stat, pvals = np.empty(k), np.empty(k)
        unseen: dict[str, int] = {}
        omitted: dict[str, int] = {}
        for j, col in enumerate(sample.columns):
            summary = category_summary(col)
            omitted[col.name] = col.n_missing
            if summary.n < self._min_rows:
                raise self._too_few("sample", col.name, summary.n)
            ref = self.reference_counts_[j]
            ref_summary = CategorySummary(ref.natives(), ref.counts)
            aligned, new_counts = align_counts(ref_summary, summary)
            unseen[col.name] = len(new_counts)
            observed = np.vstack(
                [
                    np.concatenate([ref.counts, np.zeros(len(new_counts), np.int64)]),
                    np.concatenate([aligned, new_counts]),
                ]
            )
            stat[j], pvals[j] = chi2_homogeneity(observed, yates=self.yates)
        return self._result(sample.names, sample.n_rows, stat, pvals, unseen, omitted)

    def _not_numbers(self, name: str) -> DriftInputError:
        return DriftInputError(
            f"Column {name!r} was binned as a numeric or datetime column at fit "
            "(more than max_categories distinct values), but the sample's values are "
            "not numbers or datetimes. Cast them to the reference's dtype.",
            column=name,
        )

    @classmethod
    def _test_params(cls) -> dict[str, Any]:
        return {}


def _valid(table: Table, j: int) -> Any:
    return table.valid(j)


def _as_numbers(values: Any) -> Any:
    """Numeric, datetime or timedelta values as float64 (datetimes in ns); else None."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iuf":
        return arr.astype(np.float64)
    if arr.dtype.kind in "mM":
        return (
            arr.astype("M8[ns]" if arr.dtype.kind == "M" else "m8[ns]")
            .view(np.int64)
            .astype(np.float64)
        )
    return None


def bin_counts_codes(values: Any, edges: Any) -> Any:
    """The bin of every value (0 … len(edges)), as integer codes."""
    return np.searchsorted(edges, values, side="left").astype(np.int64)


def chi2_homogeneity(observed: Any, *, yates: bool = True) -> tuple[float, float]:
    """Chi-square statistic and p-value of a 2 × K table (empty columns dropped)."""
    observed = observed[:, observed.sum(axis=0) > 0]
    if observed.shape[1] < 2:
        return 0.0, 1.0  # one category in both samples: nothing can differ
    res = stats.chi2_contingency(observed, correction=yates)
    return float(res.statistic), float(res.pvalue)
