"""The records the continuous-training loop writes: one :class:`LoopEvent` per call.

Every decision of the loop (quarantine a batch, leave production alone, retrain,
refuse or promote a candidate) is a frozen event with its reasons. Events are written
once, create-only, under ``<store>/loop/<model name>/events/``, so the loop's whole
history, and its state, can be rebuilt from the store alone.

What does *not* belong here: deciding anything (see ``_loop.py``).
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any, Literal

import pandas as pd
from pydantic import Field

from mlopskit._results import Result
from mlopskit.loop._compare import PairedComparison
from mlopskit.registry import GateOutcome

__all__ = ["Decision", "Kind", "LoopEvent", "MonitorOutcome"]

#: What the loop decided for one call.
Decision = Literal[
    "bootstrapped",  # the first model was trained, registered and promoted
    "quarantined",  # the batch failed schema validation; nothing else ran
    "no-change",  # no trigger fired
    "waiting-for-labels",  # a trigger fired, but no new labelled rows to train on
    "promoted",  # a candidate passed every gate and now holds the alias
    "refused",  # a candidate failed at least one gate; production unchanged
    "failed",  # retraining failed (a step raised …); production unchanged
    "pending_approval",  # every automatic gate passed; waiting for loop.approve(seq)
    "rolled-back",  # an operator moved the alias back (loop.rollback)
    "interrupted",  # the worker died mid-decision; a later worker recorded what it did
    "new-epoch",  # the loop's definition changed (new_epoch=True)
]

#: What started a decision.
Kind = Literal["bootstrap", "observe", "rollback", "approval", "epoch"]


class MonitorOutcome(Result):
    """What one drift monitor said about one batch.

    Examples
    --------
    >>> MonitorOutcome(name="features", on="features", drift=True, statistic=0.4,
    ...                p_value=0.001, method="tabular")  # doctest: +ELLIPSIS
    MonitorOutcome(name='features', on='features', drift=True, ...)
    """

    name: str
    on: str
    drift: bool
    statistic: float
    p_value: float | None = None
    method: str


class LoopEvent(Result):
    """One decision of :class:`~mlopskit.loop.ContinuousTraining`, with its reasons.

    Attributes
    ----------
    seq
        1, 2, 3 … in the order the loop made its decisions.
    kind
        ``"bootstrap"``, ``"observe"``, ``"rollback"``, ``"approval"`` or ``"epoch"``.
    decision
        See :data:`Decision`.
    batch_digest
        The fingerprint of the observed batch (the training data for a bootstrap).
    rows
        Rows in the batch.
    validation_failures
        Failing cells or rules in the batch's schema validation (0 when valid).
    quarantine_digest
        Where a quarantined batch is kept in the store (``store.get(digest)``).
    labelled_digest
        The batch with its labels, kept as training data for the next retrain.
    monitors
        What each drift monitor said.
    performance
        The production model's score on the labelled batch, if labels came.
    triggers
        Why a retrain started: ``"drift:<monitor>"``, ``"performance"``, ``"schedule"``
        (for ``"waiting-for-labels"``: the triggers of the change being gathered).
    suppressed
        Triggers that held on this batch but were held back (cooldown, or a drift
        monitor disarmed until it next reports no drift).
    change_seq
        The event that opened the change a retrain (or the wait for it) is about.
    baseline
        The performance baseline the batch was compared with.
    features_step
        (bootstrap) The pipeline step whose output the model takes; ``None``: the
        raw batch columns.
    dataset_digest, dataset_version
        The training data snapshot a retrain used.
    run_id
        The pipeline run that trained the candidate.
    candidate_version, candidate_score, production_score
        The registered candidate and both models' scores on the held-out rows.
    gates
        Each promotion gate's outcome (the rollout simulation is one of them).
    comparison
        The paired comparison of candidate and production on the held-out rows:
        n, the difference, its interval and the method.
    rollout
        A summary of the simulated rollout, if one ran.
    production_version
        The version holding the alias after this event.
    reasons
        The decision, in sentences.
    """

    seq: int
    kind: Kind
    decision: Decision
    created_at: _dt.datetime
    model_name: str
    batch_digest: str | None = None
    rows: int = 0
    validation_failures: int = 0
    quarantine_digest: str | None = None
    labelled_digest: str | None = None
    schema_digest: str | None = None
    monitors: tuple[MonitorOutcome, ...] = ()
    performance: float | None = None
    triggers: tuple[str, ...] = ()
    suppressed: tuple[str, ...] = ()
    change_seq: int | None = None
    baseline: float | None = None
    features_step: str | None = None
    dataset_digest: str | None = None
    dataset_version: int | None = None
    run_id: str | None = None
    cached_steps: int = 0
    ran_steps: int = 0
    candidate_version: int | None = None
    candidate_score: float | None = None
    production_score: float | None = None
    gates: tuple[GateOutcome, ...] = ()
    comparison: PairedComparison | None = None
    rollout: dict[str, float] = Field(default_factory=dict)
    production_version: int | None = None
    reasons: tuple[str, ...] = ()

    @property
    def drift(self) -> bool:
        """Whether any monitor saw drift."""
        return any(m.drift for m in self.monitors)

    def summary(self) -> str:
        """One readable line: what happened and why."""
        head = f"#{self.seq} {self.kind}: {self.decision}"
        why = "; ".join(self.reasons)
        return f"{head} — {why}" if why else head

    def row(self) -> dict[str, Any]:
        """The event as one flat row of :meth:`ContinuousTraining.history`."""
        return {
            "seq": self.seq,
            "created_at": self.created_at,
            "kind": self.kind,
            "decision": self.decision,
            "rows": self.rows,
            "batch_digest": self.batch_digest,
            "validation_failures": self.validation_failures,
            "drift": self.drift,
            "drifting_monitors": ",".join(m.name for m in self.monitors if m.drift),
            "performance": self.performance,
            "baseline": self.baseline,
            "triggers": ",".join(self.triggers),
            "dataset_digest": self.dataset_digest,
            "run_id": self.run_id,
            "cached_steps": self.cached_steps,
            "ran_steps": self.ran_steps,
            "candidate_version": self.candidate_version,
            "candidate_score": self.candidate_score,
            "production_score": self.production_score,
            "holdout_rows": None if self.comparison is None else self.comparison.n,
            "gain": None if self.comparison is None else self.comparison.difference,
            "gain_low": None if self.comparison is None else self.comparison.low,
            "gain_high": None if self.comparison is None else self.comparison.high,
            "suppressed": ",".join(self.suppressed),
            "gates_failed": ",".join(g.gate for g in self.gates if not g.passed),
            "production_version": self.production_version,
            "reasons": " ".join(self.reasons),
        }


def events_frame(events: list[LoopEvent]) -> pd.DataFrame:
    """The events as a DataFrame, one row each, in order."""
    columns = list(
        LoopEvent(
            seq=0,
            kind="observe",
            decision="no-change",
            created_at=_dt.datetime.now(_dt.timezone.utc),
            model_name="x",
        ).row()
    )
    frame = pd.DataFrame([e.row() for e in events], columns=columns)
    return frame.astype({"seq": "int64", "rows": "int64"})


def encode_event(event: LoopEvent) -> bytes:
    """The event as UTF-8 JSON bytes (what is written to the store)."""
    return json.dumps(json.loads(event.to_json()), sort_keys=True).encode()
