"""Promotion gates: checks a candidate must pass before an alias moves to it.

A gate is any callable ``gate(candidate, current) -> outcome`` where ``candidate`` is
the :class:`ModelVersion` being promoted and ``current`` the version holding the alias
now (``None`` if nobody does). The outcome is a :class:`GateOutcome`, a ``bool``, or a
``(passed, reason)`` tuple. A gate that raises counts as failed, with the exception as
its reason. Two common gates are built in: :func:`metric_not_worse` and
:func:`schema_compatible`.

What does *not* belong here: moving the alias (``ModelRegistry.promote``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from mlopskit.errors import RegistryError
from mlopskit.registry._model_version import GateOutcome, ModelVersion

__all__ = ["Gate", "metric_not_worse", "run_gate", "schema_compatible"]

#: The type of a gate.
Gate = Callable[[ModelVersion, "ModelVersion | None"], Any]


def gate_name(gate: Any) -> str:
    """A readable name for ``gate`` (its ``__name__`` or its class name)."""
    return str(getattr(gate, "__name__", type(gate).__name__))


def run_gate(
    gate: Any, candidate: ModelVersion, current: ModelVersion | None
) -> GateOutcome:
    """Call one gate and normalise what it returns into a :class:`GateOutcome`.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> mv = ModelVersion(name="m", version=1, digest="d",
    ...                   created_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    >>> run_gate(lambda cand, cur: (True, "fine"), mv, None).passed
    True
    """
    name = gate_name(gate)
    try:
        out = gate(candidate, current)
    except Exception as exc:  # a crashing gate refuses the promotion, it never passes
        return GateOutcome(
            gate=name, passed=False, reason=f"raised {type(exc).__name__}: {exc}"
        )
    if isinstance(out, GateOutcome):
        return out
    if isinstance(out, bool):
        return GateOutcome(gate=name, passed=out, reason="passed" if out else "failed")
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], bool):
        return GateOutcome(gate=name, passed=out[0], reason=str(out[1]))
    raise RegistryError(
        f"Gate {name!r} must return a GateOutcome, a bool or a (passed, reason) "
        f"tuple. Got {type(out).__name__} instead.",
        gate=name,
    )


def metric_not_worse(
    metric: str, *, higher_is_better: bool = True, tolerance: float = 0.0
) -> Gate:
    """A gate: the candidate's ``metric`` is not worse than the current holder's.

    Parameters
    ----------
    metric
        A key of ``ModelVersion.metrics``.
    higher_is_better
        ``True`` for scores (AUC, accuracy), ``False`` for losses (RMSE, log-loss).
    tolerance
        How much worse the candidate may be and still pass (absolute).

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> def mv(v, auc):
    ...     return ModelVersion(name="m", version=v, digest="d", metrics={"auc": auc},
    ...                         created_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    >>> gate = metric_not_worse("auc")
    >>> gate(mv(2, 0.80), mv(1, 0.85))
    GateOutcome(gate='auc_not_worse', passed=False, reason="auc 0.8 is below the current holder's 0.85 (v1, tolerance 0)")
    >>> gate(mv(2, 0.90), mv(1, 0.85)).passed
    True
    """
    if not isinstance(metric, str) or not metric:
        raise RegistryError(
            f"`metric` must be a non-empty str. Got {metric!r} instead."
        )
    if not math.isfinite(tolerance) or tolerance < 0:
        raise RegistryError(
            f"`tolerance` must be a finite number >= 0. Got {tolerance!r} instead."
        )
    name = f"{metric}_not_worse"

    def gate(candidate: ModelVersion, current: ModelVersion | None) -> GateOutcome:
        value = candidate.metrics.get(metric)
        if value is None or math.isnan(value):
            return GateOutcome(
                gate=name,
                passed=False,
                reason=f"the candidate (v{candidate.version}) has no {metric!r} metric",
            )
        if current is None:
            return GateOutcome(gate=name, passed=True, reason="no current holder")
        ref = current.metrics.get(metric)
        if ref is None or math.isnan(ref):
            return GateOutcome(
                gate=name,
                passed=True,
                reason=f"the current holder (v{current.version}) has no {metric!r}",
            )
        ok = value >= ref - tolerance if higher_is_better else value <= ref + tolerance
        reason = (
            f"{metric} {value:g} {'is not' if ok else 'is'} "
            f"{'below' if higher_is_better else 'above'} the current holder's "
            f"{ref:g} (v{current.version}, tolerance {tolerance:g})"
        )
        return GateOutcome(gate=name, passed=ok, reason=reason)

    gate.__name__ = name
    return gate


def schema_compatible() -> Gate:
    """A gate: the candidate's input schema is backward compatible with the holder's.

    Uses ``mlopskit.schema.Schema.diff(...).backward_compatible``: data that the
    current holder accepts must also be accepted by the candidate. Passes when nobody
    holds the alias or the holder recorded no schema; fails when the holder has a
    schema and the candidate has none.

    Examples
    --------
    >>> gate = schema_compatible()
    >>> gate.__name__
    'input_schema_compatible'
    """
    name = "input_schema_compatible"

    def gate(candidate: ModelVersion, current: ModelVersion | None) -> GateOutcome:
        if current is None or current.input_schema is None:
            return GateOutcome(
                gate=name, passed=True, reason="no schema to compare with"
            )
        if candidate.input_schema is None:
            return GateOutcome(
                gate=name,
                passed=False,
                reason=f"the current holder (v{current.version}) has an input schema "
                f"and the candidate (v{candidate.version}) has none",
            )
        old = current.load_input_schema()
        new = candidate.load_input_schema()
        diff = old.diff(new)
        if diff.backward_compatible:
            return GateOutcome(
                gate=name, passed=True, reason="input schema is backward compatible"
            )
        return GateOutcome(
            gate=name,
            passed=False,
            reason=f"input schema is not backward compatible with v{current.version}'s: "
            + "; ".join(diff.breaking),
        )

    gate.__name__ = name
    return gate
