"""Drift detection: covariate shift, prior (label) shift and streaming detectors.

Batch detectors follow scikit-learn's conventions (``fit(reference)`` returns the
detector, ``detect(sample)`` returns a :class:`DriftResult`); streaming detectors follow
river's (``update(x)`` returns the detector, ``drift_detected`` is a property).

The names are imported on first use: the command line reaches ``mlopskit.drift._cli``
without importing scikit-learn until a detector is needed.
"""

from __future__ import annotations

import typing

from mlopskit._lazy import lazy_exports

if typing.TYPE_CHECKING:
    from mlopskit.drift._base import BaseDriftDetector
    from mlopskit.drift._result import DriftResult
    from mlopskit.drift.covariate import (
        BBSD,
        AndersonDarlingDrift,
        ChiSquareDrift,
        ClassifierDrift,
        CramerVonMisesDrift,
        DummyDrift,
        HellingerDrift,
        JensenShannonDrift,
        KSDrift,
        MMDDrift,
        ModelProbabilities,
        PSIDrift,
        TabularDrift,
        WassersteinDrift,
    )
    from mlopskit.drift.performance import CBPE, PerformanceEstimate
    from mlopskit.drift.prior import (
        BBSE,
        MLLS,
        RLLS,
        LabelDrift,
        PriorAdjustment,
        PriorShiftResult,
        adjust_priors,
    )
    from mlopskit.drift.profiles import ColumnProfile, Profile, QuantileSketch, profile
    from mlopskit.drift.streaming import ADWIN, DDM, EDDM, HDDM, KSWIN, PageHinkley

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_public_api.py checks
    "ADWIN",
    "AndersonDarlingDrift",
    "BBSD",
    "BBSE",
    "BaseDriftDetector",
    "CBPE",
    "ChiSquareDrift",
    "ClassifierDrift",
    "ColumnProfile",
    "CramerVonMisesDrift",
    "DDM",
    "DriftResult",
    "DummyDrift",
    "EDDM",
    "HDDM",
    "HellingerDrift",
    "JensenShannonDrift",
    "KSDrift",
    "KSWIN",
    "LabelDrift",
    "MLLS",
    "MMDDrift",
    "ModelProbabilities",
    "PSIDrift",
    "PageHinkley",
    "PerformanceEstimate",
    "PriorAdjustment",
    "PriorShiftResult",
    "Profile",
    "QuantileSketch",
    "RLLS",
    "TabularDrift",
    "WassersteinDrift",
    "adjust_priors",
    "profile",
]

_HOMES = {
    "ADWIN": "streaming",
    "AndersonDarlingDrift": "covariate",
    "BBSD": "covariate",
    "BBSE": "prior",
    "BaseDriftDetector": "_base",
    "CBPE": "performance",
    "ChiSquareDrift": "covariate",
    "ClassifierDrift": "covariate",
    "ColumnProfile": "profiles",
    "CramerVonMisesDrift": "covariate",
    "DDM": "streaming",
    "DriftResult": "_result",
    "DummyDrift": "covariate",
    "EDDM": "streaming",
    "HDDM": "streaming",
    "HellingerDrift": "covariate",
    "JensenShannonDrift": "covariate",
    "KSDrift": "covariate",
    "KSWIN": "streaming",
    "LabelDrift": "prior",
    "MLLS": "prior",
    "MMDDrift": "covariate",
    "ModelProbabilities": "covariate",
    "PSIDrift": "covariate",
    "PageHinkley": "streaming",
    "PerformanceEstimate": "performance",
    "PriorAdjustment": "prior",
    "PriorShiftResult": "prior",
    "Profile": "profiles",
    "QuantileSketch": "profiles",
    "RLLS": "prior",
    "TabularDrift": "covariate",
    "WassersteinDrift": "covariate",
    "adjust_priors": "prior",
    "profile": "profiles",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
