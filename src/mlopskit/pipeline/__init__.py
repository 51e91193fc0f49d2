"""Pipelines: a DAG of plain functions, content-hash cached, parallel, on Dask when asked.

Write plain functions whose parameters name what they need; :class:`Pipeline` wires
them into a graph, :meth:`Pipeline.run` runs them (sequentially, on threads,
processes or a Dask cluster), skips every step whose code and inputs are unchanged
(given a cache) and returns a :class:`Run` record with the lineage of every step.

``CacheWarning``, ``Run``, ``StepRun``, ``list_runs`` and ``load_run`` are imported on first use, so
``import mlopskit.pipeline`` does not import pandas or pydantic.
"""

from __future__ import annotations

import typing as _typing

from mlopskit._lazy import lazy_exports
from mlopskit.pipeline._code import code_fingerprint
from mlopskit.pipeline._graph import Pipeline
from mlopskit.pipeline._step import Step, step

if _typing.TYPE_CHECKING:
    from mlopskit.pipeline._execute import CacheWarning
    from mlopskit.pipeline._run import Run, StepRun
    from mlopskit.pipeline._store import list_runs, load_run

__all__ = [
    "CacheWarning",
    "Pipeline",
    "Run",
    "Step",
    "StepRun",
    "code_fingerprint",
    "list_runs",
    "load_run",
    "step",
]

_LAZY = {
    "CacheWarning": "mlopskit.pipeline._execute",
    "Run": "mlopskit.pipeline._run",
    "StepRun": "mlopskit.pipeline._run",
    "list_runs": "mlopskit.pipeline._store",
    "load_run": "mlopskit.pipeline._store",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
