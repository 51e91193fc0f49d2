"""Hellinger distance per column: :class:`HellingerDrift`."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from mlopskit.drift.covariate._binned import BinnedDistanceDrift, FloatArray

__all__ = ["HellingerDrift"]


class HellingerDrift(BinnedDistanceDrift):
    """Hellinger distance, ``sqrt(1 - Σ sqrt(p q))`` in [0, 1], per column.

    Binning, smoothing and the permutation p-value as in :class:`PSIDrift`.

    Parameters
    ----------
    alpha
        Significance level of the whole test (after correction).
    correction
        ``"bonferroni"`` (default), ``"fdr_bh"`` or ``None``.
    threshold
        ``None`` (default) for a permutation test at ``alpha``, or a distance at
        or above which a column has drifted (the fixed rule of earlier releases;
        no p-value, no control of false alarms).
    n_permutations
        Random permutations per column (smallest p-value ``1 / (n + 1)``).
    n_bins
        Quantile bins for numeric columns.
    smoothing
        Pseudo-count added to every bin of both histograms.
    random_state
        Seed (int), ``numpy.random.Generator`` or ``None`` for the permutations.
    nan_policy
        ``"raise"`` (default) or ``"omit"`` (drop missing values per column).
    preprocessor
        Optional scikit-learn transformer, cloned and fitted on the reference.

    Examples
    --------
    >>> import numpy as np
    >>> from mlopskit.drift import HellingerDrift
    >>> rng = np.random.default_rng(0)
    >>> det = HellingerDrift().fit(rng.normal(size=(3000, 2)))
    >>> result = det.detect(rng.normal(size=(3000, 2)) * [1.0, 3.0])
    >>> result.features["drift"].tolist()
    [False, True]
    """

    _method: ClassVar[str] = "hellinger"

    def _distance(self, reference: FloatArray, sample: FloatArray) -> FloatArray:
        bc = np.sum(np.sqrt(reference * sample), axis=-1)
        out: FloatArray = np.sqrt(np.maximum(0.0, 1.0 - bc))
        return out
