"""A baseline detector that ignores the data: :class:`DummyDrift`."""

from __future__ import annotations

import hashlib
from typing import ClassVar

import numpy as np

from mlopskit.drift._base import BaseDriftDetector, Table
from mlopskit.drift._random import resolve_seed
from mlopskit.drift._result import DriftResult

__all__ = ["DummyDrift"]


class DummyDrift(BaseDriftDetector):
    """Baseline: a uniform random p-value, so drift is declared with probability ``alpha``.

    It looks at nothing but the sample's bytes (to draw its p-value reproducibly:
    the same sample and seed give the same answer), so it is perfectly calibrated
    and has no power. Put it beside real detectors in a benchmark: a detector that
    does not beat ``DummyDrift`` is not detecting anything.

    Parameters
    ----------
    alpha
        Probability of declaring drift.
    random_state
        Seed (int), ``numpy.random.Generator`` or ``None``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlopskit.drift import DummyDrift
    >>> rng = np.random.default_rng(0)
    >>> det = DummyDrift(alpha=0.05, random_state=0).fit(rng.normal(size=(100, 2)))
    >>> results = [det.detect(rng.normal(size=(100, 2))).drift for _ in range(1000)]
    >>> 0.03 < np.mean(results) < 0.07
    np.True_
    """

    _input_kind: ClassVar[str] = "any"
    #: Tells the conformance suite not to expect power from this baseline.
    _ignores_data: ClassVar[bool] = True

    def __init__(
        self,
        *,
        alpha: float = 0.05,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.alpha = alpha
        self.random_state = random_state

    def _fit(self, table: Table) -> None:
        self.seed_ = resolve_seed(self.random_state)

    def _detect(self, table: Table) -> DriftResult:
        digest = hashlib.blake2b(digest_size=8)
        for col in table.columns:
            if col.dtype.kind == "O":
                digest.update(repr(col.tolist()).encode())
            else:
                digest.update(np.ascontiguousarray(col).tobytes())
        key = int.from_bytes(digest.digest(), "little")
        p = float(np.random.default_rng([self.seed_, key]).random())
        return DriftResult(
            drift=bool(p <= self.alpha),
            statistic=p,
            p_value=p,
            threshold=float(self.alpha),
            method="dummy",
            n_reference=self.n_reference_,
            n_sample=table.n_rows,
        )
