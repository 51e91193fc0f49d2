"""Permutation nulls of the distance detectors, on bin counts, all permutations at once.

A random permutation of the pooled sample (``n1`` reference rows, ``n2`` sample rows)
puts, in every bin, a multivariate-hypergeometric number of the ``n1`` reference
labels. So the permutation distribution of any statistic that is a function of the
per-bin counts is sampled exactly by ``Generator.multivariate_hypergeometric``, in C,
without a Python loop over permutations, at a cost of ``O(n_permutations × bins)``
whatever the number of rows. With the bins fixed before the labels are looked at
(the pooled sample's distinct values or quantiles for Wasserstein; the categories or
the reference's quantiles for the histogram distances) the p-value
``(1 + #{permuted >= observed}) / (1 + n_permutations)`` is a Monte Carlo
permutation p-value: ``P(p <= alpha) <= alpha`` under exchangeability, with equality
when ``alpha (n_permutations + 1)`` is an integer and the statistic has no ties.

What does *not* belong here: the distances themselves (``_wasserstein.py``,
``_binned.py`` and the single histogram distances).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlopskit.errors import InvalidParameterError

__all__: list[str] = []

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Relative tolerance under which a permuted statistic counts as a tie (>=) with
#: the observed one: both come from the same arithmetic, so only rounding differs.
_TIE_RTOL = 1e-10


def permuted_counts(
    pooled_counts: IntArray, n_first: int, n_permutations: int, rng: np.random.Generator
) -> IntArray:
    """``(n_permutations, bins)`` counts of the first group under random permutations."""
    colors = np.asarray(pooled_counts, dtype=np.int64)
    draws = rng.multivariate_hypergeometric(
        colors, int(n_first), size=int(n_permutations), method="marginals"
    )
    out: IntArray = np.asarray(draws, dtype=np.int64)
    return out


def permutation_pvalue(statistics: FloatArray) -> float:
    """``(1 + #{s[1:] >= s[0]}) / len(s)``: row 0 observed, the rest permuted."""
    observed = float(statistics[0])
    tol = _TIE_RTOL * max(abs(observed), 1e-300)
    hits = int(np.count_nonzero(statistics[1:] >= observed - tol))
    return (1.0 + hits) / float(len(statistics))


def check_permutation_params(detector: Any) -> None:
    """Validate a distance detector's ``threshold`` and ``n_permutations``."""
    threshold = detector.threshold
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not threshold > 0
    ):
        raise InvalidParameterError(
            "threshold must be None (a calibrated permutation test at alpha) or a "
            f"positive number. Got {threshold!r} instead.",
            parameter="threshold",
        )
    n_perm = detector.n_permutations
    if isinstance(n_perm, bool) or not isinstance(n_perm, int) or n_perm < 19:
        raise InvalidParameterError(
            "n_permutations must be an int >= 19 (the smallest p-value is "
            f"1 / (n_permutations + 1)). Got {n_perm!r} instead.",
            parameter="n_permutations",
        )
