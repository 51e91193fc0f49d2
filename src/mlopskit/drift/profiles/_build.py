"""Building profiles: from a DataFrame or array, an iterator of DataFrames, a Parquet
dataset (streamed by row group) or a Dask DataFrame (one profile per partition, then a
tree of merges).

Memory stays bounded by one chunk plus the sketches (about ``3 k`` floats per numeric
column): a Parquet dataset is read ``batch_size`` rows at a time with
``pyarrow.parquet.ParquetFile.iter_batches``, never as a whole.

What does *not* belong here: the profile values themselves (``_profile.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from mlopskit._optional import import_optional
from mlopskit.drift.profiles._kll import KLLSketch
from mlopskit.drift.profiles._profile import (
    ColumnProfile,
    Profile,
    QuantileSketch,
    categories_fields,
)
from mlopskit.errors import DriftInputError, InvalidParameterError

__all__ = ["profile"]

FloatArray = NDArray[np.float64]

#: Rows per chunk (and per Parquet batch): bounds the sort buffers and the decoded
#: Parquet batch (250,000 rows × 20 float columns: 40 MB, about 0.7 GB peak in all).
DEFAULT_CHUNK = 250_000


def profile(
    data: Any,
    *,
    k: int = 2048,
    max_categories: int = 10_000,
    columns: Sequence[str] | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    split_every: int = 8,
    random_state: int | np.random.Generator | None = 0,
) -> Profile:
    """Summarise a data set column by column into a mergeable :class:`Profile`.

    Parameters
    ----------
    data
        A DataFrame; a 2-D numpy array (columns named ``x0, x1, …`` as in the
        detectors); an iterable of DataFrames with the same columns (chunks, read
        one at a time); a path (``str`` or ``os.PathLike``) to a Parquet file or a
        directory of Parquet files (needs ``pyarrow``: ``pip install
        "mlopskit-blocks[parquet]"``); or a Dask DataFrame (each partition profiled in a
        task, the profiles merged by a tree reduction on the current Dask scheduler,
        e.g. a ``dask.distributed.Client``).
    k
        Sketch size. The rank error of a numeric column is at most about
        ``2.3 / k`` (``k = 2048``: 0.0015 at 99 % confidence); the sketch keeps
        about ``3 k`` floats per column.
    max_categories
        Most distinct values counted exactly per categorical column; past it the
        column is marked ``overflowed`` (see :class:`ColumnProfile`).
    columns
        Profile only these columns (all by default).
    chunk_size
        Rows per chunk for DataFrames and arrays, and per batch for Parquet.
    split_every
        Fan-in of the Dask tree reduction.
    random_state
        Seed of the sketches' compactions: same seed and same chunking, same profile.

    Returns
    -------
    Profile

    Raises
    ------
    DriftInputError
        Empty data, duplicate column names, a column of mixed types (e.g. strings
        and numbers in one object column), an unsupported dtype, or chunks whose
        columns or column kinds differ (the message names the column).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from mlopskit.drift import profile
    >>> rng = np.random.default_rng(0)
    >>> chunks = (pd.DataFrame({"x": rng.normal(size=50_000)}) for _ in range(4))
    >>> p = profile(chunks, k=512)
    >>> p.n_rows, round(float(p.column("x").sketch.quantile(0.5)[0]), 1)
    (200000, 0.0)
    >>> p.column("x").sketch.rank_error() < 0.01
    True
    """
    _check_params(k, max_categories, chunk_size, split_every)
    seed = _seed(random_state)
    opts = _Options(k, max_categories, tuple(columns) if columns else None, seed)
    if isinstance(data, str | os.PathLike):
        return _from_chunks(_parquet_chunks(data, opts.columns, chunk_size), opts)
    if _is_dask(data):
        return _from_dask(data, opts, split_every)
    if isinstance(data, pd.DataFrame):
        return _from_chunks(_frame_chunks(data, chunk_size), opts)
    if isinstance(data, np.ndarray):
        return _from_chunks(_frame_chunks(_array_frame(data), chunk_size), opts)
    if isinstance(data, pd.Series):
        raise DriftInputError(
            "profile needs 2-D data. Got a pandas Series; pass series.to_frame().",
            received="Series",
        )
    if isinstance(data, Iterable):
        return _from_chunks(_checked_chunks(data), opts)
    raise DriftInputError(
        "profile accepts a DataFrame, a 2-D array, an iterable of DataFrames, a "
        f"Parquet path or a Dask DataFrame. Got {type(data).__name__}.",
        received=type(data).__name__,
    )


class _Options:
    __slots__ = ("cap", "columns", "k", "seed")

    def __init__(
        self, k: int, cap: int, columns: tuple[str, ...] | None, seed: int
    ) -> None:
        self.k, self.cap, self.columns, self.seed = k, cap, columns, seed


def _check_params(k: int, cap: int, chunk_size: int, split_every: int) -> None:
    for name, value, low in (
        ("k", k, 8),
        ("max_categories", cap, 1),
        ("chunk_size", chunk_size, 1),
        ("split_every", split_every, 2),
    ):
        if (
            not isinstance(value, int | np.integer)
            or isinstance(value, bool)
            or value < low
        ):
            raise InvalidParameterError(
                f"{name} must be an integer >= {low}. Got {value!r} instead.",
                parameter=name,
            )


def _seed(random_state: int | np.random.Generator | None) -> int:
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**62))
    if random_state is None:
        return 0
    return int(random_state)


# -- sources --------------------------------------------------------------------------


def _array_frame(arr: NDArray[Any]) -> pd.DataFrame:
    if arr.ndim != 2:
        raise DriftInputError(
            f"profile needs a 2-D array (rows × features). Got shape {arr.shape}; "
            "for one feature pass x.reshape(-1, 1).",
            received_shape=arr.shape,
        )
    return pd.DataFrame(arr, columns=[f"x{j}" for j in range(arr.shape[1])])


def _frame_chunks(frame: pd.DataFrame, chunk_size: int) -> Iterator[pd.DataFrame]:
    if len(frame) == 0:
        yield frame
    for start in range(0, len(frame), chunk_size):
        yield frame.iloc[start : start + chunk_size]


def _checked_chunks(chunks: Iterable[Any]) -> Iterator[pd.DataFrame]:
    for i, chunk in enumerate(chunks):
        if isinstance(chunk, np.ndarray):
            chunk = _array_frame(chunk)
        if not isinstance(chunk, pd.DataFrame):
            raise DriftInputError(
                f"Chunk {i} of the iterable is a {type(chunk).__name__}; every chunk "
                "must be a DataFrame (or a 2-D array).",
                chunk=i,
            )
        yield chunk


def _parquet_chunks(
    path: str | os.PathLike[str], columns: tuple[str, ...] | None, batch_size: int
) -> Iterator[pd.DataFrame]:
    pq = import_optional(
        "pyarrow.parquet", extra="parquet", feature="Profiling Parquet"
    )
    ds = import_optional(
        "pyarrow.dataset", extra="parquet", feature="Profiling Parquet"
    )
    try:
        files = sorted(ds.dataset(os.fspath(path), format="parquet").files)
    except (FileNotFoundError, OSError) as exc:
        raise DriftInputError(
            f"Cannot read a Parquet dataset at {os.fspath(path)!r}: {exc}",
            path=os.fspath(path),
        ) from exc
    if not files:
        raise DriftInputError(
            f"No Parquet files under {os.fspath(path)!r}.", path=os.fspath(path)
        )
    for file in files:
        reader = pq.ParquetFile(file)
        cols = list(columns) if columns else None
        for batch in reader.iter_batches(batch_size=batch_size, columns=cols):
            yield batch.to_pandas()


def _is_dask(data: Any) -> bool:
    return type(data).__module__.startswith("dask") and hasattr(data, "to_delayed")


def _from_dask(ddf: Any, opts: _Options, split_every: int) -> Profile:
    dask = import_optional("dask", extra="dask", feature="Profiling a Dask DataFrame")
    if opts.columns:
        ddf = ddf[list(opts.columns)]
    parts = ddf.to_delayed()
    if not parts:
        raise DriftInputError("The Dask DataFrame has no partitions.")
    build = dask.delayed(_partition_profile, pure=True)
    level = [
        build(part, opts.k, opts.cap, _child_seed(opts.seed, i))
        for i, part in enumerate(parts)
    ]
    merge = dask.delayed(_merge_all, pure=True)
    while len(level) > 1:
        level = [
            merge(level[i : i + split_every]) for i in range(0, len(level), split_every)
        ]
    result = level[0].compute()
    if not isinstance(result, Profile) or result.n_rows == 0:
        raise DriftInputError("The Dask DataFrame has no rows to profile.")
    return result


def _child_seed(seed: int, i: int) -> int:
    return int(np.random.default_rng([seed, i]).integers(2**62))


def _partition_profile(frame: pd.DataFrame, k: int, cap: int, seed: int) -> Profile:
    """One partition's profile (a Dask task); empty partitions give 0-row profiles."""
    acc = _Accumulator(_Options(k, cap, None, seed))
    acc.add(frame, 0)
    return acc.freeze(allow_empty=True)


def _merge_all(profiles: list[Profile]) -> Profile:
    out = profiles[0]
    for other in profiles[1:]:
        out = out.merge(other)
    return out


def _from_chunks(chunks: Iterable[pd.DataFrame], opts: _Options) -> Profile:
    acc = _Accumulator(opts)
    for i, chunk in enumerate(chunks):
        acc.add(chunk, i)
    return acc.freeze()


# -- accumulation ---------------------------------------------------------------------


class _Accumulator:
    """Mutable per-column state while chunks arrive."""

    def __init__(self, opts: _Options) -> None:
        self.opts = opts
        self.names: tuple[str, ...] | None = None
        self.states: list[_ColumnState] = []
        self.n_rows = 0

    def add(self, chunk: pd.DataFrame, index: int) -> None:
        if self.opts.columns is not None:
            missing = [c for c in self.opts.columns if c not in chunk.columns]
            if missing:
                raise DriftInputError(
                    f"Column {missing[0]!r} is not in chunk {index} (it has "
                    f"{[str(c) for c in chunk.columns]}).",
                    column=missing[0],
                )
            chunk = chunk[list(self.opts.columns)]
        names = tuple(str(c) for c in chunk.columns)
        if len(set(names)) != len(names):
            raise DriftInputError(
                f"Chunk {index} has duplicate column names {list(names)}. Give every "
                "column a distinct name.",
            )
        if self.names is None:
            self.names = names
            self.states = [
                _ColumnState(name, _child_seed(self.opts.seed, j), self.opts)
                for j, name in enumerate(names)
            ]
        elif names != self.names:
            diff = [n for n in names if n not in self.names] + [
                n for n in self.names if n not in names
            ]
            name = diff[0] if diff else names[0]
            raise DriftInputError(
                f"Chunk {index} has columns {list(names)}, but the first chunk had "
                f"{list(self.names)} (column {name!r} differs). Every chunk needs the "
                "same columns in the same order.",
                column=name,
                chunk=index,
            )
        for j, state in enumerate(self.states):
            state.add(chunk.iloc[:, j], index)
        self.n_rows += len(chunk)

    def freeze(self, *, allow_empty: bool = False) -> Profile:
        if (
            self.names is None
            or not self.names
            or (self.n_rows == 0 and not allow_empty)
        ):
            shape = f"{self.n_rows} rows × {len(self.names or ())} columns"
            raise DriftInputError(
                f"Nothing to profile: the data is empty ({shape}). Pass at least one "
                "row and one column.",
            )
        return Profile(
            columns=tuple(s.freeze() for s in self.states),
            n_rows=self.n_rows,
            k=self.opts.k,
            max_categories=self.opts.cap,
        )


class _ColumnState:
    def __init__(self, name: str, seed: int, opts: _Options) -> None:
        self.name, self.seed, self.opts = name, seed, opts
        self.kind: str | None = None
        self.dtype = ""
        self.n_rows = 0
        self.n_missing = 0
        self.sketch: KLLSketch | None = None
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.minimum = np.inf
        self.maximum = -np.inf
        self.counts: dict[tuple[type, Any], int] | None = {}
        self.category_type: str | None = None

    def add(self, series: pd.Series, index: int) -> None:
        kind = column_kind(series, self.name)
        if self.kind is None:
            self.kind, self.dtype = kind, str(series.dtype)
        elif kind != self.kind and len(series):
            raise DriftInputError(
                f"Column {self.name!r} is {kind} ({series.dtype}) in chunk {index} but "
                f"was {self.kind} ({self.dtype}) in the first chunk. Cast it to one "
                "dtype in every chunk.",
                column=self.name,
                chunk=index,
            )
        self.n_rows += len(series)
        if self.kind == "categorical":
            self._add_categories(series)
        else:
            self._add_numbers(numeric_values(series, self.kind))

    def _add_numbers(self, values: FloatArray) -> None:
        finite = np.isfinite(values)
        v = values if finite.all() else values[finite]
        self.n_missing += len(values) - len(v)
        if self.sketch is None:
            self.sketch = KLLSketch(self.opts.k, self.seed)
        if len(v) == 0:
            return
        self.sketch.update(v)
        m = len(v)
        mean = float(v.mean())
        m2 = float(((v - mean) ** 2).sum())
        n = self.n + m
        delta = mean - self.mean
        self.mean += delta * m / n
        self.m2 += m2 + delta * delta * self.n * m / n
        self.n = n
        self.minimum = min(self.minimum, float(v.min()))
        self.maximum = max(self.maximum, float(v.max()))

    def _add_categories(self, series: pd.Series) -> None:
        missing = int(series.isna().sum())
        self.n_missing += missing
        if self.counts is None:
            return
        vc = series.value_counts(dropna=True, sort=False)
        vc = vc[vc.to_numpy() > 0]
        for value, count in zip(vc.index, vc.to_numpy(), strict=True):
            native = _native_category(value, self.name)
            self._check_category_type(native)
            key = (type(native), native)
            self.counts[key] = self.counts.get(key, 0) + int(count)
        if len(self.counts) > self.opts.cap:
            self.counts = None

    def _check_category_type(self, value: Any) -> None:
        family = (
            "string"
            if isinstance(value, str)
            else ("boolean" if isinstance(value, bool) else "number")
        )
        if self.category_type is None:
            self.category_type = family
        elif family != self.category_type:
            raise DriftInputError(
                f"Column {self.name!r} mixes {self.category_type} and {family} values "
                f"(e.g. {value!r}). Cast it to one type (e.g. .astype(str)) before "
                "profiling.",
                column=self.name,
            )

    def freeze(self) -> ColumnProfile:
        base: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind or "numeric",
            "dtype": self.dtype,
            "n_rows": self.n_rows,
            "n_missing": self.n_missing,
        }
        if self.kind == "categorical":
            if self.counts is None:
                return ColumnProfile(**base, overflowed=True)
            keys = list(self.counts)
            return ColumnProfile(
                **base,
                **categories_fields(
                    [key[1] for key in keys], list(self.counts.values())
                ),
            )
        sketch = self.sketch or KLLSketch(self.opts.k, self.seed)
        moments: dict[str, Any] = {}
        if self.n:
            moments = {
                "mean": self.mean,
                "m2": self.m2,
                "minimum": self.minimum,
                "maximum": self.maximum,
            }
        return ColumnProfile(
            **base, sketch=QuantileSketch.from_builder(sketch), **moments
        )


def column_kind(series: pd.Series, name: str) -> str:
    """``"numeric"``, ``"datetime"`` or ``"categorical"`` for a column, or raise."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_complex_dtype(dtype):
        raise DriftInputError(
            f"Column {name!r} has dtype {dtype}, which profiles do not summarise. "
            "Convert it (e.g. to its absolute value) or drop it.",
            column=name,
        )
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "numeric"  # nanoseconds, as the detectors read timedeltas
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    return "categorical"


def numeric_values(series: pd.Series, kind: str) -> FloatArray:
    """A numeric or datetime column as float64 (NaN for missing; datetimes in ns)."""
    if kind == "datetime":
        s = series
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        ns = s.astype("datetime64[ns]").to_numpy()
        out = ns.view(np.int64).astype(np.float64)
        out[np.isnat(ns)] = np.nan
        return np.asarray(out, dtype=np.float64)
    if pd.api.types.is_timedelta64_dtype(series.dtype):
        raw = series.to_numpy(dtype="m8[ns]")
        out = raw.view(np.int64).astype(np.float64)
        out[np.isnat(raw)] = np.nan
        return np.asarray(out, dtype=np.float64)
    return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan))


def _native_category(value: Any, name: str) -> Any:
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, str | bool | int | float):
        return value
    raise DriftInputError(
        f"Column {name!r} holds a {type(value).__name__} value ({value!r}); "
        "categorical profiles count strings, booleans and numbers. Convert the "
        "column (e.g. .astype(str)).",
        column=name,
    )
