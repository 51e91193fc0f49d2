"""The detector line-up of the "Failing Loudly"-style study.

What does *not* belong here: the detectors themselves (``mlopskit.drift``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlopskit.drift.benchmark._adapters import OnModelOutput
from mlopskit.drift.benchmark._harness import BenchmarkContext

__all__ = ["failing_loudly_detectors"]


def failing_loudly_detectors(
    *, n_permutations: int = 100, classifier: Any = None
) -> dict[str, Callable[[BenchmarkContext], Any]]:
    """Detector factories for :func:`run_benchmark`, as in Rabanser et al. (2019).

    * ``BBSD``: KS + Bonferroni on the model's predicted probabilities (BBSDs);
    * ``KS``: KS + Bonferroni on every raw feature (the paper's "NoRed" univariate);
    * ``MMD``: MMD permutation test, median-heuristic RBF, on the raw features;
    * ``Classifier``: a domain classifier (two-sample test on its out-of-fold AUC);
    * ``Labels``: chi-square on the model's predicted labels (BBSDh).

    Parameters
    ----------
    n_permutations
        Permutations of the MMD test.
    classifier
        Estimator of the domain classifier. Default: a random forest of 50 trees of
        depth ≤ 8, about 15× cheaper than ClassifierDrift's own default and as
        powerful on these datasets, so that a study of thousands of tests stays
        within minutes.

    Examples
    --------
    >>> sorted(failing_loudly_detectors())
    ['BBSD', 'Classifier', 'KS', 'Labels', 'MMD']
    """
    from mlopskit.drift import (
        BBSD,
        ClassifierDrift,
        KSDrift,
        LabelDrift,
        MMDDrift,
    )

    if classifier is None:
        from sklearn.ensemble import RandomForestClassifier

        classifier = RandomForestClassifier(n_estimators=50, max_depth=8)
    return {
        "BBSD": lambda ctx: BBSD(model=ctx.model),
        "KS": lambda ctx: KSDrift(),
        "MMD": lambda ctx: MMDDrift(n_permutations=n_permutations),
        "Classifier": lambda ctx: ClassifierDrift(estimator=classifier),
        "Labels": lambda ctx: OnModelOutput(LabelDrift(), ctx.model, output="label"),
    }
