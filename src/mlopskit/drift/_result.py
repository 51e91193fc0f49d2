"""The result of a batch drift test: :class:`DriftResult`.

What does *not* belong here: the tests themselves (one module per detector) and the
streaming detectors, which report through properties rather than results.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mlopskit._results import Frame, Result

__all__ = ["DriftResult"]


class DriftResult(Result):
    """What a batch drift detector's ``detect`` returns.

    Attributes
    ----------
    drift
        Whether drift was detected at the detector's threshold.
    statistic
        The test statistic or distance (for several features, the one the decision
        is based on, e.g. the smallest corrected p-value's statistic).
    p_value
        The p-value, or ``None`` for distance-only methods (PSI, Wasserstein …).
    threshold
        ``alpha`` for tests, the distance threshold for distance-only methods.
    method
        Name of the test, e.g. ``"ks"`` or ``"mmd"``.
    n_reference, n_sample
        Rows in the reference and in the sample.
    features
        For multi-feature detectors, one row per feature: ``feature``, ``test``,
        ``statistic``, ``p_value``, ``drift``.
    correction
        The multiple-testing correction used (``"bonferroni"``, ``"fdr_bh"``), if any.
    details
        Method-specific extras (bandwidth, number of permutations, rows dropped by
        ``nan_policy="omit"`` …), JSON-serialisable.
    """

    drift: bool
    statistic: float
    p_value: float | None
    threshold: float
    method: str
    n_reference: int
    n_sample: int
    features: Frame | None = None
    correction: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
