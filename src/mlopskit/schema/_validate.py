"""The validation engine: run a schema's checks over a DataFrame, vectorised.

Each check computes one boolean mask over a whole column with numpy (or a pandas
string/categorical operation), and only the failing positions are touched after
that: failing values and index labels are gathered once per check, and the long
failure table is assembled once at the end. A clean column therefore costs what the
same checks hand-written in numpy cost; a dirty one adds only work proportional to
its failures.

What does *not* belong here: the models (``_column``, ``_schema``) and the report's
presentation (``_report``).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlopskit.errors import SchemaError
from mlopskit.schema._checks import get_check
from mlopskit.schema._column import Column, parse_bound
from mlopskit.schema._dtypes import (
    coerce_series,
    logical_dtype,
    matches_dtype,
    timezone_of,
)
from mlopskit.schema._report import (
    ValidationReport,
    empty_failures,
    empty_skew,
    empty_summary,
)
from mlopskit.schema._skew import skew_distance

if TYPE_CHECKING:
    from mlopskit.schema._schema import Schema

__all__ = ["check_frame", "run_validation"]

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "ge": operator.ge,
    "gt": operator.gt,
    "le": operator.le,
    "lt": operator.lt,
}
_NUMERIC = ("integer", "float", "datetime", "timedelta")


class _Stop(Exception):
    """Raised internally when ``lazy=False`` meets its first failing check."""


class _Collector:
    """Accumulates failures per check; assembles the long table once."""

    def __init__(self, lazy: bool, *, warnings: bool = True) -> None:
        self.lazy = lazy
        #: Informational findings (undeclared columns, unseen levels of an open
        #: category): same layout as failures, never stop a lazy=False run.
        self.warnings = _Collector(True, warnings=False) if warnings else self
        self.columns: list[Any] = []
        self.checks: list[str] = []
        self.positions: list[np.ndarray | None] = []
        self.values: list[Any] = []
        self.summary: list[tuple[Any, str, int]] = []
        self.skew: list[tuple[str, str, float, float, bool]] = []

    def passed(self, column: Any, check: str) -> None:
        self.summary.append((column, check, 0))

    def rows(self, column: Any, check: str, positions: np.ndarray, values: Any) -> None:
        """Record failing rows (``positions`` into the frame) and their values."""
        self.summary.append((column, check, len(positions)))
        if len(positions):
            self.columns.append(column)
            self.checks.append(check)
            self.positions.append(positions)
            self.values.append(values)
            if not self.lazy:
                raise _Stop

    def rule(self, column: Any, check: str, value: Any) -> None:
        """Record a failing rule that belongs to no row (missing column, skew …)."""
        self.summary.append((column, check, 1))
        self.columns.append(column)
        self.checks.append(check)
        self.positions.append(None)
        self.values.append([value])
        if not self.lazy:
            raise _Stop

    def failures(self, index: pd.Index) -> pd.DataFrame:
        if not self.checks:
            return empty_failures()
        counts = [1 if p is None else len(p) for p in self.positions]
        column = np.repeat(np.array(self.columns, dtype=object), counts)
        check = np.repeat(np.array(self.checks, dtype=object), counts)
        labels = self._labels(index, counts)
        values = self._values(counts)
        # object columns on every pandas: ``None`` (a table-level rule) stays None
        return pd.DataFrame(
            {
                "column": pd.Series(column, dtype=object, copy=False),
                "check": pd.Series(check, dtype=object, copy=False),
                "index": _keep_dtype(labels),
                "value": _keep_dtype(values),
            }
        )

    def _labels(self, index: pd.Index, counts: list[int]) -> Any:
        rows = [p for p in self.positions if p is not None]
        taken = index.take(np.concatenate(rows)) if rows else index[:0]
        if all(p is not None for p in self.positions):
            return taken
        out = np.empty(sum(counts), dtype=object)
        start, k = 0, 0
        as_objects = np.empty(len(taken), dtype=object)
        as_objects[:] = list(taken)  # MultiIndex labels stay tuples
        for p, n in zip(self.positions, counts, strict=True):
            if p is None:
                out[start] = None
            else:
                out[start : start + n] = as_objects[k : k + n]
                k += n
            start += n
        return out

    def _values(self, counts: list[int]) -> Any:
        kinds = {getattr(v, "dtype", None) for v in self.values}
        dtype = next(iter(kinds))
        if len(kinds) == 1 and isinstance(dtype, np.dtype) and dtype.kind in "biuf":
            return np.concatenate(self.values)
        out = np.empty(sum(counts), dtype=object)
        start = 0
        for v, n in zip(self.values, counts, strict=True):
            if isinstance(v, list):  # a rule: one value, possibly a tuple
                out[start] = v[0]
            else:
                out[start : start + n] = np.asarray(
                    pd.Series(v, copy=False).astype(object)
                )
            start += n
        return out


def _keep_dtype(values: Any) -> pd.Series:
    if isinstance(values, np.ndarray) and values.dtype == np.dtype(object):
        return pd.Series(values, dtype=object, copy=False)
    return pd.Series(values, copy=False)


def check_frame(df: Any) -> None:
    """Raise :class:`SchemaError` unless ``df`` is a DataFrame with unique columns."""
    if not isinstance(df, pd.DataFrame):
        module = type(df).__module__.split(".")[0]
        if hasattr(df, "to_pandas"):  # polars, pyarrow, cudf, modin …
            raise SchemaError(
                f"Expected a pandas DataFrame. Got a {module} {type(df).__name__}; "
                "mlopskit schemas validate pandas frames only. Convert it first: "
                "`schema.validate(df.to_pandas())`.",
                received=f"{module}.{type(df).__name__}",
            )
        raise SchemaError(
            f"Expected a pandas DataFrame. Got {type(df).__name__} instead; wrap a "
            "Series with `.to_frame()` or a dict/array with `pd.DataFrame(...)`."
        )
    if not df.columns.is_unique:
        dupes = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise SchemaError(
            f"The DataFrame has duplicate column names: {dupes}. Column names must be "
            "unique; rename or drop the duplicates.",
            columns=tuple(dupes),
        )


def run_validation(
    schema: Schema, df: Any, *, lazy: bool, coerce: bool
) -> ValidationReport:
    """Validate ``df`` against ``schema``; the engine behind ``Schema.validate``."""
    check_frame(df)
    original = df
    labels = list(df.columns)
    if not all(isinstance(c, str) for c in labels):
        # Schemas name columns by text (JSON keys): match other labels by str().
        df = df.set_axis([str(c) for c in labels], axis=1)
        check_frame(df)
    out = _Collector(lazy)
    coerced: dict[str, pd.Series] = {}
    try:
        _table_checks(schema, df, out)
        for name, column in schema.columns.items():
            if name in df.columns:
                _column_checks(name, column, df[name], out, coerce, coerced)
        _table_custom_checks(schema, df, out)
    except _Stop:
        complete = False
    else:
        complete = True
    data = None
    if coerce:
        data = original
        if coerced:
            data = original.copy(deep=False)
            position = {str(c): i for i, c in enumerate(labels)}
            for name, series in coerced.items():
                data[labels[position[name]]] = series
    failures = out.failures(df.index)
    warnings = out.warnings.failures(df.index)
    summary = (
        pd.DataFrame(
            {
                "column": pd.Series([s[0] for s in out.summary], dtype=object),
                "check": pd.Series([s[1] for s in out.summary], dtype=object),
                "failures": np.array([s[2] for s in out.summary], dtype=np.int64),
            }
        )
        if out.summary
        else empty_summary()
    )
    skew = (
        pd.DataFrame(
            out.skew, columns=["column", "metric", "distance", "threshold", "skewed"]
        )
        if out.skew
        else empty_skew()
    )
    return ValidationReport(
        ok=len(failures) == 0,
        n_rows=len(df),
        failures=failures,
        warnings=warnings,
        summary=summary,
        skew=skew,
        complete=complete,
        data=data,
    )


def _table_checks(schema: Schema, df: pd.DataFrame, out: _Collector) -> None:
    present = list(df.columns)
    for name, column in schema.columns.items():
        if column.required and name not in df.columns:
            out.rule(name, "present", None)
    for name in present:
        if name not in schema.columns:
            if schema.strict:
                out.rule(name, "allowed", None)
            else:  # a non-strict schema lets it through, and says so
                out.warnings.rule(name, "undeclared", None)
    if schema.ordered:
        expected = [c for c in schema.columns if c in df.columns]
        actual = [c for c in present if c in schema.columns]
        if expected != actual:
            out.rule(None, "column_order", ", ".join(str(c) for c in actual))
        else:
            out.passed(None, "column_order")
    n = len(df)
    if schema.min_rows is not None:
        if n < schema.min_rows:
            out.rule(None, f"min_rows({schema.min_rows})", n)
        else:
            out.passed(None, f"min_rows({schema.min_rows})")
    if schema.max_rows is not None:
        if n > schema.max_rows:
            out.rule(None, f"max_rows({schema.max_rows})", n)
        else:
            out.passed(None, f"max_rows({schema.max_rows})")
    for combo in schema.unique:
        missing = [c for c in combo if c not in df.columns]
        if missing:
            continue  # reported as a missing column (if required)
        dup = df.duplicated(subset=list(combo), keep=False).to_numpy()
        pos = np.flatnonzero(dup)
        values = list(zip(*(df[c].to_numpy()[pos] for c in combo), strict=True))
        out.rows(", ".join(combo), "unique", pos, _as_object(values))


def _as_object(values: list[Any]) -> np.ndarray:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def _table_custom_checks(schema: Schema, df: pd.DataFrame, out: _Collector) -> None:
    all_rows = np.arange(len(df))
    for name in schema.checks:
        result = get_check(name)(df)
        _record_custom(None, name, result, all_rows, None, out)


def _record_custom(
    column: Any,
    name: str,
    result: Any,
    positions: np.ndarray,
    values: pd.Series | None,
    out: _Collector,
) -> None:
    check = f"check:{name}"
    if isinstance(result, bool | np.bool_):
        if result:
            out.passed(column, check)
        else:
            out.rule(column, check, None)
        return
    mask = np.asarray(result)
    if pd.api.types.is_object_dtype(mask.dtype):
        mask = pd.Series(mask).to_numpy(dtype=bool, na_value=False)
    if mask.shape != positions.shape or mask.dtype != bool:
        raise SchemaError(
            f"Custom check {name!r} must return a bool or a boolean mask of length "
            f"{len(positions)}. Got {mask.dtype} of shape {mask.shape} instead."
        )
    bad = np.flatnonzero(~mask)
    taken = values.array.take(bad) if values is not None else np.full(len(bad), None)
    out.rows(column, check, positions[bad], taken)


# --- column checks -------------------------------------------------------------------


def _column_checks(
    name: str,
    column: Column,
    series: pd.Series,
    out: _Collector,
    coerce: bool,
    coerced: dict[str, pd.Series],
) -> None:
    dtype_ok = matches_dtype(series, column.dtype, column.tz)
    failed: np.ndarray | None = None
    if not dtype_ok and coerce:
        original = series
        series, failed = coerce_series(series, column.dtype, column.tz)
        coerced[name] = series
        pos = np.flatnonzero(failed)
        out.rows(name, f"coerce({column.dtype})", pos, original.array.take(pos))
        dtype_ok = True
    check_name = f"dtype({column.dtype}{'' if column.tz is None else ', ' + column.tz})"
    if not dtype_ok:
        found = str(series.dtype)
        if column.dtype == "datetime" and logical_dtype(series) == "datetime":
            found = f"{found} (tz={timezone_of(series)})"
        out.rule(name, check_name, found)
    else:
        out.passed(name, check_name)
    if len(series) == 0:
        return  # no cell to check
    values, null = _values(series, column.dtype if dtype_ok else "any")
    if not column.nullable:
        if null is not None:
            # A cell that failed coercion is null now; it is reported once, above.
            pos = np.flatnonzero(null if failed is None else null & ~failed)
            out.rows(name, "not_null", pos, series.array.take(pos))
        else:
            out.passed(name, "not_null")
    if column.unique:
        # Not ``&=``: under copy-on-write ``to_numpy()`` may return a read-only view.
        dup = series.duplicated(keep=False).to_numpy()
        if null is not None:
            dup = dup & ~null
        pos = np.flatnonzero(dup)
        out.rows(name, "unique", pos, series.array.take(pos))
    if not dtype_ok:
        return  # value checks assume the declared dtype
    _range_checks(name, column, series, values, null, out)
    _isin_check(name, column, series, null, out)
    _string_checks(name, column, series, null, out)
    _custom_checks(name, column, series, null, out)
    _skew_check(name, column, series, out)


def _values(
    series: pd.Series, dtype: str
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Comparable numpy values (numeric kinds only) and the null mask (or None)."""
    values: np.ndarray | None = None
    if dtype in _NUMERIC:
        if isinstance(series.dtype, np.dtype):
            values = series.to_numpy()
            if dtype == "float":
                null = np.isnan(values)
            elif dtype in ("datetime", "timedelta"):
                null = np.isnat(values)
            else:
                null = None
        elif dtype == "datetime" and timezone_of(series) is not None:
            values = series.dt.tz_convert(None).to_numpy()
            null = np.isnat(values)
        else:
            null = series.isna().to_numpy()
            target = "int64" if dtype == "integer" else "float64"
            fill = 0 if dtype == "integer" else np.nan
            values = series.to_numpy(dtype=target, na_value=fill)
    else:
        null = series.isna().to_numpy()
    if null is not None and not null.any():
        null = None
    return values, null


def _range_checks(
    name: str,
    column: Column,
    series: pd.Series,
    values: np.ndarray | None,
    null: np.ndarray | None,
    out: _Collector,
) -> None:
    bounds = column.bounds()
    if not bounds:
        return
    parsed = {
        op: parse_bound(b, column.dtype, column.tz, op) for op, b in bounds.items()
    }
    if values is None:  # strings/categories: compared by pandas, lexicographically
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(series.cat.categories.dtype)
        for op, bound in parsed.items():
            passed = _OPS[op](series, bound).to_numpy(dtype=bool, na_value=False)
            _record_mask(name, f"{op}({bounds[op]})", passed, null, series, out)
        return
    ok: np.ndarray | None = None
    for op, bound in parsed.items():
        mask = _OPS[op](values, bound)
        ok = mask if ok is None else np.logical_and(ok, mask, out=ok)
    assert ok is not None
    bad = np.logical_not(ok, out=ok)
    if null is not None:
        bad &= ~null
    pos = np.flatnonzero(bad)
    if len(pos) == 0:
        for op, b in bounds.items():
            out.passed(name, f"{op}({b})")
        return
    sub = values[pos]
    numpy_backed = isinstance(series.dtype, np.dtype)
    for op, bound in parsed.items():
        fails = ~_OPS[op](sub, bound)
        failing = pos[fails]
        taken = sub[fails] if numpy_backed else series.array.take(failing)
        out.rows(name, f"{op}({bounds[op]})", failing, taken)


def _isin_check(
    name: str,
    column: Column,
    series: pd.Series,
    null: np.ndarray | None,
    out: _Collector,
) -> None:
    if column.isin is None:
        return
    allowed: list[Any] = list(column.isin)
    if column.dtype == "datetime":
        allowed = [pd.Timestamp(v) for v in allowed]
        if column.tz is not None:
            allowed = [
                v.tz_localize(column.tz) if v.tzinfo is None else v for v in allowed
            ]
    elif column.dtype == "timedelta":
        allowed = [pd.Timedelta(v) for v in allowed]
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        table = np.append(series.cat.categories.isin(allowed), True)  # -1 = null
        ok = table[codes]
    elif series.dtype.kind in "iu" and all(type(v) is int for v in allowed):
        ok = np.isin(series.to_numpy(), np.asarray(allowed, dtype=np.int64))
    else:
        ok = series.isin(allowed).to_numpy(dtype=bool, na_value=False)
    bad = ~ok
    if null is not None:
        bad &= ~null
    pos = np.flatnonzero(bad)
    if column.unseen == "warn":  # an open-ended category: new levels are expected
        out.passed(name, "isin")
        if len(pos):
            out.warnings.rows(name, "isin", pos, series.array.take(pos))
        return
    out.rows(name, "isin", pos, series.array.take(pos))


def _string_checks(
    name: str,
    column: Column,
    series: pd.Series,
    null: np.ndarray | None,
    out: _Collector,
) -> None:
    if column.regex is None and column.min_length is None and column.max_length is None:
        return
    codes: np.ndarray | None = None
    if isinstance(series.dtype, pd.CategoricalDtype):
        # Check each category once, then map the verdicts to rows through the codes.
        strings = pd.Series(series.cat.categories.astype(str))
        codes = series.cat.codes.to_numpy()
    elif logical_dtype(series) == "string":
        strings = series
    else:
        strings = series.astype(str)  # nulls become text, but they are masked below

    def per_row(per_value: np.ndarray, fill: Any) -> np.ndarray:
        return per_value if codes is None else np.append(per_value, fill)[codes]

    if column.regex is not None:
        matched = _fullmatch(strings, column.regex)
        ok = per_row(matched, True)
        _record_mask(name, f"regex({column.regex})", ok, null, series, out)
    if column.min_length is not None or column.max_length is not None:
        lengths = strings.str.len().to_numpy(dtype="float64", na_value=np.nan)
        lengths = per_row(lengths, np.nan)
        if column.min_length is not None:
            ok = ~(lengths < column.min_length)
            _record_mask(
                name, f"min_length({column.min_length})", ok, null, series, out
            )
        if column.max_length is not None:
            ok = ~(lengths > column.max_length)
            _record_mask(
                name, f"max_length({column.max_length})", ok, null, series, out
            )


#: Rows sampled to decide whether a string column repeats its values enough to
#: match each distinct value once (factorize) rather than every row.
_SAMPLE = 10_000


def _fullmatch(strings: pd.Series, pattern: str) -> np.ndarray:
    """Whether each string matches ``pattern`` in full (nulls: False)."""
    dtype = strings.dtype
    python_strings = pd.api.types.is_object_dtype(dtype) or (
        isinstance(dtype, pd.StringDtype) and dtype.storage == "python"
    )
    if not python_strings:  # pyarrow-backed: vectorised in Arrow's C++ kernels
        return np.asarray(
            strings.str.fullmatch(pattern).to_numpy(dtype=bool, na_value=False)
        )
    match = re.compile(pattern).fullmatch
    n = len(strings)
    step = max(1, n // _SAMPLE)
    if n > 4 * _SAMPLE:
        sample = strings.iloc[::step]
        if sample.nunique() < len(sample) // 2:
            # Few distinct values: match each once, then map back through the codes.
            codes, uniques = pd.factorize(strings, use_na_sentinel=True)
            per_value = np.fromiter(
                (match(v) is not None for v in uniques), bool, len(uniques)
            )
            return np.asarray(np.append(per_value, False)[codes])
    values = strings.to_numpy()
    return np.fromiter(
        (type(v) is str and match(v) is not None for v in values), bool, n
    )


def _record_mask(
    name: str,
    check: str,
    ok: np.ndarray,
    null: np.ndarray | None,
    series: pd.Series,
    out: _Collector,
) -> None:
    bad = ~ok
    if null is not None:
        bad &= ~null
    pos = np.flatnonzero(bad)
    out.rows(name, check, pos, series.array.take(pos))


def _custom_checks(
    name: str,
    column: Column,
    series: pd.Series,
    null: np.ndarray | None,
    out: _Collector,
) -> None:
    if not column.checks:
        return
    if null is None:
        positions = np.arange(len(series))
        values = series
    else:
        positions = np.flatnonzero(~null)
        values = series.iloc[positions]
    for check in column.checks:
        result = get_check(check)(values)
        _record_custom(name, check, result, positions, values, out)


def _skew_check(name: str, column: Column, series: pd.Series, out: _Collector) -> None:
    stats = column.reference
    if stats is None:
        return
    distance = skew_distance(stats, series, column.dtype)
    skewed = bool(distance > stats.threshold)
    out.skew.append((name, stats.metric, distance, stats.threshold, skewed))
    check = f"skew({stats.metric} <= {stats.threshold:g})"
    if skewed:
        out.rule(name, check, distance)
    else:
        out.passed(name, check)
