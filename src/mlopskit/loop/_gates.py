"""Gates the loop evaluates itself, on the rows it held out of retraining.

The registry's gates (:func:`mlopskit.registry.metric_not_worse` …) compare what was
recorded with each version. A candidate trained on new data should also be compared
with production on the *same* fresh rows; these gates do that, and the loop turns them
into ordinary registry gates at promotion time, so every refusal is in the audit log.

- :class:`HoldoutGate`: the candidate beats production on the same held-out rows,
  by a stated margin at a stated confidence (a paired interval).
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
from mlopskit.loop._compare import PairedComparison
from mlopskit.registry import GateOutcome

__all__ = ["HoldoutGate", "RolloutCheck"]


@dataclass(frozen=True)
class HoldoutGate:
    """Promote only when the candidate beats production on the same held-out rows.

    Both models score the same fresh labelled rows (none of them trained either
    model), and the gate decides on the paired difference ``candidate - production``
    with its one-sided ``1 - alpha`` lower confidence bound ``low``
    (:class:`PairedComparison`: the Bonett–Price interval for accuracy, a paired
    bootstrap for any other metric). The rule:

    - **superiority** (default): pass when ``low > min_gain``; the candidate is
      better by more than ``min_gain`` at confidence ``1 - alpha``. Under no real
      difference a candidate passes with probability at most about ``alpha``.
    - **non-inferiority** (``schedule_margin``, for retrains the schedule alone
      triggered): pass when ``low > -schedule_margin``: not worse by more than the
      margin, at confidence ``1 - alpha``.

    In both, the observed difference must be positive (a tie never promotes), and a
    holdout of fewer than ``min_rows`` rows fails.

    Parameters
    ----------
    min_gain
        The superiority margin, in the loop's ``metric`` (a negative value makes
        the rule a non-inferiority one for every trigger).
    schedule_margin
        The non-inferiority margin for schedule-only retrains (``None``: the
        superiority rule applies to them too).
    alpha
        One-sided error rate of the decision.
    min_rows
        The fewest held-out rows the gate decides on.
    n_boot
        Bootstrap resamples (metrics other than accuracy).
    random_state
        Seed of the bootstrap.

    Examples
    --------
    >>> from mlopskit.loop._compare import paired_accuracy
    >>> rng = np.random.default_rng(0)
    >>> production = rng.random(300) < 0.80
    >>> candidate = production | (rng.random(300) < 0.5)   # fixes half the errors
    >>> gate = HoldoutGate()
    >>> gate.outcome(paired_accuracy(candidate, production, alpha=0.05)).passed
    True
    >>> gate.outcome(paired_accuracy(production, production, alpha=0.05)).passed
    False
    """

    min_gain: float = 0.0
    schedule_margin: float | None = None
    alpha: float = 0.05
    min_rows: int = 100
    n_boot: int = 400
    random_state: int | None = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 0.5:
            raise InvalidParameterError(
                f"`alpha` must be in (0, 0.5). Got {self.alpha!r} instead."
            )
        if self.min_rows < 1:
            raise InvalidParameterError(
                f"`min_rows` must be a positive int. Got {self.min_rows!r} instead."
            )
        if self.schedule_margin is not None and self.schedule_margin < 0:
            raise InvalidParameterError(
                "`schedule_margin` must be >= 0 or None. "
                f"Got {self.schedule_margin!r} instead."
            )

    def rule(self, *, scheduled: bool = False) -> tuple[str, float]:
        """The rule applied and the bound ``low`` must exceed."""
        if scheduled and self.schedule_margin is not None:
            return "non-inferiority", -self.schedule_margin
        return ("superiority" if self.min_gain >= 0 else "non-inferiority"), (
            self.min_gain
        )

    def outcome(
        self, comparison: PairedComparison, *, scheduled: bool = False
    ) -> GateOutcome:
        """Decide from a paired comparison on the held-out rows."""
        rule, bound = self.rule(scheduled=scheduled)
        c = comparison
        stated = (
            f"{c.metric} candidate - production = {c.difference:+.4f} on {c.n} "
            f"held-out rows, {1 - 2 * c.alpha:.0%} interval [{c.low:+.4f}, "
            f"{c.high:+.4f}] ({c.method}); rule: {rule}, lower bound > {bound:+g} "
            f"and difference > 0 (alpha {c.alpha:g})"
        )
        if c.n < self.min_rows:
            passed, why = False, f"only {c.n} held-out rows (needs {self.min_rows})"
        elif c.difference <= 0:
            passed, why = False, "no observed gain (a tie never promotes)"
        elif c.low <= bound:
            passed, why = False, f"lower bound {c.low:+.4f} <= {bound:+g}"
        else:
            passed, why = True, "passed"
        return GateOutcome(gate="holdout", passed=passed, reason=f"{why}: {stated}")


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
