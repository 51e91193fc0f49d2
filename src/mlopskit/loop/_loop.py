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
import dataclasses
import datetime as _dt
import json
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from mlopskit.errors import (
    BatchError,
    InvalidParameterError,
    LoopError,
    PromotionRefusedError,
)
from mlopskit.loop import _config, _ops, _retention
from mlopskit.loop._compare import PairedComparison, paired_accuracy, paired_bootstrap
from mlopskit.loop._events import LoopEvent, events_frame
from mlopskit.loop._gates import HoldoutGate, RolloutCheck
from mlopskit.loop._inference import InferencePath, derive_path
from mlopskit.loop._journal import Claim, Journal, is_live
from mlopskit.loop._monitors import FittedMonitors, as_monitors
from mlopskit.loop._retention import RetentionPolicy, RetentionReport
from mlopskit.loop._triggers import TriggerState, wilson_upper
from mlopskit.loop._window import (
    DEFAULT_WINDOW,
    Part,
    check_window,
    describe_window,
    select,
)
from mlopskit.registry import GateOutcome, ModelRegistry
from mlopskit.schema import Schema
from mlopskit.versioning import ContentStore, fingerprint, snapshot
from mlopskit.versioning._records import Storage

__all__ = ["ContinuousTraining"]


#: ``observe`` is idempotent over the batches of the last this many decisions.
_KEYS = 1000


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
        from the bootstrap data's features with :meth:`Schema.infer`'s calibrated
        defaults (a clean batch fails with probability at most 1 %); pass a
        reviewed schema (infer, then edit) to state the columns' real limits.
    metric
        A scikit-learn scorer name (``"accuracy"``, ``"roc_auc"``, ``"neg_log_loss"``
        …): higher is better.
    performance_drop
        Retrain when production's score on a labelled batch falls this far below
        the baseline: its score measured on fresh labelled rows (see
        ``_triggers.py``).
    retrain_every
        Also retrain every this many accepted batches (a schedule), or ``None``.
    holdout_fraction
        Share of each labelled batch (its newest rows) held out of retraining, to
        compare the candidate with production on rows neither trained on.
    training_window
        The rows a retrain trains on: an int (the newest that many labelled rows;
        default 10,000), a :class:`datetime.timedelta` (rows that arrived within it),
        a function ``rows -> rows``, or ``"all"``/``None`` (unbounded).
    alias
        The alias the loop promotes (``"production"``).
    data_input, model_step, metrics_step
        Names of the pipeline's data input and of its model and metrics steps.
    features_step
        The step whose output the model takes (its label column dropped): monitors
        on predictions, scoring, gates and the rollout check run the batch through
        the steps up to it. ``None``: the raw batch columns. ``"auto"`` (default):
        derived at bootstrap (see ``_inference.py``), and the bootstrap refuses a
        pipeline whose model cannot score a slice of its own training data.
    min_holdout
        A triggered retrain waits until the held-out rows gathered since the
        trigger reach this many.
    cooldown
        Accepted batches after a retrain during which no trigger starts another.
    executor
        Passed to :meth:`Pipeline.run`: ``"sequential"``, ``"threads"``,
        ``"processes"``, a :class:`concurrent.futures.Executor` or a
        ``dask.distributed.Client`` (retraining on a cluster).
    hooks
        Called with every :class:`LoopEvent` once it is stored: callables,
        ``"package.module:function"`` names or entry points. A hook that raises is
        logged and kept in ``hook_errors``; the loop carries on.
    lease
        Seconds a worker's claim on a decision stays live without finishing (a
        worker that died on this host is detected at once). Keep it longer than
        the slowest ``observe``.
    checkpoint_every
        Checkpoint the folded state every this many events, so that a new loop
        object reads the newest checkpoint and the few events after it.
    new_epoch
        Accept a definition (pipeline, monitors, gates, rollout, window) that
        differs from the stored one: it is stored as a new epoch, with a
        ``"new-epoch"`` event. Without it a different definition raises
        :class:`~mlopskit.errors.LoopConfigError`.

    Notes
    -----
    Safe to run from a scheduler that kills it, and from several workers: each
    decision is claimed by number, every registry write is journaled, and a dead
    worker's decision is reconciled with the registry's audit log on the next open
    (see ``_journal.py`` and the "Operating a loop" section of the docs).

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
        training_window: Any = DEFAULT_WINDOW,
        alias: str = "production",
        data_input: str = "data",
        model_step: str = "model",
        metrics_step: str = "metrics",
        executor: Any = "sequential",
        hooks: Iterable[Any] = (),
        lease: float = 3600.0,
        checkpoint_every: int = 100,
        new_epoch: bool = False,
        features_step: str | None = "auto",
        min_holdout: int = 100,
        cooldown: int = 2,
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
        self.features_step = features_step
        self.min_holdout = min_holdout
        self.cooldown = cooldown
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
        check_window(self.training_window)
        for name, least in (("min_holdout", 1), ("cooldown", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise InvalidParameterError(
                    f"`{name}` must be an int >= {least}. Got {value!r} instead."
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
            if isinstance(gate, HoldoutGate) and gate.min_rows > self.min_holdout:
                raise InvalidParameterError(
                    f"`min_holdout` ({self.min_holdout}) is below the HoldoutGate's "
                    f"min_rows ({gate.min_rows}): every retrain would be refused. "
                    "Set min_holdout >= min_rows."
                )
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
        InferencePathError
            The trained model cannot score a slice of its own training data through
            the pipeline's feature steps (``features_step``); nothing was registered.
        """
        features, _ = self._split(data, require_labels=True)
        if len(features) == 0:
            raise BatchError(
                "The bootstrap data has no rows. Pass the labelled training data.",
                column=None,
            )
        # Schema.infer is calibrated: a clean batch of the training distribution fails
        # it with probability at most 1 % (see docs/schema.md).
        schema = self.schema if self.schema is not None else Schema.infer(features)
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
        path = derive_path(
            self.pipeline,
            model,
            data,
            score=self._score,
            features_step=None if self.features_step == "auto" else self.features_step,
            derive=self.features_step == "auto",
            model_step=self.model_step,
            data_input=self.data_input,
            target=self.target,
        )
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
            baseline=metrics.get(self.metric),
            features_step=path.features_step,
            production_version=mv.version,
            reasons=(
                f"trained v{mv.version} on {len(data)} rows "
                f"(dataset {self._dataset_name} v{version.version})",
                f"inference path: {path.describe()} (scores a slice of its "
                "training rows)",
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
        if len(features) == 0:  # refused (BatchError) before anything is written
            return self._observe(self._load_state(), batch, labels)
        key = fingerprint(features)
        self._check_config()
        done = self._decided(key)
        if done is not None:
            return done  # the same batch twice: one decision
        state, claim = self._begin("observe", key)
        seq = state.keys.get(key)
        if seq is not None:  # decided by another worker while this one caught up
            self._journal.release(claim)
            event = self._journal.event(int(seq))
            if event is not None:
                return event
            state, claim = self._begin("observe", key)
        try:
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
        if len(features) == 0:
            raise BatchError(
                "The batch has no rows; there is nothing to validate or monitor. "
                "Skip empty batches before calling observe.",
                column=None,
            )
        seq, now = state.seq + 1, _now()
        base: dict[str, Any] = {
            "seq": seq,
            "kind": "observe",
            "created_at": now,
            "model_name": self.model_name,
            "batch_digest": fingerprint(features),
            "rows": len(features),
        }
        problems = _batch_problems(state.schema, features, labels)
        report = state.schema.validate(features)
        if problems or not report.ok:
            return self._quarantine(batch, report, base, state, problems)
        model = state.model(self)
        try:
            model_input = self._path(state).transform(features)
            monitors, notes = state.monitors.detect(
                features, labels, model, model_input
            )
            performance = (
                None if labels is None else self._score(model, model_input, labels)
            )
        except Exception as exc:  # a batch the schema passed, but the model cannot take
            problem = (
                "the batch passed the schema, but the inference path, the model or a "
                f"monitor failed on it: {_brief(exc)}"
            )
            return self._quarantine(batch, report, base, state, (problem,))
        labelled_digest = None
        if labels is not None:
            labelled = features.assign(**{self.target: np.asarray(labels)})
            labelled_digest = self.store.put(labelled)
            state.pending.append(labelled_digest)
        state.accepted += 1
        scheduled = (
            self.retrain_every is not None and state.accepted % self.retrain_every == 0
        )
        fired, suppressed = state.triggers.evaluate(
            monitors,
            performance,
            drop=self.performance_drop,
            cooldown=self.cooldown,
            scheduled=scheduled,
            upper=(
                wilson_upper(performance, len(features))
                if performance is not None and self.metric == "accuracy"
                else None
            ),
        )
        base.update(
            monitors=monitors,
            performance=performance,
            labelled_digest=labelled_digest,
            suppressed=suppressed,
            baseline=state.triggers.baseline,
        )
        held = tuple(f"{t} held back ({self._why_held(t, state)})" for t in suppressed)
        if labelled_digest is not None:
            state.parts.append(Part(seq, labelled_digest, len(features), now))
        change = state.triggers.change_seq
        if change is None and not fired:
            reasons: tuple[str, ...] = (
                ("no monitor drifted", "performance held")
                if labels is not None
                else ("no monitor drifted",)
            )
            if suppressed:
                reasons = held
            return self._finish(
                state,
                {**base, "decision": "no-change", "reasons": (*reasons, *notes)},
            )
        triggers = fired if change is None else state.triggers.change_triggers
        change = seq if change is None else change
        base.update(triggers=triggers, change_seq=change)
        held_out = self._holdout_rows(state, change)
        if held_out < self.min_holdout:
            why = (
                f"triggered ({', '.join(triggers)}) at event #{change}; "
                f"{held_out} of the {self.min_holdout} held-out rows needed "
                "gathered since"
            )
            return self._finish(
                state,
                {
                    **base,
                    "decision": "waiting-for-labels",
                    "reasons": (why, *held, *notes),
                },
            )
        return self._retrain(state, base, triggers)

    def _why_held(self, trigger: str, state: _State) -> str:
        since = state.triggers.since_retrain
        if since is not None and since < self.cooldown:
            return (
                f"cooldown: batch {since + 1} of {self.cooldown} after the last retrain"
            )
        return "the monitor has not reported a clean batch since its last retrain"

    def _holdout_rows(self, state: _State, change: int) -> int:
        return sum(self._n_holdout(p.rows) for p in state.parts if p.seq >= change)

    def _n_holdout(self, rows: int) -> int:
        return round(rows * self.holdout_fraction)

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

    def retain(
        self,
        policy: RetentionPolicy | None = None,
        *,
        dry_run: bool = False,
        collect: bool = False,
        grace: float = 3600.0,
    ) -> RetentionReport:
        """Delete the loop's records beyond ``policy``; optionally collect garbage.

        Deletes the events older than both the newest ``keep_events`` and the newest
        checkpoint, with their claims and journal entries, and all but
        the newest ``keep_checkpoints`` checkpoints. The objects those records named
        (labelled and quarantined batches) are then rooted by nothing of the loop's;
        with ``collect=True`` the store's garbage collection runs
        (:meth:`ContentStore.gc` with ``grace``; it keeps whatever another block's
        records still name). See :class:`RetentionPolicy`.
        """
        return _retention.retain(
            self,
            policy or RetentionPolicy(),
            dry_run=dry_run,
            collect=collect,
            grace=grace,
        )

    def roots(self) -> frozenset[str]:
        """Digests of the stored objects this loop's state and records keep alive."""
        return frozenset(_retention.roots(self))

    def status(self) -> _ops.LoopStatus:
        """Where the loop stands: last decision, production in the events and in
        the registry, work in flight, decisions awaiting approval."""
        return _ops.status(self)

    # -- steps of observe ------------------------------------------------------------

    def _quarantine(
        self,
        batch: pd.DataFrame,
        report: Any,
        base: dict[str, Any],
        state: _State,
        problems: tuple[str, ...] = (),
    ) -> LoopEvent:
        digest = self.store.put(batch)
        failures = report.failures
        shown = sorted(
            {
                f"{c}: {k}"
                for c, k in zip(failures["column"], failures["check"], strict=True)
            }
        )
        found = (
            (
                f"{len(failures)} validation failure(s): "
                + ", ".join(shown[:5])
                + (" …" if len(shown) > 5 else ""),
            )
            if len(failures)
            else ()
        )
        reasons = (
            *problems,
            *found,
            f"batch kept in quarantine as {digest[:24]}…; not used for training",
        )
        return self._finish(
            state,
            {
                **base,
                "decision": "quarantined",
                "validation_failures": len(failures) + len(problems),
                "quarantine_digest": digest,
                "reasons": reasons,
            },
        )

    def _retrain(
        self, state: _State, base: dict[str, Any], triggers: tuple[str, ...]
    ) -> LoopEvent:
        base = {**base, "triggers": triggers}
        change = base["change_seq"]
        holdout_parts = [p for p in state.parts if p.seq >= change]
        tails = [self._tail(p) for p in holdout_parts]
        holdout = pd.concat([t for t in tails if len(t)], ignore_index=True)
        held = {p.seq for p in holdout_parts}

        def load(part: Part) -> pd.DataFrame:
            frame = self.store.get(part.digest)
            if part.seq in held:
                frame = frame.iloc[: len(frame) - self._n_holdout(part.rows)]
            return frame

        try:
            training = select(
                self.training_window, state.parts, load, base["created_at"]
            )
            if len(training) == 0:
                raise LoopError(
                    f"the training window ({describe_window(self.training_window)}) "
                    "holds no rows outside the held-out ones"
                )
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

    def _compare(
        self,
        gate: HoldoutGate,
        candidate: Any,
        production: Any,
        X: Any,
        y: np.ndarray,
    ) -> PairedComparison:
        """Both models on the same held-out rows: the paired difference and interval."""
        if self.metric == "accuracy":
            return paired_accuracy(
                np.asarray(candidate.predict(X)) == y,
                np.asarray(production.predict(X)) == y,
                alpha=gate.alpha,
            )

        def score(rows: np.ndarray) -> tuple[float, float]:
            part = X.iloc[rows] if hasattr(X, "iloc") else X[rows]  # arrays, sparse
            return (
                self._score(candidate, part, y[rows]),
                self._score(production, part, y[rows]),
            )

        return paired_bootstrap(
            score,
            len(y),
            metric=self.metric,
            alpha=gate.alpha,
            n_boot=gate.n_boot,
            random_state=gate.random_state,
        )

    def _path(self, state: _State) -> InferencePath:
        return InferencePath(
            self.pipeline, state.features_step, self.data_input, self.target
        )

    def _tail(self, part: Part) -> pd.DataFrame:
        frame = self.store.get(part.digest)
        return frame.iloc[len(frame) - self._n_holdout(part.rows) :]

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
        x_raw, y_hold = self._split(holdout, require_labels=True)
        x_hold = self._path(state).transform(x_raw)
        y_hold = np.asarray(y_hold)
        judges = [g for g in self.gates if isinstance(g, HoldoutGate)] or [
            HoldoutGate()
        ]
        comparisons = {
            g: self._compare(g, candidate, production, x_hold, y_hold) for g in judges
        }
        comparison = comparisons[judges[0]]
        cand_score, prod_score = comparison.candidate, comparison.production
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
        scheduled = tuple(base["triggers"]) == ("schedule",)
        gates: list[Any] = []
        for gate in self.gates:
            outcome = (
                gate.outcome(comparisons[gate], scheduled=scheduled)
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
            "comparison": comparison,
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
            raise BatchError(
                f"`labels` has {len(labels)} values for a batch of {len(data)} rows; "
                "pass one label per row (or none).",
                column="labels",
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
        state.triggers.record(
            _ops.for_triggers(event),
            baseline_rows=self.min_holdout,
            cooldown=self.cooldown,
        )
        state.trim(self)
        state.remember(event)
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
                return state, self._journal.claim(
                    seq, kind, key, scope=state.bootstrap_seq
                )
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
            state = self._load_state(allow_empty=kind == "bootstrap")
            try:
                claim = self._journal.claim(
                    seq, kind, key, attempt=attempt, scope=state.bootstrap_seq
                )
            except FileExistsError:
                continue
            return state, claim
        raise LoopError(  # pragma: no cover - needs a thousand lost races in a row
            f"Could not claim a decision number for {self.model_name!r}."
        )

    def _decided(self, key: str) -> LoopEvent | None:
        """The event that already observed the batch with ``key`` (since bootstrap).

        The state knows the batch digest of each of the last decisions it folded,
        and a claim on the next number succeeds only if no decision was made since
        the state was read: so this costs no request for a new batch, and a worker
        that lost the race re-reads the state and checks again.
        """
        seq = self._load_state().keys.get(key)
        if seq is None:
            return None
        event = self._journal.event(int(seq))
        if event is not None and event.batch_digest == key:
            return event
        return None  # retained away: the batch is news again

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
                    state.fold(event, self)
                return state
        state = _State()
        for event in self._journal.all_events():
            state.fold(event, self)
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
        self.keys: dict[str, int] = {}  # batch digest → seq, the newest _KEYS decisions
        self.schema: Any = None
        self.monitors: FittedMonitors
        self._model: tuple[int, Any] | None = None
        self.features_step: str | None = None  # the inference path's last step
        self.triggers = TriggerState()  # hysteresis, cooldown, baseline, open change
        self.parts: list[Part] = []  # labelled rows since the bootstrap, oldest first

    _DERIVED = ("schema", "monitors")

    def to_dict(self) -> dict[str, Any]:
        """The folded fields, as JSON values (a checkpoint)."""
        out = {
            k: v
            for k, v in vars(self).items()
            if not k.startswith("_") and k not in self._DERIVED
        }
        out["triggers"] = {
            k: sorted(v) if isinstance(v, set) else v
            for k, v in dataclasses.asdict(self.triggers).items()
        }
        out["parts"] = [[p.seq, p.digest, p.rows, p.at.isoformat()] for p in self.parts]
        return dict(json.loads(json.dumps(out)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _State:
        state = cls()
        for key, value in data.items():
            setattr(state, key, value)
        triggers = dict(data.get("triggers") or {})
        triggers["disarmed"] = set(triggers.get("disarmed") or ())
        triggers["change_triggers"] = tuple(triggers.get("change_triggers") or ())
        state.triggers = TriggerState(**triggers)
        state.parts = [
            Part(int(seq), str(digest), int(rows), _dt.datetime.fromisoformat(at))
            for seq, digest, rows, at in data.get("parts") or ()
        ]
        return state

    @classmethod
    def from_events(
        cls, loop: ContinuousTraining, events: Iterable[LoopEvent]
    ) -> _State:
        state = cls()
        for event in events:
            state.fold(event, loop)
        state.finish(loop)
        return state

    def fold(self, event: LoopEvent, loop: ContinuousTraining) -> None:
        """Apply one event."""
        self.seq = max(self.seq, event.seq)
        if event.decision == "interrupted":
            return  # the batch was not counted; the registry changes are named
        self.remember(event)
        if event.decision == "bootstrapped":
            self.bootstrap_seq = event.seq
            self.reference = event.dataset_digest
            self.schema_digest = event.schema_digest
            self.production = event.production_version
            # Production's score at promotion: the pipeline's own metric, if
            # it reports one under the loop's metric name.
            self.baseline, self.pending, self.accepted = event.candidate_score, [], 0
            self.awaiting = {}
            self.features_step = event.features_step
            # Events written before the baseline field carry it as the score.
            self.triggers.start(
                event.candidate_score if event.baseline is None else event.baseline
            )
            self.parts = [
                Part(event.seq, str(event.dataset_digest), event.rows, event.created_at)
            ]
        elif event.kind == "observe" and event.decision != "quarantined":
            self.accepted += 1
            if event.labelled_digest is not None:
                self.pending.append(event.labelled_digest)
                self.parts.append(
                    Part(event.seq, event.labelled_digest, event.rows, event.created_at)
                )
            self.triggers.record(
                _ops.for_triggers(event),
                baseline_rows=loop.min_holdout,
                cooldown=loop.cooldown,
            )
            if event.decision == "promoted":
                self.promote(
                    event.dataset_digest, event.candidate_version, event.candidate_score
                )
            elif event.decision == "pending_approval":
                self.await_approval(event)
            self.trim(loop)
        elif event.kind in ("approval", "rollback"):
            _ops.fold(self, event)

    def remember(self, event: LoopEvent) -> None:
        """Note the batch an observe decided (idempotency), the newest _KEYS of them."""
        if event.decision == "bootstrapped":
            self.keys = {}
        elif event.kind == "observe" and event.batch_digest is not None:
            self.keys.pop(event.batch_digest, None)
            self.keys[event.batch_digest] = event.seq
            while len(self.keys) > _KEYS:
                self.keys.pop(next(iter(self.keys)))

    def trim(self, loop: ContinuousTraining) -> None:
        """Forget the training parts an ``int`` window can no longer use.

        Kept: the newest parts whose rows, each less its held-out share, fill the
        window, and every part of an open change (its rows are the held-out pool).
        Other windows (a time span, a function, ``"all"``) keep every part.
        """
        window = loop.training_window
        if not isinstance(window, int) or isinstance(window, bool):
            return
        change = self.triggers.change_seq
        total, start = 0, 0
        for i in range(len(self.parts) - 1, -1, -1):
            part = self.parts[i]
            if total >= window and (change is None or part.seq < change):
                start = i + 1
                break
            total += part.rows - loop._n_holdout(part.rows)
        if start:
            self.parts = self.parts[start:]
            kept = {p.digest for p in self.parts}
            self.pending = [d for d in self.pending if d in kept]

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
        current = _ops.alias_holder(loop.registry, loop.model_name, loop.alias)
        if self._model is None or self._model[0] != current:
            self._model = (current, loop.registry.load(loop.model_name, current))
        self.production = current
        return self._model[1]

    def refit(self, loop: ContinuousTraining) -> None:
        """Fit the monitors on the production model's training data."""
        reference = loop.store.get(str(self.reference))
        features, labels = loop._split(reference, require_labels=True)
        model_input = loop._path(self).transform(features)
        self.monitors.fit(features, labels, self.model(loop), model_input)


def _batch_problems(
    schema: Schema, features: pd.DataFrame, labels: Any
) -> tuple[str, ...]:
    """What the loop refuses to train on beyond the schema: each names its column."""
    problems = [
        f"{c}: unexpected column (not in the schema)"
        for c in features.columns
        if c not in schema.columns
    ]
    problems += [
        f"{c}: every value is null"
        for c in features.columns
        if features[c].isna().all()
    ]
    if labels is not None:
        missing = int(pd.isna(pd.Series(np.asarray(labels, dtype=object))).sum())
        if missing:
            problems.append(f"labels: {missing} null label(s)")
    return tuple(problems)


def _brief(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


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
