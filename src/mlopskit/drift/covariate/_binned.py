"""Shared machinery of the histogram distances (PSI, Jensen–Shannon, Hellinger).

Numeric columns are binned at the reference's quantiles (``n_bins`` bins of equal
reference mass; the outer bins are open, so sample values beyond the reference's
range still land in a bin). Categorical columns use the reference's categories plus
one extra bin for every category the reference never saw. Proportions are smoothed
by ``smoothing`` pseudo-counts per bin, ``p_i = (c_i + s) / (n + s B)`` for ``B``
bins, so that an empty bin does not make a log-ratio infinite.

What does *not* belong here: the single distances (``_psi.py``,
``_jensen_shannon.py``, ``_hellinger.py``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from mlopskit.drift._base import BaseDriftDetector, Table
from mlopskit.drift._result import DriftResult
from mlopskit.drift.covariate._counts import CategoryCounts, bin_counts, quantile_edges
from mlopskit.drift.covariate._univariate import distance_result
from mlopskit.errors import InvalidParameterError

__all__: list[str] = []

FloatArray = NDArray[np.float64]


class BinnedDistanceDrift(BaseDriftDetector):
    """Base of the histogram distances; subclasses implement ``_distance(p, q)``."""

    _input_kind: ClassVar[str] = "any"
    _method: ClassVar[str] = ""

    def _validate_params(self) -> None:
        super()._validate_params()
        threshold = getattr(self, "threshold", None)
        if not isinstance(threshold, int | float) or not threshold > 0:
            raise InvalidParameterError(
                f"threshold must be a positive number. Got {threshold!r} instead.",
                parameter="threshold",
            )
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
            if len(values) < 1:
                raise self._too_few("reference", name, 0)
            if table.kinds[j] == "numeric":
                edges = quantile_edges(values.astype(np.float64), int(self.n_bins))
                self.bins_.append(edges)
                self.reference_counts_.append(bin_counts(values, edges))
            else:
                cats = CategoryCounts(values)
                self.bins_.append(cats)
                self.reference_counts_.append(np.append(cats.counts, 0))

    def _detect(self, table: Table) -> DriftResult:
        dist = np.empty(len(table.names))
        for j, name in enumerate(table.names):
            values = _valid(table, j)
            if len(values) < 1:
                raise self._too_few("sample", name, 0)
            bins = self.bins_[j]
            if isinstance(bins, CategoryCounts):
                aligned, _, new_counts = bins.align(values)
                counts = np.append(aligned, new_counts.sum())
            else:
                counts = bin_counts(values, bins)
            ref = self._proportions(self.reference_counts_[j])
            dist[j] = self._distance(ref, self._proportions(counts))
        details = {"n_bins": int(self.n_bins), "smoothing": float(self.smoothing)}
        return distance_result(self, table, dist, details)

    def _proportions(self, counts: NDArray[np.int64]) -> FloatArray:
        s = float(self.smoothing)
        out: FloatArray = (counts + s) / (counts.sum() + s * len(counts))
        return out

    def _distance(self, reference: FloatArray, sample: FloatArray) -> float:
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
