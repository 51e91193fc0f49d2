"""Paired comparison of two models on the same held-out rows, with an interval.

:func:`paired_accuracy` is the Bonett–Price adjusted Wald interval for the difference
of two paired proportions (Bonett & Price 2012, *J. Educational and Behavioral
Statistics* 37(4), 479–488): with ``n12`` rows only the candidate gets right and
``n21`` rows only production gets right,

    p12 = (n12 + 1) / (n + 2),  p21 = (n21 + 1) / (n + 2),
    d = p12 - p21,  se = sqrt((p12 + p21 - d²) / (n + 2)),

and the interval is ``d ± z se``. Unlike the plain Wald interval it keeps its coverage
when few rows are discordant. The reported difference is the observed one,
``(n12 - n21) / n``.

:func:`paired_bootstrap` is the percentile interval of a paired bootstrap for any
other metric: the same resampled rows score both models.

What does *not* belong here: the decision rule (``_gates.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from mlopskit._results import Result

__all__ = ["PairedComparison", "paired_accuracy", "paired_bootstrap"]


class PairedComparison(Result):
    """Candidate minus production on the same held-out rows, with an interval.

    Attributes
    ----------
    metric
        The metric compared (higher is better).
    n
        Held-out rows both models scored.
    candidate, production
        Each model's score on those rows.
    difference
        ``candidate - production``.
    low, high
        The two-sided ``1 - 2 alpha`` interval of the difference, so ``low`` is the
        one-sided ``1 - alpha`` lower confidence bound.
    alpha
        The one-sided error rate of ``low``.
    method
        How the interval was computed.
    discordant
        For accuracy: rows only the candidate got right, rows only production got
        right.

    Examples
    --------
    >>> c = paired_accuracy([1, 1, 1, 0], [1, 0, 1, 0], alpha=0.05)
    >>> c.n, c.difference
    (4, 0.25)
    """

    metric: str
    n: int
    candidate: float
    production: float
    difference: float
    low: float
    high: float
    alpha: float
    method: str
    discordant: tuple[int, int] | None = None


def paired_accuracy(
    candidate_correct: Any, production_correct: Any, *, alpha: float
) -> PairedComparison:
    """Compare two models' per-row correctness (Bonett–Price adjusted Wald).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.random(400) < 0.9
    >>> c = paired_accuracy(truth, truth, alpha=0.05)  # identical models
    >>> c.difference, c.low < 0 < c.high
    (0.0, True)
    """
    cand = np.asarray(candidate_correct, dtype=bool)
    prod = np.asarray(production_correct, dtype=bool)
    n = len(cand)
    n12 = int(np.sum(cand & ~prod))
    n21 = int(np.sum(~cand & prod))
    p12, p21 = (n12 + 1) / (n + 2), (n21 + 1) / (n + 2)
    d = p12 - p21
    se = float(np.sqrt(max(p12 + p21 - d * d, 0.0) / (n + 2)))
    z = float(stats.norm.ppf(1 - alpha))
    return PairedComparison(
        metric="accuracy",
        n=n,
        candidate=float(np.mean(cand)) if n else float("nan"),
        production=float(np.mean(prod)) if n else float("nan"),
        difference=(n12 - n21) / n if n else 0.0,
        low=d - z * se,
        high=d + z * se,
        alpha=alpha,
        method="Bonett-Price adjusted Wald interval for paired proportions",
        discordant=(n12, n21),
    )


def paired_bootstrap(
    score: Callable[[np.ndarray], tuple[float, float]],
    n: int,
    *,
    metric: str,
    alpha: float,
    n_boot: int = 400,
    random_state: int | None = 0,
) -> PairedComparison:
    """Compare two models by a paired bootstrap of the held-out rows.

    ``score(rows)`` returns ``(candidate, production)`` on the row positions
    ``rows``; resamples on which the metric is undefined (one class only, for
    ROC AUC) are skipped.

    Examples
    --------
    >>> y = np.array([0, 1] * 50)
    >>> def score(rows):
    ...     return float(np.mean(y[rows] == y[rows])), float(np.mean(y[rows] == 0))
    >>> c = paired_bootstrap(score, 100, metric="accuracy", alpha=0.05, n_boot=200)
    >>> round(c.difference, 2), c.low > 0.4
    (0.5, True)
    """
    rng = np.random.default_rng(random_state)
    cand, prod = score(np.arange(n))
    diffs = []
    for _ in range(n_boot):
        rows = rng.integers(0, n, size=n)
        try:
            c, p = score(rows)
        except ValueError:  # e.g. a single class in the resample
            continue
        diffs.append(c - p)
    low, high = np.quantile(diffs, [alpha, 1 - alpha]) if diffs else (-np.inf, np.inf)
    return PairedComparison(
        metric=metric,
        n=n,
        candidate=cand,
        production=prod,
        difference=cand - prod,
        low=float(low),
        high=float(high),
        alpha=alpha,
        method=f"paired bootstrap percentile interval ({len(diffs)} resamples)",
    )
