"""Two-sample statistics on column summaries: what the detectors run on a Profile.

A numeric column is summarised by its distinct values and their (integer) counts:
exactly for rows in memory, approximately for a profile's KLL sketch, whose counts
are the retained items' weights. Every statistic below is computed on the two step
CDFs; on exact summaries it equals the detectors' raw-data statistic (and scipy's).

Approximation, column by column (``eps`` = the summaries' rank errors added, each a
bound on ``sup_x |F_sketch(x) - F(x)|`` holding with probability 0.99, see
``profiles/_kll.py``):

* **KS**: ``|D_sketch - D| <= eps`` (the sup norm is 1-Lipschitz), so the exact
  test's p-value lies in ``[p(D + eps), p(D - eps)]``, reported per column in
  ``details["p_value_bounds"]``. ``details["decision_certain"]`` says whether the
  decision of every column is the same at both ends.
* **Wasserstein**: ``|W_sketch - W| <= eps * (max - min)`` over the pooled range.
* **Cramér–von Mises, Anderson–Darling**: the same rank-based formulas on the
  sketch's counts; no bound is proven (the statistic weighs CDF errors by the pooled
  mass, and Anderson–Darling divides by ``H (1 - H)`` in the tails); the tests in
  ``tests/drift/profiles`` measure the agreement with the exact test.
* **Binned distances and chi-square**: category counts are exact, so chi-square on a
  profile *is* the exact test; numeric bins take their edges and counts from the
  sketch (each bin's share off by at most ``2 eps``).

P-values on profiles are asymptotic (Cramér–von Mises, KS beyond 10,000 rows) or
exact from ``D`` and the two sizes (KS up to 10,000 rows, as scipy's ``auto``).

What does *not* belong here: building profiles (``profiles/``) and deciding drift
(the detectors).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats._hypotests import _cdf_cvm_inf  # scipy's own limit distribution
from scipy.stats._stats_py import _attempt_exact_2kssamp  # ks_2samp's exact path

from mlopskit.drift.covariate._permutation import permutation_pvalue, permuted_counts
from mlopskit.drift.covariate._stats import _anderson_pvalue, ks_2samp_pvalue
from mlopskit.drift.profiles._profile import ColumnProfile
from mlopskit.errors import DriftInputError

__all__ = ["CategorySummary", "NumericSummary"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class NumericSummary:
    """Distinct finite values (sorted), their counts, and the rank error."""

    values: FloatArray
    counts: IntArray
    n: int
    rank_error: float
    std: float

    @classmethod
    def from_values(cls, values: FloatArray) -> NumericSummary:
        """Exact summary of finite values."""
        v = np.asarray(values, dtype=np.float64)
        distinct, counts = np.unique(v, return_counts=True)
        std = float(v.std()) if len(v) else 0.0
        return cls(distinct, counts.astype(np.int64), len(v), 0.0, std)

    @classmethod
    def from_column(cls, column: ColumnProfile) -> NumericSummary:
        """Summary of a profiled numeric or datetime column (its sketch)."""
        assert column.sketch is not None
        items, weights = column.sketch.sorted_view()
        distinct, inverse = np.unique(items, return_inverse=True)
        counts = np.bincount(inverse, weights=weights, minlength=len(distinct))
        var = column.variance
        n = column.sketch.n
        std = 0.0 if var is None else float(np.sqrt(var * (n - 1) / n))
        return cls(
            distinct, counts.astype(np.int64), n, column.sketch.rank_error(), std
        )

    def count_at_or_below(self, x: FloatArray) -> IntArray:
        """Number of values ``<= x`` (exact or from the sketch)."""
        cum = np.concatenate([[0], np.cumsum(self.counts)])
        out: IntArray = cum[np.searchsorted(self.values, x, side="right")]
        return out

    def quantiles(self, probs: FloatArray) -> FloatArray:
        """Inverse CDF at ``probs`` (the smallest value with CDF ``>= p``)."""
        cum = np.cumsum(self.counts)
        pos = np.searchsorted(cum, np.asarray(probs) * self.n, side="left")
        out: FloatArray = self.values[np.clip(pos, 0, len(self.values) - 1)]
        return out


@dataclass(frozen=True)
class CategorySummary:
    """Categories and their exact counts."""

    categories: tuple[Any, ...]
    counts: IntArray

    @property
    def n(self) -> int:
        """Total count."""
        return int(self.counts.sum())


def category_summary(column: ColumnProfile) -> CategorySummary:
    """Exact counts of a profiled categorical column, or a DriftInputError."""
    if column.kind != "categorical":
        raise DriftInputError(
            f"Column {column.name!r} was profiled as {column.kind}, so the profile "
            "holds a quantile sketch, not category counts. Test it with a numeric "
            "detector, or profile it as categories (e.g. .astype(str)).",
            column=column.name,
        )
    if column.overflowed:
        raise DriftInputError(
            f"Column {column.name!r} had more distinct values than the profile's "
            "max_categories, so its counts were dropped (truncated counts would bias "
            "the test). Profile it with a larger max_categories, or test it as a "
            "numeric column.",
            column=column.name,
        )
    return CategorySummary(
        tuple(column.categories), np.asarray(column.counts, dtype=np.int64)
    )


def binned_counts(summary: NumericSummary, edges: FloatArray) -> IntArray:
    """Counts in the bins ``(-inf, e0], (e0, e1], …, (e_last, inf)``."""
    cum = summary.count_at_or_below(np.asarray(edges, dtype=np.float64))
    out: IntArray = np.diff(np.concatenate([[0], cum, [summary.n]])).astype(np.int64)
    return out


def _union(
    a: NumericSummary, b: NumericSummary
) -> tuple[FloatArray, IntArray, IntArray]:
    """Pooled distinct values and each summary's counts at them."""
    z = np.union1d(a.values, b.values)
    ca = np.zeros(len(z), dtype=np.int64)
    cb = np.zeros(len(z), dtype=np.int64)
    ca[np.searchsorted(z, a.values)] = a.counts
    cb[np.searchsorted(z, b.values)] = b.counts
    return z, ca, cb


def ks_statistic(a: NumericSummary, b: NumericSummary) -> float:
    """``sup_x |F_a(x) - F_b(x)|`` of two step CDFs."""
    _, ca, cb = _union(a, b)
    diff = np.cumsum(ca) / a.n - np.cumsum(cb) / b.n
    return float(np.abs(diff).max())


def ks_exact_pvalue(d: float, n1: int, n2: int) -> tuple[float, bool]:
    """scipy's exact two-sided KS p-value from ``D`` and the sizes (and whether it
    fell back to the asymptotic one, as ``ks_2samp`` does when it fails)."""
    ok, _, prob = _attempt_exact_2kssamp(n1, n2, math.gcd(n1, n2), d, "two-sided")
    if ok:
        return float(min(max(prob, 0.0), 1.0)), False
    return float(ks_2samp_pvalue(d, n1, n2, method="asymp")[0]), True


def cvm_statistic_pvalue(a: NumericSummary, b: NumericSummary) -> tuple[float, float]:
    """Cramér–von Mises ``T`` and its asymptotic p-value (scipy's formulas).

    On exact summaries without ties ``T`` is scipy's; with ties it is the CDF form
    (scipy's midrank formula is not a valid statistic there). When a side is a
    sketch, each item's mass is spread across its jump instead of tied.
    """
    _, ca, cb = _union(a, b)
    nx, ny = float(a.n), float(b.n)
    big_n, k = nx + ny, nx * ny
    pooled = (ca + cb).astype(np.float64)
    f_right, g_right = np.cumsum(ca) / nx, np.cumsum(cb) / ny
    d_right = f_right - g_right
    if a.rank_error == 0.0 and b.rank_error == 0.0:
        # Anderson's T = n m / N**2 * sum over the pooled values of (F - G)**2, each
        # distinct value counted with its multiplicity. Without ties it is scipy's
        # rank formula; with ties it stays a CDF distance, where scipy's midrank
        # formula grows with n under no shift (163 at 100,000 vs 2,000 integer
        # values from one distribution, scipy 1.17).
        t = float(k / big_n**2 * (pooled * d_right**2).sum())
    else:
        # A sketch item of weight w stands for w values spread between its
        # neighbours, not w ties: integrate (F - G)**2 across each jump, with both
        # CDFs linear over it.
        d_left = d_right - (ca / nx - cb / ny)
        spread = (d_left**2 + d_left * d_right + d_right**2) / 3.0
        t = float(k / big_n**2 * (pooled * spread).sum())
    et = (1.0 + 1.0 / big_n) / 6.0
    vt = (big_n + 1.0) * (4.0 * k * big_n - 3.0 * (nx**2 + ny**2) - 2.0 * k)
    vt /= 45.0 * big_n**2 * 4.0 * k
    tn = 1.0 / 6.0 + (t - et) / np.sqrt(45.0 * vt)
    p = 1.0 if tn < 0.003 else max(0.0, 1.0 - float(_cdf_cvm_inf(tn)))
    return float(t), min(p, 1.0)


def anderson_statistic_pvalue(
    a: NumericSummary, b: NumericSummary
) -> tuple[float, float, bool]:
    """Anderson–Darling k-sample (midrank) statistic, p-value and capped flag."""
    _, ca, cb = _union(a, b)
    n1, n2 = float(a.n), float(b.n)
    big_n = n1 + n2
    ties = (ca + cb).astype(np.float64)
    left = np.cumsum(ties) - ties
    ref_left = (np.cumsum(ca) - ca).astype(np.float64)
    m_ref = ref_left + ca / 2.0
    m_smp = (left - ref_left) + cb / 2.0
    bb = left + ties / 2.0
    denom = bb * (big_n - bb) - big_n * ties / 4.0
    if len(ties) < 2:
        return float("nan"), 1.0, False
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(denom > 0, ties / big_n / denom, 0.0)
    a2 = float((w * (big_n * m_ref - bb * n1) ** 2).sum() / n1)
    a2 += float((w * (big_n * m_smp - bb * n2) ** 2).sum() / n2)
    a2 *= (big_n - 1.0) / big_n
    stat, p, capped = _anderson_pvalue(
        np.array([a2]), np.array([a.n, b.n]), int(a.n + b.n)
    )
    return float(stat[0]), float(p[0]), bool(capped[0])


def wasserstein(a: NumericSummary, b: NumericSummary) -> float:
    """W1 between two step CDFs (``scipy.stats.wasserstein_distance`` when exact)."""
    z, ca, cb = _union(a, b)
    diff = np.abs(np.cumsum(ca) / a.n - np.cumsum(cb) / b.n)[:-1]
    return float(diff @ np.diff(z))


def wasserstein_pvalue(
    a: NumericSummary,
    b: NumericSummary,
    *,
    n_permutations: int,
    max_bins: int,
    rng: np.random.Generator,
) -> float:
    """Permutation p-value of W1 on the pooled bins (as ``WassersteinDrift``)."""
    z, ca, cb = _union(a, b)
    pooled = ca + cb
    if len(z) <= max_bins:
        inner = z[1:]
    else:
        cum = np.cumsum(pooled)
        cuts = np.linspace(0, int(cum[-1]), max_bins + 1)[1:-1].astype(np.int64)
        inner = np.unique(z[np.searchsorted(cum, cuts, side="right")])
    ids = np.searchsorted(inner, z, side="right")
    n_bins = len(inner) + 1
    counts = np.bincount(ids, weights=pooled, minlength=n_bins)
    keep = counts > 0
    means = np.bincount(ids, weights=pooled * z, minlength=n_bins)[keep] / counts[keep]
    ref = np.bincount(ids, weights=ca, minlength=n_bins)[keep].astype(np.int64)
    counts_i = counts[keep].astype(np.int64)
    rows = np.vstack([ref, permuted_counts(counts_i, a.n, n_permutations, rng)])
    cum_a = np.cumsum(rows, axis=1) / a.n
    cum_b = np.cumsum(counts_i - rows, axis=1) / b.n
    stats = np.abs(cum_a - cum_b)[:, :-1] @ np.diff(means)
    return permutation_pvalue(stats)


def pooled_range(a: NumericSummary, b: NumericSummary) -> float:
    """``max - min`` over both summaries (for the Wasserstein error bound)."""
    lo = min(a.values[0], b.values[0])
    hi = max(a.values[-1], b.values[-1])
    return float(hi - lo)


def align_counts(
    reference: CategorySummary, sample: CategorySummary
) -> tuple[IntArray, IntArray]:
    """The sample's counts per reference category, and its unseen categories' counts."""
    index = {(type(c), c): i for i, c in enumerate(reference.categories)}
    aligned = np.zeros(len(reference.categories), dtype=np.int64)
    unseen = []
    for cat, count in zip(sample.categories, sample.counts, strict=True):
        i = index.get((type(cat), cat))
        if i is None:
            unseen.append(int(count))
        else:
            aligned[i] += int(count)
    return aligned, np.asarray(unseen, dtype=np.int64)
