"""Vectorised two-sample statistics shared by the batch and streaming detectors.

Every function here works on plain numpy arrays, column-wise, and returns float64.
The p-values are those of :mod:`scipy.stats` (``ks_2samp``, ``anderson_ksamp``) on
the same data, to 1e-10; the tests in ``tests/drift/test_stats.py`` check it across
sizes, ties and both the exact and the asymptotic regimes.

What does *not* belong here: input validation (``_base.py``) and anything that
decides drift (the detectors).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats

__all__ = [
    "SortedColumns",
    "anderson_2samp",
    "ks_2samp_pvalue",
    "ks_2samp_statistic",
]

FloatArray = NDArray[np.float64]

#: scipy's ``ks_2samp(method="auto")`` is exact up to this many rows per sample.
KS_EXACT_MAX_N = 10_000


def _map_columns(
    fn: Callable[[int], Any], n_columns: int, n_jobs: int | None
) -> list[Any]:
    """Apply ``fn`` to each column index, in threads when ``n_jobs`` > 1.

    numpy's sort and searchsorted release the GIL, so threads give a real speed-up.
    """
    workers = _n_workers(n_jobs, n_columns)
    if workers <= 1:
        return [fn(j) for j in range(n_columns)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, range(n_columns)))


def _n_workers(n_jobs: int | None, n_tasks: int) -> int:
    import os

    if n_jobs is None or n_jobs == 1 or n_tasks <= 1:
        return 1
    cpus = os.cpu_count() or 1
    workers = cpus + 1 + n_jobs if n_jobs < 0 else n_jobs
    return max(1, min(workers, n_tasks))


class SortedColumns:
    """Columns sorted once (at ``fit``), stored column-contiguous, with tie groups.

    ``values[j]`` is column ``j`` sorted ascending; ``group_start[j][i]`` is the
    index of the first element equal to ``values[j][i]``.
    """

    __slots__ = ("group_start", "n_rows", "values")

    values: FloatArray
    group_start: NDArray[np.intp]
    n_rows: int

    def __init__(self, data: FloatArray, *, is_sorted: bool = False) -> None:
        # Always a copy: the columns are sorted in place.
        cols = np.array(np.asarray(data, dtype=np.float64).T, order="C", copy=True)
        if not is_sorted:
            cols.sort(axis=1)
        self.values = cols
        self.n_rows = cols.shape[1]
        pos = np.broadcast_to(np.arange(self.n_rows), cols.shape)
        first = np.ones(cols.shape, dtype=bool)
        first[:, 1:] = cols[:, 1:] != cols[:, :-1]
        self.group_start = np.maximum.accumulate(np.where(first, pos, 0), axis=1)

    def subset(self, columns: NDArray[np.intp], n_rows: int) -> SortedColumns:
        """The first ``n_rows`` values of some columns (the valid ones: NaN sort last)."""
        out = SortedColumns.__new__(SortedColumns)
        out.values = self.values[columns, :n_rows]
        out.group_start = self.group_start[columns, :n_rows]
        out.n_rows = n_rows
        return out


def ks_2samp_statistic(
    reference: FloatArray | SortedColumns,
    sample: FloatArray,
    *,
    n_jobs: int | None = None,
) -> FloatArray:
    """Two-sided two-sample Kolmogorov–Smirnov statistic, column by column.

    Parameters
    ----------
    reference
        ``(n1, k)`` array, or the same sorted once with ``SortedColumns`` (what
        the detectors do at ``fit``, so that ``detect`` only sorts the sample).
    sample
        ``(n2, k)`` array with the same columns.
    n_jobs
        Threads over columns (``None`` or 1: one thread; -1: all cores).

    Returns
    -------
    numpy.ndarray
        ``(k,)`` statistics, equal to ``scipy.stats.ks_2samp(...).statistic``,
        ties included.

    Notes
    -----
    With the reference ``a`` and the sample ``b`` sorted, one ``searchsorted`` of
    ``b`` into ``a`` gives both ECDFs at every pooled value: between two distinct
    sample values ``F_a - F_b`` only grows, so its extremes sit at a sample value
    (``F_a(b) - F_b(b)``) or just before one (``F_a(b^-) - F_b(b^-)``), and
    ``F_a(b^-)`` follows from ``F_a(b)`` and the reference's tie groups.

    Examples
    --------
    >>> import numpy as np
    >>> ks_2samp_statistic(np.array([[1.0], [2.0], [3.0]]), np.array([[2.0], [3.0], [4.0]]))
    array([0.33333333])
    """
    ref = (
        reference if isinstance(reference, SortedColumns) else SortedColumns(reference)
    )
    smp = np.asarray(sample, dtype=np.float64)
    n1: int = ref.n_rows
    n2: int = smp.shape[0]

    def one(j: int) -> float:
        a, a_start = ref.values[j], ref.group_start[j]
        b = np.sort(smp[:, j])  # a sorted copy: the caller's array is not touched
        right = _sorted_positions(a, b)  # n1 * F_a(b)
        # n1 * F_a(b^-): step back over reference values tied with b.
        prev = right - 1
        np.maximum(prev, 0, out=prev)
        tied = a[prev] == b
        tied &= right > 0
        left = np.where(tied, a_start[prev], right) if tied.any() else right
        if not (b[1:] == b[:-1]).any():
            # No ties in the sample (continuous data): F_b(b_i) = i + 1, F_b(b_i^-) = i.
            idx = np.arange(n2)
            at_b = right * n2
            at_b -= (idx + 1) * n1
            before_b = left * n2
            before_b -= idx * n1
            worst = max(int(np.abs(at_b).max()), int(np.abs(before_b).max()))
            return worst / (n1 * n2)
        last = np.ones(n2, dtype=bool)
        last[:-1] = b[1:] != b[:-1]
        first = np.ones(n2, dtype=bool)
        first[1:] = last[:-1]
        rank_last = np.flatnonzero(last)  # n2 * F_b(b) = index + 1 at the group's end
        at = np.abs(right[rank_last] * n2 - (rank_last + 1) * n1).max()
        rank_first = np.flatnonzero(first)  # n2 * F_b(b^-) = index of the group start
        before = np.abs(left[rank_first] * n2 - rank_first * n1).max()
        worst = max(int(at), int(before))
        return worst / (n1 * n2)

    return np.asarray(_map_columns(one, smp.shape[1], n_jobs), dtype=np.float64)


def _sorted_positions(
    a: FloatArray, b: FloatArray, chunk: int = 2048
) -> NDArray[np.int64]:
    """``np.searchsorted(a, b, side="right")`` for sorted ``b``, in chunks.

    Each chunk of ``b`` only searches the slice of ``a`` between its first and last
    key, which keeps the binary searches short and in cache (about 20 % faster on
    10⁵ rows than one call over the whole array).
    """
    nb = len(b)
    if nb <= 4 * chunk:
        return np.searchsorted(a, b, side="right")
    firsts = b[::chunk]
    n_chunks = len(firsts)
    lo = np.searchsorted(a, firsts, side="left")
    hi = np.empty(n_chunks, dtype=np.int64)
    hi[:-1] = np.searchsorted(a, b[chunk - 1 :: chunk][: n_chunks - 1], side="right")
    hi[-1] = len(a)
    out = np.empty(nb, dtype=np.int64)
    for q in range(n_chunks):
        start, low = q * chunk, int(lo[q])
        part = out[start : start + chunk]
        part[:] = np.searchsorted(
            a[low : int(hi[q])], b[start : start + chunk], "right"
        )
        part += low
    return out


def ks_2samp_pvalue(
    statistic: float | NDArray[np.floating[Any]],
    n1: int,
    n2: int,
    *,
    method: Literal["asymp", "exact"] = "asymp",
) -> FloatArray:
    """Two-sided p-value of the two-sample KS statistic ``D`` for sizes ``n1``, ``n2``.

    ``method="asymp"`` is scipy's ``ks_2samp(method="asymp")``: the exact
    distribution of the one-sample statistic ``kstwo`` at ``round(n1 n2 / (n1 + n2))``
    rows, vectorised over ``statistic``. ``method="exact"`` is the exact
    permutation distribution, computed by propagating the probability of each
    lattice path of the merged samples and summing the mass that leaves the band
    ``|i/n1 - j/n2| < D`` (a sum of positive terms, so small p-values keep their
    relative accuracy). It costs ``O(n1 n2)`` per distinct ``D``: meant for windows
    of up to a few thousand rows (KSWIN), not for 10⁵-row batches.

    Examples
    --------
    >>> float(ks_2samp_pvalue(0.5, 10, 10, method="exact")[0])  # doctest: +ELLIPSIS
    0.167821...
    >>> from scipy import stats
    >>> round(float(stats.ks_2samp(range(10), range(5, 15), method="exact").pvalue), 6)
    0.167821
    """
    d = np.atleast_1d(np.asarray(statistic, dtype=np.float64))
    if method == "asymp":
        m, n = sorted([float(n1), float(n2)], reverse=True)
        en = m * n / (m + n)
        p = stats.kstwo.sf(d, np.round(en))
        return np.asarray(np.clip(p, 0.0, 1.0), dtype=np.float64)
    if method != "exact":
        raise ValueError(f"method must be 'asymp' or 'exact'. Got {method!r} instead.")
    g = math.gcd(n1, n2)
    lcm = (n1 // g) * n2
    out = np.empty_like(d)
    cache: dict[int, float] = {}
    for i, di in enumerate(d):
        h = round(float(di) * lcm)
        if h not in cache:
            cache[h] = 1.0 if h == 0 else _ks_exact_outside(n1, n2, h * g)
        out[i] = cache[h]
    return np.clip(out, 0.0, 1.0)


def _ks_exact_outside(n1: int, n2: int, c: int) -> float:
    """P(max |i n2 - j n1| >= c) over uniformly random merges of n1 and n2 points."""
    # prob[i] = probability of being at (i, t - i) after t steps without having
    # touched the boundary; each step takes from sample 1 with probability
    # (n1 - i) / (n1 + n2 - t).
    prob = np.zeros(n1 + 1)
    prob[0] = 1.0
    i_idx = np.arange(n1 + 1)
    outside = 0.0
    for t in range(n1 + n2):
        j_idx = t - i_idx
        remaining = n1 + n2 - t
        take1 = prob * (n1 - i_idx) / remaining
        take2 = prob * (n2 - j_idx) / remaining
        new = np.zeros_like(prob)
        new[1:] += take1[:-1]
        ok2 = j_idx < n2
        new[ok2] += take2[ok2]
        ni = i_idx
        nj = t + 1 - i_idx
        valid = (nj >= 0) & (nj <= n2)
        hit = valid & (np.abs(ni * n2 - nj * n1) >= c)
        outside += float(new[hit].sum())
        new[hit | ~valid] = 0.0
        prob = new
    return outside


def anderson_2samp(
    reference_sorted: FloatArray, sample: FloatArray
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    """Two-sample Anderson–Darling test (midrank variant), column by column.

    Same statistic and p-value as ``scipy.stats.anderson_ksamp([ref, sample],
    variant="midrank")``: the standardised ``A2akN`` of Scholz and Stephens (1987),
    with the p-value interpolated from their table and kept within
    ``[0.001, 0.25]`` (scipy warns when it caps; here the third returned array
    flags the capped columns instead).

    Returns
    -------
    statistic, p_value, capped
        Three ``(k,)`` arrays. Columns holding a single distinct value in both
        samples get statistic ``nan`` and p-value 1.0 (scipy raises for them).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ref = np.sort(rng.normal(size=(200, 1)), axis=0)
    >>> stat, p, capped = anderson_2samp(ref, rng.normal(1.0, size=(200, 1)))
    >>> bool(p[0] <= 0.001), bool(capped[0])
    (True, True)
    """
    ref = np.asarray(reference_sorted, dtype=np.float64)
    smp = np.sort(np.asarray(sample, dtype=np.float64), axis=0)
    n1, n2 = ref.shape[0], smp.shape[0]
    big_n = n1 + n2
    z = np.concatenate([ref, smp], axis=0)
    order = np.argsort(z, axis=0, kind="stable")
    zs = np.take_along_axis(z, order, axis=0)
    cref = np.cumsum(order < n1, axis=0)  # reference values at or before each slot
    pos = np.arange(big_n)[:, None]
    first = np.ones_like(zs, dtype=bool)
    first[1:] = zs[1:] != zs[:-1]
    last = np.ones_like(zs, dtype=bool)
    last[:-1] = first[1:]
    start = np.maximum.accumulate(np.where(first, pos, 0), axis=0)
    cref_pad = np.concatenate([np.zeros((1, z.shape[1]), dtype=cref.dtype), cref])
    left = start.astype(np.float64)  # pooled values strictly below the tie group
    right = pos + 1.0
    ties = right - left
    ref_left = np.take_along_axis(cref_pad, start, axis=0).astype(np.float64)
    ref_right = cref.astype(np.float64)
    m_ref = ref_left + (ref_right - ref_left) / 2.0
    m_smp = (left - ref_left) + ((right - left) - (ref_right - ref_left)) / 2.0
    b = left + ties / 2.0
    denom = b * (big_n - b) - big_n * ties / 4.0
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(last, ties / big_n / denom, 0.0)
        a2 = (w * (big_n * m_ref - b * n1) ** 2).sum(axis=0) / n1
        a2 += (w * (big_n * m_smp - b * n2) ** 2).sum(axis=0) / n2
    a2 *= (big_n - 1.0) / big_n
    constant = last.sum(axis=0) < 2
    stat, p, capped = _anderson_pvalue(a2, np.array([n1, n2]), big_n)
    stat[constant] = np.nan
    p[constant] = 1.0
    capped[constant] = False
    return stat, p, capped


def _anderson_pvalue(
    a2kn: FloatArray, n: NDArray[np.int_], big_n: int
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    """Standardise ``A2kN`` and interpolate its p-value (Scholz & Stephens 1987)."""
    k = len(n)
    hh = (1.0 / n).sum()
    hs_cs = (1.0 / np.arange(big_n - 1, 1, -1)).cumsum()
    h = hs_cs[-1] + 1
    g = (hs_cs / np.arange(2, big_n)).sum()
    a = (4 * g - 6) * (k - 1) + (10 - 6 * g) * hh
    b = (2 * g - 4) * k**2 + 8 * h * k + (2 * g - 14 * h - 4) * hh - 8 * h + 4 * g - 6
    c = (6 * h + 2 * g - 2) * k**2 + (4 * h - 4 * g + 6) * k + (2 * h - 6) * hh + 4 * h
    d = (2 * h + 6) * k**2 - 4 * h * k
    n_ = float(big_n)
    sigmasq = (a * n_**3 + b * n_**2 + c * n_ + d) / ((n_ - 1) * (n_ - 2) * (n_ - 3))
    m = k - 1
    stat = (a2kn - m) / math.sqrt(sigmasq)
    # Table 2 of Scholz & Stephens: critical values at these significance levels.
    b0 = np.array([0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085])
    b1 = np.array([-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615])
    b2 = np.array([-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154])
    critical = b0 + b1 / math.sqrt(m) + b2 / m
    sig = np.array([0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001])
    coef = np.polyfit(critical, np.log(sig), 2)
    with np.errstate(over="ignore", invalid="ignore"):
        p = np.exp(np.polyval(coef, stat))
    low, high = stat < critical.min(), stat > critical.max()
    p = np.where(low, sig.max(), np.where(high, sig.min(), p))
    return stat.astype(np.float64), p.astype(np.float64), low | high


def ks_2samp_exact_scipy(
    reference: FloatArray, sample: FloatArray
) -> tuple[float, bool]:
    """scipy's exact KS p-value for one column (its compiled path is fast).

    Returns the p-value and whether scipy fell back to the asymptotic one (it
    does, with a RuntimeWarning, when the exact computation fails numerically).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        p = float(stats.ks_2samp(reference, sample, method="exact").pvalue)
    fell_back = any("Switching to" in str(w.message) for w in caught)
    return p, fell_back
