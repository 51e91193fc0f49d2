"""The base every strategy derives from: :class:`Strategy`.

What does *not* belong here: any strategy's controller (one module per strategy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlopskit.rollout._base import check_number
from mlopskit.rollout._behavior import ModelBehavior
from mlopskit.rollout._engine import Engine
from mlopskit.rollout._judge import Judge

Arr = NDArray[Any]

__all__ = ["Strategy"]


@dataclass(frozen=True, kw_only=True)
class Strategy:
    """Fields shared by every deployment strategy.

    Parameters
    ----------
    replicas
        Desired pods of the model server (Kubernetes ``spec.replicas``).
    human_response_s
        Mean time (exponential) for a human to act on a pause: an indefinite
        ``pause: {}``, an Inconclusive analysis, a manual promotion.

    Examples
    --------
    >>> from mlopskit.rollout import Canary, Strategy
    >>> isinstance(Canary(), Strategy), Canary().name
    (True, 'Canary')
    """

    replicas: int = 10
    human_response_s: float = 1800.0

    def __post_init__(self) -> None:
        check_number("replicas", self.replicas, low=1, integer=True)
        check_number("human_response_s", self.human_response_s, low=0)

    @property
    def name(self) -> str:
        """The strategy's class name (a row label in :func:`compare`)."""
        return type(self).__name__

    def default_judge(
        self, baseline: ModelBehavior, candidate: ModelBehavior
    ) -> Judge | None:
        """The analysis used when ``simulate(judge=None)``; ``None`` means none."""
        return None

    def tick_s(self) -> float:
        """Simulation tick in seconds (1 s unless the strategy runs for days)."""
        return 1.0

    def horizon_s(self) -> float:
        """Upper bound on simulated time after which unfinished runs end."""
        return 6 * 3600.0

    def _human(self, rng: np.random.Generator, size: int) -> Arr:
        return (
            rng.exponential(self.human_response_s, size)
            if self.human_response_s
            else np.zeros(size)
        )

    def _run(self, eng: Engine, judge: Judge | None) -> None:
        raise NotImplementedError
