"""Population stability index per column: :class:`PSIDrift`."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from mlopskit.drift.covariate._binned import BinnedDistanceDrift, FloatArray

__all__ = ["PSIDrift"]


class PSIDrift(BinnedDistanceDrift):
    """Population stability index, ``Σ (q - p) ln(q / p)``, per column.

    The credit-scoring classic: a symmetric KL divergence between the reference's
    histogram ``p`` and the sample's ``q``. Rule of thumb: below 0.1 stable,
    0.1–0.25 a moderate shift, above 0.25 a major one. Numeric columns are binned at
    the reference's deciles, categorical ones by category (plus one bin for unseen
    categories); proportions are smoothed by ``smoothing`` pseudo-counts per bin (see
    ``mlopskit.drift.covariate._binned``). ``p_value`` comes from a permutation
    test of each column's distance (corrected over columns), unless a fixed
    ``threshold`` is given.

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
    >>> from mlopskit.drift import PSIDrift
    >>> rng = np.random.default_rng(0)
    >>> det = PSIDrift().fit(rng.normal(size=(5000, 1)))
    >>> det.detect(rng.normal(size=(5000, 1))).drift
    False
    >>> round(det.detect(rng.normal(1.0, size=(5000, 1))).statistic, 2)
    0.95
    """

    _method: ClassVar[str] = "psi"

    def _distance(self, reference: FloatArray, sample: FloatArray) -> FloatArray:
        out: FloatArray = np.sum(
            (sample - reference) * np.log(sample / reference), axis=-1
        )
        return out
