"""Canonical streams of numpy arrays and pandas columns, hashed from their buffers.

Every column is written as a *logical dtype* name followed by its values. Numeric
values go in as little-endian buffers, streamed in 1 MiB pieces; only a piece that
needs converting (byte swap, NaN payloads, masked slots) is copied, so the extra
memory stays around one piece. Nothing is pickled.

What does *not* belong here: containers, scalars and dispatch (``_fingerprint``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from mlopskit.errors import FingerprintError
from mlopskit.versioning._digest import BLOCK, CHUNK_BYTES, Stream

__all__: list[str] = []

_INT64_MIN = np.iinfo(np.int64).min
_NUMERIC_KINDS = "biufc"
#: Seconds per unit for units of a second or coarser.
_COARSE = {"W": 604800, "D": 86400, "h": 3600, "m": 60, "s": 1}
#: Ticks per second for finer units.
_FINE = {
    "ms": 10**3,
    "us": 10**6,
    "ns": 10**9,
    "ps": 10**12,
    "fs": 10**15,
    "as": 10**18,
}


def _pieces(flat: np.ndarray) -> Iterator[np.ndarray]:
    """Slices of a 1-d array of about ``CHUNK_BYTES`` each (views, no copy)."""
    step = max(1, CHUNK_BYTES // max(1, flat.dtype.itemsize))
    for start in range(0, len(flat), step):
        yield flat[start : start + step]


def _flat_pieces(arr: np.ndarray) -> Iterator[np.ndarray]:
    """C-order pieces of any array, copying only one piece at a time if strided."""
    if arr.flags.c_contiguous:
        yield from _pieces(arr.reshape(-1))
        return
    row_bytes = max(1, arr.itemsize * (arr.size // max(1, arr.shape[0])))
    rows = max(1, CHUNK_BYTES // row_bytes)
    for start in range(0, arr.shape[0], rows):
        yield from _pieces(np.ascontiguousarray(arr[start : start + rows]).reshape(-1))


def _canonical_piece(piece: np.ndarray) -> np.ndarray:
    """Little-endian, one NaN payload; a copy only where a change is needed."""
    if piece.dtype.byteorder == ">":
        piece = piece.astype(piece.dtype.newbyteorder("<"))
    if piece.dtype.kind in "fc":
        parts = piece.view(piece.real.dtype) if piece.dtype.kind == "c" else piece
        nan = np.isnan(parts)
        if nan.any():
            parts = parts.copy()
            parts[nan] = np.nan
            piece = parts.view(piece.dtype) if piece.dtype.kind == "c" else parts
    return piece


def numeric_name(dtype: np.dtype[Any]) -> str:
    if dtype.kind == "f" and dtype.itemsize > 8:
        return "longdouble"
    if dtype.kind == "c" and dtype.itemsize > 16:
        return "clongdouble"
    return str(dtype.newbyteorder("=").name)


def _write_numeric(s: Stream, arr: np.ndarray) -> None:
    if numeric_name(arr.dtype) in ("longdouble", "clongdouble"):
        _write_longdouble(s, arr)
        return
    for piece in _flat_pieces(arr):
        s.array(_canonical_piece(piece))


def _write_longdouble(s: Stream, arr: np.ndarray) -> None:
    # Padding bytes of long doubles are undefined, so never hash their buffer: write
    # each value as an exact double-double mantissa and an exponent instead.
    flat = np.ascontiguousarray(arr).reshape(-1)
    parts = [flat.real, flat.imag] if flat.dtype.kind == "c" else [flat]
    for part in parts:
        mantissa, exponent = np.frexp(part)
        hi = mantissa.astype(np.float64)
        lo = (mantissa - hi).astype(np.float64)
        for values in (hi, lo, exponent.astype(np.int64)):
            s.array(_canonical_piece(np.ascontiguousarray(values)))


def _write_datetime(s: Stream, values: np.ndarray) -> None:
    """datetime64/timedelta64 as (seconds, attoseconds) pairs, whatever the unit.

    The unit is a representation (pandas 3 infers microseconds where pandas 2 used
    nanoseconds), so equal instants give equal digests at any resolution.
    """
    unit, count = np.datetime_data(values.dtype)
    months = 0
    if unit in ("Y", "M") and values.dtype.kind == "M":
        values, unit, count = values.astype("datetime64[D]"), "D", 1
    elif unit in ("Y", "M"):  # calendar timedeltas: a month count, flagged by -1
        months = count * (12 if unit == "Y" else 1)
    ints = np.ascontiguousarray(values).reshape(-1).view(np.int64)
    for start in range(0, len(ints), BLOCK):
        block = ints[start : start + BLOCK]
        nat = block == _INT64_MIN
        if months:
            secs = block * np.int64(months)
            atto = np.full(len(block), -1, dtype=np.int64)
        elif unit == "generic":
            secs = np.zeros(len(block), dtype=np.int64)
            atto = np.zeros(len(block), dtype=np.int64)
        elif unit in _COARSE:
            secs = block * np.int64(_COARSE[unit] * count)
            atto = np.zeros(len(block), dtype=np.int64)
        else:
            ticks = block * np.int64(count)
            per_second = _FINE[unit]
            secs, rem = np.divmod(ticks, np.int64(per_second))
            atto = rem * np.int64(10**18 // per_second)
        secs[nat] = _INT64_MIN
        atto[nat] = 0
        s.array(secs.astype("<i8"))
        s.array(atto.astype("<i8"))


def _is_str_array(values: np.ndarray) -> bool:
    """Object array whose every element is a ``str`` or a missing value."""
    return bool(pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"))


_StrParts = tuple[np.ndarray, np.ndarray, bytes | memoryview]


def _str_parts(block: Any) -> _StrParts:
    """Validity bytes, UTF-8 byte lengths and data of one block of strings."""
    values = np.asarray(block, dtype=object)
    n = len(values)
    try:
        joined = "\x00".join(values)  # TypeError: a missing value is present
        valid = np.ones(n, dtype=np.uint8)
    except TypeError:
        missing = pd.isna(values)
        values = values.copy()
        values[missing] = ""
        joined = "\x00".join(values)
        valid = (~missing).astype(np.uint8)
    data = joined.encode("utf-8", "surrogatepass")
    if n and data.count(b"\x00") == n - 1:
        # No value holds a NUL: the separators give every length at C speed.
        ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0)
        lengths = np.diff(np.concatenate(([-1], ends, [len(data)]))) - 1
        return valid, lengths, data.replace(b"\x00", b"")
    encoded = [v.encode("utf-8", "surrogatepass") for v in values]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=n)
    return valid, lengths, b"".join(encoded)


def _write_str_blocks(s: Stream, blocks: Iterator[_StrParts]) -> None:
    """Strings: per block of 65,536 values, validity bytes, UTF-8 lengths, data."""
    for valid, lengths, data in blocks:
        s.array(valid)
        s.array(lengths.astype("<i8"))
        s.blob(bytes(data) if not isinstance(data, bytes) else data)


def _arrow_str_parts(chunked: Any, n: int) -> Iterator[_StrParts]:
    """Blocks of an Arrow string column straight from its offsets and data buffers."""
    for start in range(0, n, BLOCK):
        block = chunked.slice(start, BLOCK).combine_chunks()
        kind = str(block.type)
        if block.null_count or kind not in ("string", "large_string"):
            yield _str_parts(block.to_numpy(zero_copy_only=False))
            continue
        _, offsets_buffer, data_buffer = block.buffers()
        width = 4 if kind == "string" else 8
        offsets = np.frombuffer(
            offsets_buffer,
            dtype=np.int32 if width == 4 else np.int64,
            count=len(block) + 1,
            offset=block.offset * width,
        )
        lengths = np.diff(offsets).astype(np.int64)
        data = (
            memoryview(data_buffer)[int(offsets[0]) : int(offsets[-1])]
            if len(block)
            else b""
        )
        yield np.ones(len(block), dtype=np.uint8), lengths, data


def _blocks(
    values: Any, n: int, convert: Callable[[Any], np.ndarray]
) -> Iterator[_StrParts]:
    for start in range(0, n, BLOCK):
        yield _str_parts(convert(values[start : start + BLOCK]))


def _write_objects(s: Stream, values: np.ndarray) -> None:
    from mlopskit.versioning._fingerprint import fingerprint

    for value in values.reshape(-1):
        s.ref(fingerprint(value))


def write_ndarray_values(s: Stream, arr: np.ndarray) -> None:
    """Logical dtype name, then the values of a numpy array of any dtype."""
    kind = arr.dtype.kind
    if kind in _NUMERIC_KINDS:
        s.tag(numeric_name(arr.dtype))
        _write_numeric(s, arr)
    elif kind in "mM":
        s.tag("datetime" if kind == "M" else "timedelta")
        _write_datetime(s, arr)
    elif kind in "UT" or (kind == "O" and _is_str_array(arr.reshape(-1))):
        s.tag("str")
        flat = arr.reshape(-1)
        _write_str_blocks(s, _blocks(flat, len(flat), lambda b: b.astype(object)))
    elif kind == "S":
        s.tag("bytes")
        for value in arr.reshape(-1):
            s.blob(bytes(value))
    elif kind == "V" and arr.dtype.names is not None:
        # Structured: field by field (padding bytes between fields are undefined).
        s.tag("struct")
        fields = arr.dtype.fields
        assert fields is not None
        names = sorted(arr.dtype.names, key=lambda name: fields[name][1])
        s.u64(len(names))
        for name in names:
            s.text(name)
            write_ndarray_values(s, arr[name])
    elif kind == "V":
        s.tag(f"void{arr.dtype.itemsize}")
        for piece in _flat_pieces(arr):
            s.update(piece.tobytes())
    elif kind == "O":
        s.tag("object")
        _write_objects(s, arr)
    else:  # pragma: no cover - numpy has no other kinds today
        raise FingerprintError(
            f"Cannot fingerprint a numpy array of dtype {arr.dtype}. Register a "
            "handler with @fingerprint.register(numpy.ndarray) to cover it.",
            type_name=str(arr.dtype),
        )


def tz_name(tz: Any) -> str:
    """A canonical time-zone name (pytz, zoneinfo and dateutil agree)."""
    key = getattr(tz, "key", None) or getattr(tz, "zone", None)
    if key is None:
        from pandas._libs.tslibs import timezones

        name = timezones.get_timezone(tz)
        key = name if isinstance(name, str) else None
    if key is None or key in ("UTC", "utc", "Etc/UTC", "Z"):
        offset = pd.Timestamp(0, tz=tz).utcoffset()
        if key is None and offset:
            total = int(offset.total_seconds())
            sign = "-" if total < 0 else "+"
            hours, rest = divmod(abs(total), 3600)
            return f"UTC{sign}{hours:02d}:{rest // 60:02d}"
        return "UTC"
    return str(key).removeprefix("dateutil/")


def write_pandas_values(s: Stream, values: Any) -> None:
    """Logical dtype name, then the values of a pandas column or index."""
    if isinstance(values, pd.RangeIndex):
        s.tag("int64")
        for start in range(values.start, values.stop, values.step * BLOCK * 2):
            stop = start + values.step * BLOCK * 2
            stop = min(stop, values.stop) if values.step > 0 else max(stop, values.stop)
            s.array(np.arange(start, stop, values.step, dtype="<i8"))
        return
    arr = values.array if isinstance(values, pd.Series | pd.Index) else values
    dtype = arr.dtype
    if isinstance(arr, np.ndarray):
        write_ndarray_values(s, arr)
    elif isinstance(arr, pd.arrays.NumpyExtensionArray):
        write_ndarray_values(s, arr.to_numpy())
    elif isinstance(dtype, pd.DatetimeTZDtype):
        s.tag(f"datetime[tz={tz_name(dtype.tz)}]")
        _write_datetime(s, arr._ndarray)
    elif isinstance(arr, pd.arrays.DatetimeArray | pd.arrays.TimedeltaArray):
        write_ndarray_values(s, arr._ndarray)
    elif isinstance(dtype, pd.CategoricalDtype):
        _write_categorical(s, arr)
    elif isinstance(dtype, pd.StringDtype) or _is_arrow_string(dtype):
        s.tag("str")
        chunked = getattr(arr, "_pa_array", None)  # Arrow-backed: read its buffers
        if chunked is not None:
            _write_str_blocks(s, _arrow_str_parts(chunked, len(arr)))
        else:
            _write_str_blocks(
                s,
                _blocks(
                    arr, len(arr), lambda b: b.to_numpy(dtype=object, na_value=None)
                ),
            )
    elif isinstance(
        arr, pd.arrays.BooleanArray | pd.arrays.IntegerArray | pd.arrays.FloatingArray
    ):
        _write_masked(s, arr)
    elif isinstance(dtype, pd.PeriodDtype):
        s.tag(f"period[{dtype.freq.freqstr}]")
        _write_numeric(s, arr.asi8)
    elif isinstance(dtype, pd.IntervalDtype):
        s.tag(f"interval[{arr.closed}]")
        write_pandas_values(s, pd.Index(arr.left))
        write_pandas_values(s, pd.Index(arr.right))
    elif isinstance(dtype, pd.SparseDtype):
        s.tag("sparse")
        write_ndarray_values(s, np.asarray(arr.to_dense()))
    else:
        s.tag(f"ext[{dtype.name}]")
        _write_objects(s, np.asarray(arr, dtype=object))


def _is_arrow_string(dtype: Any) -> bool:
    # pandas.ArrowDtype of pyarrow string types (pyarrow itself is not imported).
    pyarrow_dtype = getattr(dtype, "pyarrow_dtype", None)
    return str(pyarrow_dtype) in ("string", "large_string", "string_view")


def _write_categorical(s: Stream, arr: Any) -> None:
    from mlopskit.versioning._fingerprint import fingerprint

    s.tag("category[ordered]" if arr.ordered else "category")
    s.ref(fingerprint(arr.categories))
    for piece in _pieces(np.asarray(arr.codes)):
        s.array(piece.astype("<i4"))


def _write_masked(s: Stream, arr: Any) -> None:
    data, mask = arr._data, arr._mask
    s.tag(f"masked[{numeric_name(data.dtype)}]")
    s.array((~mask).astype(np.uint8))
    step = max(1, CHUNK_BYTES // data.dtype.itemsize)
    for start in range(0, len(data), step):
        data_piece = data[start : start + step]
        mask_piece = mask[start : start + step]
        if mask_piece.any():
            data_piece = np.where(mask_piece, data_piece.dtype.type(0), data_piece)
        s.array(_canonical_piece(data_piece))
