"""Datasets for drift benchmarks: scikit-learn's bundled ones, synthetic ones, and any
DataFrame with a target column.

Nothing is ever downloaded: California housing is used only when scikit-learn already
has it on disk, otherwise :func:`load_dataset` raises
:class:`~mlopskit.errors.DatasetUnavailableError` and :func:`run_benchmark` skips it
with a message.

What does *not* belong here: shifts (:mod:`._shifts`) and running detectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mlopskit.errors import (
    DatasetUnavailableError,
    DriftInputError,
    InvalidParameterError,
)

__all__ = [
    "BenchmarkDataset",
    "available_datasets",
    "from_frame",
    "load_dataset",
    "make_synthetic",
]

_BUNDLED = ("breast_cancer", "digits", "iris", "wine")


@dataclass(frozen=True, eq=False)
class BenchmarkDataset:
    """Features, integer class labels and a name: what the harness runs on.

    Attributes
    ----------
    name
        Used in result tables.
    X
        Float features, shape ``(n, d)``.
    y
        Class indices ``0 … k-1``, shape ``(n,)``.
    feature_names
        One name per column.
    class_names
        The original label of each class index.
    kind
        ``"image"`` or ``"tabular"`` (for grouping in reports).
    """

    name: str
    X: npt.NDArray[np.float64]
    y: npt.NDArray[np.int64]
    feature_names: tuple[str, ...]
    class_names: tuple[Any, ...]
    kind: str = "tabular"

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    def __repr__(self) -> str:
        return (
            f"BenchmarkDataset(name={self.name!r}, n={self.X.shape[0]}, "
            f"d={self.X.shape[1]}, classes={self.n_classes}, kind={self.kind!r})"
        )


def _from_bunch(name: str, bunch: Any, kind: str) -> BenchmarkDataset:
    y = np.asarray(bunch.target)
    classes, idx = np.unique(y, return_inverse=True)
    names = getattr(bunch, "target_names", None)
    class_names = tuple(str(n) for n in names) if names is not None else tuple(classes)
    features = getattr(bunch, "feature_names", None)
    X = np.asarray(bunch.data, dtype=np.float64)
    if features is None:
        features = [f"x{i}" for i in range(X.shape[1])]
    return BenchmarkDataset(
        name=name,
        X=X,
        y=idx.astype(np.int64),
        feature_names=tuple(str(f) for f in features),
        class_names=class_names,
        kind=kind,
    )


def load_dataset(name: str) -> BenchmarkDataset:
    """Load a dataset by name.

    Parameters
    ----------
    name
        ``"digits"`` (8 × 8 images, 10 classes), ``"breast_cancer"``, ``"wine"``,
        ``"iris"``, ``"synthetic"`` (:func:`make_synthetic` defaults) or
        ``"california"`` (California housing, target binned into 4 quartile classes;
        only when already on disk).

    Returns
    -------
    BenchmarkDataset

    Raises
    ------
    DatasetUnavailableError
        For ``"california"`` when scikit-learn has not cached it (it is never
        downloaded).
    InvalidParameterError
        For an unknown name.

    Examples
    --------
    >>> load_dataset("digits")
    BenchmarkDataset(name='digits', n=1797, d=64, classes=10, kind='image')
    """
    from sklearn import datasets

    if name == "digits":
        return _from_bunch(name, datasets.load_digits(), "image")
    if name in _BUNDLED:
        return _from_bunch(name, getattr(datasets, f"load_{name}")(), "tabular")
    if name == "synthetic":
        return make_synthetic()
    if name == "california":
        return _load_california()
    raise InvalidParameterError(
        f"Unknown dataset {name!r}. Expected one of {available_datasets(include_unavailable=True)}, "
        "or build one with from_frame() or make_synthetic().",
    )


def _load_california() -> BenchmarkDataset:
    from sklearn import datasets

    try:
        bunch = datasets.fetch_california_housing(download_if_missing=False)
    except OSError as exc:
        raise DatasetUnavailableError(
            "California housing is not on disk and mlopskit never downloads data. "
            "Run sklearn.datasets.fetch_california_housing() once yourself to cache "
            "it, or leave 'california' out of `datasets`.",
            dataset="california",
        ) from exc
    target = np.asarray(bunch.target, dtype=np.float64)
    edges = np.quantile(target, [0.25, 0.5, 0.75])
    y = np.searchsorted(edges, target, side="right").astype(np.int64)
    return BenchmarkDataset(
        name="california",
        X=np.asarray(bunch.data, dtype=np.float64),
        y=y,
        feature_names=tuple(bunch.feature_names),
        class_names=("q1", "q2", "q3", "q4"),
        kind="tabular",
    )


def available_datasets(*, include_unavailable: bool = False) -> tuple[str, ...]:
    """Names :func:`load_dataset` accepts (by default only those usable now).

    Examples
    --------
    >>> "digits" in available_datasets()
    True
    """
    names = ["breast_cancer", "digits", "iris", "synthetic", "wine"]
    if include_unavailable:
        return (*sorted([*names, "california"]),)
    try:
        _load_california()
    except DatasetUnavailableError:
        return tuple(names)
    return tuple(sorted([*names, "california"]))


def make_synthetic(
    *,
    n_samples: int = 5000,
    n_features: int = 20,
    n_informative: int = 8,
    n_classes: int = 3,
    random_state: int = 0,
    name: str = "synthetic",
) -> BenchmarkDataset:
    """A tabular classification dataset from :func:`sklearn.datasets.make_classification`.

    Examples
    --------
    >>> make_synthetic(n_samples=100)
    BenchmarkDataset(name='synthetic', n=100, d=20, classes=3, kind='tabular')
    """
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=n_informative,
        n_redundant=2,
        n_classes=n_classes,
        random_state=random_state,
    )
    return BenchmarkDataset(
        name=name,
        X=np.asarray(X, dtype=np.float64),
        y=np.asarray(y, dtype=np.int64),
        feature_names=tuple(f"x{i}" for i in range(n_features)),
        class_names=tuple(range(n_classes)),
    )


def from_frame(frame: Any, target: str, *, name: str = "frame") -> BenchmarkDataset:
    """Any DataFrame with numeric features and a target column.

    Categorical (non-numeric) feature columns are one-hot encoded; the target's
    distinct values become classes.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "c": list("xyxy"),
    ...                    "label": ["no", "yes", "no", "yes"]})
    >>> ds = from_frame(df, "label", name="toy")
    >>> ds.feature_names, ds.class_names
    (('a', 'c_x', 'c_y'), ('no', 'yes'))
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise DriftInputError(
            f"`frame` must be a pandas DataFrame. Got {type(frame).__name__} instead.",
        )
    if target not in frame.columns:
        raise DriftInputError(
            f"Target column {target!r} is not in the frame. Columns: "
            f"{list(frame.columns)[:20]}.",
        )
    labels = frame[target]
    if labels.isna().any():
        raise DriftInputError(
            f"Target column {target!r} has {int(labels.isna().sum())} missing values; "
            "drop those rows first.",
        )
    features = pd.get_dummies(frame.drop(columns=[target]), dtype=np.float64)
    X = features.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(X)):
        raise DriftInputError(
            "The feature columns contain NaN or inf; impute or drop them first.",
        )
    classes, idx = np.unique(labels.to_numpy(), return_inverse=True)
    return BenchmarkDataset(
        name=name,
        X=X,
        y=idx.astype(np.int64),
        feature_names=tuple(str(c) for c in features.columns),
        class_names=tuple(
            c.item() if isinstance(c, np.generic) else c for c in classes
        ),
    )
