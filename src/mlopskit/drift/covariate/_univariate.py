"""Shared machinery of the per-column numeric tests (KS, Cramér–von Mises,
Anderson–Darling, Wasserstein).

The reference is sorted once at ``fit`` (NaN last, so the valid values of a column
are a prefix). At ``detect`` the columns are grouped by their number of valid
values in the reference and in the sample (one group unless ``nan_policy="omit"``
dropped values), and each group is tested in one vectorised call.

What does *not* belong here: the statistics themselves (``_stats.py``) and input
checks (``_base.py``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from mlopskit.drift._base import BaseDriftDetector, Table, combine_features
from mlopskit.drift._result import DriftResult
from mlopskit.drift.covariate._stats import SortedColumns
from mlopskit.drift.covariate._summaries import NumericSummary
from mlopskit.drift.profiles._profile import Profile

__all__: list[str] = []

FloatArray = NDArray[np.float64]


class UnivariateNumericDrift(BaseDriftDetector):
    """Base of the column-wise numeric tests; subclasses implement ``_test_group``.

    ``_test_group(reference, sample)`` receives the reference columns as
    :class:`~mlopskit.drift.covariate._stats.SortedColumns` (valid values only) and the sample
    as a ``(n, k)`` float64 array (valid values only) and returns ``(statistics,
    p_values, details)``; ``p_values`` is ``None`` for a distance compared with a
    fixed ``threshold``.
    """

    _method: ClassVar[str] = ""
    _is_distance: ClassVar[bool] = False

    def _fit(self, table: Table) -> None:
        self.__dict__.pop("reference_summaries_", None)
        matrix = table.numeric_matrix()
        if getattr(self, "nan_policy", "raise") == "omit":
            matrix = np.where(np.isfinite(matrix), matrix, np.nan)
        self.reference_ = SortedColumns(matrix)
        self.n_valid_reference_ = np.isfinite(matrix).sum(axis=0)
        for name, n in zip(table.names, self.n_valid_reference_, strict=True):
            if n < self._min_rows:
                raise self._too_few("reference", name, int(n))

    def _detect(self, table: Table) -> DriftResult:
        matrix = table.numeric_matrix()
        n_cols = matrix.shape[1]
        omit = getattr(self, "nan_policy", "raise") == "omit"
        n_ref = self.n_valid_reference_
        if omit:
            valid = np.isfinite(matrix)
            n_smp = valid.sum(axis=0)
        else:
            n_smp = np.full(n_cols, matrix.shape[0])
        for name, n in zip(table.names, n_smp, strict=True):
            if n < self._min_rows:
                raise self._too_few("sample", name, int(n))
        stats = np.full(n_cols, np.nan)
        pvals = np.full(n_cols, np.nan)
        details: dict[str, Any] = {}
        if not omit or ((n_smp == matrix.shape[0]).all() and (n_ref == n_ref[0]).all()):
            groups = {(int(n_ref[0]), int(n_smp[0])): np.arange(n_cols)}
        else:
            by_size: defaultdict[tuple[int, int], list[int]] = defaultdict(list)
            for j in range(n_cols):
                by_size[int(n_ref[j]), int(n_smp[j])].append(j)
            groups = {k: np.asarray(v, dtype=np.intp) for k, v in by_size.items()}
        for (nr, ns), cols in groups.items():
            full = len(cols) == n_cols and nr == self.reference_.n_rows
            ref = self.reference_ if full else self.reference_.subset(cols, nr)
            if omit and ns < matrix.shape[0]:
                block = np.sort(
                    np.where(valid[:, cols], matrix[:, cols], np.nan), axis=0
                )
                smp = block[:ns]
            else:
                smp = matrix if len(cols) == n_cols else matrix[:, cols]
            s, p, extra = self._test_group(ref, smp)
            stats[cols] = s
            if p is not None:
                pvals[cols] = p
            for key, value in extra.items():
                details.setdefault(key, {}).update(
                    {table.names[c]: v for c, v in zip(cols, value, strict=True)}
                )
        if omit:
            details["n_omitted_reference"] = {
                name: int(self.n_reference_ - n)
                for name, n in zip(table.names, n_ref, strict=True)
            }
            details["n_omitted_sample"] = {
                name: int(table.n_rows - n)
                for name, n in zip(table.names, n_smp, strict=True)
            }
        stats = self._scale_statistics(stats)
        if self._is_distance and getattr(self, "threshold", None) is not None:
            return distance_result(self, table, stats, details)
        return self._result(table, stats, pvals, details)

    # -- profiles ---------------------------------------------------------------------

    def _fit_profile(self, reference: Profile) -> None:
        self.reference_summaries_ = [
            NumericSummary.from_column(c) for c in reference.columns
        ]
        self.n_valid_reference_ = np.array([s.n for s in self.reference_summaries_])
        for name, n in zip(reference.names, self.n_valid_reference_, strict=True):
            if n < self._min_rows:
                raise self._too_few("reference", name, int(n))

    def _reference_summaries(self) -> list[NumericSummary]:
        if hasattr(self, "reference_summaries_"):
            summaries: list[NumericSummary] = self.reference_summaries_
            return summaries
        return [
            NumericSummary.from_values(self.reference_.values[j, : int(n)])
            for j, n in enumerate(self.n_valid_reference_)
        ]

    def _detect_profile(self, sample: Profile | Table) -> DriftResult:
        """Test on column summaries (``covariate/_summaries.py``)."""
        names = self.feature_names_in_
        if isinstance(sample, Profile):
            smp = [NumericSummary.from_column(c) for c in sample.columns]
            n_rows = sample.n_rows
        else:
            smp = [
                NumericSummary.from_values(np.asarray(sample.valid(j), np.float64))
                for j in range(len(names))
            ]
            n_rows = sample.n_rows
        for name, summary in zip(names, smp, strict=True):
            if summary.n < self._min_rows:
                raise self._too_few("sample", name, summary.n)
        ref = self._reference_summaries()
        stats, pvals, extra = self._test_summaries(ref, smp)
        details: dict[str, Any] = {
            key: dict(zip(names, value, strict=True)) for key, value in extra.items()
        }
        if getattr(self, "nan_policy", "raise") == "omit":
            details["n_omitted_reference"] = {
                name: int(self.n_reference_ - r.n)
                for name, r in zip(names, ref, strict=True)
            }
            details["n_omitted_sample"] = {
                name: int(n_rows - s.n) for name, s in zip(names, smp, strict=True)
            }
        table = Table(names, self.feature_kinds_, (), n_rows, None)
        stats = self._scale_statistics(stats)
        if self._is_distance and getattr(self, "threshold", None) is not None:
            return distance_result(self, table, stats, details)
        return self._result(table, stats, pvals, details)

    def _test_summaries(
        self, reference: list[NumericSummary], sample: list[NumericSummary]
    ) -> tuple[FloatArray, FloatArray, dict[str, list[Any]]]:
        """Hook: statistics, p-values (NaN for pure distances) and details."""
        raise NotImplementedError

    def _scale_statistics(self, stats: FloatArray) -> FloatArray:
        """Hook: the statistics as reported (e.g. in units of the reference's std)."""
        return stats

    def _test_group(
        self, reference: SortedColumns, sample: FloatArray
    ) -> tuple[FloatArray, FloatArray | None, dict[str, list[Any]]]:
        raise NotImplementedError

    def _result(
        self,
        table: Table,
        stats: FloatArray,
        pvals: FloatArray,
        details: dict[str, Any],
    ) -> DriftResult:
        return pvalue_result(self, table, stats, pvals, details)


def pvalue_result(
    detector: Any,
    table: Table,
    stats: FloatArray,
    pvals: FloatArray,
    details: dict[str, Any],
) -> DriftResult:
    """Result of per-column p-values: corrected over columns, drift at ``alpha``."""
    alpha = float(detector.alpha)
    correction = detector.correction if len(table.names) > 1 else None
    frame, best, p_best = combine_features(
        table.names,
        [detector._method] * len(table.names),
        stats,
        pvals,
        alpha=alpha,
        correction=correction,
    )
    return DriftResult(
        drift=bool(frame["drift"].any()),
        statistic=float(stats[best]),
        p_value=p_best,
        threshold=alpha,
        method=detector._method,
        n_reference=detector.n_reference_,
        n_sample=table.n_rows,
        features=frame,
        correction=correction,
        details=details,
    )


def distance_result(
    detector: Any, table: Table, stats: FloatArray, details: dict[str, Any]
) -> DriftResult:
    """Result of a distance-only detector: drift when any distance >= threshold."""
    threshold = float(detector.threshold)
    frame = pd.DataFrame(
        {
            "feature": pd.Series(list(table.names), dtype=object),
            "test": pd.Series([detector._method] * len(stats), dtype=object),
            "statistic": np.asarray(stats, dtype=np.float64),
            "p_value": np.full(len(stats), np.nan),
            "drift": np.asarray(stats >= threshold, dtype=bool),
        }
    )
    best = int(np.nanargmax(stats)) if not np.isnan(stats).all() else 0
    return DriftResult(
        drift=bool(frame["drift"].any()),
        statistic=float(stats[best]),
        p_value=None,
        threshold=threshold,
        method=detector._method,
        n_reference=detector.n_reference_,
        n_sample=table.n_rows,
        features=frame,
        correction=None,
        details=details,
    )
