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

import contextlib
import datetime as _dt
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from mlopskit.errors import (
    InvalidParameterError,
    LoopError,
    PromotionRefusedError,
)
from mlopskit.loop import _config, _ops
from mlopskit.loop._events import LoopEvent, events_frame
from mlopskit.loop._gates import HoldoutGate, RolloutCheck
from mlopskit.loop._journal import Claim, Journal, is_live
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
        executor: Any = "sequential",
        hooks: Iterable[Any] = (),
        lease: float = 3600.0,
        checkpoint_every: int = 100,
        new_epoch: bool = False,
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
        self.executor = executor
        self.hooks = _ops.as_hooks(hooks)
        self.lease = lease
        self.checkpoint_every = checkpoint_every
        self.new_epoch = new_epoch
        self._check_params()
        self._events = Storage(
            self.store.fs, self.store.root, self.store.url, error=LoopError
        )
        self._journal = Journal(self._events, model_name, lease=lease)
        self._state: _State | None = None
        self._config_checked = False
        #: Hook failures of this object's calls: (seq, hook, error) — never raised.
        self.hook_errors: list[tuple[int, str, str]] = []

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
        if not self.lease > 0:
            raise InvalidParameterError(
                f"`lease` must be a positive number of seconds. Got {self.lease!r}."
            )
        if int(self.checkpoint_every) < 1:
            raise InvalidParameterError(
                "`checkpoint_every` must be a positive int. "
                f"Got {self.checkpoint_every!r}."
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
        self._check_config(bootstrapping=True)
        _, claim = self._begin("bootstrap", None)
        try:
            event = self._bootstrap(data, schema, claim)
            self._write(event)
        except BaseException:
            self._state = None
            raise
        finally:
            self._journal.end(claim)
        self._state = None  # rebuilt from the store on next use
        self._after(event)
        return event

    def _bootstrap(self, data: pd.DataFrame, schema: Schema, claim: Claim) -> LoopEvent:
        schema_digest = self.store.put_bytes(schema.to_json().encode())
        version = snapshot(
            data, self.store, name=self._dataset_name, meta={"kind": "bootstrap"}
        )
        run = self._train(data).raise_for_status()
        model = run.outputs[self.model_step]
        metrics = self._metrics(run)
        mv = self._journal.register(
            self.registry,
            self.model_name,
            model,
            metrics=metrics,
            input_schema=schema,
            lineage={"datasets": {"training": version.digest}, "run_id": run.run_id},
            tags={"trigger": "bootstrap"},
        )
        event = LoopEvent(
            seq=claim.seq,
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
        self._journal.move(
            self.registry,
            self.model_name,
            mv.version,
            alias=self.alias,
            prepared=event,
            reason="loop bootstrap",
        )
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
        features, _ = self._split(batch, labels=labels)
        key = fingerprint(features)
        self._check_config()
        done = self._decided(key)
        if done is not None:
            return done  # the same batch twice: one decision
        state, claim = self._begin("observe", key)
        try:
            self._journal.index_batch(key, claim.seq)
            event = self._observe(state, batch, labels)
        except BaseException:
            # Interrupted before its event was written: forget what this call did in
            # memory, so the next call rebuilds the state from the store alone.
            self._state = None
            raise
        finally:
            self._journal.end(claim)
        self._after(event)
        return event

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

    def history(
        self, *, start: int | None = None, limit: int | None = None
    ) -> pd.DataFrame:
        """The loop's events, one row each, rebuilt from the store.

        Parameters
        ----------
        start
            The first sequence number to include (default: the first).
        limit
            At most this many events (default: all from ``start``). With both, a
            page is read without listing every event: ``history(start=101,
            limit=50)`` reads 50 records.
        """
        return events_frame(list(self.events(start=start, limit=limit)))

    def events(
        self, *, start: int | None = None, limit: int | None = None
    ) -> tuple[LoopEvent, ...]:
        """The loop's :class:`LoopEvent` records, in order, read from the store.

        See :meth:`history` for ``start`` and ``limit``.
        """
        self._reconcile_open()
        if start is None and limit is None:
            return self._journal.all_events()
        return self._journal.page(1 if start is None else int(start), limit)

    # -- operations ------------------------------------------------------------------

    def rollback(self, *, to: int, reason: str) -> LoopEvent:
        """Move the alias back to version ``to`` and record why.

        The move is an audited compare-and-swap in the registry (its reason is
        ``reason``); the event is ``"rolled-back"``. From then on the monitors
        compare batches with ``to``'s training data and its recorded score is the
        performance baseline; labelled batches gathered since stay for the next
        retrain.

        Raises
        ------
        RegistryLookupError
            ``to`` is not a version of the loop's model.
        LoopError
            ``to`` was not trained by a loop (no training dataset in its lineage).
        LoopBusyError
            Another worker is making a decision.
        """
        return _ops.rollback(self, to, reason)

    def approve(self, seq: int, *, reason: str | None = None) -> LoopEvent:
        """Promote the candidate of the ``"pending_approval"`` decision ``seq``.

        Raises
        ------
        LoopError
            ``seq`` is not awaiting approval (never was, or a later promotion or
            rollback superseded it).
        """
        return _ops.approve(self, seq, reason)

    def status(self) -> _ops.LoopStatus:
        """Where the loop stands: last decision, production in the events and in
        the registry, work in flight, decisions awaiting approval."""
        return _ops.status(self)

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
        mv = self._journal.register(
            self.registry,
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
        promoted = {
            **record,
            "decision": "promoted",
            "reasons": (trained, f"promoted v{mv.version} to {self.alias!r}"),
        }
        try:
            promotion = self._journal.move(
                self.registry,
                self.model_name,
                mv.version,
                alias=self.alias,
                gates=gates,
                reason=f"loop: {', '.join(base['triggers'])}",
                prepared=LoopEvent(**promoted, production_version=mv.version),
            )
        except PromotionRefusedError as exc:
            outcomes = _all_outcomes(gates, exc)
            if _ops.awaits_approval(outcomes):
                return self._finish(state, _ops.pending(record, outcomes, trained))
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
            inputs={self.data_input: data},
            targets=targets,
            cache=self.store,
            executor=self.executor,
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
        if event.decision == "pending_approval":
            state.await_approval(event)
        return event

    # -- persistence: claims, events, checkpoints, reconciliation --------------------

    def _write(self, event: LoopEvent) -> None:
        try:
            self._journal.write_event(event)
        except FileExistsError:
            self._state = None
            raise LoopError(
                f"Decision #{event.seq} of the loop for {self.model_name!r} was "
                "recorded by another worker that took this worker's claim over (its "
                "lease expired). This call's decision was not recorded; check "
                "loop.history() and loop.status().",
                seq=event.seq,
            ) from None

    def _after(self, event: LoopEvent) -> None:
        """After an event is stored: a checkpoint now and then, then the hooks."""
        state = self._state
        if (
            state is not None
            and state.seq == event.seq
            and event.seq % int(self.checkpoint_every) == 0
        ):
            self._journal.write_checkpoint(event.seq, state.to_dict())
        _ops.run_hooks(self, event)

    def _begin(self, kind: str, key: str | None) -> tuple[_State, Claim]:
        """Claim the next decision number; the state is folded up to the one before."""
        for _ in range(1000):
            state = self._load_state(allow_empty=kind == "bootstrap")
            seq = state.seq + 1
            try:
                return state, self._journal.claim(seq, kind, key)
            except FileExistsError:
                pass
            self._state = None
            if self._journal.event(seq) is not None:
                continue  # another worker decided #seq meanwhile: catch up
            attempts = self._journal.attempts(seq)
            last = attempts[-1] if attempts else None
            if last is not None and is_live(last):
                raise self._journal.busy_error(last)
            if last is not None and self._reconcile(seq):
                continue
            attempt = (last.attempt if last is not None else 0) + 1
            if last is not None and last.released:
                attempt = last.attempt + 1
            try:
                claim = self._journal.claim(seq, kind, key, attempt=attempt)
            except FileExistsError:
                continue
            return self._load_state(allow_empty=kind == "bootstrap"), claim
        raise LoopError(  # pragma: no cover - needs a thousand lost races in a row
            f"Could not claim a decision number for {self.model_name!r}."
        )

    def _decided(self, key: str) -> LoopEvent | None:
        """The event that already observed the batch with ``key`` (since bootstrap)."""
        state = self._load_state()
        for seq in reversed(self._journal.batch_numbers(key)):
            if seq <= state.bootstrap_seq:
                break
            event = self._journal.event(seq)
            if event is None:
                attempts = self._journal.attempts(seq)
                if attempts and is_live(attempts[-1]):
                    raise self._journal.busy_error(attempts[-1])
                continue
            if event.batch_digest == key and event.decision != "interrupted":
                return event
        return None

    def _reconcile(self, seq: int) -> bool:
        """Close a dead claim on ``seq`` whose worker changed the registry.

        Returns whether an event was written for ``seq``.
        """
        return _ops.reconcile(self, seq)

    def _reconcile_open(self) -> None:
        if self._state is None:
            self._load_state(allow_empty=True)

    def _check_config(self, *, bootstrapping: bool = False) -> None:
        """Compare the loop's definition with the stored one (once per object)."""
        if self._config_checked:
            return
        epoch, stored = _config.read_config(self._journal)
        current = _config.definition(self)
        if stored is None:
            if bootstrapping or self._journal.event_numbers():
                with contextlib.suppress(FileExistsError):
                    _config.write_config(self._journal, 1, current)
                self._config_checked = True
            return
        diffs = _config.differences(stored, current)
        if diffs and not self.new_epoch:
            raise _config.mismatch_error(self.model_name, diffs)
        if diffs:
            _ops.start_epoch(self, epoch + 1, current, diffs)
        self._config_checked = True

    def _load_state(self, *, allow_empty: bool = False) -> _State:
        if self._state is not None:
            return self._state
        state = self._rebuild()
        while self._reconcile(state.seq + 1):
            state = self._rebuild()
        if state.reference is None and not allow_empty:
            raise LoopError(
                f"The loop for {self.model_name!r} has not been bootstrapped in "
                f"{self.store.url!r}. Call loop.bootstrap(training_data) first."
            )
        state.finish(self)
        if state.reference is not None:
            self._state = state
        return state

    def _rebuild(self) -> _State:
        """The state folded from the newest checkpoint and the events after it."""
        numbers = self._journal.checkpoint_numbers()
        for seq in reversed(numbers):
            saved = self._journal.checkpoint(seq)
            if saved is not None:
                state = _State.from_dict(saved)
                for event in self._journal.events_after(seq):
                    state.fold(event)
                return state
        state = _State()
        for event in self._journal.all_events():
            state.fold(event)
        return state


class _State:
    """What the loop knows between calls, folded from its events.

    The plain fields (not starting with ``_``, JSON values) are the checkpoint:
    :meth:`to_dict` and :meth:`from_dict` round-trip them, so a field added here is
    checkpointed without further code (tests check checkpoint == full fold).
    """

    def __init__(self) -> None:
        self.seq = 0
        self.bootstrap_seq = 0  # the last bootstrap (idempotency is scoped to it)
        self.reference: str | None = None  # training data of the production model
        self.schema_digest: str | None = None
        self.production: int | None = None
        self.baseline: float | None = None  # production's score at promotion
        self.pending: list[str] = []  # labelled batches since the last promotion
        self.accepted = 0
        self.awaiting: dict[str, Any] = {}  # seq → pending_approval event fields
        self.schema: Any = None
        self.monitors: FittedMonitors
        self._model: tuple[int, Any] | None = None

    _DERIVED = ("schema", "monitors")

    def to_dict(self) -> dict[str, Any]:
        """The folded fields, as JSON values (a checkpoint)."""
        return {
            k: v
            for k, v in vars(self).items()
            if not k.startswith("_") and k not in self._DERIVED
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _State:
        state = cls()
        for key, value in data.items():
            setattr(state, key, value)
        return state

    @classmethod
    def from_events(
        cls, loop: ContinuousTraining, events: Iterable[LoopEvent]
    ) -> _State:
        state = cls()
        for event in events:
            state.fold(event)
        state.finish(loop)
        return state

    def fold(self, event: LoopEvent) -> None:
        """Apply one event."""
        self.seq = max(self.seq, event.seq)
        if event.decision == "interrupted":
            return  # the batch was not counted; the registry changes are named
        if event.decision == "bootstrapped":
            self.bootstrap_seq = event.seq
            self.reference = event.dataset_digest
            self.schema_digest = event.schema_digest
            self.production = event.production_version
            # Production's score at promotion: the pipeline's own metric, if
            # it reports one under the loop's metric name.
            self.baseline, self.pending, self.accepted = event.candidate_score, [], 0
            self.awaiting = {}
        elif event.kind == "observe" and event.decision != "quarantined":
            self.accepted += 1
            if event.labelled_digest is not None:
                self.pending.append(event.labelled_digest)
            if event.decision == "promoted":
                self.promote(
                    event.dataset_digest, event.candidate_version, event.candidate_score
                )
            elif event.decision == "pending_approval":
                self.await_approval(event)
        elif event.kind in ("approval", "rollback"):
            _ops.fold(self, event)

    def await_approval(self, event: LoopEvent) -> None:
        """Remember a candidate that waits for ``loop.approve(event.seq)``."""
        self.awaiting[str(event.seq)] = {
            "version": event.candidate_version,
            "reference": event.dataset_digest,
            "score": event.candidate_score,
        }

    def finish(self, loop: ContinuousTraining) -> None:
        """Load what the fields name: the schema, and the monitors fitted on it."""
        if self.reference is None or self.schema is not None:
            return
        assert self.schema_digest is not None
        self.schema = Schema.from_json(loop.store.get_bytes(self.schema_digest))
        self.monitors = FittedMonitors(loop.monitors)
        self.refit(loop)

    def promote(self, reference: Any, version: Any, score: float | None) -> None:
        """Record a promotion: new reference data, production version and baseline."""
        self.reference, self.production, self.baseline = reference, version, score
        self.pending = []
        self.awaiting = {}

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
