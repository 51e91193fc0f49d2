"""Declarative DataFrame schemas: infer, validate, diff, serialise.

Start from data (:meth:`Schema.infer`), tighten what you know
(:meth:`Schema.with_column`), then check every batch (:meth:`Schema.validate`), which
returns a :class:`ValidationReport` listing each failing cell by its row's index
label. :meth:`Schema.diff` says how a schema evolved and whether data valid before
stays valid; ``to_json``/``from_json`` store it (a model registry keeps it as a
model's input schema, a pipeline step as its contract).

Examples
--------
>>> import pandas as pd
>>> from mlopskit.schema import Schema
>>> schema = Schema.infer(pd.DataFrame({"x": [1.0, 2.0, 3.0]}))
>>> schema.validate(pd.DataFrame({"x": [2.5, -40.0]})).ok
False
"""

from mlopskit.schema._checks import register_check, registered_checks
from mlopskit.schema._column import Column, ReferenceStats
from mlopskit.schema._diff import SchemaDiff
from mlopskit.schema._report import ValidationReport
from mlopskit.schema._schema import Schema

__all__ = [
    "Column",
    "ReferenceStats",
    "Schema",
    "SchemaDiff",
    "ValidationReport",
    "register_check",
    "registered_checks",
]
