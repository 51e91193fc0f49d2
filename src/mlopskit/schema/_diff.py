"""``Schema.diff``: how a schema evolved, and whether old data stays valid.

Every difference is classified as *tightened* (some data valid before may now fail),
*loosened* (everything valid before stays valid), *changed* (neither contains the
other, e.g. a new regex or dtype: treated as breaking) or *informational* (reference
statistics, descriptions: no effect on validity). The new schema is backward
compatible when nothing is tightened or changed.

What does *not* belong here: validating data.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from mlopskit._results import Frame, Result
from mlopskit.schema._column import Column, parse_bound
from mlopskit.schema._schema import Schema

__all__ = ["SchemaDiff", "diff_schemas"]

_BREAKING = ("tightened", "changed")


class SchemaDiff(Result):
    """The differences between two schemas (``old.diff(new)``).

    Attributes
    ----------
    added, removed
        Column names only in the new / only in the old schema.
    changes
        One row per difference: ``column`` (``None`` for table-level fields),
        ``attribute``, ``old`` and ``new`` (as JSON text), ``effect``
        (``"tightened"``, ``"loosened"``, ``"changed"`` or ``"informational"``).
    backward_compatible
        Whether every frame valid under the old schema is valid under the new one
        (as far as the schemas say: custom checks are compared by name only).
    breaking
        Why it is not backward compatible, one sentence per reason.

    Examples
    --------
    >>> from mlopskit.schema import Column, Schema
    >>> old = Schema(columns={"a": Column(dtype="integer")})
    >>> new = old.with_column("b", Column(dtype="string", required=False))
    >>> d = old.diff(new)
    >>> d.added, d.backward_compatible
    (('b',), False)
    >>> d.breaking
    ("added column 'b' is checked, and the old schema let frames carry any column 'b'",)
    """

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changes: Frame
    backward_compatible: bool
    breaking: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """The table of changes (a copy), one row per difference.

        Examples
        --------
        >>> from mlopskit.schema import Column, Schema
        >>> old = Schema(columns={"x": Column(dtype="float")})
        >>> old.diff(old.with_column("x", nullable=True)).to_frame()["effect"].tolist()
        ['loosened']
        """
        return self.changes.copy()

    def __str__(self) -> str:
        verdict = "backward compatible" if self.backward_compatible else "BREAKING"
        lines = [f"SchemaDiff: {verdict}; +{list(self.added)} -{list(self.removed)}"]
        if len(self.changes):
            lines.append(self.changes.to_string(index=False))
        lines.extend(f"- {reason}" for reason in self.breaking)
        return "\n".join(lines)


class _Changes:
    def __init__(self) -> None:
        self.rows: list[tuple[Any, str, str, str, str]] = []
        self.breaking: list[str] = []

    def add(self, column: Any, attribute: str, old: Any, new: Any, effect: str) -> None:
        self.rows.append((column, attribute, _text(old), _text(new), effect))
        if effect in _BREAKING:
            where = f"column {column!r}" if column is not None else "table"
            self.breaking.append(
                f"{where}: {attribute} {effect} ({_text(old)} → {_text(new)})"
            )


def _text(value: Any) -> str:
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        return f"{value[0]}({json.dumps(value[1])})" if value[1] is not None else "none"
    return json.dumps(value, default=str)


def diff_schemas(old: Schema, new: Schema) -> SchemaDiff:
    """The engine behind :meth:`Schema.diff`."""
    out = _Changes()
    added = tuple(c for c in new.columns if c not in old.columns)
    removed = tuple(c for c in old.columns if c not in new.columns)
    for name in added:
        col = new.columns[name]
        if col.required:
            out.breaking.append(f"added column {name!r} is required")
        elif not old.strict:
            out.breaking.append(
                f"added column {name!r} is checked, and the old schema let frames "
                f"carry any column {name!r}"
            )
    for name in removed:
        if new.strict:
            out.breaking.append(
                f"removed column {name!r} is no longer allowed (the new schema is strict)"
            )
    for name in old.columns:
        if name in new.columns:
            _diff_column(name, old.columns[name], new.columns[name], out)
    _diff_table(old, new, out)
    changes = pd.DataFrame(
        out.rows, columns=["column", "attribute", "old", "new", "effect"]
    ).astype({"attribute": object, "old": object, "new": object, "effect": object})
    changes["column"] = changes["column"].astype(object)
    return SchemaDiff(
        added=added,
        removed=removed,
        changes=changes,
        backward_compatible=not out.breaking,
        breaking=tuple(out.breaking),
    )


def _flag(old: bool, new: bool, tighter_when_true: bool = True) -> str | None:
    if old == new:
        return None
    return "tightened" if new == tighter_when_true else "loosened"


def _diff_column(name: str, a: Column, b: Column, out: _Changes) -> None:
    if a.dtype != b.dtype:
        loosened = b.dtype == "any"
        out.add(name, "dtype", a.dtype, b.dtype, "loosened" if loosened else "changed")
    if a.tz != b.tz and a.dtype == b.dtype:
        out.add(name, "tz", a.tz, b.tz, "changed")
    for attr in ("nullable", "unique", "required"):
        effect = _flag(
            getattr(a, attr), getattr(b, attr), tighter_when_true=attr != "nullable"
        )
        if effect:
            out.add(name, attr, getattr(a, attr), getattr(b, attr), effect)
    comparable = a.dtype == b.dtype and a.tz == b.tz
    for side in ("lower", "upper"):
        old_b, new_b = _bound(a, side), _bound(b, side)
        if old_b != new_b:
            effect = _compare_bounds(old_b, new_b, side, a if comparable else None)
            out.add(name, f"{side} bound", old_b, new_b, effect)
    _diff_isin(name, a.isin, b.isin, out)
    if a.unseen != b.unseen and a.isin is not None and b.isin is not None:
        effect = "loosened" if b.unseen == "warn" else "tightened"
        out.add(name, "unseen", a.unseen, b.unseen, effect)
    if a.regex != b.regex:
        effect = (
            "tightened"
            if a.regex is None
            else "loosened"
            if b.regex is None
            else "changed"
        )
        out.add(name, "regex", a.regex, b.regex, effect)
    for attr, side in (("min_length", "lower"), ("max_length", "upper")):
        old_v, new_v = getattr(a, attr), getattr(b, attr)
        if old_v != new_v:
            out.add(name, attr, old_v, new_v, _compare_numbers(old_v, new_v, side))
    for check in sorted(set(b.checks) - set(a.checks)):
        out.add(name, "check", None, check, "tightened")
    for check in sorted(set(a.checks) - set(b.checks)):
        out.add(name, "check", check, None, "loosened")
    if a.reference != b.reference:
        out.add(
            name,
            "reference",
            a.reference is not None,
            b.reference is not None,
            "informational",
        )


def _bound(col: Column, side: str) -> tuple[str, Any]:
    names = ("ge", "gt") if side == "lower" else ("le", "lt")
    for n in names:
        value = getattr(col, n)
        if value is not None:
            return (n, value)
    return (names[0], None)


def _compare_bounds(
    old: tuple[str, Any], new: tuple[str, Any], side: str, column: Column | None
) -> str:
    if old[1] is None:
        return "tightened"
    if new[1] is None:
        return "loosened"
    if column is None:
        return "changed"
    try:
        old_v = parse_bound(old[1], column.dtype, column.tz, old[0])
        new_v = parse_bound(new[1], column.dtype, column.tz, new[0])
        sign = 1 if side == "lower" else -1
        if old_v == new_v:
            strict_old, strict_new = old[0] in ("gt", "lt"), new[0] in ("gt", "lt")
            return "tightened" if strict_new and not strict_old else "loosened"
        higher = bool(np.asarray(new_v > old_v))
        return "tightened" if (higher if sign == 1 else not higher) else "loosened"
    except (TypeError, ValueError):
        return "changed"


def _compare_numbers(old: int | None, new: int | None, side: str) -> str:
    if old is None:
        return "tightened"
    if new is None:
        return "loosened"
    return "tightened" if (new > old) == (side == "lower") else "loosened"


def _diff_isin(
    name: str, a: tuple[Any, ...] | None, b: tuple[Any, ...] | None, out: _Changes
) -> None:
    if a == b:
        return
    if a is None or b is None:
        effect = "tightened" if a is None else "loosened"
    else:
        old_set, new_set = set(a), set(b)
        if old_set == new_set:
            return
        effect = (
            "loosened"
            if old_set <= new_set
            else "tightened"
            if new_set <= old_set
            else "changed"
        )
    out.add(
        name,
        "isin",
        None if a is None else list(a),
        None if b is None else list(b),
        effect,
    )


def _diff_table(old: Schema, new: Schema, out: _Changes) -> None:
    for attr in ("strict", "ordered"):
        effect = _flag(getattr(old, attr), getattr(new, attr))
        if effect:
            out.add(None, attr, getattr(old, attr), getattr(new, attr), effect)
    if new.ordered and old.ordered:
        common_old = [c for c in old.columns if c in new.columns]
        common_new = [c for c in new.columns if c in old.columns]
        if common_old != common_new:
            out.add(None, "column order", common_old, common_new, "changed")
    if old.min_rows != new.min_rows:
        out.add(
            None,
            "min_rows",
            old.min_rows,
            new.min_rows,
            _compare_numbers(old.min_rows, new.min_rows, "lower"),
        )
    if old.max_rows != new.max_rows:
        out.add(
            None,
            "max_rows",
            old.max_rows,
            new.max_rows,
            _compare_numbers(old.max_rows, new.max_rows, "upper"),
        )
    for combo in new.unique:
        if combo not in old.unique and not _implied(combo, old):
            out.add(None, "unique", None, list(combo), "tightened")
    for combo in old.unique:
        if combo not in new.unique and not _implied(combo, new):
            out.add(None, "unique", list(combo), None, "loosened")
    for check in sorted(set(new.checks) - set(old.checks)):
        out.add(None, "check", None, check, "tightened")
    for check in sorted(set(old.checks) - set(new.checks)):
        out.add(None, "check", check, None, "loosened")


def _implied(combo: tuple[str, ...], schema: Schema) -> bool:
    """Unique on ``combo`` follows from a unique column or a unique sub-combination."""
    if any(c in schema.columns and schema.columns[c].unique for c in combo):
        return True
    return any(set(other) <= set(combo) for other in schema.unique)
