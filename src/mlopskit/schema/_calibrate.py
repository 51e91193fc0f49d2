"""The statistics behind calibrated inference: tail margins, open categories, nulls.

Three rules, each with the error rate it is built to hold (``Schema.infer`` splits
its ``false_failure_rate`` over the columns and passes each rule its share):

- :func:`upper_bound` — how far past the largest observed value a fresh value may
  plausibly fall. The values above the ``k``-th largest one (the threshold ``u``) are
  modelled as exponential (a generalised Pareto tail with shape 0, the tail of the
  normal, gamma, exponential and logistic laws and the light-tailed limit of every
  other); the bound is the *predictive* quantile, which accounts for the scale being
  estimated from ``k`` excesses: with ``s`` their mean,
  ``P(fresh > u + l·s) = (k+1)/(n+1) · (1 + l/k)^-k`` exactly when the tail above
  ``u`` is exponential (the excesses' mean is ``Gamma(k)``-distributed and ``u`` is
  the ``(n-k)``-th order statistic), so ``l`` is solved for the requested per-value
  rate. Lighter tails (uniform, beta, normal) get fewer exceedances than requested;
  power-law tails (Pareto, Student-t) more, by the factors in ``docs/schema.md``.
- :func:`looks_open` — whether a set of observed categories is closed. By Good and
  Turing's estimate the chance that a fresh value is a level never seen is the
  fraction ``N1/n`` of values whose level was seen exactly once; a batch of ``m``
  values then holds an unseen level with probability about ``m·N1/n``.
- :func:`null_rate_bound` — the Clopper-Pearson upper bound on a column's null
  rate, and :func:`too_many_nulls`, the one-sided binomial test a batch must fail to
  be reported as having more nulls than that rate allows.

What does *not* belong here: building columns (``_infer``) and running checks.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = [
    "NULL_RATE_ALPHA",
    "looks_open",
    "n_tail",
    "null_rate_bound",
    "too_many_nulls",
    "upper_bound",
]

#: Significance of the batch-level null-rate test (a batch fails ``max_null_rate``
#: only when its null count has a binomial p-value below this at that rate).
NULL_RATE_ALPHA = 1e-3

#: Fewest tail values the margin is estimated from (and the fewest values a range
#: is inferred from at all).
_MIN_TAIL = 10


def n_tail(n: int) -> int:
    """How many of the largest values the tail model uses: ``clip(√n, 10, n - 1)``.

    Examples
    --------
    >>> n_tail(5), n_tail(50), n_tail(10_000)
    (4, 10, 100)
    """
    return max(1, min(n - 1, max(_MIN_TAIL, math.ceil(math.sqrt(n)))))


def upper_bound(values: np.ndarray, rate: float) -> float:
    """A value a fresh draw exceeds with probability ``rate`` (exponential tail).

    Parameters
    ----------
    values
        The observed values (finite floats, any order; at least 2).
    rate
        Allowed probability, per fresh value, of exceeding the bound.

    Returns
    -------
    float
        ``max(values)`` or more: ``u + l·s`` with ``u`` the ``(k+1)``-th largest
        value, ``s`` the mean excess of the ``k`` largest over ``u`` and
        ``l = k·(((k+1)/((n+1)·rate))^(1/k) - 1)``.

    Examples
    --------
    >>> x = np.random.default_rng(0).exponential(1.0, 10_000)
    >>> round(upper_bound(x, 1e-6), 1)  # Exp(1): P(X > 13.8) = 1e-6; s is estimated
    14.4
    """
    ordered = np.sort(values)
    n = len(ordered)
    top = float(ordered[-1])
    k = n_tail(n)
    u = float(ordered[n - k - 1])
    s = float(np.mean(ordered[n - k :] - u))
    if s <= 0 or not math.isfinite(s):
        return top  # the top k+1 values tie: a cap (a maximum seen many times)
    ratio = (k + 1) / ((n + 1) * rate)
    spread = k * (ratio ** (1 / k) - 1) if ratio > 1 else 0.0
    return max(top, u + spread * s)


def looks_open(counts: np.ndarray, batch_size: int, budget: float) -> bool:
    """Whether observed categories look open-ended (new levels are to be expected).

    Parameters
    ----------
    counts
        How often each observed level occurred.
    batch_size
        Values in a batch the schema will validate.
    budget
        The false-failure probability this column may spend.

    Returns
    -------
    bool
        ``True`` when the Good-Turing chance that a batch of ``batch_size`` values
        holds a level never seen, ``1 - (1 - N1/n)^batch_size``, exceeds ``budget``
        (``N1``: levels seen exactly once, ``n``: values).

    Examples
    --------
    >>> looks_open(np.array([500, 300, 200]), 1000, 1e-3)   # no singleton
    False
    >>> looks_open(np.array([500, 300, 199, 1]), 1000, 1e-3)
    True
    """
    n = int(counts.sum())
    singletons = int((counts == 1).sum())
    if n == 0 or singletons == 0:
        return False
    chance = -math.expm1(batch_size * math.log1p(-singletons / n))
    return chance > budget


def null_rate_bound(n_null: int, n: int, alpha: float) -> float:
    """Clopper-Pearson upper bound (level ``1 - alpha``) on a null rate.

    Examples
    --------
    >>> round(null_rate_bound(10, 1000, 0.001), 3)
    0.024
    """
    if n_null >= n:
        return 1.0
    return float(stats.beta.ppf(1 - alpha, n_null + 1, n - n_null))


def too_many_nulls(n_null: int, n: int, max_rate: float) -> bool:
    """Whether ``n_null`` nulls in ``n`` values are implausible at rate ``max_rate``.

    One-sided binomial test at :data:`NULL_RATE_ALPHA`: ``P(X >= n_null) <
    NULL_RATE_ALPHA`` for ``X ~ Binomial(n, max_rate)``.

    Examples
    --------
    >>> too_many_nulls(3, 100, 0.02), too_many_nulls(30, 100, 0.02)
    (False, True)
    """
    if n_null == 0 or max_rate >= 1:
        return False
    return bool(stats.binom.sf(n_null - 1, n, max_rate) < NULL_RATE_ALPHA)
