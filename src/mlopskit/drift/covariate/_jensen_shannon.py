"""Jensen–Shannon distance per column: :class:`JensenShannonDrift`."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.spatial import distance

from mlopskit.drift.covariate._binned import BinnedDistanceDrift, FloatArray

__all__ = ["JensenShannonDrift"]


class JensenShannonDrift(BinnedDistanceDrift):
    """Jensen–Shannon distance (base 2, in [0, 1]) between histograms, per column.

    The square root of the Jensen–Shannon divergence, as
    ``scipy.spatial.distance.jensenshannon(p, q, base=2)``: symmetric, bounded by 1,
    finite even for empty bins. Binning, smoothing and the
    permutation p-value as in :class:`PSIDrift`.

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
    >>> import pandas as pd
    >>> from mlopskit.drift import JensenShannonDrift
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"plan": rng.choice(["free", "pro"], 3000, p=[0.8, 0.2])})
    >>> cur = pd.DataFrame({"plan": rng.choice(["free", "pro"], 3000, p=[0.5, 0.5])})
    >>> JensenShannonDrift().fit(ref).detect(cur).drift
    True
    """

    _method: ClassVar[str] = "jensen_shannon"

    def _distance(self, reference: FloatArray, sample: FloatArray) -> FloatArray:
        out: FloatArray = np.asarray(
            distance.jensenshannon(reference, sample, base=2, axis=-1),
            dtype=np.float64,
        )
        return out
