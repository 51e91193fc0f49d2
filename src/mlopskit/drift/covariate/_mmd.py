"""Maximum mean discrepancy permutation test: :class:`MMDDrift`."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import NDArray

from mlopskit.drift._base import BaseDriftDetector, Table
from mlopskit.drift._random import resolve_seed
from mlopskit.drift._result import DriftResult
from mlopskit.errors import DriftStatisticError, InvalidParameterError

__all__ = ["MMDDrift", "mmd_permutation_test"]

FloatArray = NDArray[np.float64]

#: Rows of the reference used to estimate the median-heuristic bandwidth.
_BANDWIDTH_ROWS = 1000


class MMDDrift(BaseDriftDetector):
    """Multivariate two-sample test: squared MMD with an RBF kernel, by permutation.

    Detects any difference between two multivariate distributions, including ones
    no single column shows (a change of correlation). The statistic is the unbiased
    estimate of MMD² with the kernel ``k(x, y) = exp(-||x - y||² / (2 σ²))``. The
    default bandwidth σ is the median heuristic, ``σ² = median ||x_i - x_j||² / 2``
    over reference pairs (alibi-detect's choice); a fixed σ = 1, frouros' default,
    sees nothing on standardised 20-dimensional data.

    The p-value is ``(1 + #{permutations with MMD² >= observed}) / (1 +
    n_permutations)``, never 0. The kernel matrix of the pooled data is computed
    once, and all permutations are scored together by one product of the kernel
    with the ``N × (n_permutations + 1)`` matrix of group indicators.

    Memory is bounded: the kernel is built in ``block_size × block_size`` blocks of
    its upper triangle (it is symmetric) and never held whole. Peak memory is about
    ``8 (2 block_size² + N (n_permutations + 1 + d))`` bytes for ``N`` pooled rows of
    ``d`` features: about 55 MB for 20,000 + 20,000 rows of 20 features with 100
    permutations (alibi-detect holds the whole ``N × N`` kernel, 12.8 GB there).
    Time grows as ``N² (d + n_permutations) / 2``.

    Parameters
    ----------
    alpha
        Significance level.
    bandwidth
        ``"median"`` (default) or a positive float σ.
    n_permutations
        Number of random permutations.
    block_size
        Rows and columns of one block of the kernel matrix.
    random_state
        Seed (int), ``numpy.random.Generator`` or ``None``. The same seed gives the
        same permutations and p-value.
    nan_policy
        ``"raise"`` (default) or ``"omit"`` (drop rows with a NaN or inf).
    preprocessor
        Optional scikit-learn transformer (e.g. ``PCA(n_components=10)``), cloned
        and fitted on the reference.

    Attributes
    ----------
    bandwidth_
        The σ used.
    reference_
        The reference rows (float64).

    Examples
    --------
    >>> import numpy as np
    >>> from mlopskit.drift import MMDDrift
    >>> rng = np.random.default_rng(0)
    >>> det = MMDDrift(random_state=0).fit(rng.normal(size=(300, 5)))
    >>> det.detect(rng.normal(size=(300, 5))).drift
    False
    >>> result = det.detect(rng.normal(0.3, size=(300, 5)))
    >>> result.drift, result.p_value
    (True, 0.009900990099009901)
    """

    _min_rows: ClassVar[int] = 2
    _method: ClassVar[str] = "mmd"

    def __init__(
        self,
        *,
        alpha: float = 0.05,
        bandwidth: float | Literal["median"] = "median",
        n_permutations: int = 100,
        block_size: int = 1024,
        random_state: int | np.random.Generator | None = None,
        nan_policy: Literal["raise", "omit"] = "raise",
        preprocessor: Any = None,
    ) -> None:
        self.alpha = alpha
        self.bandwidth = bandwidth
        self.n_permutations = n_permutations
        self.block_size = block_size
        self.random_state = random_state
        self.nan_policy = nan_policy
        self.preprocessor = preprocessor

    def _validate_params(self) -> None:
        super()._validate_params()
        bw = self.bandwidth
        if bw != "median" and not (
            isinstance(bw, int | float) and not isinstance(bw, bool) and bw > 0
        ):
            raise InvalidParameterError(
                f"bandwidth must be 'median' or a positive float. Got {bw!r} instead.",
                parameter="bandwidth",
            )
        if not isinstance(self.n_permutations, int) or self.n_permutations < 1:
            raise InvalidParameterError(
                "n_permutations must be a positive int. "
                f"Got {self.n_permutations!r} instead.",
                parameter="n_permutations",
            )
        if not isinstance(self.block_size, int) or self.block_size < 1:
            raise InvalidParameterError(
                f"block_size must be a positive int. Got {self.block_size!r} instead.",
                parameter="block_size",
            )

    def _fit(self, table: Table) -> None:
        x = _finite_rows(table.numeric_matrix(), self.nan_policy)
        if len(x) < self._min_rows:
            raise self._too_few("reference", "(all)", len(x))
        self.seed_ = resolve_seed(self.random_state)
        self.reference_ = x
        if self.bandwidth == "median":
            rng = np.random.default_rng(self.seed_)
            rows = (
                x
                if len(x) <= _BANDWIDTH_ROWS
                else rng.choice(x, _BANDWIDTH_ROWS, replace=False)
            )
            self.bandwidth_ = median_bandwidth(rows)
        else:
            self.bandwidth_ = float(self.bandwidth)

    def _detect(self, table: Table) -> DriftResult:
        raw = table.numeric_matrix()
        y = _finite_rows(raw, self.nan_policy)
        if len(y) < self._min_rows:
            raise self._too_few("sample", "(all)", len(y))
        mmd2, p = mmd_permutation_test(
            self.reference_,
            y,
            bandwidth=self.bandwidth_,
            n_permutations=int(self.n_permutations),
            random_state=self.seed_,
            block_size=int(self.block_size),
        )
        details: dict[str, Any] = {
            "bandwidth": self.bandwidth_,
            "n_permutations": int(self.n_permutations),
        }
        if self.nan_policy == "omit":
            details["n_omitted_sample"] = int(len(raw) - len(y))
        return DriftResult(
            drift=bool(p <= self.alpha),
            statistic=mmd2,
            p_value=p,
            threshold=float(self.alpha),
            method="mmd",
            n_reference=self.n_reference_,
            n_sample=table.n_rows,
            details=details,
        )


def _finite_rows(x: FloatArray, nan_policy: str) -> FloatArray:
    if nan_policy != "omit":
        return x
    keep = np.isfinite(x).all(axis=1)
    return x if keep.all() else x[keep]


def median_bandwidth(x: FloatArray) -> float:
    """σ with ``σ² = median of ||x_i - x_j||² / 2`` over distinct pairs (i < j).

    Computed on the rows centred (at their median) and divided by their largest
    absolute value, then scaled back: distances do not change under a shift and
    scale with the data, and this way ``||x||²`` neither overflows nor cancels
    on large-magnitude data (timestamps in nanoseconds, amounts in cents).
    """
    centred, scale = _standardise(x, x)
    sq = _sq_dists(centred, centred)
    iu = np.triu_indices(len(x), k=1)
    med = float(np.median(sq[iu]))
    return float(np.sqrt(med / 2.0)) * scale if med > 0 else 1.0


def _standardise(x: FloatArray, z: FloatArray) -> tuple[FloatArray, float]:
    """``(z - median(x)) / s`` with ``s`` the largest ``|x - median(x)|`` (or 1)."""
    centre = np.median(x, axis=0)
    spread = float(np.max(np.abs(x - centre))) if x.size else 0.0
    scale = spread if np.isfinite(spread) and spread > 0 else 1.0
    out: FloatArray = (z - centre) / scale
    return out, scale


def _sq_dists(a: FloatArray, b: FloatArray) -> FloatArray:
    d: FloatArray = a @ b.T
    d *= -2.0
    d += np.einsum("ij,ij->i", a, a)[:, None]
    d += np.einsum("ij,ij->i", b, b)[None, :]
    np.maximum(d, 0.0, out=d)
    return d


def _kernel_block(a: FloatArray, b: FloatArray, gamma: float) -> FloatArray:
    """``exp(-gamma ||a_i - b_j||²)`` with few temporaries (memory bandwidth bound)."""
    with np.errstate(over="ignore", invalid="ignore"):  # NaN is caught by the caller
        k: FloatArray = a @ b.T
        k *= 2.0 * gamma
        k -= gamma * np.einsum("ij,ij->i", a, a)[:, None]
        k -= gamma * np.einsum("ij,ij->i", b, b)[None, :]
    np.minimum(k, 0.0, out=k)
    np.exp(k, out=k)
    return k


def mmd_permutation_test(
    x: FloatArray,
    y: FloatArray,
    *,
    bandwidth: float,
    n_permutations: int = 100,
    random_state: int | np.random.Generator | None = None,
    block_size: int = 1024,
) -> tuple[float, float]:
    """Unbiased MMD² of ``x`` vs ``y`` (RBF kernel) and its permutation p-value.

    With ``a`` the 0/1 indicator of the first group in the pooled sample, ``K`` the
    kernel matrix with a zero diagonal, ``r = K 1`` and ``T = 1ᵀ K 1``, the three
    kernel sums of MMD² are ``aᵀKa``, ``aᵀr - aᵀKa`` and ``T - 2 aᵀr + aᵀKa``.
    Only ``aᵀKa`` depends on the permutation; it is computed for the observed split
    and every permutation at once, from ``block_size × block_size`` blocks of the
    upper triangle of ``K`` (``K`` is symmetric), each multiplied with the indicator
    matrix. The kernel is never held whole: memory is about
    ``8 (2 block_size² + N (n_permutations + 1 + d))`` bytes for ``N`` pooled rows.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> mmd2, p = mmd_permutation_test(
    ...     rng.normal(size=(100, 2)), rng.normal(1.0, size=(100, 2)),
    ...     bandwidth=1.0, random_state=0)
    >>> mmd2 > 0, p
    (True, 0.009900990099009901)
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    m, n = len(x), len(y)
    # The RBF kernel depends on ||x - y|| / bandwidth only: centre the pooled rows at
    # the reference's median and measure them in bandwidths, so the expansion
    # ||a||² + ||b||² - 2 a·b neither overflows nor cancels for large magnitudes.
    centre = np.median(x, axis=0)
    z = (np.concatenate([x, y]) - centre) / bandwidth
    bandwidth = 1.0
    big_n = m + n
    rng = np.random.default_rng(random_state)
    member = np.zeros((big_n, n_permutations + 1))
    member[:m, 0] = 1.0
    for p in range(1, n_permutations + 1):
        member[rng.permutation(big_n)[:m], p] = 1.0
    gamma = 1.0 / (2.0 * bandwidth**2)
    step = max(1, int(block_size))
    aka = np.zeros(n_permutations + 1)
    r = np.zeros(big_n)
    starts = range(0, big_n, step)
    for i in starts:
        zi, ai = z[i : i + step], member[i : i + step]
        for j in starts:
            if j < i:
                continue
            k = _kernel_block(zi, z[j : j + step], gamma)
            if i == j:
                np.fill_diagonal(k, 0.0)  # the unbiased estimator drops i == j
                r[i : i + step] += k.sum(axis=1)
                aka += (ai * (k @ ai)).sum(axis=0)
            else:
                r[i : i + step] += k.sum(axis=1)
                r[j : j + step] += k.sum(axis=0)
                aka += 2.0 * (ai * (k @ member[j : j + step])).sum(axis=0)
    total = r.sum()
    ar = member.T @ r
    sxx, sxy, syy = aka, ar - aka, total - 2.0 * ar + aka
    mmd2 = sxx / (m * (m - 1)) + syy / (n * (n - 1)) - 2.0 * sxy / (m * n)
    observed = float(mmd2[0])
    if not np.all(np.isfinite(mmd2)):
        raise DriftStatisticError(
            f"MMD² is not finite ({observed!r}) for these samples (magnitude up to "
            f"{float(np.max(np.abs(z))):.3g} bandwidths): the kernel cannot be "
            "evaluated. Standardise the features (e.g. preprocessor=StandardScaler()) "
            "or pass a larger bandwidth. A NaN statistic is never reported as drift.",
            statistic=observed,
        )
    p_value = (1.0 + float(np.sum(mmd2[1:] >= observed))) / (n_permutations + 1.0)
    return observed, p_value
