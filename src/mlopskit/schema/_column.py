"""The ``Column`` model: what a schema says about one column.

Everything a column holds is a JSON value (numbers, strings, booleans, tuples of
them), so a schema round-trips through JSON losslessly and reads well when printed.
Datetime and timedelta bounds are kept as ISO 8601 text; pass a ``pd.Timestamp``, a
``datetime`` or a string and the column normalises it.

What does *not* belong here: running the checks (``_validate``).
"""

from __future__ import annotations

import datetime as _dt
import operator
import re
from contextvars import ContextVar
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    field_validator,
    model_validator,
)

from mlopskit.errors import SchemaError
from mlopskit.schema._dtypes import LogicalDtype

__all__ = ["Bound", "Column", "ReferenceStats", "Scalar"]

#: A value a check compares against: numbers, or ISO text for dates and durations.
Bound = int | float | str
#: A value an ``isin`` set may hold.
Scalar = bool | int | float | str

_BOUNDS = ("ge", "gt", "le", "lt")

#: Set while a ``Schema`` validates its columns: a column error then stays pydantic's
#: ``ValidationError`` (keeping its location), and the schema turns it into one
#: ``SchemaError``.
RAW_ERRORS: ContextVar[bool] = ContextVar("RAW_ERRORS", default=False)


def to_json_scalar(value: Any) -> Any:
    """Normalise numpy, datetime and timedelta scalars to JSON values."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp | _dt.datetime | _dt.date):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, pd.Timedelta | _dt.timedelta | np.timedelta64):
        return pd.Timedelta(value).isoformat()
    return value


class ReferenceStats(BaseModel):
    """Statistics of the data a schema was inferred from, for skew checks.

    Numeric, datetime and timedelta columns keep interior quantile ``edges`` (the
    histogram has ``len(edges) + 1`` bins) and are compared by the Jensen-Shannon
    divergence (base 2, in [0, 1]); other columns keep their most frequent
    ``values`` plus an "other" bucket and are compared by the L-infinity distance
    between frequency vectors, as TFDV's skew comparators do.

    Attributes
    ----------
    metric
        ``"jensen_shannon"`` or ``"linf"``.
    threshold
        A batch whose distance exceeds this is reported as skewed.
    edges
        Interior bin edges (numbers; datetimes as nanoseconds since the epoch).
    values
        The reference's most frequent values (categorical columns).
    frequencies
        Fraction of non-null reference values per bin (or per value, then "other").
    n
        Number of non-null reference values.

    Examples
    --------
    >>> stats = ReferenceStats(metric="linf", threshold=0.1, values=("a", "b"),
    ...                        frequencies=(0.5, 0.5, 0.0), n=10)
    >>> stats.metric
    'linf'
    """

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")

    metric: Literal["jensen_shannon", "linf"]
    threshold: float
    edges: tuple[float, ...] = ()
    values: tuple[Scalar, ...] = ()
    frequencies: tuple[float, ...]
    n: int

    @model_validator(mode="after")
    def _check_shape(self) -> ReferenceStats:
        expected = len(self.edges if self.metric == "jensen_shannon" else self.values)
        if len(self.frequencies) != expected + 1:
            raise ValueError(
                f"`frequencies` must have {expected + 1} entries (one per bin, or one "
                f"per value plus 'other'). Got {len(self.frequencies)} instead."
            )
        return self


class Column(BaseModel):
    """What a schema requires of one column.

    Attributes
    ----------
    dtype
        Logical dtype: ``"integer"``, ``"float"``, ``"boolean"``, ``"string"``,
        ``"category"``, ``"datetime"``, ``"timedelta"`` or ``"any"`` (no check).
        Every physical variant pandas has for a kind is accepted (``Int64``,
        ``string[pyarrow]``, an object column holding strings …).
    tz
        For ``"datetime"``: the time zone the column must have (``None``: naive).
    nullable
        Whether null values (NaN, None, NA, NaT) are allowed.
    unique
        Whether every value must differ from the others.
    required
        Whether the column must be present (``False``: checked only if present).
    ge, gt, le, lt
        Bounds (>=, >, <=, <). Numbers, or for datetime/timedelta columns anything
        ``pd.Timestamp``/``pd.Timedelta`` reads (kept as ISO text). A naive datetime
        bound on a tz-aware column is read in the column's time zone.
    isin
        The allowed values.
    unseen
        What a value outside ``isin`` does: ``"fail"`` (a failure, the default) or
        ``"warn"`` (listed in ``report.warnings``; the batch passes). ``Schema.infer``
        sets ``"warn"`` on categories that look open-ended (see its ``unseen``).
    regex
        A pattern every (string) value must match in full (``re.fullmatch``).
    min_length, max_length
        Bounds on the length of string values.
    checks
        Names of custom vectorised checks registered with
        :func:`~mlopskit.schema.register_check`.
    reference
        Reference statistics for the skew check (set by ``Schema.infer(...,
        statistics=True)``).
    description
        Free text for people.

    Examples
    --------
    >>> Column(dtype="integer", ge=0, le=120).le
    120
    >>> Column(dtype="datetime", tz="UTC", ge=pd.Timestamp("2020-01-01", tz="UTC")).ge
    '2020-01-01T00:00:00+00:00'
    """

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")

    dtype: LogicalDtype = "any"
    tz: str | None = None
    nullable: bool = False
    unique: bool = False
    required: bool = True
    ge: Bound | None = None
    gt: Bound | None = None
    le: Bound | None = None
    lt: Bound | None = None
    isin: tuple[Scalar, ...] | None = None
    unseen: Literal["fail", "warn"] = "fail"
    regex: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    checks: tuple[str, ...] = ()
    reference: ReferenceStats | None = None
    description: str | None = None

    @field_validator("ge", "gt", "le", "lt", mode="before")
    @classmethod
    def _normalise_bound(cls, value: Any) -> Any:
        return to_json_scalar(value)

    @field_validator("isin", mode="before")
    @classmethod
    def _normalise_values(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str | bytes):
            raise ValueError(
                f"`isin` must be a collection of values. Got the string {value!r}; "
                "wrap it in a list."
            )
        return tuple(to_json_scalar(v) for v in value)

    @field_validator("checks", mode="before")
    @classmethod
    def _one_check(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_consistency(self) -> Column:
        if self.tz is not None and self.dtype != "datetime":
            raise ValueError(
                f"`tz` applies to datetime columns only, not {self.dtype}."
            )
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(
                    f"`regex` {self.regex!r} does not compile: {exc}"
                ) from exc
        lengths = (self.min_length, self.max_length)
        if any(v is not None and v < 0 for v in lengths):
            raise ValueError(f"String lengths must be >= 0. Got {lengths} instead.")
        if None not in lengths and lengths[0] > lengths[1]:  # type: ignore[operator]
            raise ValueError(f"`min_length` exceeds `max_length`: {lengths}.")
        parsed = {
            name: parse_bound(bound, self.dtype, self.tz, name)
            for name, bound in self.bounds().items()
        }
        _check_bounds_overlap(self, parsed)
        _check_isin(self, parsed)
        return self

    def __init__(self, **data: Any) -> None:
        # A contradictory or malformed column is a SchemaError (a ValueError), not
        # pydantic's ValidationError, so ``except SchemaError`` catches it everywhere.
        try:
            super().__init__(**data)
        except ValidationError as exc:
            if RAW_ERRORS.get():  # inside a Schema: it reports the full location
                raise
            raise SchemaError(
                f"Invalid column: {explain(exc, '')}.", errors=explain(exc, "")
            ) from None

    def __repr_args__(self) -> Any:
        # Only what differs from the defaults: ``Column(dtype='integer', ge=0)``.
        for name, value in super().__repr_args__():
            field = type(self).model_fields.get(name) if name else None
            if field is None or value != field.default:
                yield name, value

    def bounds(self) -> dict[str, Bound]:
        """The bounds that are set, by name (``ge``, ``gt``, ``le``, ``lt``)."""
        return {n: getattr(self, n) for n in _BOUNDS if getattr(self, n) is not None}


def explain(exc: ValidationError, what: str) -> str:
    """Pydantic's errors as one line: ``where: what is wrong; …``."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or what
        msg = str(err["msg"]).removeprefix("Value error, ").rstrip(".")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


def _check_bounds_overlap(column: Column, parsed: dict[str, Any]) -> None:
    """Refuse a lower bound above the upper one: no value could pass."""
    for lo_name in ("ge", "gt"):
        for hi_name in ("le", "lt"):
            if lo_name not in parsed or hi_name not in parsed:
                continue
            lo, hi = parsed[lo_name], parsed[hi_name]
            exclusive = lo_name == "gt" or hi_name == "lt"
            try:
                empty = bool(lo >= hi) if exclusive else bool(lo > hi)
            except TypeError:
                continue  # e.g. a number and a string on an "any" column
            if empty:
                op = ">=" if exclusive else ">"
                raise ValueError(
                    f"Contradictory bounds: {lo_name}={getattr(column, lo_name)!r} "
                    f"{op} {hi_name}={getattr(column, hi_name)!r}, so no value can "
                    "pass. Swap or widen them."
                )


def _check_isin(column: Column, parsed: dict[str, Any]) -> None:
    """Refuse an empty ``isin``, or one whose every value breaks a bound."""
    if column.isin is None:
        return
    if not column.isin:
        raise ValueError(
            "`isin` is empty: no value would pass. Use `isin=None` for no constraint."
        )
    numbers = [v for v in column.isin if isinstance(v, int | float)]
    if not parsed or column.dtype not in ("integer", "float") or not numbers:
        return
    ops = {"ge": operator.ge, "gt": operator.gt, "le": operator.le, "lt": operator.lt}
    if not any(all(ops[n](v, b) for n, b in parsed.items()) for v in numbers):
        raise ValueError(
            f"Contradictory constraints: no value of `isin` {column.isin} satisfies "
            f"the bounds {column.bounds()}. Drop one of them or make them agree."
        )


def parse_bound(bound: Bound, dtype: LogicalDtype, tz: str | None, name: str) -> Any:
    """A bound as the value the column's data compares against.

    Datetime bounds become UTC-naive ``numpy.datetime64[ns]`` for tz-aware columns
    (the data are compared in UTC) and naive ones otherwise; timedelta bounds become
    ``numpy.timedelta64[ns]``; numbers stay numbers.
    """
    try:
        if dtype == "datetime":
            stamp = pd.Timestamp(bound)
            if tz is not None:
                stamp = (
                    stamp.tz_localize(tz) if stamp.tzinfo is None else stamp
                ).tz_convert("UTC")
                stamp = stamp.tz_localize(None)
            elif stamp.tzinfo is not None:
                raise ValueError("a tz-aware bound on a naive datetime column")
            return np.datetime64(stamp.as_unit("ns").asm8)
        if dtype == "timedelta":
            return np.timedelta64(pd.Timedelta(bound).as_unit("ns").asm8)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"Bound `{name}`={bound!r} cannot be read as a {dtype} value ({exc}). "
            "Give a value pandas can parse, e.g. '2024-01-01' or '1 day'."
        ) from exc
    if isinstance(bound, (str, bool)):
        if dtype in ("string", "category", "any"):
            return bound
        raise ValueError(
            f"Bound `{name}`={bound!r} is not a number, but the column's dtype is "
            f"{dtype!r}. Give a number."
        )
    return bound
