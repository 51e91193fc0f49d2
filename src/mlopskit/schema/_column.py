"""The ``Column`` model: what a schema says about one column.

Everything a column holds is a JSON value (numbers, strings, booleans, tuples of
them), so a schema round-trips through JSON losslessly and reads well when printed.
Datetime and timedelta bounds are kept as ISO 8601 text; pass a ``pd.Timestamp``, a
``datetime`` or a string and the column normalises it.

What does *not* belong here: running the checks (``_validate``).
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from mlopskit.schema._dtypes import LogicalDtype

__all__ = ["Bound", "Column", "ReferenceStats", "Scalar"]

#: A value a check compares against: numbers, or ISO text for dates and durations.
Bound = int | float | str
#: A value an ``isin`` set may hold.
Scalar = bool | int | float | str

_BOUNDS = ("ge", "gt", "le", "lt")


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
        for name in _BOUNDS:
            bound = getattr(self, name)
            if bound is not None:
                parse_bound(bound, self.dtype, self.tz, name)
        return self

    def __repr_args__(self) -> Any:
        # Only what differs from the defaults: ``Column(dtype='integer', ge=0)``.
        for name, value in super().__repr_args__():
            field = type(self).model_fields.get(name) if name else None
            if field is None or value != field.default:
                yield name, value

    def bounds(self) -> dict[str, Bound]:
        """The bounds that are set, by name (``ge``, ``gt``, ``le``, ``lt``)."""
        return {n: getattr(self, n) for n in _BOUNDS if getattr(self, n) is not None}


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
