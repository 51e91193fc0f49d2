"""``Schema.infer``: propose a schema from data, tolerant enough to reuse.

An inferred schema should accept fresh data from the same distribution and catch
values that are plainly wrong. So, unlike an exact min/max:

- ranges are widened by ``tolerance`` × span, and at least by the gap between the
  0.1 % tail quantile and the extreme (heavy tails get more room), rounded outward to
  readable numbers, and never pushed across zero for non-negative data;
- low-cardinality integer and string columns get their set of allowed values;
- structured strings (codes, ids) get a regex built from character classes
  (``user_\\d+``, ``[A-Z]{3}-\\d{4}``); free text gets length bounds.

What does *not* belong here: the models and the validation engine.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from mlopskit.errors import InvalidParameterError
from mlopskit.schema._column import Column, to_json_scalar
from mlopskit.schema._dtypes import LogicalDtype, logical_dtype, timezone_of
from mlopskit.schema._schema import Schema
from mlopskit.schema._skew import compute_reference
from mlopskit.schema._validate import check_frame

__all__ = ["infer_column", "infer_pattern", "infer_schema"]

_TOKEN = re.compile(r"[A-Z]+|[a-z]+|\d+|\s+|.", re.DOTALL)
_CLASSES = {"U": "[A-Z]", "L": "[a-z]", "D": r"\d", "S": r"\s"}
_SPECIAL = set(r".^$*+?{}[]\|()")
_MIN_DISTINCT_FOR_PATTERN = 20
_PATTERN_SAMPLE = 2000
_TAIL = 0.001
_DAY_NS = 86_400 * 10**9


def infer_schema(
    df: pd.DataFrame,
    *,
    tolerance: float = 0.1,
    max_categories: int = 20,
    unique: bool = True,
    patterns: bool = True,
    statistics: bool = False,
    skew_threshold: float | None = None,
    strict: bool = False,
) -> Schema:
    """The engine behind :meth:`Schema.infer` (see it for the options)."""
    check_frame(df)
    if not (isinstance(tolerance, int | float) and 0 <= tolerance < math.inf):
        raise InvalidParameterError(
            f"`tolerance` must be a finite number >= 0. Got {tolerance!r} instead."
        )
    if not isinstance(max_categories, int) or max_categories < 0:
        raise InvalidParameterError(
            f"`max_categories` must be an int >= 0. Got {max_categories!r} instead."
        )
    columns = {
        str(name): infer_column(
            df[name],
            tolerance=float(tolerance),
            max_categories=max_categories,
            unique=unique,
            patterns=patterns,
            statistics=statistics,
            skew_threshold=skew_threshold,
        )
        for name in df.columns
    }
    return Schema(columns=columns, strict=strict)


def infer_column(
    series: pd.Series,
    *,
    tolerance: float = 0.1,
    max_categories: int = 20,
    unique: bool = True,
    patterns: bool = True,
    statistics: bool = False,
    skew_threshold: float | None = None,
) -> Column:
    """Propose a :class:`Column` for one series.

    Examples
    --------
    >>> import pandas as pd
    >>> infer_column(pd.Series([1, 2, 2, 3] * 10)).isin
    (1, 2, 3)
    """
    dtype = logical_dtype(series)
    fields: dict[str, Any] = {"dtype": dtype}
    if dtype == "datetime":
        fields["tz"] = timezone_of(series)
    values = series.dropna()
    fields["nullable"] = len(values) < len(series)
    if len(values) == 0:
        return Column(**fields)
    if dtype in ("integer", "string", "category"):
        fields.update(
            _domain(values, dtype, max_categories, unique, patterns, tolerance)
        )
    if dtype in ("integer", "float", "datetime", "timedelta") and "isin" not in fields:
        fields.update(_range(values, dtype, tolerance))
    if statistics and dtype != "any":  # mixed objects have no comparable histogram
        fields["reference"] = compute_reference(series, dtype, threshold=skew_threshold)
    return Column(**fields)


def _domain(
    values: pd.Series,
    dtype: LogicalDtype,
    max_categories: int,
    unique: bool,
    patterns: bool,
    tolerance: float,
) -> dict[str, Any]:
    if dtype == "category":
        categories = values.cat.categories
        return (
            {"isin": tuple(to_json_scalar(v) for v in categories)}
            if len(categories) <= 1000
            else {}
        )
    distinct = values.unique()
    n_distinct = len(distinct)
    # A closed set needs evidence: few distinct values, each seen twice on average.
    if n_distinct <= max_categories and len(values) >= 2 * n_distinct:
        return {"isin": tuple(sorted(to_json_scalar(v) for v in distinct))}
    fields: dict[str, Any] = {}
    if unique and n_distinct == len(values) and len(values) >= 20:
        fields["unique"] = True
    if dtype == "string":
        strings = [str(v) for v in distinct[:_PATTERN_SAMPLE]]
        pattern = infer_pattern(strings) if patterns else None
        if pattern is not None and len(distinct) > len(strings):
            # Learnt from a sample of the distinct values: keep it only if all match.
            match = re.compile(pattern).fullmatch
            rest = distinct[len(strings) :]
            if not all(match(v if type(v) is str else str(v)) for v in rest):
                pattern = None
        if pattern is not None:
            fields["regex"] = pattern
        else:
            lengths = values.str.len()
            lo, hi = int(lengths.min()), int(lengths.max())
            fields["min_length"] = max(min(lo, 1), math.floor(lo * (1 - tolerance)))
            fields["max_length"] = math.ceil(hi * (1 + tolerance))
    return fields


def infer_pattern(strings: list[str]) -> str | None:
    """A regex every string matches in full, built from character classes.

    Returns ``None`` when the strings do not share one structure (free text) or
    are too few to generalise from.

    Examples
    --------
    >>> infer_pattern([f"user_{i}" for i in range(5, 500, 7)])
    'user_\\\\d+'
    >>> infer_pattern([f"AB{i:03d}-x" for i in range(30)])
    'AB\\\\d{3}-x'
    >>> infer_pattern(["free text", "more free text"] * 20) is None
    True
    """
    if len(set(strings)) < _MIN_DISTINCT_FOR_PATTERN:
        return None
    tokenised = [_TOKEN.findall(s) for s in strings]
    shapes = {tuple(_kind(t) for t in tokens) for tokens in tokenised}
    if len(shapes) != 1:
        return None
    shape = next(iter(shapes))
    if not shape:
        return None
    parts = []
    for i, kind in enumerate(shape):
        texts = {tokens[i] for tokens in tokenised}
        if len(texts) == 1:
            parts.append(_escape(next(iter(texts))))
        elif kind not in _CLASSES:
            return None  # a single character that varies: no structure to keep
        else:
            lengths = {len(t) for t in texts}
            repeat = "+" if len(lengths) > 1 else _exactly(lengths.pop())
            parts.append(_CLASSES[kind] + repeat)
    return "".join(parts)


def _exactly(n: int) -> str:
    return "" if n == 1 else f"{{{n}}}"


def _kind(token: str) -> str:
    first = token[0]
    if "A" <= first <= "Z":
        return "U"
    if "a" <= first <= "z":
        return "L"
    if first.isdigit() and token.isdigit() and token.isascii():
        return "D"
    if first.isspace():
        return "S"
    return "=" + token  # a literal character: it must be the same everywhere


def _escape(text: str) -> str:
    return "".join("\\" + c if c in _SPECIAL else c for c in text)


def _range(values: pd.Series, dtype: LogicalDtype, tolerance: float) -> dict[str, Any]:
    if dtype == "datetime":
        tz = timezone_of(values)
        naive = values.dt.tz_convert(None) if tz is not None else values
        ns = naive.to_numpy().astype("datetime64[ns]").astype("int64")
        lo, hi = _widen(ns.astype(float), tolerance, nonneg=False)
        unit = "D" if hi - lo > 10 * _DAY_NS else "s"
        return {
            "ge": _stamp(lo, tz, unit, floor=True),
            "le": _stamp(hi, tz, unit, floor=False),
        }
    if dtype == "timedelta":
        ns = values.to_numpy().astype("timedelta64[ns]").astype("int64")
        lo, hi = _widen(ns.astype(float), tolerance, nonneg=bool(ns.min() >= 0))
        return {
            "ge": pd.Timedelta(int(lo), unit="ns").floor("s").isoformat(),
            "le": pd.Timedelta(int(hi), unit="ns").ceil("s").isoformat(),
        }
    numbers = values.to_numpy(dtype="float64")
    lo, hi = _widen(numbers, tolerance, nonneg=bool(numbers.min() >= 0))
    if dtype == "integer":
        return {"ge": math.floor(lo), "le": math.ceil(hi)}
    if tolerance == 0:
        return {"ge": lo, "le": hi}
    if numbers.min() >= 0 and numbers.max() <= 1:
        hi = min(hi, 1.0)  # a fraction or probability stays one
    return {"ge": _round(lo, hi - lo, down=True), "le": _round(hi, hi - lo, down=False)}


def _widen(
    numbers: np.ndarray, tolerance: float, *, nonneg: bool
) -> tuple[float, float]:
    lo, hi = float(numbers.min()), float(numbers.max())
    if tolerance == 0:
        return lo, hi
    span = hi - lo if hi > lo else abs(lo) or 1.0
    pad_lo = pad_hi = tolerance * span
    finite = numbers[np.isfinite(numbers)]
    if len(finite) >= 1 / _TAIL:
        q_lo, q_hi = np.quantile(finite, [_TAIL, 1 - _TAIL], method="linear")
        pad_lo, pad_hi = max(pad_lo, float(q_lo) - lo), max(pad_hi, hi - float(q_hi))
    new_lo, new_hi = lo - pad_lo, hi + pad_hi
    if nonneg:
        new_lo = max(new_lo, 0.0)
    if hi <= 0:
        new_hi = min(new_hi, 0.0)
    return new_lo, new_hi


def _round(value: float, span: float, *, down: bool) -> float:
    """Round outward to two significant digits of the span (readable bounds)."""
    if span <= 0 or not math.isfinite(span):
        return value
    step = 10.0 ** (math.floor(math.log10(span)) - 1)
    scaled = math.floor(value / step) if down else math.ceil(value / step)
    digits = max(0, -math.floor(math.log10(step)))
    return round(scaled * step, digits)


def _stamp(ns: float, tz: str | None, unit: str, *, floor: bool) -> str:
    stamp = pd.Timestamp(int(ns), unit="ns")
    stamp = stamp.floor(unit) if floor else stamp.ceil(unit)
    if tz is not None:
        stamp = stamp.tz_localize("UTC").tz_convert(tz)
    return str(stamp.isoformat())
