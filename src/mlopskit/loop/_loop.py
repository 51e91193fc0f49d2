"""The level-2 loop: :class:`ContinuousTraining` composes the six blocks.

``bootstrap(data)`` versions the training data, infers (or checks) the schema, runs the
training pipeline, registers version 1 and promotes it. ``observe(batch, labels=...)``
validates each production batch (a bad batch is quarantined, never trained on), runs
the drift monitors and, when a trigger fires, retrains on the labelled rows gathered
so far, registers the candidate, runs the gates against production (the rollout
simulation among them) and moves the alias only if every gate passes.

The loop keeps no state that is not in the store: every decision is a create-only
:class:`LoopEvent`, and a new loop object on the same store (after a crash, say)
rebuilds its state from those events and carries on.

What does *not* belong here: the event records (``_events.py``), the monitors
(``_monitors.py``) and the loop's own gates (``_gates.py``).
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from mlopskit.errors import (
    InvalidParameterError,
    LoopError,
    PromotionRefusedError,
)
from mlopskit.loop._events import LoopEvent, encode_event, events_frame
from mlopskit.loop._gates import HoldoutGate, RolloutCheck
from mlopskit.loop._monitors import FittedMonitors, as_monitors
from mlopskit.registry import GateOutcome, ModelRegistry
from mlopskit.schema import Schema
from mlopskit.versioning import ContentStore, fingerprint, snapshot
from mlopskit.versioning._records import Storage

__all__ = ["ContinuousTraining"]


#: Ranges the loop infers are widened by half their observed span: production batches
#: are checked against them, and a few hundred training rows rarely show the extremes.
_INFER_TOLERANCE = 0.5


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


class ContinuousTraining:
    """Continuous training and delivery of one model, inside your own code.

    Parameters
    ----------
    pipeline
        A :class:`mlopskit.pipeline.Pipeline` that takes the training DataFrame as
        its input ``data_input`` and has a step ``model_step`` returning a fitted
        model (with ``predict``; ``predict_proba`` for probability monitors) and,
        optionally, a step ``metrics_step`` returning a dict of numbers.
    registry
        The :class:`mlopskit.registry.ModelRegistry` (or its URL).
    model_name
        The registered model's name.
    monitors
        Drift monitors: :class:`Monitor` objects, or a mapping ``{signal: detector}``
        with signals ``"features"``, ``"probabilities"``, ``"predictions"``,
        ``"labels"``.
    gates
        Promotion gates: registry gates (callables ``gate(candidate, current)``,
        e.g. :func:`mlopskit.registry.metric_not_worse`) and :class:`HoldoutGate`.
    rollout
        A :class:`RolloutCheck` simulated before promotion, or ``None``.
    store
        The :class:`mlopskit.versioning.ContentStore` (or its URL) that keeps the
        data, the pipeline cache and the loop's events; default: the registry's.
    target
        The label column of the training data.
    schema
        The schema production batches must satisfy. When ``None`` it is inferred
        from the bootstrap data's features with ranges widened by half their
        observed span; pass a reviewed schema (infer, then edit) for tighter checks.
    metric
        A scikit-learn scorer name (``"accuracy"``, ``"roc_auc"``, ``"neg_log_loss"``
        …): higher is better.
    performance_drop
        Retrain when production's score on a labelled batch falls this far below
        its score at promotion.
    retrain_every
        Also retrain every this many accepted batches (a schedule), or ``None``.
    holdout_fraction
        Share of the newest labelled rows held out of retraining to compare the
        candidate with production.
    training_window
        Train on at most this many most recent rows (``None``: all).
    alias
        The alias the loop promotes (``"production"``).
    data_input, model_step, metrics_step
        Names of the pipeline's data input and of its model and metrics steps.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from mlopskit.drift import TabularDrift
    >>> from mlopskit.loop import ContinuousTraining, HoldoutGate
    >>> from mlopskit.pipeline import Pipeline
    >>> def model(data):
    ...     X, y = data.drop(columns="target"), data["target"]
    ...     return LogisticRegression(max_iter=500).fit(X, y)
    >>> frame = load_iris(as_frame=True).frame.sample(frac=1, random_state=0)
    >>> loop = ContinuousTraining(
    ...     Pipeline([model]), registry="memory://doc-loop/registry",
    ...     model_name="iris", monitors={"features": TabularDrift()},
    ...     gates=[HoldoutGate()], store="memory://doc-loop/store")
    >>> loop.bootstrap(frame.iloc[:100]).decision
    'bootstrapped'
    >>> batch = frame.iloc[100:].drop(columns="target")
    >>> loop.observe(batch, labels=frame.iloc[100:]["target"]).decision
    'no-change'
    """

    def __init__(
        self,
        pipeline: Any,
        *,
        registry: ModelRegistry | str,
        model_name: str,
        monitors: Any,
        gates: Iterable[Any],
        rollout: RolloutCheck | None = None,
        store: ContentStore | str | None = None,
        target: str = "target",
        schema: Schema | None = None,
        metric: str = "accuracy",
        performance_drop: float = 0.05,
        retrain_every: int | None = None,
        holdout_fraction: float = 0.3,
        training_window: int | None = None,
        alias: str = "production",
        data_input: str = "data",
        model_step: str = "model",
        metrics_step: str = "metrics",
    ) -> None:
        self.pipeline = pipeline
        self.registry = (
            registry if isinstance(registry, ModelRegistry) else ModelRegistry(registry)
        )
        if store is None:
            store = self.registry.store
        self.store = store if isinstance(store, ContentStore) else ContentStore(store)
        self.model_name = model_name
        self.monitors = as_monitors(monitors)
        self.gates = tuple(gates)
        self.rollout = rollout
        self.target = target
        self.schema = schema
        self.metric = metric
        self.performance_drop = performance_drop
        self.retrain_every = retrain_every
        self.holdout_fraction = holdout_fraction
        self.training_window = training_window
        self.alias = alias
        self.data_input = data_input
        self.model_step = model_step
        self.metrics_step = metrics_step
        self._check_params()
        self._events = Storage(
            self.store.fs, self.store.root, self.store.url, error=LoopError
        )
        self._state: _State | None = None

    def __repr__(self) -> str:
        return (
            f"ContinuousTraining(model_name={self.model_name!r}, "
            f"registry={self.registry.url!r}, store={self.store.url!r})"
        )

    def _check_params(self) -> None:
        if not 0.0 < self.holdout_fraction < 1.0:
            raise InvalidParameterError(
                "`holdout_fraction` must be in (0, 1). "
                f"Got {self.holdout_fraction!r} instead."
            )
        if self.retrain_every is not None and self.retrain_every < 1:
            raise InvalidParameterError(
                f"`retrain_every` must be a positive int or None. Got {self.retrain_every!r}."
            )
        if self.training_window is not None and self.training_window < 1:
            raise InvalidParameterError(
                "`training_window` must be a positive int or None. "
                f"Got {self.training_window!r}."
            )
        for gate in self.gates:
            if not (callable(gate) or isinstance(gate, HoldoutGate)):
                raise InvalidParameterError(
                    "Each gate must be a HoldoutGate or a callable "
                    f"gate(candidate, current). Got {type(gate).__name__}."
                )

    # -- the two entry points --------------------------------------------------------

    def bootstrap(self, data: pd.DataFrame) -> LoopEvent:
        """Version ``data``, fix the schema, train, register and promote version 1.

        Calling it again (with the same or new data) trains and promotes a fresh
        version from that data; unchanged pipeline steps come from the cache.

        Raises
        ------
        SchemaValidationError
            The data does not satisfy the ``schema`` given to the loop.
        StepFailedError
            The training pipeline failed; nothing was registered.
        """
        features, _ = self._split(data, require_labels=True)
        schema = (
            self.schema
            if self.schema is not None
            else Schema.infer(features, tolerance=_INFER_TOLERANCE)
        )
        if self.schema is not None:
            schema.validate(features).raise_for_errors()
        schema_digest = self.store.put_bytes(schema.to_json().encode())
        version = snapshot(
            data, self.store, name=self._dataset_name, meta={"kind": "bootstrap"}
        )
        run = self._train(data).raise_for_status()
        model = run.outputs[self.model_step]
        metrics = self._metrics(run)
        mv = self.registry.register(
            self.model_name,
            model,
            metrics=metrics,
            input_schema=schema,
            lineage={"datasets": {"training": version.digest}, "run_id": run.run_id},
            tags={"trigger": "bootstrap"},
        )
        self.registry.promote(
            self.model_name, mv.version, alias=self.alias, reason="loop bootstrap"
        )
        state = self._load_state(allow_empty=True)
        event = LoopEvent(
            seq=state.seq + 1,
            kind="bootstrap",
            decision="bootstrapped",
            created_at=_now(),
            model_name=self.model_name,
            batch_digest=version.digest,
            rows=len(data),
            schema_digest=schema_digest,
            dataset_digest=version.digest,
            dataset_version=version.version,
            run_id=run.run_id,
            **_step_counts(run),
            candidate_version=mv.version,
            candidate_score=metrics.get(self.metric),
            production_version=mv.version,
            reasons=(
                f"trained v{mv.version} on {len(data)} rows "
                f"(dataset {self._dataset_name} v{version.version})",
                f"promoted v{mv.version} to {self.alias!r}",
            ),
        )
        self._write(event)
        self._state = None  # rebuilt from the store on next use
        return event

    def observe(self, batch: pd.DataFrame, *, labels: Any = None) -> LoopEvent:
        """Validate, monitor and, when a trigger fires, retrain and maybe promote.

        Parameters
        ----------
        batch
            Production features (the label column is dropped if present and
            ``labels`` is not given, it is used as the labels).
        labels
            The batch's true labels, if they are known (they may arrive later:
            pass them with a later batch instead).

        Returns
        -------
        LoopEvent
            What was decided, and why.
        """
        state = self._load_state()
        try:
            return self._observe(state, batch, labels)
        except BaseException:
            # Interrupted before its event was written: forget what this call did in
            # memory, so the next call rebuilds the state from the store alone.
            self._state = None
            raise

    def _observe(self, state: _State, batch: pd.DataFrame, labels: Any) -> LoopEvent:
        features, labels = self._split(batch, labels=labels)
        base = {
            "seq": state.seq + 1,
            "kind": "observe",
            "created_at": _now(),
            "model_name": self.model_name,
            "batch_digest": fingerprint(features),
            "rows": len(features),
        }
        report = state.schema.validate(features)
        if not report.ok:
            return self._quarantine(batch, report, base, state)
        model = state.model(self)
        monitors = state.monitors.detect(features, labels, model)
        performance = None
        labelled_digest = None
        if labels is not None:
            performance = self._score(model, features, labels)
            labelled = features.assign(**{self.target: np.asarray(labels)})
            labelled_digest = self.store.put(labelled)
            state.pending.append(labelled_digest)
        state.accepted += 1
        triggers = self._triggers(monitors, performance, state)
        base.update(
            monitors=monitors, performance=performance, labelled_digest=labelled_digest
        )
        if not triggers:
            reasons = (
                ("no monitor drifted", "performance held")
                if labels is not None
                else ("no monitor drifted",)
            )
            return self._finish(
                state, {**base, "decision": "no-change", "reasons": reasons}
            )
        if not state.pending:
            return self._finish(
                state,
                {
                    **base,
                    "decision": "waiting-for-labels",
                    "triggers": triggers,
                    "reasons": ("triggered, but no labelled rows yet to retrain on",),
                },
            )
        return self._retrain(state, base, triggers)

    def history(self) -> pd.DataFrame:
        """Every event of this loop, one row each, rebuilt from the store."""
        return events_frame(list(self.events()))

    def events(self) -> tuple[LoopEvent, ...]:
        """Every :class:`LoopEvent` of this loop, in order, read from the store."""
        folder = ("loop", self.model_name, "events")
        names = sorted(self._events.list(*folder))
        blobs = self._events.read_many(folder, names)
        return tuple(
            LoopEvent.model_validate_json(blobs[n]) for n in names if n in blobs
        )

    # -- steps of observe ------------------------------------------------------------

    def _quarantine(
        self, batch: pd.DataFrame, report: Any, base: dict[str, Any], state: _State
    ) -> LoopEvent:
        digest = self.store.put(batch)
        failures = report.failures
        shown = sorted(
            {
                f"{c}: {k}"
                for c, k in zip(failures["column"], failures["check"], strict=True)
            }
        )
        reasons = (
            f"{len(failures)} validation failure(s): "
            + ", ".join(shown[:5])
            + (" …" if len(shown) > 5 else ""),
            f"batch kept in quarantine as {digest[:24]}…; not used for training",
        )
        return self._finish(
            state,
            {
                **base,
                "decision": "quarantined",
                "validation_failures": len(failures),
                "quarantine_digest": digest,
                "reasons": reasons,
            },
        )

    def _triggers(
        self, monitors: tuple[Any, ...], performance: float | None, state: _State
    ) -> tuple[str, ...]:
        triggers = [f"drift:{m.name}" for m in monitors if m.drift]
        if (
            performance is not None
            and state.baseline is not None
            and performance < state.baseline - self.performance_drop
        ):
            triggers.append("performance")
        if self.retrain_every is not None and state.accepted % self.retrain_every == 0:
            triggers.append("schedule")
        return tuple(triggers)

    def _retrain(
        self, state: _State, base: dict[str, Any], triggers: tuple[str, ...]
    ) -> LoopEvent:
        base = {**base, "triggers": triggers}
        pool = pd.concat([self.store.get(d) for d in state.pending], ignore_index=True)
        n_hold = max(1, round(len(pool) * self.holdout_fraction))
        holdout, fresh = (
            pool.iloc[len(pool) - n_hold :],
            pool.iloc[: len(pool) - n_hold],
        )
        reference = self.store.get(str(state.reference))
        training = pd.concat([reference, fresh], ignore_index=True)
        if self.training_window is not None:
            training = training.iloc[-self.training_window :].reset_index(drop=True)
        try:
            version = snapshot(
                training,
                self.store,
                name=self._dataset_name,
                meta={"kind": "retrain", "triggers": list(triggers)},
            )
            run = self._train(training)
            if not run.ok:
                failed = ", ".join(run.failed)
                step = run.steps[run.failed[0]]
                return self._finish(
                    state,
                    {
                        **base,
                        "decision": "failed",
                        "run_id": run.run_id,
                        "dataset_digest": version.digest,
                        **_step_counts(run),
                        "reasons": (
                            f"retraining failed in step {failed}: "
                            f"{step.error_type}: {step.error_message}",
                            "production unchanged",
                        ),
                    },
                )
            return self._register_and_gate(state, base, run, version, holdout)
        except Exception as exc:  # an unexpected failure must never touch production
            return self._finish(
                state,
                {
                    **base,
                    "decision": "failed",
                    "reasons": (
                        f"retraining failed: {type(exc).__name__}: {exc}",
                        "production unchanged",
                    ),
                },
            )

    def _register_and_gate(
        self,
        state: _State,
        base: dict[str, Any],
        run: Any,
        version: Any,
        holdout: pd.DataFrame,
    ) -> LoopEvent:
        candidate = run.outputs[self.model_step]
        production = state.model(self)
        x_hold, y_hold = self._split(holdout, require_labels=True)
        cand_score = self._score(candidate, x_hold, y_hold)
        prod_score = self._score(production, x_hold, y_hold)
        metrics = {**self._metrics(run), f"holdout_{self.metric}": cand_score}
        mv = self.registry.register(
            self.model_name,
            candidate,
            metrics=metrics,
            input_schema=state.schema,
            lineage={"datasets": {"training": version.digest}, "run_id": run.run_id},
            tags={"trigger": ",".join(base["triggers"])},
        )
        gates: list[Any] = []
        for gate in self.gates:
            outcome = (
                gate.outcome(candidate=cand_score, production=prod_score)
                if isinstance(gate, HoldoutGate)
                else None
            )
            gates.append(_fixed(outcome) if outcome is not None else gate)
        rollout: dict[str, float] = {}
        if self.rollout is not None:
            errors = (
                _error(candidate, x_hold, y_hold),
                _error(production, x_hold, y_hold),
            )
            outcome, rollout = self.rollout.outcome(
                candidate_error=errors[0], production_error=errors[1]
            )
            gates.append(_fixed(outcome))
        record = {
            **base,
            "dataset_digest": version.digest,
            "dataset_version": version.version,
            "run_id": run.run_id,
            **_step_counts(run),
            "candidate_version": mv.version,
            "candidate_score": cand_score,
            "production_score": prod_score,
            "rollout": rollout,
        }
        trained = (
            f"retrained on {version.rows} rows "
            f"({', '.join(base['triggers'])}); candidate v{mv.version} "
            f"scores {cand_score:.4f} vs production {prod_score:.4f} "
            f"on {len(holdout)} held-out rows"
        )
        try:
            promotion = self.registry.promote(
                self.model_name,
                mv.version,
                alias=self.alias,
                gates=gates,
                reason=f"loop: {', '.join(base['triggers'])}",
            )
        except PromotionRefusedError as exc:
            outcomes = _all_outcomes(gates, exc)
            return self._finish(
                state,
                {
                    **record,
                    "decision": "refused",
                    "gates": outcomes,
                    "reasons": (
                        trained,
                        *(
                            f"gate {o.gate} failed: {o.reason}"
                            for o in outcomes
                            if not o.passed
                        ),
                        f"production stays v{state.production}",
                    ),
                },
            )
        state.promote(version.digest, mv.version, cand_score)
        state.refit(self)
        return self._finish(
            state,
            {
                **record,
                "decision": "promoted",
                "gates": promotion.gates,
                "reasons": (
                    trained,
                    f"all {len(gates)} gate(s) passed",
                    f"promoted v{mv.version} to {self.alias!r}",
                ),
            },
        )

    # -- helpers ---------------------------------------------------------------------

    @property
    def _dataset_name(self) -> str:
        return f"{self.model_name}-training"

    def _split(
        self, data: pd.DataFrame, *, labels: Any = None, require_labels: bool = False
    ) -> tuple[pd.DataFrame, Any]:
        if not isinstance(data, pd.DataFrame):
            raise InvalidParameterError(
                f"The loop takes pandas DataFrames. Got {type(data).__name__} instead."
            )
        if self.target in data.columns:
            if labels is None:
                labels = data[self.target].to_numpy()
            data = data.drop(columns=self.target)
        elif require_labels:
            raise InvalidParameterError(
                f"The training data has no label column {self.target!r} (columns: "
                f"{list(data.columns)[:10]}). Pass target= to the loop."
            )
        if labels is not None and len(labels) != len(data):
            raise InvalidParameterError(
                f"`labels` has {len(labels)} values for a batch of {len(data)} rows."
            )
        return data, labels

    def _train(self, data: pd.DataFrame) -> Any:
        steps = getattr(self.pipeline, "steps", {})
        targets = [t for t in (self.model_step, self.metrics_step) if t in steps]
        if self.model_step not in steps:
            raise InvalidParameterError(
                f"The training pipeline has no step {self.model_step!r} (steps: "
                f"{list(steps)}). Name the step that returns the model with model_step=."
            )
        return self.pipeline.run(
            inputs={self.data_input: data}, targets=targets, cache=self.store
        )

    def _metrics(self, run: Any) -> dict[str, float]:
        raw = run.outputs.get(self.metrics_step)
        if raw is None:
            return {}
        return {str(k): float(v) for k, v in dict(raw).items()}

    def _score(self, model: Any, features: pd.DataFrame, labels: Any) -> float:
        from sklearn.metrics import get_scorer

        return float(get_scorer(self.metric)(model, features, np.asarray(labels)))

    def _finish(self, state: _State, fields: dict[str, Any]) -> LoopEvent:
        event = LoopEvent(**{**fields, "production_version": state.production})
        self._write(event)
        state.seq = event.seq
        return event

    def _write(self, event: LoopEvent) -> None:
        name = f"{event.seq:08d}-{uuid.uuid4().hex[:8]}.json"
        self._events.create(
            encode_event(event), "loop", self.model_name, "events", name
        )

    def _load_state(self, *, allow_empty: bool = False) -> _State:
        if self._state is not None:
            return self._state
        state = _State.from_events(self, self.events())
        if state.reference is None and not allow_empty:
            raise LoopError(
                f"The loop for {self.model_name!r} has not been bootstrapped in "
                f"{self.store.url!r}. Call loop.bootstrap(training_data) first."
            )
        if state.reference is not None:
            self._state = state
        return state


class _State:
    """What the loop knows between calls, rebuilt from its events."""

    def __init__(self) -> None:
        self.seq = 0
        self.reference: str | None = None  # training data of the production model
        self.schema_digest: str | None = None
        self.schema: Any = None
        self.production: int | None = None
        self.baseline: float | None = None  # production's score at promotion
        self.pending: list[str] = []  # labelled batches since the last promotion
        self.accepted = 0
        self.monitors: FittedMonitors
        self._model: tuple[int, Any] | None = None

    @classmethod
    def from_events(
        cls, loop: ContinuousTraining, events: Iterable[LoopEvent]
    ) -> _State:
        state = cls()
        for event in events:
            state.seq = max(state.seq, event.seq)
            if event.decision == "bootstrapped":
                state.reference = event.dataset_digest
                state.schema_digest = event.schema_digest
                state.production = event.production_version
                # Production's score at promotion: the pipeline's own metric, if
                # it reports one under the loop's metric name.
                state.baseline, state.pending, state.accepted = (
                    event.candidate_score,
                    [],
                    0,
                )
            elif event.kind == "observe" and event.decision != "quarantined":
                state.accepted += 1
                if event.labelled_digest is not None:
                    state.pending.append(event.labelled_digest)
                if event.decision == "promoted":
                    state.promote(
                        event.dataset_digest,
                        event.candidate_version,
                        event.candidate_score,
                    )
        if state.reference is not None:
            assert state.schema_digest is not None
            state.schema = Schema.from_json(loop.store.get_bytes(state.schema_digest))
            state.monitors = FittedMonitors(loop.monitors)
            state.refit(loop)
        return state

    def promote(self, reference: Any, version: Any, score: float | None) -> None:
        """Record a promotion: new reference data, production version and baseline."""
        self.reference, self.production, self.baseline = reference, version, score
        self.pending = []

    def model(self, loop: ContinuousTraining) -> Any:
        """The model holding the loop's alias (loaded once per version)."""
        current = loop.registry.get_version(loop.model_name, alias=loop.alias).version
        if self._model is None or self._model[0] != current:
            self._model = (current, loop.registry.load(loop.model_name, current))
        self.production = current
        return self._model[1]

    def refit(self, loop: ContinuousTraining) -> None:
        """Fit the monitors on the production model's training data."""
        reference = loop.store.get(str(self.reference))
        features, labels = loop._split(reference, require_labels=True)
        self.monitors.fit(features, labels, self.model(loop))


def _step_counts(run: Any) -> dict[str, Any]:
    statuses = [s.status for s in run.steps.values()]
    return {
        "cached_steps": statuses.count("cached"),
        "ran_steps": statuses.count("ran"),
    }


def _error(model: Any, features: pd.DataFrame, labels: Any) -> float:
    return float(np.mean(np.asarray(model.predict(features)) != np.asarray(labels)))


def _fixed(outcome: GateOutcome) -> Callable[[Any, Any], GateOutcome]:
    def gate(candidate: Any, current: Any) -> GateOutcome:
        return outcome

    gate.__name__ = outcome.gate
    return gate


def _all_outcomes(
    gates: list[Any], exc: PromotionRefusedError
) -> tuple[GateOutcome, ...]:
    failures = tuple(getattr(exc, "failures", ()))
    failed = {f.gate for f in failures}
    passed = tuple(
        GateOutcome(
            gate=getattr(g, "__name__", type(g).__name__), passed=True, reason="passed"
        )
        for g in gates
        if getattr(g, "__name__", type(g).__name__) not in failed
    )
    return (*failures, *passed)
