"""``Schema.infer``: propose a schema from data, calibrated to accept fresh data.

An inferred schema should accept fresh data from the same distribution and catch
values that are plainly wrong. By default every data-derived check is sized from the
data so that a clean batch fails with a stated probability (``false_failure_rate``,
split evenly over the columns; see :mod:`mlopskit.schema._calibrate` for the three
rules):

- ranges extend past the observed extremes by a predictive tail margin (exponential
  tail above the ``k``-th most extreme value, ``k = clip(√n, 10, n - 1)``), rounded
  outward to readable numbers; a column never negative in the sample stays
  non-negative, one spanning [0, 1] stays at most 1;
- integer and string columns with few distinct values get their set of allowed
  values; for strings whose levels look open-ended (Good-Turing: levels seen once)
  the ``unseen`` policy says whether a new level fails, warns or is allowed, and
  integers fall back to a range;
- structured strings (codes, ids) get a regex built from character classes
  (``user_\\d+``, ``[A-Z]{3}-\\d{4}``); free text gets calibrated length bounds;
- a column with a null in the sample is nullable, one without is not.

``tolerance=`` keeps the older rule for ranges and lengths (widen by a fraction of
the span, at least to the 0.1 % tail quantile's gap; 0 for the exact min/max).

What does *not* belong here: the models, the validation engine and the statistics
(``_calibrate``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from mlopskit.errors import InvalidParameterError
from mlopskit.schema._calibrate import looks_open, upper_bound
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
#: Fewest non-null values a calibrated range or length bound is inferred from.
_MIN_VALUES = 3

#: What a value outside an open-ended set of levels does (``Schema.infer(unseen=)``).
Unseen = Literal["fail", "warn", "allow"]


@dataclass(frozen=True)
class _Rule:
    """How wide inferred checks are: a tolerance, or a false-failure budget."""

    tolerance: float | None  # None: calibrated
    budget: float  # false-failure probability this column may spend
    batch_size: int  # rows of the batches the schema will validate
    unseen: Unseen

    def rate(self, n_tails: int = 2) -> float:
        """Allowed chance, per fresh value, of passing one tail's bound."""
        return self.budget / (n_tails * max(self.batch_size, 1))


def infer_schema(
    df: pd.DataFrame,
    *,
    tolerance: float | None = None,
    false_failure_rate: float = 0.01,
    batch_size: int | None = None,
    unseen: Unseen = "warn",
    max_categories: int = 50,
    unique: bool = True,
    patterns: bool = True,
    statistics: bool = False,
    skew_threshold: float | None = None,
    strict: bool = False,
) -> Schema:
    """The engine behind :meth:`Schema.infer` (see it for the options)."""
    check_frame(df)
    _check_options(tolerance, false_failure_rate, batch_size, unseen, max_categories)
    rule = _Rule(
        tolerance=None if tolerance is None else float(tolerance),
        budget=false_failure_rate / max(1, df.shape[1]),
        batch_size=len(df) if batch_size is None else batch_size,
        unseen=unseen,
    )
    columns = {
        str(name): _infer(
            df[name],
            rule=rule,
            max_categories=max_categories,
            unique=unique,
            patterns=patterns,
            statistics=statistics,
            skew_threshold=skew_threshold,
        )
        for name in df.columns
    }
    return Schema(columns=columns, strict=strict)


def _check_options(
    tolerance: Any,
    false_failure_rate: Any,
    batch_size: Any,
    unseen: Any,
    max_categories: Any,
) -> None:
    if tolerance is not None and not (
        isinstance(tolerance, int | float) and 0 <= tolerance < math.inf
    ):
        raise InvalidParameterError(
            f"`tolerance` must be None or a finite number >= 0. Got {tolerance!r} "
            "instead."
        )
    if not (isinstance(false_failure_rate, int | float) and 0 < false_failure_rate < 1):
        raise InvalidParameterError(
            "`false_failure_rate` must be in (0, 1). Got "
            f"{false_failure_rate!r} instead."
        )
    if batch_size is not None and not (isinstance(batch_size, int) and batch_size > 0):
        raise InvalidParameterError(
            f"`batch_size` must be None or an int > 0. Got {batch_size!r} instead."
        )
    if unseen not in ("fail", "warn", "allow"):
        raise InvalidParameterError(
            f"`unseen` must be 'fail', 'warn' or 'allow'. Got {unseen!r} instead."
        )
    if not isinstance(max_categories, int) or max_categories < 0:
        raise InvalidParameterError(
            f"`max_categories` must be an int >= 0. Got {max_categories!r} instead."
        )


def infer_column(
    series: pd.Series,
    *,
    tolerance: float | None = None,
    false_failure_rate: float = 0.01,
    batch_size: int | None = None,
    unseen: Unseen = "warn",
    max_categories: int = 50,
    unique: bool = True,
    patterns: bool = True,
    statistics: bool = False,
    skew_threshold: float | None = None,
) -> Column:
    """Propose a :class:`Column` for one series (the whole budget is its own).

    Examples
    --------
    >>> import pandas as pd
    >>> infer_column(pd.Series([1, 2, 2, 3] * 10)).isin
    (1, 2, 3)
    """
    _check_options(tolerance, false_failure_rate, batch_size, unseen, max_categories)
    rule = _Rule(
        tolerance=None if tolerance is None else float(tolerance),
        budget=false_failure_rate,
        batch_size=len(series) if batch_size is None else batch_size,
        unseen=unseen,
    )
    return _infer(
        series,
        rule=rule,
        max_categories=max_categories,
        unique=unique,
        patterns=patterns,
        statistics=statistics,
        skew_threshold=skew_threshold,
    )


def _infer(
    series: pd.Series,
    *,
    rule: _Rule,
    max_categories: int,
    unique: bool,
    patterns: bool,
    statistics: bool,
    skew_threshold: float | None,
) -> Column:
    dtype = logical_dtype(series)
    fields: dict[str, Any] = {"dtype": dtype}
    if dtype == "datetime":
        fields["tz"] = timezone_of(series)
    values = series.dropna()
    fields["nullable"] = len(values) < len(series)
    if len(values) == 0:
        return Column(**fields)
    if dtype in ("integer", "string", "category"):
        fields.update(_domain(values, dtype, max_categories, unique, patterns, rule))
    if dtype in ("integer", "float", "datetime", "timedelta") and "isin" not in fields:
        fields.update(_range(values, dtype, rule))
    if statistics and dtype != "any":  # mixed objects have no comparable histogram
        fields["reference"] = compute_reference(series, dtype, threshold=skew_threshold)
    return Column(**fields)


def _domain(
    values: pd.Series,
    dtype: LogicalDtype,
    max_categories: int,
    unique: bool,
    patterns: bool,
    rule: _Rule,
) -> dict[str, Any]:
    if dtype == "category":
        categories = values.cat.categories
        return (
            {"isin": tuple(to_json_scalar(v) for v in categories)}
            if len(categories) <= 1000
            else {}
        )
    counts = values.value_counts(sort=False)
    distinct = counts.index.to_numpy()
    n_distinct = len(distinct)
    # A closed set needs evidence: few distinct values, each seen twice on average.
    if n_distinct <= max_categories and len(values) >= 2 * n_distinct:
        levels = {"isin": tuple(sorted(to_json_scalar(v) for v in distinct))}
        is_open = looks_open(counts.to_numpy(), rule.batch_size, rule.budget)
        if not is_open:
            return levels
        if dtype == "integer":
            return {}  # an open-ended count: a range, not a set
        if rule.unseen != "allow":
            return {**levels, "unseen": rule.unseen}
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
            fields.update(_lengths(values.str.len().to_numpy(dtype="float64"), rule))
    return fields


def _lengths(lengths: np.ndarray, rule: _Rule) -> dict[str, int]:
    lo, hi = int(lengths.min()), int(lengths.max())
    if rule.tolerance is not None:
        low = math.floor(lo * (1 - rule.tolerance))
        return {
            "min_length": max(min(lo, 1), low),
            "max_length": math.ceil(hi * (1 + rule.tolerance)),
        }
    if len(lengths) < _MIN_VALUES:
        return {}
    shortest = -upper_bound(-lengths, rule.rate())
    return {
        "min_length": max(min(lo, 1), math.floor(shortest)),
        "max_length": math.ceil(upper_bound(lengths, rule.rate())),
    }


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


def _range(values: pd.Series, dtype: LogicalDtype, rule: _Rule) -> dict[str, Any]:
    if rule.tolerance is None and len(values) < _MIN_VALUES:
        return {}  # too few values to say where the tails end
    tolerance = rule.tolerance
    if dtype == "datetime":
        tz = timezone_of(values)
        naive = values.dt.tz_convert(None) if tz is not None else values
        ns = naive.to_numpy().astype("datetime64[ns]").astype("int64")
        lo, hi = _clip_ns(*_widen(ns.astype(float), rule, nonneg=False))
        unit = "D" if hi - lo > 10 * _DAY_NS else "s"
        return {
            "ge": _stamp(lo, tz, unit, floor=True),
            "le": _stamp(hi, tz, unit, floor=False),
        }
    if dtype == "timedelta":
        ns = values.to_numpy().astype("timedelta64[ns]").astype("int64")
        lo, hi = _clip_ns(*_widen(ns.astype(float), rule, nonneg=bool(ns.min() >= 0)))
        return {
            "ge": pd.Timedelta(int(lo), unit="ns").floor("s").isoformat(),
            "le": pd.Timedelta(int(hi), unit="ns").ceil("s").isoformat(),
        }
    numbers = values.to_numpy(dtype="float64")
    lo, hi = _widen(numbers, rule, nonneg=bool(numbers.min() >= 0))
    if dtype == "integer":  # within int64, so the bounds compare with the data
        lo, hi = max(lo, -(2.0**63)), min(hi, 2.0**63 - 1024)
        return {"ge": math.floor(lo), "le": math.ceil(hi)}
    if tolerance == 0:
        return {"ge": lo, "le": hi}
    if _fraction(numbers, calibrated=tolerance is None):
        hi = min(hi, 1.0)  # a fraction or probability stays one
    return {"ge": _round(lo, hi - lo, down=True), "le": _round(hi, hi - lo, down=False)}


def _clip_ns(lo: float, hi: float) -> tuple[float, float]:
    """Keep nanosecond bounds a few days inside what pandas can represent."""
    margin = 4 * _DAY_NS
    low, high = pd.Timestamp.min.value + margin, pd.Timestamp.max.value - margin
    return min(max(lo, low), high), max(min(hi, high), low)


def _fraction(numbers: np.ndarray, *, calibrated: bool) -> bool:
    """Values in [0, 1]; calibrated: filling it too (a probability, a share)."""
    lo, hi = float(numbers.min()), float(numbers.max())
    if not (lo >= 0 and hi <= 1):
        return False
    return not calibrated or (lo <= 0.01 and hi >= 0.99)


def _widen(numbers: np.ndarray, rule: _Rule, *, nonneg: bool) -> tuple[float, float]:
    lo, hi = float(numbers.min()), float(numbers.max())
    tolerance = rule.tolerance
    if tolerance is None:
        finite = numbers[np.isfinite(numbers)]
        if len(finite) >= _MIN_VALUES:
            lo = min(lo, -upper_bound(-finite, rule.rate()))
            hi = max(hi, upper_bound(finite, rule.rate()))
        tolerance = 0.0
    if tolerance == 0:
        if nonneg:
            lo = max(lo, 0.0)
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
