"""A model registry in a folder or a bucket: versions, aliases, lineage, an audit log.

:class:`ModelRegistry` needs no server and no database. It lives on any fsspec
filesystem (a local folder, ``memory://``, ``s3://…``) and stays correct under
concurrent writers and crashes: versions are claimed with exclusive creates, aliases
move by compare-and-swap, every change is its own create-only audit record, and every
load verifies the artifact's content digest before deserialising it.

Promotion gates are callables ``gate(candidate, current)`` returning a
:class:`GateOutcome`, a ``bool`` or a ``(passed, reason)`` tuple;
:func:`metric_not_worse` and :func:`schema_compatible` are built in.

Examples
--------
>>> from mlopskit.registry import ModelRegistry, metric_not_worse
>>> reg = ModelRegistry("memory://docs/registry-package")
>>> _ = reg.register("churn", {"w": 1.0}, metrics={"auc": 0.90})
>>> _ = reg.register("churn", {"w": 2.0}, metrics={"auc": 0.93})
>>> reg.promote("churn", 1).version
1
>>> reg.promote("churn", 2, gates=[metric_not_worse("auc")]).previous
1
>>> reg.load("churn", alias="production")
{'w': 2.0}
"""

from mlopskit.registry._gates import Gate, metric_not_worse, schema_compatible
from mlopskit.registry._lineage import Lineage
from mlopskit.registry._model_version import (
    AuditEvent,
    AuditLog,
    GateOutcome,
    ModelVersion,
    Promotion,
)
from mlopskit.registry._registry import ModelRegistry

__all__ = [
    "AuditEvent",
    "AuditLog",
    "Gate",
    "GateOutcome",
    "Lineage",
    "ModelRegistry",
    "ModelVersion",
    "Promotion",
    "metric_not_worse",
    "schema_compatible",
]
