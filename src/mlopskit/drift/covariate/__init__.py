"""Covariate shift: batch two-sample tests and distances between a reference and a sample.

Univariate tests (KS, Cramér–von Mises, Anderson–Darling, chi-square), distances
(Wasserstein, Jensen–Shannon, Hellinger, PSI), multivariate tests (MMD, a domain
classifier), a mixed-type tabular detector, black-box shift detection on a model's
outputs, and a dummy baseline. Every detector subclasses
:class:`mlopskit.drift.BaseDriftDetector` (``drift/_base.py``).

What does *not* belong here: streaming detectors (``streaming/``), label-shift
estimation (``prior/``) and reference summaries (``profiles/``).
"""

from __future__ import annotations

import typing

from mlopskit._lazy import lazy_exports

if typing.TYPE_CHECKING:
    from mlopskit.drift.covariate._anderson import AndersonDarlingDrift
    from mlopskit.drift.covariate._bbsd import BBSD
    from mlopskit.drift.covariate._chisquare import ChiSquareDrift
    from mlopskit.drift.covariate._classifier import ClassifierDrift
    from mlopskit.drift.covariate._cvm import CramerVonMisesDrift
    from mlopskit.drift.covariate._dummy import DummyDrift
    from mlopskit.drift.covariate._hellinger import HellingerDrift
    from mlopskit.drift.covariate._jensen_shannon import JensenShannonDrift
    from mlopskit.drift.covariate._ks import KSDrift
    from mlopskit.drift.covariate._mmd import MMDDrift
    from mlopskit.drift.covariate._preprocess import ModelProbabilities
    from mlopskit.drift.covariate._psi import PSIDrift
    from mlopskit.drift.covariate._tabular import TabularDrift
    from mlopskit.drift.covariate._wasserstein import WassersteinDrift

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_public_api.py checks
    "AndersonDarlingDrift",
    "BBSD",
    "ChiSquareDrift",
    "ClassifierDrift",
    "CramerVonMisesDrift",
    "DummyDrift",
    "HellingerDrift",
    "JensenShannonDrift",
    "KSDrift",
    "MMDDrift",
    "ModelProbabilities",
    "PSIDrift",
    "TabularDrift",
    "WassersteinDrift",
]

_HOMES = {
    "AndersonDarlingDrift": "_anderson",
    "BBSD": "_bbsd",
    "ChiSquareDrift": "_chisquare",
    "ClassifierDrift": "_classifier",
    "CramerVonMisesDrift": "_cvm",
    "DummyDrift": "_dummy",
    "HellingerDrift": "_hellinger",
    "JensenShannonDrift": "_jensen_shannon",
    "KSDrift": "_ks",
    "MMDDrift": "_mmd",
    "ModelProbabilities": "_preprocess",
    "PSIDrift": "_psi",
    "TabularDrift": "_tabular",
    "WassersteinDrift": "_wasserstein",
}

__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
