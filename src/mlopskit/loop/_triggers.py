"""When the loop retrains: triggers with hysteresis, a cooldown, and an honest baseline.

The rules (every one rebuilt from the events alone, by :meth:`TriggerState.record`):

- **Drift triggers have hysteresis.** A monitor's drift fires a retrain once; after
  that retrain the monitor is *disarmed* and fires again only after it has reported
  no drift on at least one batch. A sustained shift is one change, not one per batch.
- **Cooldown.** For ``cooldown`` accepted batches after a retrain, no trigger starts
  another one (the triggers that held are recorded as suppressed), and a monitor
  that drifts then is disarmed as if it had fired: its drift is the change the
  retrain answered.
- **One change, one retrain.** A trigger opens a *change*; the loop gathers labelled
  rows from the triggering batch on until the held-out share of them reaches the
  minimum holdout, then retrains once and closes the change. The candidate is judged
  on rows from after the change, which is what production now sees.
- **The performance baseline is measured on fresh labelled data.** After the
  bootstrap it is the pipeline's own metric (if it reports the loop's metric) until
  production has been scored on ``baseline_rows`` fresh labelled rows of batches that
  raised no trigger; then it is their pooled score. After a promotion it is the new
  model's score on the held-out rows, on which it beat the old model. The
  performance trigger fires when a batch scores below ``baseline - drop``; for
  accuracy, when the batch's 99 % Wilson upper bound does (one-sided error 1 % per
  batch at a true score of exactly ``baseline - drop``, less above it).

What does *not* belong here: the drift tests (``_monitors.py``), the gates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TriggerState", "wilson_upper"]

_RETRAINS = ("promoted", "refused", "failed")

#: One-sided error rate of the performance trigger's bound, per batch.
PERFORMANCE_ALPHA = 0.01


def wilson_upper(share: float, n: int, alpha: float = PERFORMANCE_ALPHA) -> float:
    """The Wilson score upper confidence bound of a proportion.

    Examples
    --------
    >>> round(wilson_upper(0.9, 100), 4)
    0.9505
    """
    from scipy.stats import norm

    z = float(norm.ppf(1 - alpha))
    centre = share + z * z / (2 * n)
    spread = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    return min(1.0, (centre + spread) / (1 + z * z / n))


@dataclass
class TriggerState:
    """What the trigger rules remember between batches."""

    baseline: float | None = None
    baseline_rows: int = 0  # fresh rows pooled into the baseline so far
    baseline_sum: float = 0.0
    baseline_final: bool = False
    disarmed: set[str] = field(default_factory=set)
    since_retrain: int | None = None  # accepted batches since the last retrain
    change_seq: int | None = None  # the batch that opened the change being gathered
    change_triggers: tuple[str, ...] = ()

    def start(self, baseline: float | None) -> None:
        """Reset for a (re-)bootstrapped model."""
        self.__init__()  # type: ignore[misc]  # a dataclass reset to its defaults
        self.baseline = baseline

    def evaluate(
        self,
        monitors: tuple[Any, ...],
        performance: float | None,
        *,
        drop: float,
        cooldown: int,
        scheduled: bool,
        upper: float | None = None,
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The triggers that fire on this batch, and those that held but were held back.

        ``upper`` is an upper confidence bound of the batch's score (accuracy:
        Wilson, 99 %); when given, the performance trigger needs it, not just the
        score, below ``baseline - drop``, so a small batch's noise does not fire it.
        A trigger is held back by the hysteresis (a disarmed monitor) or the cooldown.
        """
        held = [f"drift:{m.name}" for m in monitors if m.drift]
        bound = performance if upper is None else upper
        if (
            bound is not None
            and self.baseline is not None
            and bound < self.baseline - drop
        ):
            held.append("performance")
        if scheduled:
            held.append("schedule")
        cooling = self.since_retrain is not None and self.since_retrain < cooldown
        fired = tuple(
            t
            for t in held
            if not cooling and not (t.startswith("drift:") and t[6:] in self.disarmed)
        )
        return fired, tuple(t for t in held if t not in fired)

    def record(self, event: Any, *, baseline_rows: int, cooldown: int) -> None:
        """Update from one event of the loop (live, or when rebuilding from the store)."""
        if event.kind != "observe" or event.decision == "quarantined":
            return
        if self.since_retrain is not None:
            if self.since_retrain < cooldown:
                # Drift seen while the last retrain cools down is the change that
                # retrain answered: those monitors are disarmed too.
                self.disarmed |= {m.name for m in event.monitors if m.drift}
            self.since_retrain += 1
        for m in event.monitors:
            if not m.drift:
                self.disarmed.discard(m.name)
        if event.decision == "waiting-for-labels" and self.change_seq is None:
            self.change_seq = event.change_seq
            self.change_triggers = event.triggers
        elif event.decision in _RETRAINS:
            self.since_retrain = 0
            self.disarmed |= {
                t.removeprefix("drift:")
                for t in event.triggers
                if t.startswith("drift:")
            }
            self.change_seq, self.change_triggers = None, ()
            if event.decision == "promoted":
                self.baseline = event.candidate_score
                self.baseline_final = True
        elif (
            event.decision == "no-change"
            and event.performance is not None
            and not event.suppressed
            and not self.baseline_final
        ):
            self._pool(event.performance, event.rows, baseline_rows)

    def _pool(self, score: float, rows: int, needed: int) -> None:
        self.baseline_sum += score * rows
        self.baseline_rows += rows
        if self.baseline_rows >= needed:
            self.baseline = self.baseline_sum / self.baseline_rows
            self.baseline_final = True
