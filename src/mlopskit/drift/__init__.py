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
    from mlopskit.drift._adwin import ADWIN
    from mlopskit.drift._anderson import AndersonDarlingDrift
    from mlopskit.drift._base import BaseDriftDetector
    from mlopskit.drift._bbsd import BBSD
    from mlopskit.drift._bbse import BBSE, RLLS
    from mlopskit.drift._chisquare import ChiSquareDrift
    from mlopskit.drift._classifier import ClassifierDrift
    from mlopskit.drift._cvm import CramerVonMisesDrift
    from mlopskit.drift._ddm import DDM
    from mlopskit.drift._dummy import DummyDrift
    from mlopskit.drift._eddm import EDDM
    from mlopskit.drift._hddm import HDDM
    from mlopskit.drift._hellinger import HellingerDrift
    from mlopskit.drift._jensen_shannon import JensenShannonDrift
    from mlopskit.drift._ks import KSDrift
    from mlopskit.drift._kswin import KSWIN
    from mlopskit.drift._label import LabelDrift
    from mlopskit.drift._mlls import MLLS
    from mlopskit.drift._mmd import MMDDrift
    from mlopskit.drift._page_hinkley import PageHinkley
    from mlopskit.drift._preprocess import ModelProbabilities
    from mlopskit.drift._priors import PriorAdjustment, PriorShiftResult, adjust_priors
    from mlopskit.drift._psi import PSIDrift
    from mlopskit.drift._result import DriftResult
    from mlopskit.drift._tabular import TabularDrift
    from mlopskit.drift._wasserstein import WassersteinDrift

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_public_api.py checks
    "ADWIN",
    "AndersonDarlingDrift",
    "BBSD",
    "BBSE",
    "BaseDriftDetector",
    "ChiSquareDrift",
    "ClassifierDrift",
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
    "PriorAdjustment",
    "PriorShiftResult",
    "RLLS",
    "TabularDrift",
    "WassersteinDrift",
    "adjust_priors",
]

_HOMES = {
    "ADWIN": "_adwin",
    "AndersonDarlingDrift": "_anderson",
    "BBSD": "_bbsd",
    "BBSE": "_bbse",
    "BaseDriftDetector": "_base",
    "ChiSquareDrift": "_chisquare",
    "ClassifierDrift": "_classifier",
    "CramerVonMisesDrift": "_cvm",
    "DDM": "_ddm",
    "DriftResult": "_result",
    "DummyDrift": "_dummy",
    "EDDM": "_eddm",
    "HDDM": "_hddm",
    "HellingerDrift": "_hellinger",
    "JensenShannonDrift": "_jensen_shannon",
    "KSDrift": "_ks",
    "KSWIN": "_kswin",
    "LabelDrift": "_label",
    "MLLS": "_mlls",
    "MMDDrift": "_mmd",
    "ModelProbabilities": "_preprocess",
    "PSIDrift": "_psi",
    "PageHinkley": "_page_hinkley",
    "PriorAdjustment": "_priors",
    "PriorShiftResult": "_priors",
    "RLLS": "_bbse",
    "TabularDrift": "_tabular",
    "WassersteinDrift": "_wasserstein",
    "adjust_priors": "_priors",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
