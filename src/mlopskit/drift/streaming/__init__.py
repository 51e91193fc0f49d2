"""Streaming drift detectors: one observation at a time, river's conventions.

``update(x)`` returns the detector and ``drift_detected`` is a read-only property; every
detector subclasses ``StreamingDetector`` (``streaming/_base.py``).

What does *not* belong here: batch tests (``covariate/``).
"""

from __future__ import annotations

import typing

from mlopskit._lazy import lazy_exports

if typing.TYPE_CHECKING:
    from mlopskit.drift.streaming._adwin import ADWIN
    from mlopskit.drift.streaming._ddm import DDM
    from mlopskit.drift.streaming._eddm import EDDM
    from mlopskit.drift.streaming._hddm import HDDM
    from mlopskit.drift.streaming._kswin import KSWIN
    from mlopskit.drift.streaming._page_hinkley import PageHinkley

__all__ = [
    "ADWIN",
    "DDM",
    "EDDM",
    "HDDM",
    "KSWIN",
    "PageHinkley",
]

_HOMES = {
    "ADWIN": "_adwin",
    "DDM": "_ddm",
    "EDDM": "_eddm",
    "HDDM": "_hddm",
    "KSWIN": "_kswin",
    "PageHinkley": "_page_hinkley",
}

__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
