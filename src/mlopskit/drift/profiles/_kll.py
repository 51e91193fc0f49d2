"""A KLL quantile sketch on numpy arrays: the mutable builder behind a profile.

The algorithm is the one of Karnin, Lang and Liberty, "Optimal Quantile Approximation
in Streams" (FOCS 2016), with the level capacities and the compaction rule of Apache
DataSketches (``datasketches-java``, ``src/main/java/org/apache/datasketches/kll/
KllHelper.java`` and ``KllDoublesHelper.java``, read at commit 02aba5c): level ``h``
holds items of weight ``2**h``; with ``H`` levels its capacity is
``max(8, round(k * (2/3) ** (H - h - 1)))``; when the sketch holds more items than the
sum of the capacities, the lowest level at or over its capacity is *compacted*: it is
sorted, one item is left behind if its length is odd, and every other item of the
rest (starting at a random offset 0 or 1) moves up one level with twice the weight.

This implementation is written from that description, vectorised: a whole chunk of
values enters level 0 at once (one sort), and compactions halve whole levels with
slicing, so a chunk of ``B`` values costs one ``O(B log B)`` sort plus ``O(B)``
merges. Random offsets come from ``numpy.random.default_rng([seed, counter])``, so a
sketch is a deterministic function of its inputs, their chunking and ``seed``.

Error bound
-----------
DataSketches publishes an empirical single-query bound (the 99th percentile of the
normalised rank error over many trials): ``2.296 / k ** 0.9723``
(:func:`a_priori_rank_error`). For a statistical test we need a bound on
``sup_x |F_sketch(x) - F(x)|`` over *all* ``x`` at once, so the sketch also keeps
``sum_sq_weights``, the sum of ``w**2`` over its compactions. A compaction of items
of weight ``w`` changes the rank of any ``x`` by ``-w``, 0 or ``+w``, with mean 0
given the past, and *which* level is compacted depends only on counts, never on the
random offsets, so Azuma–Hoeffding gives
``P(|error(x)| >= t) <= 2 exp(-t**2 / (2 * sum_sq_weights))`` for one ``x``. The
error is a step function that can change only at data values, so a union bound over
at most ``n + 1`` cells gives, with probability at least ``1 - delta``,

    sup_x |F_sketch(x) - F(x)| <= sqrt(2 * sum_sq_weights * ln(2 (n + 1) / delta)) / n

(:meth:`KLLSketch.rank_error`). A sketch that never compacted (``n`` at most about
``3 k``) is exact: the bound is 0.

What does *not* belong here: missing values, moments and categories
(``_profile.py``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["KLLSketch", "a_priori_rank_error", "level_capacity"]

FloatArray = NDArray[np.float64]

#: DataSketches' smallest level width (``m``) and its fit of the 99th-percentile
#: single-query normalised rank error, ``CDF_COEF / k ** CDF_EXP``.
MIN_WIDTH = 8
CDF_COEF = 2.296
CDF_EXP = 0.9723


def a_priori_rank_error(k: int) -> float:
    """DataSketches' empirical single-query rank error of a KLL sketch of size ``k``.

    Examples
    --------
    >>> round(a_priori_rank_error(200), 4)
    0.0133
    """
    return float(CDF_COEF / k**CDF_EXP)


def level_capacity(k: int, n_levels: int, level: int) -> int:
    """Capacity of ``level`` in a sketch of ``n_levels`` levels (DataSketches' rule).

    Examples
    --------
    >>> [level_capacity(200, 3, h) for h in range(3)]
    [89, 133, 200]
    """
    depth = n_levels - level - 1
    return max(MIN_WIDTH, round(k * (2.0 / 3.0) ** depth))


class KLLSketch:
    """Mutable KLL sketch of finite float64 values (see the module docstring).

    Parameters
    ----------
    k
        Size parameter: the top level holds ``k`` items, the whole sketch about
        ``3 k``; the rank error shrinks like ``1 / k``.
    seed
        Seed of the compaction offsets.

    Examples
    --------
    >>> import numpy as np
    >>> s = KLLSketch(k=64, seed=0)
    >>> s.update(np.arange(10_000, dtype=float))
    >>> s.n, s.n_retained < 300
    (10000, True)
    >>> abs(float(s.cdf(np.array([5000.0]))[0]) - 0.5) <= s.rank_error()
    True
    """

    __slots__ = ("k", "levels", "n", "n_compactions", "seed", "sum_sq_weights")

    def __init__(self, k: int = 2048, seed: int = 0) -> None:
        self.k = int(k)
        self.seed = int(seed)
        self.levels: list[FloatArray] = [np.empty(0)]
        self.n = 0
        self.n_compactions = 0
        self.sum_sq_weights = 0

    @property
    def n_retained(self) -> int:
        """Number of items the sketch holds."""
        return sum(len(level) for level in self.levels)

    def update(self, values: FloatArray) -> None:
        """Add finite values (a 1-D float64 array; the caller drops NaN and inf)."""
        if len(values) == 0:
            return
        incoming = np.sort(np.asarray(values, dtype=np.float64))
        self.levels[0] = _merge_sorted(self.levels[0], incoming)
        self.n += len(incoming)
        self._compress()

    def merge(self, other: KLLSketch) -> KLLSketch:
        """A new sketch of both inputs (``self``'s ``k`` and seed)."""
        out = KLLSketch(self.k, self.seed)
        depth = max(len(self.levels), len(other.levels))
        out.levels = [
            _merge_sorted(_level(self.levels, h), _level(other.levels, h))
            for h in range(depth)
        ]
        out.n = self.n + other.n
        out.n_compactions = self.n_compactions + other.n_compactions
        out.sum_sq_weights = self.sum_sq_weights + other.sum_sq_weights
        out._compress()
        return out

    def _compress(self) -> None:
        while True:
            n_levels = len(self.levels)
            caps = [level_capacity(self.k, n_levels, h) for h in range(n_levels)]
            if self.n_retained <= sum(caps):
                return
            h = next(i for i in range(n_levels) if len(self.levels[i]) >= caps[i])
            if h == n_levels - 1:
                self.levels.append(np.empty(0))
            self._compact(h)

    def _compact(self, h: int) -> None:
        level = self.levels[h]
        keep = level[:1] if len(level) % 2 else level[:0]
        rest = level[len(keep) :]
        rng = np.random.default_rng([self.seed, self.n_compactions])
        offset = int(rng.integers(2))
        self.levels[h] = keep.copy()
        self.levels[h + 1] = _merge_sorted(self.levels[h + 1], rest[offset::2])
        self.n_compactions += 1
        self.sum_sq_weights += 4**h

    # -- queries ------------------------------------------------------------------------

    def sorted_view(self) -> tuple[FloatArray, NDArray[np.int64]]:
        """The retained items sorted, and their weights (``2**level``)."""
        return sorted_view(self.levels)

    def cdf(self, x: FloatArray) -> FloatArray:
        """Estimated fraction of values ``<= x``, for each ``x``."""
        items, weights = self.sorted_view()
        return cdf_from_view(items, weights, self.n, x)

    def rank_error(self, delta: float = 0.01) -> float:
        """Bound on ``sup_x |F_sketch(x) - F(x)|`` holding with probability ``1 - delta``."""
        return rank_error(self.sum_sq_weights, self.n, delta)

    def state(self) -> dict[str, Any]:
        """Plain-Python state (what a profile stores)."""
        return {
            "k": self.k,
            "seed": self.seed,
            "n": self.n,
            "n_compactions": self.n_compactions,
            "sum_sq_weights": self.sum_sq_weights,
            "levels": tuple(tuple(level.tolist()) for level in self.levels),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> KLLSketch:
        """Rebuild a sketch from :meth:`state`."""
        out = cls(int(state["k"]), int(state["seed"]))
        out.levels = [np.asarray(level, dtype=np.float64) for level in state["levels"]]
        if not out.levels:
            out.levels = [np.empty(0)]
        out.n = int(state["n"])
        out.n_compactions = int(state["n_compactions"])
        out.sum_sq_weights = int(state["sum_sq_weights"])
        return out


def _level(levels: list[FloatArray], h: int) -> FloatArray:
    return levels[h] if h < len(levels) else np.empty(0)


def _merge_sorted(a: FloatArray, b: FloatArray) -> FloatArray:
    if len(a) == 0:
        return b
    if len(b) == 0:
        return a
    out = np.concatenate([a, b])
    out.sort(kind="stable")  # two sorted runs: timsort merges them in linear time
    return out


def sorted_view(
    levels: list[FloatArray] | tuple[Any, ...],
) -> tuple[FloatArray, NDArray[np.int64]]:
    """All items of ``levels`` sorted, with their weights ``2**level``."""
    arrays = [np.asarray(level, dtype=np.float64) for level in levels]
    items = np.concatenate(arrays) if arrays else np.empty(0)
    weights = np.concatenate(
        [np.full(len(a), 1 << h, dtype=np.int64) for h, a in enumerate(arrays)]
        or [np.empty(0, dtype=np.int64)]
    )
    order = np.argsort(items, kind="stable")
    return items[order], weights[order]


def cdf_from_view(
    items: FloatArray, weights: NDArray[np.int64], n: int, x: FloatArray
) -> FloatArray:
    """Fraction of the weight at or below each ``x``."""
    if n == 0:
        return np.full(len(x), np.nan)
    cum = np.concatenate([[0], np.cumsum(weights)])
    pos = np.searchsorted(items, np.asarray(x, dtype=np.float64), side="right")
    return np.asarray(cum[pos] / n, dtype=np.float64)


def rank_error(sum_sq_weights: int, n: int, delta: float = 0.01) -> float:
    """The simultaneous rank-error bound of the module docstring.

    Examples
    --------
    >>> rank_error(0, 1000)
    0.0
    >>> round(rank_error(4**10, 10**7), 5)
    0.00067
    """
    if sum_sq_weights == 0 or n == 0:
        return 0.0
    t = math.sqrt(2.0 * float(sum_sq_weights) * math.log(2.0 * (n + 1) / delta))
    return min(1.0, t / n)
