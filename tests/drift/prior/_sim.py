"""Simulated label shift with a known truth, shared by the prior-shift tests.

``CONFUSION`` is ``P(ŷ = i | y = j)`` of a simulated classifier, so predicted labels
follow the label-shift model exactly; ``posteriors`` are exact Bayes posteriors of a
1-D Gaussian mixture (class ``j`` ~ N(1.5 j, 1)), hence perfectly calibrated.
"""

from __future__ import annotations

import numpy as np

CONFUSION = np.array([[0.8, 0.1, 0.1], [0.15, 0.7, 0.2], [0.05, 0.2, 0.7]])
UNIFORM = np.full(3, 1 / 3)
MEANS = np.array([0.0, 1.5, 3.0])


def predict(
    y: np.ndarray, rng: np.random.Generator, confusion: np.ndarray = CONFUSION
) -> np.ndarray:
    """Predicted labels drawn from ``confusion[:, y]``."""
    cum = confusion[:, y].cumsum(axis=0)
    return (rng.random(y.size)[None, :] > cum).sum(axis=0)


def labels(n: int, priors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(priors.size, size=n, p=priors)


def posteriors(
    y: np.ndarray, rng: np.random.Generator, priors: np.ndarray = UNIFORM
) -> np.ndarray:
    """Exact posteriors ``p(y | x)`` under ``priors`` for x ~ N(MEANS[y], 1)."""
    x = rng.normal(MEANS[y], 1.0)
    log_lik = -0.5 * (x[:, None] - MEANS[None, :]) ** 2 + np.log(priors)
    log_lik -= log_lik.max(axis=1, keepdims=True)
    p = np.exp(log_lik)
    return p / p.sum(axis=1, keepdims=True)
