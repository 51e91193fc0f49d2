"""Gates the loop evaluates itself, on the rows it held out of retraining.

The registry's gates (:func:`mlopskit.registry.metric_not_worse` …) compare what was
recorded with each version. A candidate trained on new data should also be compared
with production on the *same* fresh rows; these gates do that, and the loop turns them
into ordinary registry gates at promotion time, so every refusal is in the audit log.

- :class:`HoldoutGate`: the candidate's score on the held-out rows is at least
  production's (plus ``min_gain``).
- :class:`RolloutCheck`: a rollout of the candidate is simulated with
  :func:`mlopskit.rollout.simulate`, the two models' error rates taken from the
  held-out rows; it passes when the simulated analysis promotes the candidate often
  enough.

What does *not* belong here: moving the alias (the registry does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlopskit.errors import InvalidParameterError
from mlopskit.registry import GateOutcome

__all__ = ["HoldoutGate", "RolloutCheck"]


@dataclass(frozen=True)
class HoldoutGate:
    """Pass when the candidate scores at least production's score on held-out rows.

    Parameters
    ----------
    min_gain
        How much better the candidate must be (in the loop's ``metric``); negative
        values tolerate a small loss.

    Examples
    --------
    >>> HoldoutGate(min_gain=0.01).outcome(candidate=0.93, production=0.90).passed
    True
    >>> HoldoutGate().outcome(candidate=0.80, production=0.90).reason
    'candidate 0.8000 < production 0.9000 + 0 on the held-out rows'
    """

    min_gain: float = 0.0

    def outcome(self, *, candidate: float, production: float | None) -> GateOutcome:
        """Decide from the two scores."""
        if production is None:
            return GateOutcome(
                gate="holdout", passed=True, reason="no production model"
            )
        passed = candidate >= production + self.min_gain
        sign = ">=" if passed else "<"
        return GateOutcome(
            gate="holdout",
            passed=bool(passed),
            reason=(
                f"candidate {candidate:.4f} {sign} production {production:.4f} + "
                f"{self.min_gain:g} on the held-out rows"
            ),
        )


def _default_strategy() -> Any:
    from mlopskit.rollout import Canary

    return Canary()


def _default_judge() -> Any:
    from mlopskit.rollout import SequentialTest

    return SequentialTest(alpha=0.05)


def _default_traffic() -> Any:
    from mlopskit.rollout import Traffic

    return Traffic(rps=100.0)


@dataclass(frozen=True)
class RolloutCheck:
    """Simulate rolling the candidate out before the alias moves.

    Parameters
    ----------
    strategy
        A strategy of :mod:`mlopskit.rollout` (default: ``Canary()``).
    judge
        The automated analysis (default: ``SequentialTest(alpha=0.05)``, which
        compares the candidate's errors with the baseline's and is safe under
        continuous peeking; Flagger's absolute success-rate check would refuse any
        model whose error rate is above 1 %, however it compares).
    traffic
        Production traffic (default: 100 requests per second).
    n_runs
        Simulated replications.
    min_promotion_rate
        The share of replications in which the simulated analysis must promote
        the candidate.
    random_state
        Seed of the simulation.

    Examples
    --------
    >>> check = RolloutCheck(n_runs=50, random_state=0)
    >>> outcome, summary = check.outcome(candidate_error=0.02, production_error=0.02)
    >>> outcome.gate, outcome.passed, summary["n_runs"]
    ('rollout', True, 50.0)
    """

    strategy: Any = field(default_factory=_default_strategy)
    judge: Any = field(default_factory=_default_judge)
    traffic: Any = field(default_factory=_default_traffic)
    n_runs: int = 200
    min_promotion_rate: float = 0.8
    random_state: int | None = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.min_promotion_rate <= 1.0:
            raise InvalidParameterError(
                "`min_promotion_rate` must be in (0, 1]. "
                f"Got {self.min_promotion_rate!r} instead."
            )

    def outcome(
        self, *, candidate_error: float, production_error: float
    ) -> tuple[GateOutcome, dict[str, float]]:
        """Simulate, then decide; also return a summary of the simulation."""
        from mlopskit.rollout import ModelBehavior, simulate

        # No error on a few hundred held-out rows does not mean no error in
        # production; a small floor keeps the simulated error rates positive.
        floor = 1e-4
        sim = simulate(
            self.strategy,
            baseline=ModelBehavior(error_rate=max(production_error, floor)),
            candidate=ModelBehavior(error_rate=max(candidate_error, floor)),
            traffic=self.traffic,
            judge=self.judge,
            n_runs=self.n_runs,
            random_state=self.random_state,
        )
        runs = sim.runs
        promoted = float(np.mean(runs["promoted"]))
        full = runs["time_to_full_rollout_s"].dropna()
        summary = {
            "n_runs": float(self.n_runs),
            "promotion_rate": promoted,
            "rollback_rate": float(np.mean(runs["rolled_back"])),
            "median_time_to_full_rollout_s": float(full.median())
            if len(full)
            else float("nan"),
            "mean_bad_requests_served": float(np.mean(runs["bad_requests_served"])),
            "candidate_error": float(candidate_error),
            "production_error": float(production_error),
        }
        passed = promoted >= self.min_promotion_rate
        reason = (
            f"simulated {type(self.strategy).__name__}: promoted in {promoted:.0%} of "
            f"{self.n_runs} runs (needs {self.min_promotion_rate:.0%}), rolled back in "
            f"{summary['rollback_rate']:.0%}"
        )
        return GateOutcome(gate="rollout", passed=bool(passed), reason=reason), summary
