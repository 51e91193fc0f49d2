"""The profile values: :class:`QuantileSketch`, :class:`ColumnProfile`, :class:`Profile`.

A :class:`Profile` summarises a data set column by column with parts that merge:

* row and missing-value counts (NaN, None, NaT and ±inf are *missing*, as in the
  detectors' ``nan_policy``), exact;
* for numeric and datetime columns, the count, mean and sum of squared deviations
  (merged with Chan, Golub and LeVeque's pairwise formula), the minimum and maximum,
  and a KLL quantile sketch (``_kll.py``) with a stated rank error;
* for categorical columns (strings, booleans, pandas categories), exact counts of
  every category up to ``max_categories`` distinct values. Past the cap the counts
  are dropped and the column is marked ``overflowed``: truncated counts would bias
  a chi-square test, so a detector refuses such a column with a message instead of
  testing it on part of the data. Raise ``max_categories``, or profile the column
  as numeric codes, to keep it.

Merging is exact for the counts, the categories, the minimum and maximum, and
associative up to float rounding for the moments. The sketches of ``(a + b) + c``
and ``a + (b + c)`` are different random compactions of the same data; both obey the
rank-error bound of their :meth:`QuantileSketch.rank_error`.

What does *not* belong here: reading data (``_build.py``) and any test that
compares a profile with a sample (``covariate/``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from mlopskit._results import Result
from mlopskit.drift.profiles._kll import (
    KLLSketch,
    a_priori_rank_error,
    cdf_from_view,
    rank_error,
    sorted_view,
)
from mlopskit.errors import DriftInputError

__all__ = ["ColumnProfile", "Profile", "QuantileSketch"]

Category = str | bool | int | float
ColumnKind = Literal["numeric", "categorical", "datetime"]
FloatArray = NDArray[np.float64]


class QuantileSketch(Result):
    """A frozen KLL sketch of a column's finite values.

    Attributes
    ----------
    k
        Size parameter.
    n
        Values summarised.
    levels
        Retained items per level (level ``h`` items weigh ``2**h``), each sorted.
    sum_sq_weights
        Sum of the squared weights of all compactions (the error bound's input).
    n_compactions, seed
        Compaction counter and seed (they make merges deterministic).

    Examples
    --------
    >>> import numpy as np
    >>> from mlopskit.drift import profile
    >>> p = profile(np.arange(100.0).reshape(-1, 1), k=200)
    >>> sketch = p.column("x0").sketch
    >>> sketch.rank_error(), float(sketch.quantile([0.5])[0])
    (0.0, 49.0)
    """

    k: int
    n: int
    levels: tuple[tuple[float, ...], ...]
    sum_sq_weights: int
    n_compactions: int
    seed: int

    @classmethod
    def from_builder(cls, sketch: KLLSketch) -> QuantileSketch:
        """Freeze a :class:`~mlopskit.drift.profiles._kll.KLLSketch`."""
        return cls(**sketch.state())

    def builder(self) -> KLLSketch:
        """A mutable copy, to update or merge."""
        return KLLSketch.from_state(self.model_dump())

    def merge(self, other: QuantileSketch) -> QuantileSketch:
        """The sketch of both inputs."""
        return QuantileSketch.from_builder(self.builder().merge(other.builder()))

    def sorted_view(self) -> tuple[FloatArray, NDArray[np.int64]]:
        """Retained items sorted ascending, and their integer weights (sum ``n``)."""
        return sorted_view(self.levels)

    def cdf(self, x: Any) -> FloatArray:
        """Estimated fraction of the values ``<= x``."""
        items, weights = self.sorted_view()
        return cdf_from_view(items, weights, self.n, np.atleast_1d(x))

    def quantile(self, q: Any) -> FloatArray:
        """Estimated quantiles: the smallest retained item whose CDF is ``>= q``."""
        items, weights = self.sorted_view()
        qs = np.atleast_1d(np.asarray(q, dtype=np.float64))
        if self.n == 0:
            return np.full(len(qs), np.nan)
        cum = np.cumsum(weights)
        pos = np.searchsorted(cum, qs * self.n, side="left")
        return np.asarray(items[np.clip(pos, 0, len(items) - 1)], dtype=np.float64)

    def rank_error(self, delta: float = 0.01) -> float:
        """``sup_x |F_sketch(x) - F(x)|`` bound holding with probability ``1 - delta``.

        Azuma–Hoeffding over the recorded compactions plus a union bound over the
        ``n + 1`` cells between data values (module docstring of ``_kll.py``).
        It is 0 while the sketch holds every value.
        """
        return rank_error(self.sum_sq_weights, self.n, delta)

    @property
    def a_priori_rank_error(self) -> float:
        """DataSketches' single-query 99th-percentile error ``2.296 / k**0.9723``."""
        return a_priori_rank_error(self.k)


class ColumnProfile(Result):
    """Mergeable summary of one column.

    Attributes
    ----------
    name, kind, dtype
        Column name, ``"numeric"``, ``"categorical"`` or ``"datetime"``, and the
        dtype seen first (datetimes are sketched as int64 nanoseconds since the
        epoch, in UTC for time-zone-aware columns).
    n_rows, n_missing
        Rows seen, and how many were missing (NaN, None, NaT, ±inf).
    mean, m2, minimum, maximum
        Moments of the finite values (``m2`` is the sum of squared deviations;
        ``variance = m2 / (n_rows - n_missing - 1)``); ``None`` for categorical
        columns and columns with no finite value.
    sketch
        KLL sketch of the finite values (numeric and datetime columns).
    categories, counts
        Exact category counts (categorical columns), sorted by category when the
        categories are orderable.
    overflowed
        True when the column had more than ``max_categories`` distinct values;
        then ``categories`` and ``counts`` are empty.
    """

    name: str
    kind: ColumnKind
    dtype: str
    n_rows: int
    n_missing: int
    mean: float | None = None
    m2: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    sketch: QuantileSketch | None = None
    categories: tuple[Category, ...] = ()
    counts: tuple[int, ...] = ()
    overflowed: bool = False

    @property
    def n_valid(self) -> int:
        """Rows with a non-missing value."""
        return self.n_rows - self.n_missing

    @property
    def variance(self) -> float | None:
        """Sample variance of the finite values (``None`` below two values)."""
        if self.m2 is None or self.n_valid < 2:
            return None
        return self.m2 / (self.n_valid - 1)

    def merge(self, other: ColumnProfile, *, max_categories: int) -> ColumnProfile:
        """The profile of both columns' rows; raise if their kinds differ."""
        if other.name != self.name or other.kind != self.kind:
            raise DriftInputError(
                f"Cannot merge profiles of column {self.name!r}: it is {self.kind} "
                f"({self.dtype}) in one and {other.kind} ({other.dtype}) in the "
                f"other. Cast column {self.name!r} to one dtype before profiling.",
                column=self.name,
            )
        fields: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "dtype": self.dtype,
            "n_rows": self.n_rows + other.n_rows,
            "n_missing": self.n_missing + other.n_missing,
        }
        if self.kind == "categorical":
            fields.update(_merge_counts(self, other, max_categories))
        else:
            fields.update(_merge_moments(self, other))
        return ColumnProfile(**fields)


def _merge_moments(a: ColumnProfile, b: ColumnProfile) -> dict[str, Any]:
    if a.sketch is None or b.sketch is None:
        raise DriftInputError(f"Column {a.name!r} has no sketch to merge.")
    na, nb = a.n_valid, b.n_valid
    out: dict[str, Any] = {"sketch": a.sketch.merge(b.sketch)}
    if nb == 0:
        return out | {
            "mean": a.mean,
            "m2": a.m2,
            "minimum": a.minimum,
            "maximum": a.maximum,
        }
    if na == 0:
        return out | {
            "mean": b.mean,
            "m2": b.m2,
            "minimum": b.minimum,
            "maximum": b.maximum,
        }
    assert a.mean is not None
    assert b.mean is not None
    assert a.m2 is not None
    assert b.m2 is not None
    assert a.minimum is not None
    assert b.minimum is not None
    assert a.maximum is not None
    assert b.maximum is not None
    n = na + nb
    delta = b.mean - a.mean
    return out | {
        "mean": a.mean + delta * nb / n,
        "m2": a.m2 + b.m2 + delta * delta * na * nb / n,
        "minimum": min(a.minimum, b.minimum),
        "maximum": max(a.maximum, b.maximum),
    }


def _merge_counts(a: ColumnProfile, b: ColumnProfile, cap: int) -> dict[str, Any]:
    if a.overflowed or b.overflowed:
        return {"overflowed": True}
    left = {_family(c) for c in a.categories[:1]}
    right = {_family(c) for c in b.categories[:1]}
    if left and right and left != right:
        raise DriftInputError(
            f"Cannot merge profiles of column {a.name!r}: its categories are "
            f"{left.pop()} in one and {right.pop()} in the other. Cast the column to "
            "one type before profiling.",
            column=a.name,
        )
    merged: dict[Any, int] = {}
    for cats, counts in ((a.categories, a.counts), (b.categories, b.counts)):
        for cat, count in zip(cats, counts, strict=True):
            key = (type(cat), cat)  # True and 1 stay distinct categories
            merged[key] = merged.get(key, 0) + count
    if len(merged) > cap:
        return {"overflowed": True}
    return categories_fields([key[1] for key in merged], list(merged.values()))


def _family(value: Any) -> str:
    if isinstance(value, str):
        return "strings"
    return "booleans" if isinstance(value, bool) else "numbers"


def categories_fields(categories: list[Any], counts: list[int]) -> dict[str, Any]:
    """``categories``/``counts`` fields, sorted by category when orderable."""
    order = list(range(len(categories)))
    try:
        order.sort(key=lambda i: categories[i])
    except TypeError:
        order.sort(key=lambda i: (type(categories[i]).__name__, str(categories[i])))
    return {
        "categories": tuple(categories[i] for i in order),
        "counts": tuple(int(counts[i]) for i in order),
    }


class Profile(Result):
    """Mergeable, serialisable summary of a reference data set, column by column.

    Build one with :func:`mlopskit.drift.profile`; every univariate detector
    (``KSDrift``, ``CramerVonMisesDrift``, ``AndersonDarlingDrift``,
    ``ChiSquareDrift``, ``TabularDrift``, the distances) accepts it in ``fit`` and in
    ``detect`` in place of the rows.

    Attributes
    ----------
    columns
        One :class:`ColumnProfile` per column, in the data's order.
    n_rows
        Rows summarised.
    k, max_categories
        The sketch size and the category cap the profile was built with.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from mlopskit.drift import profile
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"age": rng.normal(40, 10, 1000), "city": rng.choice(["a", "b"], 1000)})
    >>> p = profile(df.iloc[:600]).merge(profile(df.iloc[600:]))
    >>> p.n_rows, p.names
    (1000, ('age', 'city'))
    >>> p.column("city").counts == tuple(df["city"].value_counts().sort_index())
    True
    >>> type(p).from_json(p.to_json()) == p
    True
    """

    columns: tuple[ColumnProfile, ...]
    n_rows: int
    k: int
    max_categories: int

    @property
    def names(self) -> tuple[str, ...]:
        """Column names, in order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> ColumnProfile:
        """The profile of one column."""
        for col in self.columns:
            if col.name == name:
                return col
        raise DriftInputError(
            f"The profile has no column {name!r}; it has {list(self.names)}.",
            column=name,
        )

    def select(self, names: Sequence[str]) -> Profile:
        """A profile of some of the columns, in the given order."""
        return Profile(
            columns=tuple(self.column(str(n)) for n in names),
            n_rows=self.n_rows,
            k=self.k,
            max_categories=self.max_categories,
        )

    def merge(self, other: Profile) -> Profile:
        """The profile of both data sets' rows (same columns, same kinds).

        Raises
        ------
        DriftInputError
            The columns differ (the message names the first one that does).
        """
        if not isinstance(other, Profile):
            raise DriftInputError(
                f"Can only merge a Profile with a Profile. Got {type(other).__name__}."
            )
        if other.names != self.names:
            missing = [n for n in self.names if n not in other.names]
            extra = [n for n in other.names if n not in self.names]
            name = (missing or extra or [self.names[0]])[0]
            raise DriftInputError(
                f"Cannot merge profiles with different columns: column {name!r} is "
                f"not in both (left {list(self.names)}, right {list(other.names)}). "
                "Profile the same columns, in the same order.",
                column=name,
            )
        cap = min(self.max_categories, other.max_categories)
        return Profile(
            columns=tuple(
                a.merge(b, max_categories=cap)
                for a, b in zip(self.columns, other.columns, strict=True)
            ),
            n_rows=self.n_rows + other.n_rows,
            k=self.k,
            max_categories=cap,
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per column: kind, counts, missing rate, moments, rank error."""
        rows = []
        for c in self.columns:
            var = c.variance
            rows.append(
                {
                    "column": c.name,
                    "kind": c.kind,
                    "n_rows": c.n_rows,
                    "missing_rate": c.n_missing / c.n_rows if c.n_rows else np.nan,
                    "mean": np.nan if c.mean is None else c.mean,
                    "std": np.nan if var is None else float(np.sqrt(var)),
                    "min": np.nan if c.minimum is None else c.minimum,
                    "max": np.nan if c.maximum is None else c.maximum,
                    "n_categories": len(c.categories) if c.kind == "categorical" else 0,
                    "overflowed": c.overflowed,
                    "rank_error": c.sketch.rank_error() if c.sketch else np.nan,
                }
            )
        return pd.DataFrame(rows)
