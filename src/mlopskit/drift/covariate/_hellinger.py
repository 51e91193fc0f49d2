"""Hellinger distance per column: :class:`HellingerDrift`."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np

from mlopskit.drift.covariate._binned import BinnedDistanceDrift, FloatArray

__all__ = ["HellingerDrift"]


class HellingerDrift(BinnedDistanceDrift):
    """Hellinger distance, ``sqrt(1 - Σ sqrt(p q))`` in [0, 1], per column.

    Binning and smoothing as in :class:`PSIDrift`. A distance: ``p_value`` is
    ``None``.

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
    >>> from mlopskit.drift import HellingerDrift
    >>> rng = np.random.default_rng(0)
    >>> det = HellingerDrift().fit(rng.normal(size=(3000, 2)))
    >>> result = det.detect(rng.normal(size=(3000, 2)) * [1.0, 3.0])
    >>> result.features["drift"].tolist()
    [False, True]
    """

    _method: ClassVar[str] = "hellinger"

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
        bc = float(np.sum(np.sqrt(reference * sample)))
        return float(np.sqrt(max(0.0, 1.0 - bc)))
