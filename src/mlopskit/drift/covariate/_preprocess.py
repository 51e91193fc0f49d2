"""Preprocessing for high-dimensional inputs: :class:`ModelProbabilities`.

Every batch detector takes ``preprocessor=``: any scikit-learn transformer, cloned
and fitted on the reference, applied to reference and sample alike. For PCA and
random projections use scikit-learn's own (``PCA(n_components=10)``,
``GaussianRandomProjection(n_components=10)``); :class:`ModelProbabilities` turns a
trained classifier into such a transformer for black-box shift detection.

What does *not* belong here: the detectors.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from mlopskit.errors import InvalidParameterError

__all__ = ["ModelProbabilities"]


class ModelProbabilities(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """A trained classifier's outputs as features: black-box shift detection (BBSD).

    Rabanser et al. ("Failing Loudly", 2019) found that testing the softmax outputs
    of the production model with per-class KS tests and Bonferroni (BBSDs) was the
    best detector for high-dimensional inputs; testing its hard predictions with a
    chi-square test (BBSDh) is the cheap variant. The model is *not* refitted:
    ``fit`` only checks it, and cloning this transformer (as the detectors do)
    keeps the same trained model.

    Parameters
    ----------
    model
        A fitted classifier.
    output
        ``"proba"`` (``predict_proba``, one column per class; use with
        :class:`KSDrift`) or ``"label"`` (``predict``, one column; use with
        :class:`ChiSquareDrift`).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from mlopskit.drift import KSDrift, ModelProbabilities
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(1000, 20))
    >>> model = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    >>> det = KSDrift(preprocessor=ModelProbabilities(model)).fit(x)
    >>> result = det.detect(rng.normal(size=(1000, 20)) + 0.5)
    >>> result.drift, result.features["feature"].tolist()
    (True, ['proba_0', 'proba_1'])
    """

    def __init__(
        self, model: Any, *, output: Literal["proba", "label"] = "proba"
    ) -> None:
        self.model = model
        self.output = output

    def __sklearn_clone__(self) -> ModelProbabilities:
        # Keep the trained model: scikit-learn's clone would return an unfitted copy.
        return copy.copy(self)

    def fit(self, x: Any, y: Any = None) -> ModelProbabilities:
        """Check the model and the output kind; the model is not refitted."""
        if self.output not in ("proba", "label"):
            raise InvalidParameterError(
                f"output must be 'proba' or 'label'. Got {self.output!r} instead.",
                parameter="output",
            )
        method = "predict_proba" if self.output == "proba" else "predict"
        if not hasattr(self.model, method):
            raise InvalidParameterError(
                f"model must have {method}() for output={self.output!r}; "
                f"{type(self.model).__name__} has not.",
                parameter="model",
            )
        self.classes_ = getattr(self.model, "classes_", None)
        self.n_features_in_ = np.asarray(x).shape[1] if np.ndim(x) == 2 else None
        return self

    def transform(self, x: Any) -> Any:
        """The model's class probabilities (``(n, n_classes)``) or labels (``(n, 1)``)."""
        if self.output == "proba":
            return np.asarray(self.model.predict_proba(x), dtype=np.float64)
        return np.asarray(self.model.predict(x)).reshape(-1, 1)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray[Any, Any]:
        """``proba_<class>`` per class, or ``["label"]``."""
        if self.output == "label":
            return np.array(["label"], dtype=object)
        classes = self.classes_ if self.classes_ is not None else []
        return np.array([f"proba_{c}" for c in classes], dtype=object)
