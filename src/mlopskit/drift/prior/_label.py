"""Prior shift tested on labels: :class:`LabelDrift`.

A chi-square or G-test of homogeneity on the 2 × K table of label counts (reference
vs sample). Use true labels when they arrive, or a model's predicted labels before
they do (then a change may also come from covariate shift).

What does *not* belong here: estimating the target priors from predictions of an
imperfect model (:mod:`._bbse`, :mod:`._mlls`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from mlopskit.drift.prior._priors import (
    PriorShiftResult,
    check_labels,
    check_unit,
    importance_weights,
    python_labels,
    wilson_interval,
)
from mlopskit.errors import InvalidParameterError, NotFittedError

__all__ = ["LabelDrift"]

_TESTS = {"chi2": None, "g": "log-likelihood"}


class LabelDrift(BaseEstimator):  # type: ignore[misc]
    """Test whether the class balance moved: chi-square or G-test on label counts.

    Parameters
    ----------
    test
        ``"chi2"`` (Pearson) or ``"g"`` (likelihood-ratio G-test), both on the
        2 × K contingency table, without Yates' correction.
    alpha
        Significance level.
    confidence
        Level of the Wilson intervals around the sample's class proportions.

    Attributes
    ----------
    classes_
        Labels seen in the reference, sorted.
    counts_
        Reference count per class.
    n_reference_
        Number of reference labels.

    Notes
    -----
    A label present in the sample but not in the reference is a class of its own (a
    strong signal of drift), not an error. The reference is treated as a sample,
    not as the true distribution: a goodness-of-fit test against reference
    frequencies would raise false alarms far above ``alpha`` when the reference is
    small (see the drift research note).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.choice(["cat", "dog"], size=500, p=[0.5, 0.5])
    >>> det = LabelDrift().fit(ref)
    >>> det.detect(rng.choice(["cat", "dog"], size=500, p=[0.5, 0.5])).drift
    False
    >>> res = det.detect(rng.choice(["cat", "dog"], size=500, p=[0.7, 0.3]))
    >>> res.drift, res.p_value < 1e-6
    (True, True)
    """

    def __init__(
        self, *, test: str = "chi2", alpha: float = 0.05, confidence: float = 0.95
    ) -> None:
        self.test = test
        self.alpha = alpha
        self.confidence = confidence

    def _check_params(self) -> None:
        if self.test not in _TESTS:
            raise InvalidParameterError(
                f"`test` must be one of {sorted(_TESTS)}. Got {self.test!r} instead.",
            )
        check_unit(self.alpha, name="alpha")
        check_unit(self.confidence, name="confidence")

    def fit(self, reference: Any, y: Any = None) -> LabelDrift:
        """Count the reference labels.

        Parameters
        ----------
        reference
            1-D labels (true or predicted) from the reference period.
        y
            Ignored; present for scikit-learn compatibility.

        Returns
        -------
        LabelDrift
            The fitted detector.
        """
        self._check_params()
        labels = check_labels(reference, name="reference")
        classes, counts = np.unique(labels, return_counts=True)
        self.classes_ = classes
        self.counts_ = counts.astype(np.int64)
        self.n_reference_ = int(labels.shape[0])
        return self

    def detect(self, sample: Any) -> PriorShiftResult:
        """Test the sample's labels against the reference's.

        Parameters
        ----------
        sample
            1-D labels from the period to check.

        Returns
        -------
        PriorShiftResult
            ``target_priors`` are the sample's class proportions with Wilson
            intervals; ``source_priors`` the reference's.
        """
        if not hasattr(self, "classes_"):
            raise NotFittedError(
                "This LabelDrift is not fitted yet. Call fit(reference_labels) first.",
            )
        labels = check_labels(sample, name="sample")
        classes, ref_counts, counts = _align(self.classes_, self.counts_, labels)
        statistic, p_value = contingency_test(ref_counts, counts, _TESTS[self.test])
        n = int(counts.sum())
        low, high = wilson_interval(counts, n, self.confidence)
        source = ref_counts / ref_counts.sum()
        target = counts / n
        return PriorShiftResult(
            drift=bool(p_value < self.alpha),
            statistic=statistic,
            p_value=p_value,
            threshold=self.alpha,
            method=f"label-{self.test}",
            n_reference=self.n_reference_,
            n_sample=n,
            classes=python_labels(classes),
            source_priors=tuple(float(x) for x in source),
            target_priors=tuple(float(x) for x in target),
            target_priors_low=tuple(float(x) for x in low),
            target_priors_high=tuple(float(x) for x in high),
            weights=importance_weights(target, source),
            confidence=self.confidence,
            interval="wilson",
            details={"dof": len(classes) - 1},
        )


def _align(
    ref_classes: np.ndarray[Any, Any],
    ref_counts: np.ndarray[Any, Any],
    labels: np.ndarray[Any, Any],
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Counts of reference and sample over the union of their classes."""
    seen = {
        c.item() if isinstance(c, np.generic) else c: i
        for i, c in enumerate(ref_classes)
    }
    new_classes: list[Any] = []
    sample_counts = dict.fromkeys(range(len(ref_classes)), 0)
    values, counts = np.unique(labels, return_counts=True)
    for value, count in zip(python_labels(values), counts, strict=True):
        idx = seen.get(value)
        if idx is None:
            idx = len(ref_classes) + len(new_classes)
            new_classes.append(value)
        sample_counts[idx] = int(count)
    classes = np.array(list(python_labels(ref_classes)) + new_classes, dtype=object)
    ref = np.concatenate([ref_counts, np.zeros(len(new_classes), dtype=np.int64)])
    sam = np.array([sample_counts[i] for i in range(len(classes))], dtype=np.int64)
    return classes, ref.astype(np.float64), sam.astype(np.float64)


def contingency_test(
    ref_counts: np.ndarray[Any, Any], counts: np.ndarray[Any, Any], lambda_: str | None
) -> tuple[float, float]:
    """Chi-square (or G) test of homogeneity on a 2 × K table; (statistic, p-value).

    Classes absent from both rows are dropped; with fewer than two classes left the
    test has nothing to compare and returns ``(0.0, 1.0)``.
    """
    from scipy import stats

    table = np.vstack([ref_counts, counts])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0
    res = stats.chi2_contingency(table, correction=False, lambda_=lambda_)
    return float(res.statistic), float(res.pvalue)
