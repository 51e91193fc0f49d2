"""Performance without labels: estimate a classifier's accuracy or ROC AUC on an
unlabelled batch from its calibrated scores (confidence-based performance
estimation, as NannyML's CBPE).

What does *not* belong here: tests on the features (``covariate/``) and the loop that
acts on an estimate (``mlopskit.loop``).
"""

from __future__ import annotations

import typing

from mlopskit._lazy import lazy_exports

if typing.TYPE_CHECKING:
    from mlopskit.drift.performance._cbpe import CBPE, PerformanceEstimate

__all__ = [
    "CBPE",
    "PerformanceEstimate",
]

_HOMES = {"CBPE": "_cbpe", "PerformanceEstimate": "_cbpe"}

__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
