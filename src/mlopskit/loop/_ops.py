"""Operating a loop: rollback, manual approval, hooks, status, and crash recovery.

- :meth:`ContinuousTraining.rollback` moves the alias back to an earlier version
  (with a reason, in the registry's audit log and as a ``"rolled-back"`` event); the
  monitors then compare batches with that version's training data.
- :class:`ManualApproval` is a gate that never passes by itself: when every other gate
  passes, the decision is ``"pending_approval"`` and the alias moves only when a person
  calls :meth:`ContinuousTraining.approve` with the event's number.
- Hooks are called with every :class:`LoopEvent` once it is stored (alerts, chat
  messages). A hook that raises is logged and kept in ``loop.hook_errors``; the
  event is already stored and the loop carries on.
- :func:`reconcile` closes the claim of a worker that died mid-decision, from its
  journal and the registry's audit log (see ``_journal.py``).

What does *not* belong here: the loop's decisions (``_loop.py``), the records
(``_journal.py``).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib
import logging
from collections.abc import Iterable
from typing import Any

from mlopskit._results import Result
from mlopskit.errors import (
    InvalidParameterError,
    LoopError,
    RegistryLookupError,
)
from mlopskit.loop._events import LoopEvent
from mlopskit.loop._journal import Claim, is_live
from mlopskit.registry import GateOutcome

__all__ = ["LoopStatus", "ManualApproval"]

_LOG = logging.getLogger("mlopskit.loop")
_APPROVAL = "manual_approval"
_KINDS = ("bootstrap", "observe", "rollback", "approval", "epoch")


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


class ManualApproval:
    """A gate that waits for a person: the candidate is promoted by ``loop.approve``.

    Put it among the loop's ``gates``. When every other gate passes, the loop records
    ``"pending_approval"`` (production unchanged) instead of promoting; when another
    gate fails, the decision is ``"refused"`` as usual. A later promotion (or
    rollback) supersedes a pending approval.

    Examples
    --------
    >>> ManualApproval()(None, None).passed
    False
    """

    __name__ = _APPROVAL

    def __call__(self, candidate: Any, current: Any) -> GateOutcome:
        return GateOutcome(
            gate=_APPROVAL,
            passed=False,
            reason="waiting for a person: loop.approve(seq) promotes the candidate",
        )

    def __repr__(self) -> str:
        return "ManualApproval()"


def awaits_approval(outcomes: Iterable[GateOutcome]) -> bool:
    """Whether the manual approval is the only gate that did not pass."""
    failed = {o.gate for o in outcomes if not o.passed}
    return failed == {_APPROVAL}


def pending(
    record: dict[str, Any], outcomes: tuple[GateOutcome, ...], trained: str
) -> dict[str, Any]:
    """The fields of a ``"pending_approval"`` event."""
    return {
        **record,
        "decision": "pending_approval",
        "gates": outcomes,
        "reasons": (
            trained,
            "every automatic gate passed",
            f"waiting for approval: loop.approve({record['seq']}) promotes "
            f"v{record['candidate_version']}",
        ),
    }


def for_triggers(event: LoopEvent) -> LoopEvent:
    """The event as the trigger rules should see it.

    A ``"pending_approval"`` decision was a retrain (its candidate is not promoted
    yet): for the hysteresis and the cooldown it counts as a refused one, so a
    sustained shift does not retrain again while a person decides.
    """
    if event.decision == "pending_approval":
        return event.model_copy(update={"decision": "refused"})
    return event


def fold(state: Any, event: LoopEvent) -> None:
    """Apply an approval or rollback event to the loop's state."""
    if event.kind == "approval" and event.decision == "promoted":
        state.promote(
            event.dataset_digest, event.candidate_version, event.candidate_score
        )
    elif event.kind == "rollback" and event.decision == "rolled-back":
        # The monitors compare with the restored version's training data; labelled
        # batches gathered since stay pending for the next retrain.
        state.reference = event.dataset_digest
        state.production = event.candidate_version
        state.baseline = event.candidate_score
        state.awaiting = {}
    else:
        return
    # The new production's score at its promotion is the performance baseline.
    state.triggers.baseline = event.candidate_score
    state.triggers.baseline_final = event.candidate_score is not None


# -- hooks -------------------------------------------------------------------------


def as_hooks(hooks: Any) -> tuple[Any, ...]:
    """Resolve hooks: callables, ``"module:attribute"`` strings or entry points."""
    if hooks is None:
        return ()
    if callable(hooks) or isinstance(hooks, str):
        hooks = (hooks,)
    out = []
    for hook in hooks:
        if isinstance(hook, str):
            hook = _import(hook)
        elif hasattr(hook, "load") and hasattr(hook, "group"):  # an EntryPoint
            hook = hook.load()
        if not callable(hook):
            raise InvalidParameterError(
                "Each hook must be a callable hook(event), a 'module:attribute' "
                f"string or an entry point. Got {type(hook).__name__}."
            )
        out.append(hook)
    return tuple(out)


def _import(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise InvalidParameterError(
            f"A hook given by name must look like 'package.module:function'. Got {spec!r}."
        )
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise InvalidParameterError(f"Cannot load hook {spec!r}: {exc}.") from exc
    return obj


def run_hooks(loop: Any, event: LoopEvent) -> None:
    """Call every hook with ``event``; a failure is logged and kept, never raised."""
    for hook in loop.hooks:
        try:
            hook(event)
        except Exception as exc:  # a broken alert must not break the loop
            name = getattr(hook, "__qualname__", type(hook).__name__)
            loop.hook_errors.append((event.seq, name, f"{type(exc).__name__}: {exc}"))
            _LOG.error("loop hook %s failed on event #%d: %r", name, event.seq, exc)


# -- operations ----------------------------------------------------------------------


def _close(loop: Any, claim: Claim, event: LoopEvent) -> LoopEvent:
    loop._write(event)
    return event


def rollback(loop: Any, to: int, reason: str) -> LoopEvent:
    """Move the alias back to version ``to``; see ``ContinuousTraining.rollback``."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidParameterError(
            "A rollback needs a reason (it goes to the audit log). Got "
            f"{reason!r}; pass reason='why'."
        )
    loop._check_config()
    target = loop.registry.get_version(loop.model_name, to)
    reference = target.lineage.datasets.get("training")
    if reference is None:
        raise LoopError(
            f"{loop.model_name} v{target.version} has no training dataset in its "
            "lineage, so the loop cannot monitor against it. Roll back to a version "
            "this loop trained (see loop.history()).",
            version=target.version,
        )
    metric = loop.metric
    score = target.metrics.get(f"holdout_{metric}", target.metrics.get(metric))
    state, claim = loop._begin("rollback", None)
    try:
        event = LoopEvent(
            seq=claim.seq,
            kind="rollback",
            decision="rolled-back",
            created_at=_now(),
            model_name=loop.model_name,
            dataset_digest=reference,
            candidate_version=target.version,
            candidate_score=score,
            production_version=target.version,
            reasons=(
                f"rolled back {loop.alias!r} from v{state.production} to "
                f"v{target.version} by {claim.who}: {reason}",
            ),
        )
        loop._journal.move(
            loop.registry,
            loop.model_name,
            target.version,
            alias=loop.alias,
            prepared=event,
            reason=f"rollback: {reason}",
        )
        _close(loop, claim, event)
    finally:
        loop._state = None
        loop._journal.end(claim)
    loop._after(event)
    return event


def approve(loop: Any, seq: int, reason: str | None) -> LoopEvent:
    """Promote the candidate of pending decision ``seq``; see ``ContinuousTraining.approve``."""
    loop._check_config()
    state = loop._load_state()
    if str(seq) not in state.awaiting:
        waiting = ", ".join(f"#{s}" for s in sorted(state.awaiting, key=int))
        raise LoopError(
            f"Decision #{seq} of the loop for {loop.model_name!r} is not awaiting "
            f"approval (awaiting: {waiting or 'none'}). A later promotion or rollback "
            "supersedes a pending approval.",
            seq=seq,
        )
    state, claim = loop._begin("approval", None)
    try:
        if str(seq) not in state.awaiting:  # superseded while we claimed
            raise LoopError(f"Decision #{seq} was superseded meanwhile.", seq=seq)
        item = state.awaiting[str(seq)]
        version = int(item["version"])
        event = LoopEvent(
            seq=claim.seq,
            kind="approval",
            decision="promoted",
            created_at=_now(),
            model_name=loop.model_name,
            dataset_digest=item["reference"],
            candidate_version=version,
            candidate_score=item["score"],
            production_version=version,
            triggers=(f"approval:{seq}",),
            reasons=(
                f"{claim.who} approved decision #{seq}"
                + (f": {reason}" if reason else ""),
                f"promoted v{version} to {loop.alias!r}",
            ),
        )
        loop._journal.move(
            loop.registry,
            loop.model_name,
            version,
            alias=loop.alias,
            prepared=event,
            reason=f"approved loop decision #{seq}" + (f": {reason}" if reason else ""),
        )
        _close(loop, claim, event)
    except BaseException:
        if loop._journal.event(claim.seq) is None:
            loop._journal.release(claim)
        raise
    finally:
        loop._state = None
        loop._journal.end(claim)
    loop._after(event)
    return event


def start_epoch(
    loop: Any, epoch: int, config: dict[str, Any], diffs: list[str]
) -> None:
    """Store ``config`` as epoch ``epoch`` and record an ``"epoch"`` event."""
    from mlopskit.loop._config import write_config

    state, claim = loop._begin("epoch", None)
    try:
        try:
            write_config(loop._journal, epoch, config)
        except FileExistsError:  # another worker started it: nothing to record
            loop._journal.release(claim)
            return
        event = LoopEvent(
            seq=claim.seq,
            kind="epoch",
            decision="new-epoch",
            created_at=_now(),
            model_name=loop.model_name,
            production_version=state.production,
            reasons=(f"epoch {epoch}: the loop's definition changed", *diffs),
        )
        _close(loop, claim, event)
    finally:
        loop._journal.end(claim)
    loop._after(event)


def alias_holder(registry: Any, name: str, alias: str) -> int:
    """The version ``alias`` points at, read cheaply (a listing and one record).

    ``get_version`` also lists every alias and archive mark to build a full
    :class:`~mlopskit.registry.ModelVersion`; the loop asks this on every batch, so it
    reads the alias's compare-and-swap state directly (one listing, one read on S3).
    """
    state = getattr(registry, "_alias_state", None)
    if state is not None:
        _, record = state(name, alias)
        if record is not None and record.get("to_version") is not None:
            return int(record["to_version"])
    return int(registry.get_version(name, alias=alias).version)  # raises if unset


# -- status ----------------------------------------------------------------------------


class LoopStatus(Result):
    """Where a loop stands: its last decision, production, work in flight.

    Attributes
    ----------
    model_name, alias
        The loop's model and alias.
    seq, last_decision
        The number and decision of the last event (0 and ``None`` before bootstrap).
    production_version
        The version the loop's events say holds the alias.
    registry_version
        The version the registry's alias points at now; ``agrees`` compares them
        (they differ when someone moved the alias outside the loop).
    in_flight
        A live claim on the next decision (``"who, kind, since"``), if any.
    awaiting_approval
        Decisions waiting for :meth:`ContinuousTraining.approve`.
    pending_batches, accepted_batches
        Labelled batches gathered since the last promotion; batches accepted since
        bootstrap.
    """

    model_name: str
    alias: str
    seq: int
    last_decision: str | None
    production_version: int | None
    registry_version: int | None
    agrees: bool
    in_flight: str | None = None
    awaiting_approval: tuple[int, ...] = ()
    pending_batches: int = 0
    accepted_batches: int = 0


def status(loop: Any) -> LoopStatus:
    """The loop's :class:`LoopStatus` (reconciles a dead worker's claim first)."""
    state = loop._load_state(allow_empty=True)
    last = loop._journal.event(state.seq) if state.seq else None
    try:
        holder: int | None = loop.registry.get_version(
            loop.model_name, alias=loop.alias
        ).version
    except RegistryLookupError:
        holder = None
    attempts = loop._journal.attempts(state.seq + 1)
    live = attempts[-1] if attempts and is_live(attempts[-1]) else None
    return LoopStatus(
        model_name=loop.model_name,
        alias=loop.alias,
        seq=state.seq,
        last_decision=None if last is None else last.decision,
        production_version=state.production,
        registry_version=holder,
        agrees=holder == state.production,
        in_flight=None
        if live is None
        else f"{live.who} (pid {live.pid}), {live.kind}, since {live.started_at}",
        awaiting_approval=tuple(sorted(int(s) for s in state.awaiting)),
        pending_batches=len(state.pending),
        accepted_batches=state.accepted,
    )


# -- crash recovery --------------------------------------------------------------------


def reconcile(loop: Any, seq: int) -> bool:
    """Close decision ``seq`` if its worker died after changing the registry.

    Reads the dead attempts' journals and the registry's audit log: if the alias
    moved, the event the worker had prepared is written (with a reason saying it was
    recovered); if a candidate was registered but the alias did not move, an
    ``"interrupted"`` event names it. Returns whether an event was written. A dead
    claim that changed nothing is left for the next claimant to reuse.
    """
    journal = loop._journal
    attempts = journal.attempts(seq)
    if not attempts or is_live(attempts[-1]):
        return False
    for dead in reversed(attempts):
        if dead.released or dead.kind == "recover":
            continue
        entries = journal.entries(dead)
        if not any(e["what"] == "intent" for e in entries):
            continue
        registered = _registered(loop, dead, entries)
        move = next(
            (
                e
                for e in reversed(entries)
                if e["step"] == "promote" and e["what"] == "intent"
            ),
            None,
        )
        moved = move is not None and _moved(loop, dead, entries, move)
        if not moved and not registered:
            continue
        try:
            rescue = journal.claim(
                seq, "recover", None, attempt=attempts[-1].attempt + 1
            )
        except FileExistsError:
            return False  # another worker is rescuing it
        try:
            event = (
                _recovered(loop, dead, move, rescue)
                if moved
                else _interrupted(loop, dead, registered)
            )
            with contextlib.suppress(FileExistsError):  # another rescuer was first
                journal.write_event(event)
        finally:
            journal.end(rescue)
        _LOG.warning(
            "loop %s: recovered decision #%d: %s", loop.model_name, seq, event.summary()
        )
        return True
    return False


def _registered(loop: Any, dead: Claim, entries: list[dict[str, Any]]) -> list[int]:
    found = [
        int(e["version"])
        for e in entries
        if e["step"] == "register" and e["what"] == "outcome"
    ]
    intended = any(e["step"] == "register" and e["what"] == "intent" for e in entries)
    if found or not intended:
        return found
    try:  # killed between the registry write and its outcome: look it up by its tag
        frame = loop.registry.list_versions(
            loop.model_name, tags={"loop_claim": dead.token}
        )
    except RegistryLookupError:
        return []
    return [int(v) for v in frame["version"]] if len(frame) else []


def _moved(
    loop: Any, dead: Claim, entries: list[dict[str, Any]], move: dict[str, Any]
) -> bool:
    for e in entries:
        if e["step"] == "promote" and e["what"] == "outcome":
            return bool(e.get("moved"))
    try:
        log = loop.registry.history(loop.model_name)
    except RegistryLookupError:
        return False
    return any(
        a.kind == "set_alias"
        and a.alias == move["alias"]
        and a.to_version == int(move["version"])
        and dead.mark in (a.reason or "")
        for a in log.events
    )


def _recovered(loop: Any, dead: Claim, move: Any, rescue: Claim) -> LoopEvent:
    prepared = LoopEvent.model_validate(move["prepared"])
    return prepared.model_copy(
        update={
            "reasons": (
                *prepared.reasons,
                f"recorded by {rescue.who} after the worker {dead.who} (pid {dead.pid}) "
                "died between moving the alias and recording the decision; the move "
                "is in the registry's audit log",
            )
        }
    )


def _interrupted(loop: Any, dead: Claim, registered: list[int]) -> LoopEvent:
    try:
        holder: int | None = loop.registry.get_version(
            loop.model_name, alias=loop.alias
        ).version
    except RegistryLookupError:
        holder = None
    kind = dead.kind if dead.kind in _KINDS else "observe"
    names = ", ".join(f"v{v}" for v in registered)
    return LoopEvent(
        seq=dead.seq,
        kind=kind,  # type: ignore[arg-type]
        decision="interrupted",
        created_at=_now(),
        model_name=loop.model_name,
        batch_digest=dead.key,
        candidate_version=registered[-1] if registered else None,
        production_version=holder,
        reasons=(
            f"the worker {dead.who} (pid {dead.pid}) died during this {kind} "
            f"(claimed at {dead.started_at})",
            f"it had registered {names}, never promoted",
            f"{loop.alias!r} still points at v{holder}",
            "the batch was not counted: observe it again"
            if kind == "observe"
            else f"nothing else changed: run the {kind} again",
        ),
    )
