"""Logical dtypes: which pandas dtypes count as "integer", "string" … and coercion.

A schema speaks in *logical* dtypes so that one schema accepts the physical variants
pandas offers for the same kind of data: ``int64``, ``Int64`` and ``int64[pyarrow]`` are
all ``"integer"``; pandas 3's default ``str``, ``string[python]``, ``string[pyarrow]``
and an ``object`` column holding only strings are all ``"string"``.

What does *not* belong here: checks on values (``_validate``) and inference of
constraints (``_infer``).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["LogicalDtype", "coerce_series", "logical_dtype", "matches_dtype"]

LogicalDtype = Literal[
    "integer",
    "float",
    "boolean",
    "string",
    "category",
    "datetime",
    "timedelta",
    "any",
]

_PANDAS_3 = int(pd.__version__.split(".", 1)[0]) >= 3
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def _is_string_dtype(dtype: Any) -> bool:
    if isinstance(dtype, pd.StringDtype):
        return True
    pa_type = getattr(dtype, "pyarrow_dtype", None)
    if pa_type is not None:
        return str(pa_type) in ("string", "large_string", "string_view")
    return False


def logical_dtype(series: pd.Series) -> LogicalDtype:
    """The logical dtype of a column (``"any"`` for mixed ``object`` columns).

    Examples
    --------
    >>> import pandas as pd
    >>> logical_dtype(pd.Series([1, None], dtype="Int64"))
    'integer'
    >>> logical_dtype(pd.Series(["a", "b"], dtype=object))
    'string'
    """
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if _is_string_dtype(dtype):
        return "string"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "timedelta"
    if pd.api.types.is_object_dtype(dtype):
        kind = pd.api.types.infer_dtype(series, skipna=True)
        if kind in ("string", "empty"):
            return "string"
        if kind == "boolean":
            return "boolean"
    return "any"


def timezone_of(series: pd.Series) -> str | None:
    """The time zone name of a datetime column, ``None`` when naive."""
    tz = getattr(series.dtype, "tz", None)
    return None if tz is None else str(tz)


def matches_dtype(series: pd.Series, dtype: LogicalDtype, tz: str | None) -> bool:
    """Whether ``series`` has logical dtype ``dtype`` (and time zone ``tz``)."""
    if dtype == "any":
        return True
    if len(series) == 0 and pd.api.types.is_object_dtype(series.dtype):
        return True  # an empty object column (e.g. ``pd.DataFrame(columns=[...])``)
    if logical_dtype(series) != dtype:
        return False
    return dtype != "datetime" or timezone_of(series) == tz


def default_string_dtype() -> str:
    """``"str"`` on pandas 3 (its default), ``"string"`` (NA-aware) on pandas 2."""
    return "str" if _PANDAS_3 else "string"


def coerce_series(
    series: pd.Series, dtype: LogicalDtype, tz: str | None
) -> tuple[pd.Series, np.ndarray]:
    """Convert ``series`` to ``dtype``; also return the mask of cells that failed.

    A cell fails when it is not null before conversion and cannot be represented
    after it (it becomes null). Failed cells are null in the returned series.

    Examples
    --------
    >>> import pandas as pd
    >>> out, failed = coerce_series(pd.Series(["1", "x", None]), "integer", None)
    >>> out.tolist(), failed.tolist()
    ([1, <NA>, <NA>], [False, True, False])
    """
    was_null = series.isna().to_numpy()
    if matches_dtype(series, dtype, tz):
        return series, np.zeros(len(series), dtype=bool)
    out = _convert(series, dtype, tz)
    failed = out.isna().to_numpy() & ~was_null
    return out, failed


def _convert(series: pd.Series, dtype: LogicalDtype, tz: str | None) -> pd.Series:
    if dtype == "integer":
        return _to_integer(series)
    if dtype == "float":
        return pd.to_numeric(series, errors="coerce").astype("float64")
    if dtype == "boolean":
        return _to_boolean(series)
    if dtype == "string":
        return series.astype(default_string_dtype())
    if dtype == "category":
        return series.astype("category")
    if dtype == "datetime":
        return _to_datetime(series, tz)
    if dtype == "timedelta":
        return pd.to_timedelta(series, errors="coerce")
    return series


def _to_integer(series: pd.Series) -> pd.Series:
    if logical_dtype(series) == "boolean":
        series = series.astype("Int64")
    numbers = pd.to_numeric(series, errors="coerce")
    as_float = numbers.astype("float64")
    integral = np.isfinite(as_float) & (np.floor(as_float) == as_float)
    numbers = numbers.where(integral)
    out = numbers.astype("Int64") if numbers.isna().any() else numbers.astype("int64")
    return out


def _to_boolean(series: pd.Series) -> pd.Series:
    def parse(value: Any) -> Any:
        if isinstance(value, bool | np.bool_):
            return bool(value)
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return pd.NA

    parsed = series.map(parse, na_action="ignore").astype("boolean")
    return parsed if parsed.isna().any() else parsed.astype(bool)


def _to_datetime(series: pd.Series, tz: str | None) -> pd.Series:
    if logical_dtype(series) == "datetime":
        if tz is None:
            return series.dt.tz_convert(None)
        if timezone_of(series) is None:
            return series.dt.tz_localize(tz)
        return series.dt.tz_convert(tz)
    parsed = pd.to_datetime(series, errors="coerce", format="mixed", utc=tz is not None)
    return parsed.dt.tz_convert(tz) if tz is not None else parsed
