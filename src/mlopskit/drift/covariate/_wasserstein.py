"""Column-wise Wasserstein (earth mover's) distance: :class:`WassersteinDrift`."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np

from mlopskit.drift._base import Table
from mlopskit.drift.covariate._stats import SortedColumns
from mlopskit.drift.covariate._univariate import FloatArray, UnivariateNumericDrift
from mlopskit.errors import InvalidParameterError

__all__ = ["WassersteinDrift"]


class WassersteinDrift(UnivariateNumericDrift):
    """Wasserstein-1 distance per numeric column, in units of the reference's std.

    A distance, not a test: there is no p-value, and drift is declared when any
    column's distance reaches ``threshold``. With ``normalize=True`` (default) the
    distance is divided by the reference column's standard deviation (ddof 0; a
    constant column is left unscaled), so ``threshold=0.1`` means "the mass moved a
    tenth of a standard deviation on average" whatever the column's unit. Use it
    when the size of a shift matters more than its significance (with a million
    rows every test is significant). The raw distance equals
    ``scipy.stats.wasserstein_distance``.

    Parameters
    ----------
    threshold
        Distance at or above which a column has drifted.
    normalize
        Divide by the reference's standard deviation.
    nan_policy
        ``"raise"`` (default) or ``"omit"`` (drop NaN/inf per column).
    preprocessor
        Optional scikit-learn transformer, cloned and fitted on the reference.

    Examples
    --------
    >>> import numpy as np
    >>> from mlopskit.drift import WassersteinDrift
    >>> rng = np.random.default_rng(0)
    >>> det = WassersteinDrift(threshold=0.1).fit(rng.normal(size=(5000, 1)))
    >>> result = det.detect(rng.normal(0.5, size=(5000, 1)))
    >>> result.drift, round(result.statistic, 1), result.p_value
    (True, 0.5, None)
    """

    _method: ClassVar[str] = "wasserstein"
    _is_distance: ClassVar[bool] = True

    def __init__(
        self,
        *,
        threshold: float = 0.1,
        normalize: bool = True,
        nan_policy: Literal["raise", "omit"] = "raise",
        preprocessor: Any = None,
    ) -> None:
        self.threshold = threshold
        self.normalize = normalize
        self.nan_policy = nan_policy
        self.preprocessor = preprocessor

    def _validate_params(self) -> None:
        super()._validate_params()
        if not isinstance(self.threshold, int | float) or not self.threshold > 0:
            raise InvalidParameterError(
                f"threshold must be a positive number. Got {self.threshold!r} instead.",
                parameter="threshold",
            )

    def _fit(self, table: Table) -> None:
        super()._fit(table)
        matrix = table.numeric_matrix()
        finite = np.where(np.isfinite(matrix), matrix, np.nan)
        scale = np.nanstd(finite, axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0) if self.normalize else None

    def _test_group(
        self, reference: SortedColumns, sample: FloatArray
    ) -> tuple[FloatArray, None, dict[str, list[Any]]]:
        out = np.empty(sample.shape[1])
        n1, n2 = reference.n_rows, sample.shape[0]
        for j in range(sample.shape[1]):
            a = reference.values[j]
            b = np.sort(sample[:, j])
            pooled = np.sort(np.concatenate([a, b]))
            widths = np.diff(pooled)
            fa = np.searchsorted(a, pooled[:-1], side="right") / n1
            fb = np.searchsorted(b, pooled[:-1], side="right") / n2
            out[j] = float(np.sum(np.abs(fa - fb) * widths))
        return out, None, {}

    def _detect(self, table: Table) -> Any:
        result = super()._detect(table)
        if self.scale_ is None:
            return result
        return _rescale(result, self.scale_, float(self.threshold))

    @classmethod
    def _test_data(
        cls, rng: np.random.Generator, *, shift: bool = False
    ) -> tuple[Any, Any]:
        # The distance of two samples of n rows is about 1 / sqrt(n) under no shift,
        # so the default threshold of 0.1 needs a few thousand rows.
        ref, smp = rng.normal(size=(3000, 2)), rng.normal(size=(3000, 2))
        return ref, smp + 3.0 if shift else smp


def _rescale(result: Any, scale: FloatArray, threshold: float) -> Any:
    frame = result.features.copy()
    frame["statistic"] = frame["statistic"].to_numpy() / scale
    frame["drift"] = frame["statistic"].to_numpy() >= threshold
    best = int(np.nanargmax(frame["statistic"].to_numpy()))
    return result.model_copy(
        update={
            "features": frame,
            "statistic": float(frame["statistic"].iloc[best]),
            "drift": bool(frame["drift"].any()),
            "details": {**result.details, "scale": scale.tolist()},
        }
    )
