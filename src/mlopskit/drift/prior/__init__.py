"""Prior (label) shift: tests of the class priors, their estimation and correction.

A test on labels (:class:`LabelDrift`), estimators of the target priors from a
calibrated classifier's outputs (:class:`BBSE`, :class:`RLLS`, :class:`MLLS`) and
the Bayes-rule correction of its probabilities (:func:`adjust_priors`).

What does *not* belong here: tests of the features (``covariate/``).
"""

from __future__ import annotations

import typing

from mlopskit._lazy import lazy_exports

if typing.TYPE_CHECKING:
    from mlopskit.drift.prior._bbse import BBSE, RLLS
    from mlopskit.drift.prior._label import LabelDrift
    from mlopskit.drift.prior._mlls import MLLS
    from mlopskit.drift.prior._priors import (
        PriorAdjustment,
        PriorShiftResult,
        adjust_priors,
    )

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_public_api.py checks
    "BBSE",
    "LabelDrift",
    "MLLS",
    "PriorAdjustment",
    "PriorShiftResult",
    "RLLS",
    "adjust_priors",
]

_HOMES = {
    "BBSE": "_bbse",
    "LabelDrift": "_label",
    "MLLS": "_mlls",
    "PriorAdjustment": "_priors",
    "PriorShiftResult": "_priors",
    "RLLS": "_bbse",
    "adjust_priors": "_priors",
}

__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
