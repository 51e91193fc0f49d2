"""Jensen–Shannon distance per column: :class:`JensenShannonDrift`."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from scipy.spatial import distance

from mlopskit.drift.covariate._binned import BinnedDistanceDrift, FloatArray

__all__ = ["JensenShannonDrift"]


class JensenShannonDrift(BinnedDistanceDrift):
    """Jensen–Shannon distance (base 2, in [0, 1]) between histograms, per column.

    The square root of the Jensen–Shannon divergence, as
    ``scipy.spatial.distance.jensenshannon(p, q, base=2)``: symmetric, bounded by 1,
    finite even for empty bins. Binning and smoothing as in :class:`PSIDrift`. A
    distance: ``p_value`` is ``None``.

    Parameters
    ----------
    threshold
        Distance at or above which a column has drifted.
    n_bins
        Quantile bins for numeric columns.
    smoothing
        Pseudo-count added to every bin of both histograms.
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

    def __init__(
        self,
        *,
        threshold: float = 0.1,
        n_bins: int = 10,
        smoothing: float = 0.5,
        nan_policy: Literal["raise", "omit"] = "raise",
        preprocessor: Any = None,
    ) -> None:
        self.threshold = threshold
        self.n_bins = n_bins
        self.smoothing = smoothing
        self.nan_policy = nan_policy
        self.preprocessor = preprocessor

    def _distance(self, reference: FloatArray, sample: FloatArray) -> float:
        return float(distance.jensenshannon(reference, sample, base=2))
