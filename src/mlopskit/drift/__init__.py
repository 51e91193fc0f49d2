"""Drift detection: covariate shift, prior (label) shift and streaming detectors.

Batch detectors follow scikit-learn's conventions (``fit(reference)`` returns the
detector, ``detect(sample)`` returns a :class:`DriftResult`); streaming detectors follow
river's (``update(x)`` returns the detector, ``drift_detected`` is a property).
"""

from mlopskit.drift._result import DriftResult

__all__ = ["DriftResult"]
