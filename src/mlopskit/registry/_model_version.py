"""The values the registry returns: versions, audit events, gate outcomes.

What does *not* belong here: reading or writing them (``_registry.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import pandas as pd
from pydantic import Field

from mlopskit._results import Result
from mlopskit.registry._lineage import Lineage

__all__ = ["AuditEvent", "AuditLog", "GateOutcome", "ModelVersion", "Promotion"]


class ModelVersion(Result):
    """One registered version of a model (a frozen value).

    Attributes
    ----------
    name, version
        The model's name and the version number (1, 2, 3 … per name, never reused).
    digest, size, serializer
        The artifact's content digest and size in bytes, and how it was serialised.
    created_at, registered_by
        When (UTC) and by whom (``user@host``; ``$MLOPSKIT_USER`` overrides the user).
    metrics, params, tags, description
        What the caller recorded.
    lineage
        Datasets, pipeline run and code version (:class:`Lineage`).
    aliases
        The aliases pointing at this version when it was read.
    input_schema
        The model's input schema as JSON (``mlopskit.schema.Schema.to_json()``), if given.
    signature
        ``{"inputs": <schema JSON>, "outputs": {"type", "dtype", "shape"}}`` when
        registered with an ``input_example``, else ``None``.
    same_as
        On the value ``register`` returns: earlier versions of this model whose
        artifact is the very same object (same fingerprint), so it was stored once.
    archived
        Whether the version was archived (it still loads by number).

    Examples
    --------
    >>> from mlopskit.registry import ModelRegistry
    >>> reg = ModelRegistry("memory://docs/model-version")
    >>> mv = reg.register("iris", {"coef": [0.5, 1.5]}, metrics={"auc": 0.91})
    >>> mv.name, mv.version, mv.metrics
    ('iris', 1, {'auc': 0.91})
    >>> type(mv).from_json(mv.to_json()) == mv
    True
    """

    name: str
    version: int
    digest: str
    created_at: datetime
    metrics: dict[str, float] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    lineage: Lineage = Field(default_factory=Lineage)
    aliases: tuple[str, ...] = ()
    input_schema: str | None = None
    signature: dict[str, Any] | None = None
    serializer: str = "joblib"
    size: int = 0
    description: str | None = None
    registered_by: str = ""
    archived: bool = False
    same_as: tuple[int, ...] = ()

    @property
    def uri(self) -> str:
        """``name@version``, the form the command line accepts."""
        return f"{self.name}@{self.version}"

    def load_input_schema(self) -> Any:
        """The input schema as a :class:`mlopskit.schema.Schema` (``None`` if absent)."""
        if self.input_schema is None:
            return None
        from mlopskit.schema import Schema

        return Schema.from_json(self.input_schema)


class AuditEvent(Result):
    """One entry of a model's audit log.

    ``kind`` is ``"register"``, ``"set_alias"``, ``"delete_alias"`` or ``"archive"``;
    ``from_version``/``to_version`` describe an alias move (``None`` = unset).

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> e = AuditEvent(name="iris", kind="set_alias", at=datetime(2026, 1, 1,
    ...     tzinfo=timezone.utc), who="ana@box", alias="production", to_version=2)
    >>> e.kind, e.to_version
    ('set_alias', 2)
    """

    name: str
    kind: Literal["register", "set_alias", "delete_alias", "archive"]
    at: datetime
    who: str
    version: int | None = None
    alias: str | None = None
    from_version: int | None = None
    to_version: int | None = None
    reason: str | None = None


class AuditLog(Result):
    """A model's audit log, oldest event first.

    Examples
    --------
    >>> from mlopskit.registry import ModelRegistry
    >>> reg = ModelRegistry("memory://docs/audit-log")
    >>> _ = reg.register("iris", [1, 2, 3])
    >>> _ = reg.set_alias("iris", "staging", 1, reason="smoke test")
    >>> log = reg.history("iris")
    >>> [e.kind for e in log.events]
    ['register', 'set_alias']
    >>> row = log.to_frame().iloc[1]
    >>> row["kind"], row["alias"], int(row["to_version"]), row["reason"]
    ('set_alias', 'staging', 1, 'smoke test')
    """

    name: str
    events: tuple[AuditEvent, ...] = ()

    def __len__(self) -> int:
        return len(self.events)

    def to_frame(self) -> pd.DataFrame:
        """The events as a DataFrame, one row per event."""
        columns = list(AuditEvent.model_fields)
        return pd.DataFrame([e.to_dict() for e in self.events], columns=columns)


class GateOutcome(Result):
    """What one promotion gate decided, and why.

    Examples
    --------
    >>> GateOutcome(gate="auc", passed=False, reason="AUC 0.80 < production's 0.85")
    GateOutcome(gate='auc', passed=False, reason="AUC 0.80 < production's 0.85")
    """

    gate: str
    passed: bool
    reason: str


class Promotion(Result):
    """The outcome of a successful :meth:`ModelRegistry.promote`.

    Examples
    --------
    >>> from mlopskit.registry import ModelRegistry
    >>> reg = ModelRegistry("memory://docs/promotion")
    >>> _ = reg.register("iris", [1])
    >>> p = reg.promote("iris", 1)
    >>> p.alias, p.version, p.previous
    ('production', 1, None)
    """

    name: str
    alias: str
    version: int
    previous: int | None
    gates: tuple[GateOutcome, ...] = ()
