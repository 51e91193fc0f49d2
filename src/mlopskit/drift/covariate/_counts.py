"""Fast category counting and reference-quantile binning for the categorical tests.

What does *not* belong here: the tests (``_chisquare.py``, ``_binned.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__: list[str] = []

IntArray = NDArray[np.int64]


def value_counts(values: NDArray[Any]) -> tuple[NDArray[Any], IntArray]:
    """Distinct values and their counts (missing values excluded).

    Small-range integers go through ``np.bincount`` (about a millisecond per
    million rows); anything else through pandas' hash table.
    """
    if values.dtype.kind in "iu" and len(values):
        lo, hi = int(values.min()), int(values.max())
        if hi - lo <= 4 * len(values) + 1024:
            counts = np.bincount(values - lo if lo else values, minlength=hi - lo + 1)
            present = np.flatnonzero(counts)
            return present + lo, counts[present].astype(np.int64)
    if values.dtype.kind == "b":
        trues = int(np.count_nonzero(values))
        return np.array([False, True]), np.array([len(values) - trues, trues])
    vc = pd.Series(values, copy=False).value_counts(dropna=True, sort=False)
    return vc.index.to_numpy(), vc.to_numpy(dtype=np.int64)


class CategoryCounts:
    """Reference categories (sorted where sortable) and their counts."""

    __slots__ = ("categories", "counts", "index")

    def __init__(self, values: NDArray[Any]) -> None:
        cats, counts = value_counts(values)
        try:
            order = np.argsort(cats, kind="stable")
        except TypeError:  # mixed, unorderable categories: keep first-seen order
            order = np.arange(len(cats))
        self.categories = cats[order]
        self.counts = counts[order]
        self.index = pd.Index(self.categories)

    @classmethod
    def from_counts(cls, categories: Any, counts: Any) -> CategoryCounts:
        """Counts already tallied (a profile's exact category counts)."""
        out = cls.__new__(cls)
        out.categories = np.empty(len(categories), dtype=object)
        out.categories[:] = list(categories)
        out.counts = np.asarray(counts, dtype=np.int64)
        out.index = pd.Index(out.categories, dtype=object)
        return out

    def natives(self) -> tuple[Any, ...]:
        """The categories as plain Python values (as a profile stores them)."""
        return tuple(c.item() if hasattr(c, "item") else c for c in self.categories)

    def align(self, values: NDArray[Any]) -> tuple[IntArray, NDArray[Any], IntArray]:
        """Count ``values`` per reference category; unseen ones are returned apart.

        Returns the counts aligned with :attr:`categories`, then the unseen values
        and their counts.
        """
        cats, counts = value_counts(values)
        pos = self.index.get_indexer(cats)
        aligned = np.zeros(len(self.categories), dtype=np.int64)
        seen = pos >= 0
        np.add.at(aligned, pos[seen], counts[seen])
        return aligned, cats[~seen], counts[~seen]


def quantile_edges(values: NDArray[np.float64], n_bins: int) -> NDArray[np.float64]:
    """Inner bin edges at the reference's quantiles (duplicates removed).

    Bins are ``(-inf, e0], (e0, e1], …, (e_last, inf)``, so every sample value
    lands in a bin, including values outside the reference's range.
    """
    qs = np.quantile(values, np.linspace(0.0, 1.0, n_bins + 1)[1:-1], method="linear")
    edges: NDArray[np.float64] = np.unique(qs)
    return edges


def bin_counts(values: NDArray[np.float64], edges: NDArray[np.float64]) -> IntArray:
    """Counts of ``values`` in the bins defined by :func:`quantile_edges`."""
    idx = np.searchsorted(edges, values, side="left")
    return np.bincount(idx, minlength=len(edges) + 1).astype(np.int64)
