"""Drift detection: covariate shift, prior (label) shift and streaming detectors.

Batch detectors follow scikit-learn's conventions (``fit(reference)`` returns the
detector, ``detect(sample)`` returns a :class:`DriftResult`); streaming detectors follow
river's (``update(x)`` returns the detector, ``drift_detected`` is a property).
"""

from mlopskit.drift._base import BaseDriftDetector
from mlopskit.drift._bbse import BBSE, RLLS
from mlopskit.drift._ks import KSDrift
from mlopskit.drift._label import LabelDrift
from mlopskit.drift._mlls import MLLS
from mlopskit.drift._priors import PriorAdjustment, PriorShiftResult, adjust_priors
from mlopskit.drift._result import DriftResult

__all__ = [
    "BBSE",
    "BaseDriftDetector",
    "DriftResult",
    "KSDrift",
    "LabelDrift",
    "MLLS",
    "PriorAdjustment",
    "PriorShiftResult",
    "RLLS",
    "adjust_priors",
]
