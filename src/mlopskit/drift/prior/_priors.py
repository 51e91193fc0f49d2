"""Prior (label) shift: the shared result, input checks, and :func:`adjust_priors`.

Under *label shift* the class-conditional distributions stay the same and only the
class priors move, from ``p(y)`` in the source to ``q(y)`` in the target. A calibrated
posterior is then corrected without retraining (Saerens et al. 2002)::

    q(y | x) ∝ p(y | x) · q(y) / p(y)

and the per-class importance weights ``w(y) = q(y) / p(y)`` re-weight source rows for
re-training.

What does *not* belong here: the estimators of ``q(y)`` (:mod:`._bbse`, :mod:`._mlls`)
and the label test (:mod:`._label`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from mlopskit.drift._result import DriftResult
from mlopskit.errors import DriftInputError, InvalidParameterError, LabelTypeError

__all__ = ["PriorAdjustment", "PriorShiftResult", "adjust_priors"]

FloatArray = npt.NDArray[np.float64]


class PriorShiftResult(DriftResult):
    """A :class:`DriftResult` that also estimates the target class priors.

    Returned by :class:`LabelDrift`, :class:`BBSE`, :class:`RLLS` and :class:`MLLS`.
    ``drift``, ``p_value`` and ``statistic`` come from the test of "no prior shift";
    the other fields describe the estimate.

    Attributes
    ----------
    classes
        The class labels, in the order of every per-class field.
    source_priors
        Class priors of the source (reference) data.
    target_priors
        Estimated class priors of the target sample (they sum to 1).
    target_priors_low, target_priors_high
        Per-class confidence interval of ``target_priors`` at level ``confidence``.
    weights
        Importance weights ``target_priors / source_priors`` per class (``nan`` for a
        class absent from the source).
    confidence
        Level of the intervals, e.g. ``0.95``.
    interval
        How the intervals were computed (``"delta"``, ``"bootstrap"``,
        ``"observed-information"``, ``"wilson"``).

    Examples
    --------
    >>> from mlopskit.drift import LabelDrift
    >>> res = LabelDrift().fit(["a"] * 50 + ["b"] * 50).detect(["a"] * 80 + ["b"] * 20)
    >>> res.drift, res.classes, res.target_priors
    (True, ('a', 'b'), (0.8, 0.2))
    """

    classes: tuple[Any, ...]
    source_priors: tuple[float, ...]
    target_priors: tuple[float, ...]
    target_priors_low: tuple[float, ...]
    target_priors_high: tuple[float, ...]
    weights: tuple[float, ...]
    confidence: float
    interval: str

    def priors_frame(self) -> Any:
        """The per-class fields as a DataFrame (one row per class).

        Examples
        --------
        >>> from mlopskit.drift import LabelDrift
        >>> res = LabelDrift().fit([0, 0, 1, 1]).detect([0, 1, 1, 1])
        >>> list(res.priors_frame().columns)
        ['class', 'source_prior', 'target_prior', 'low', 'high', 'weight']
        """
        import pandas as pd

        return pd.DataFrame(
            {
                "class": list(self.classes),
                "source_prior": self.source_priors,
                "target_prior": self.target_priors,
                "low": self.target_priors_low,
                "high": self.target_priors_high,
                "weight": self.weights,
            }
        )


class PriorAdjustment(NamedTuple):
    """What :func:`adjust_priors` returns.

    Attributes
    ----------
    proba
        Posteriors corrected to the target priors, shape ``(n, k)``; rows sum to 1.
    class_weights
        Importance weight per class, ``target_priors / source_priors``, shape ``(k,)``.
    sample_weight
        ``class_weights[y]`` for the labels ``y`` passed in, else ``None``: pass it to
        ``fit(..., sample_weight=...)`` to re-train on source data as if it had the
        target's class balance.
    """

    proba: FloatArray
    class_weights: FloatArray
    sample_weight: FloatArray | None


def adjust_priors(
    proba: npt.ArrayLike,
    source_priors: npt.ArrayLike,
    target_priors: npt.ArrayLike,
    *,
    y: npt.ArrayLike | None = None,
) -> PriorAdjustment:
    """Correct posteriors for a change of class priors, and weight rows for re-training.

    Parameters
    ----------
    proba
        Predicted probabilities of shape ``(n, k)`` from a model trained (and ideally
        calibrated) on the source data; columns in class order.
    source_priors
        Class priors of the data the model was trained on, shape ``(k,)``.
    target_priors
        New class priors, e.g. ``BBSE().fit(...).detect(...).target_priors``.
    y
        Optional class indices ``0 … k-1`` of source rows; when given, the result's
        ``sample_weight`` holds one importance weight per row.

    Returns
    -------
    PriorAdjustment
        ``(proba, class_weights, sample_weight)``.

    Raises
    ------
    DriftInputError
        If the shapes disagree, probabilities are negative or not finite, or a source
        prior is zero where a target prior is positive.

    Examples
    --------
    >>> import numpy as np
    >>> proba = np.array([[0.5, 0.5], [0.9, 0.1]])
    >>> adj = adjust_priors(proba, [0.5, 0.5], [0.2, 0.8], y=[0, 1])
    >>> adj.proba.round(3)
    array([[0.2  , 0.8  ],
           [0.692, 0.308]])
    >>> adj.class_weights, adj.sample_weight
    (array([0.4, 1.6]), array([0.4, 1.6]))
    """
    p = check_proba(proba, name="proba")
    k = p.shape[1]
    src = check_priors(source_priors, k, name="source_priors")
    tgt = check_priors(target_priors, k, name="target_priors")
    if np.any((src == 0) & (tgt > 0)):
        raise DriftInputError(
            "A class has source prior 0 but a positive target prior; its posterior "
            f"cannot be re-weighted. Got source_priors={src.tolist()} and "
            f"target_priors={tgt.tolist()}. Give every class a positive source prior.",
        )
    weights = np.divide(tgt, src, out=np.zeros(k), where=src > 0)
    adjusted = p * weights
    total = adjusted.sum(axis=1, keepdims=True)
    # A row whose mass sits only on classes that vanished keeps its original posterior.
    bad = total[:, 0] <= 0
    adjusted[bad] = p[bad]
    total[bad] = p[bad].sum(axis=1, keepdims=True)
    adjusted /= total
    sample_weight = None
    if y is not None:
        idx = np.asarray(y)
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise DriftInputError(
                "`y` must be a 1-D array of class indices 0 … k-1. Got "
                f"shape {idx.shape} and dtype {idx.dtype} instead.",
            )
        if idx.size and (idx.min() < 0 or idx.max() >= k):
            raise DriftInputError(
                f"`y` must hold class indices in [0, {k - 1}]. Got values in "
                f"[{idx.min()}, {idx.max()}] instead.",
            )
        sample_weight = weights[idx]
    return PriorAdjustment(adjusted, weights, sample_weight)


# --- shared checks ------------------------------------------------------------------


def check_proba(proba: npt.ArrayLike, *, name: str, min_rows: int = 1) -> FloatArray:
    """A finite, non-negative ``(n, k)`` probability matrix with ``k >= 2``."""
    try:
        arr = np.asarray(proba, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DriftInputError(
            f"`{name}` must be a numeric (n, k) array of probabilities. Got "
            f"{type(proba).__name__} that is not numeric.",
        ) from exc
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise DriftInputError(
            f"`{name}` must be a 2-D array of shape (n, k) with k >= 2 classes (e.g. "
            f"model.predict_proba(X)). Got shape {arr.shape} instead.",
        )
    if arr.shape[0] < min_rows:
        raise DriftInputError(
            f"`{name}` needs at least {min_rows} rows. Got {arr.shape[0]} instead.",
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise DriftInputError(
            f"`{name}` must hold finite, non-negative probabilities. Got NaN, inf or "
            "negative values; drop or repair those rows first.",
        )
    sums = arr.sum(axis=1)
    if np.any(np.abs(sums - 1) > 1e-6):
        raise DriftInputError(
            f"Rows of `{name}` must sum to 1. Got row sums between {sums.min():.6g} "
            f"and {sums.max():.6g}; pass predict_proba output, not scores.",
        )
    return arr


def check_priors(priors: npt.ArrayLike, k: int, *, name: str) -> FloatArray:
    """A length-``k`` probability vector (re-normalised to sum to exactly 1)."""
    arr = np.asarray(priors, dtype=np.float64)
    if arr.shape != (k,):
        raise DriftInputError(
            f"`{name}` must have one prior per class, shape ({k},). Got shape "
            f"{arr.shape} instead.",
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or abs(arr.sum() - 1) > 1e-6:
        raise DriftInputError(
            f"`{name}` must be non-negative and sum to 1. Got {arr.tolist()} instead.",
        )
    out: FloatArray = arr / arr.sum()
    return out


def check_labels(labels: Any, *, name: str, min_rows: int = 1) -> np.ndarray[Any, Any]:
    """A 1-D array of hashable labels without missing values."""
    if hasattr(labels, "to_numpy"):
        labels = labels.to_numpy()
    arr = np.asarray(labels)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise DriftInputError(
            f"`{name}` must be 1-D (one label per row). Got shape {arr.shape} "
            "instead; for probabilities use MLLS or BBSD.",
        )
    if arr.shape[0] < min_rows:
        raise DriftInputError(
            f"`{name}` needs at least {min_rows} labels. Got {arr.shape[0]} instead.",
        )
    if arr.dtype.kind == "f" and np.any(~np.isfinite(arr)):
        raise DriftInputError(
            f"`{name}` contains NaN or inf. Labels must be known; drop missing ones.",
        )
    if arr.dtype.kind == "O" and any(v is None or v != v for v in arr):
        raise DriftInputError(
            f"`{name}` contains None or NaN. Labels must be known; drop missing ones.",
        )
    if arr.dtype.kind == "O":
        _check_orderable(arr, name)
    return arr


def _check_orderable(arr: np.ndarray[Any, Any], name: str) -> None:
    """Raise LabelTypeError when object labels mix types that cannot be sorted."""
    kinds = {_label_kind(v) for v in arr}
    if len(kinds) > 1:
        examples = {k: next(v for v in arr if _label_kind(v) == k) for k in kinds}
        shown = ", ".join(f"{v!r} ({k})" for k, v in sorted(examples.items()))
        raise LabelTypeError(
            f"`{name}` mixes label types that cannot be compared: {shown}. Use one "
            "type for every label, e.g. y.astype(str) (then '3' and 3 are one "
            "class) or map the strings to the integer codes.",
            types=tuple(sorted(kinds)),
        )


def _label_kind(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | float | np.integer | np.floating):
        return "number"
    return type(value).__name__


def check_unit(value: float, *, name: str) -> float:
    """A parameter in the open interval (0, 1)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 < value < 1
    ):
        raise InvalidParameterError(
            f"`{name}` must be in (0, 1). Got {value!r} instead.",
        )
    return float(value)


def python_labels(values: Sequence[Any] | np.ndarray[Any, Any]) -> tuple[Any, ...]:
    """Labels as plain Python scalars (JSON-friendly, numpy scalars unwrapped)."""
    return tuple(v.item() if isinstance(v, np.generic) else v for v in values)


def importance_weights(target: FloatArray, source: FloatArray) -> tuple[float, ...]:
    """``target / source`` per class, ``nan`` where the source prior is 0."""
    out = np.full(target.shape, np.nan)
    np.divide(target, source, out=out, where=source > 0)
    return tuple(float(x) for x in out)


def wilson_interval(
    counts: FloatArray, n: int, confidence: float
) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval for each class proportion ``counts / n``."""
    from scipy import stats

    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = counts / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
