"""The result of a batch drift test: :class:`DriftResult`.

What does *not* belong here: the tests themselves (one module per detector) and the
streaming detectors, which report through properties rather than results.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field

from mlopskit._optional import import_optional
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
        The p-value, or ``None`` for a distance compared with a fixed ``threshold``
        (PSI, Wasserstein … with ``threshold=<float>``).
    threshold
        ``alpha`` for tests (distances included, by default), the distance threshold
        for a fixed-threshold distance.
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

    def plot(self, *, ax: Any = None, max_features: int = 30) -> Any:
        """Draw the result with matplotlib (``pip install "mlopskit-blocks[plot]"``).

        For a multi-feature result, one horizontal bar per feature (at most
        ``max_features``, the most drifted first): ``-log10(p)`` of the adjusted
        p-value for tests, with the ``alpha`` line, or the distance with the
        threshold line; drifted features in red. For a single test, one bar.

        Parameters
        ----------
        ax
            A matplotlib ``Axes`` to draw on; a new figure when ``None``.
        max_features
            Most features to show.

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> import numpy as np
        >>> from mlopskit.drift import KSDrift
        >>> rng = np.random.default_rng(0)
        >>> det = KSDrift().fit(rng.normal(size=(500, 3)))
        >>> ax = det.detect(rng.normal(size=(500, 3)) + [0, 0, 1]).plot()
        >>> ax.get_xlabel()
        '-log10(adjusted p-value)'
        """
        plt = import_optional(
            "matplotlib.pyplot", extra="plot", feature="DriftResult.plot()"
        )
        if ax is None:
            _, ax = plt.subplots(figsize=(6.0, 1.0 + 0.3 * self._n_bars(max_features)))
        names, values, flags, label, line = self._bars(max_features)
        colours = ["tab:red" if f else "tab:blue" for f in flags]
        ax.barh(range(len(values)), values, color=colours)
        ax.set_yticks(range(len(values)), labels=names)
        ax.invert_yaxis()
        ax.axvline(line, color="black", linestyle="--", linewidth=1)
        ax.set_xlabel(label)
        verdict = "drift" if self.drift else "no drift"
        ax.set_title(
            f"{self.method}: {verdict} (n={self.n_reference} vs {self.n_sample})"
        )
        return ax

    def _n_bars(self, max_features: int) -> int:
        return 1 if self.features is None else min(len(self.features), max_features)

    def _bars(
        self, max_features: int
    ) -> tuple[list[str], list[float], list[bool], str, float]:
        is_test = self.p_value is not None
        if is_test:
            label, line = "-log10(adjusted p-value)", -math.log10(self.threshold)
        else:
            label, line = "distance", self.threshold
        if self.features is None:
            value = _neg_log10(self.p_value) if is_test else self.statistic
            return [self.method], [value], [self.drift], label, line
        frame = self.features
        column = "p_value_adjusted" if "p_value_adjusted" in frame else "p_value"
        if is_test:
            values = [_neg_log10(p) for p in frame[column]]
        else:
            values = [float(v) for v in frame["statistic"]]
        rows = sorted(
            zip(frame["feature"].astype(str), values, frame["drift"], strict=True),
            key=lambda r: -r[1] if r[1] == r[1] else 0.0,
        )[:max_features]
        return (
            [r[0] for r in rows],
            [r[1] for r in rows],
            [bool(r[2]) for r in rows],
            label,
            line,
        )


def _neg_log10(p: float | None) -> float:
    if p is None or p != p:
        return 0.0
    return -math.log10(max(float(p), 1e-300))
