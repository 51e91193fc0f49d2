"""Codecs: how the store turns an object into payload bytes and back.

Safe codecs never run code while decoding:

- ``bytes``: a ``bytes`` object as it is;
- ``json``: JSON values (``None``, ``bool``, ``int``, ``float``, ``str``, lists and
  dicts with ``str`` keys), exactly those types;
- ``npy``: a plain numpy array of a non-object dtype, ``allow_pickle=False``;
- ``parquet``: a DataFrame through pyarrow (``pip install "mlopskit-blocks[parquet]"``),
  used when an empty slice of the frame survives the round trip unchanged;
- ``frame``: a DataFrame or Series as ``.npy`` buffers and JSON (numeric, datetime
  with or without time zone, categorical, masked, string and object-of-scalar
  columns; any Index or MultiIndex), needing nothing beyond numpy;
- ``skops``: a scikit-learn estimator through skops, loaded only if every type it
  contains is trusted (:data:`SKOPS_TRUSTED_PREFIXES` or the caller's ``trusted``);
- ``tree``: dicts, lists, tuples, sets and frozensets of the above, of builtin and
  numpy scalars; each leaf is a part with its own codec, checked on decode.

``joblib`` (pickle) is the only codec that runs code while decoding; the store uses
it only for an object the caller trusted (``trust_pickle=True``). Old stores wrote
every non-array object with it.

What does *not* belong here: the object file layout, signatures, policy (``_store``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import math
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from mlopskit.errors import StoreError, UntrustedFormatError

__all__: list[str] = []

#: Codecs whose decoding cannot run code.
SAFE_CODECS = frozenset({"bytes", "json", "npy", "parquet", "frame", "skops", "tree"})
#: Codecs of plain data: allowed inside any allowed ``frame`` or ``tree``.
_PLAIN = frozenset({"bytes", "json", "npy"})
#: Codecs that unpickle (run code) while decoding.
PICKLE_CODECS = frozenset({"joblib"})
#: skops types trusted by default: scikit-learn's own (plus what skops trusts).
SKOPS_TRUSTED_PREFIXES = ("sklearn.",)

#: dtype kinds that ``.npy`` stores without pickle (numpy 2's StringDType is not one).
_NPY_KINDS = frozenset("biufcmMSUV")
_TREE_MAGIC = b"MLOPSKIT-TREE 1\n"
_MAX_DEPTH = 100


class NeedsPickle(Exception):
    """Internal: only pickle can store this object (``what`` says which part)."""

    def __init__(self, what: str, obj: Any) -> None:
        super().__init__(what)
        self.what = what
        self.type_name = f"{type(obj).__module__}.{type(obj).__qualname__}"


def type_name(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


# --- JSON -------------------------------------------------------------------------


def _is_json(obj: Any, depth: int = 0) -> bool:
    kind = type(obj)
    if obj is None or kind in (bool, int, str):
        return True
    if kind is float:
        return True
    if depth > _MAX_DEPTH:
        return False
    if kind is list:
        return all(_is_json(v, depth + 1) for v in obj)
    if kind is dict:
        return all(type(k) is str and _is_json(v, depth + 1) for k, v in obj.items())
    return False


def _plain_string_dtype(dtype: np.dtype[Any]) -> bool:
    """numpy 2's ``StringDType()`` without a missing-value object."""
    return dtype.kind == "T" and not hasattr(dtype, "na_object")


def _npy(arr: np.ndarray) -> memoryview:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, arr, allow_pickle=False)
    return buffer.getbuffer()


def is_npy_array(obj: Any) -> bool:
    return (
        type(obj) is np.ndarray
        and obj.dtype.kind in _NPY_KINDS
        and not obj.dtype.hasobject
    )


# --- parts: the archive under ``tree`` and ``frame`` ------------------------------


class _Parts:
    """Collects the binary parts of a tree and writes the archive."""

    def __init__(self, trusted_skops: bool) -> None:
        self.parts: list[tuple[str, bytes | memoryview]] = []
        self.skops = trusted_skops

    def add(self, codec: str, payload: bytes | memoryview) -> int:
        self.parts.append((codec, payload))
        return len(self.parts) - 1

    def archive(self, root: Any) -> bytes:
        head = json.dumps(
            {"root": root, "parts": [[c, len(p)] for c, p in self.parts]},
            separators=(",", ":"),
            allow_nan=True,
        ).encode("utf-8")
        out = io.BytesIO()
        out.write(_TREE_MAGIC)
        out.write(len(head).to_bytes(8, "little"))
        out.write(head)
        for _, payload in self.parts:
            out.write(payload)
        return out.getvalue()


def _read_archive(payload: memoryview) -> tuple[Any, list[tuple[str, memoryview]]]:
    if bytes(payload[: len(_TREE_MAGIC)]) != _TREE_MAGIC:
        raise StoreError("A tree payload lacks its header; the object is unreadable.")
    start = len(_TREE_MAGIC)
    size = int.from_bytes(payload[start : start + 8], "little")
    head = json.loads(bytes(payload[start + 8 : start + 8 + size]))
    offset = start + 8 + size
    parts = []
    for codec, length in head["parts"]:
        parts.append((str(codec), payload[offset : offset + int(length)]))
        offset += int(length)
    return head["root"], parts


# --- scalars and containers -------------------------------------------------------


def _node(obj: Any, parts: _Parts, where: str, depth: int = 0) -> Any:
    """A JSON node for ``obj``; containers are tagged lists, leaves become parts."""
    kind = type(obj)
    if obj is None or kind in (bool, int, str):
        return obj
    if kind is float:
        return ["f", repr(obj)] if not math.isfinite(obj) else obj
    if depth > _MAX_DEPTH:
        raise NeedsPickle(where, obj)
    tags: dict[type, str] = {list: "L", tuple: "T", set: "S", frozenset: "F"}
    if kind in tags:
        items = sorted(obj, key=repr) if kind in (set, frozenset) else obj
        return [
            tags[kind],
            [_node(v, parts, f"{where}[{i}]", depth + 1) for i, v in enumerate(items)],
        ]
    if kind is dict:
        return [
            "D",
            [
                [
                    _node(k, parts, f"{where} key {k!r}", depth + 1),
                    _node(v, parts, f"{where}[{k!r}]", depth + 1),
                ]
                for k, v in obj.items()
            ],
        ]
    if kind is complex:
        return ["C", repr(obj.real), repr(obj.imag)]
    textual = _textual_node(obj)
    if textual is not None:
        return textual
    if obj is pd.NA:
        return ["NA"]
    if obj is pd.NaT:
        return ["NaT"]
    if isinstance(obj, np.generic) and np.asarray(obj).dtype.kind in _NPY_KINDS:
        return ["N", parts.add("npy", _npy(np.asarray(obj)))]
    if type(obj) is np.ndarray and _plain_string_dtype(obj.dtype):
        return ["SD", list(obj.shape), obj.reshape(-1).tolist()]
    if type(obj) is np.ndarray and obj.dtype.kind == "O":
        flat = obj.reshape(-1, order="C")
        items = [
            _node(v, parts, f"{where}[{i}]", depth + 1) for i, v in enumerate(flat)
        ]
        return ["A", list(obj.shape), items]
    codec, payload = encode_leaf(obj, parts.skops, where)
    return ["P", parts.add(codec, payload)]


def _textual_node(obj: Any) -> list[Any] | None:
    """Decimals, UUIDs, dates, naive or UTC datetimes and timedeltas, as text."""
    kind = type(obj)
    if kind is decimal.Decimal:
        return ["Dec", str(obj)]
    if kind is uuid.UUID:
        return ["UUID", str(obj)]
    if kind is dt.date:
        return ["date", obj.isoformat()]
    if kind is dt.timedelta:
        return ["td", obj.days, obj.seconds, obj.microseconds]
    if kind is dt.datetime and obj.tzinfo in (None, dt.timezone.utc):
        return ["dt", obj.isoformat()]
    return None


_TEXTUAL: dict[str, Callable[[list[Any]], Any]] = {
    "Dec": lambda n: decimal.Decimal(n[1]),
    "UUID": lambda n: uuid.UUID(n[1]),
    "date": lambda n: dt.date.fromisoformat(n[1]),
    "td": lambda n: dt.timedelta(days=n[1], seconds=n[2], microseconds=n[3]),
    "dt": lambda n: dt.datetime.fromisoformat(n[1]),
}


def _value(node: Any, parts: list[tuple[str, memoryview]], decode_part: Any) -> Any:
    if not isinstance(node, list):
        return node
    tag = node[0]
    if tag == "f":
        return float(node[1])
    if tag in ("L", "T", "S", "F"):
        items = [_value(v, parts, decode_part) for v in node[1]]
        return {"L": list, "T": tuple, "S": set, "F": frozenset}[tag](items)
    if tag == "D":
        return {
            _value(k, parts, decode_part): _value(v, parts, decode_part)
            for k, v in node[1]
        }
    if tag == "C":
        return complex(float(node[1]), float(node[2]))
    if tag in _TEXTUAL:
        return _TEXTUAL[tag](node)
    if tag == "NA":
        return pd.NA
    if tag == "NaT":
        return pd.NaT
    if tag == "N":
        return decode_part(*parts[node[1]])[()]
    if tag == "SD":
        return np.array(node[2], dtype=np.dtypes.StringDType()).reshape(node[1])
    if tag == "A":
        out = np.empty(len(node[2]), dtype=object)
        for i, item in enumerate(node[2]):
            out[i] = _value(item, parts, decode_part)
        return out.reshape(node[1])
    if tag == "P":
        return decode_part(*parts[node[1]])
    if tag in _FRAME_TAGS:
        return _FRAME_TAGS[tag](node, parts, decode_part)
    raise StoreError(f"Unknown node {tag!r} in a stored tree; upgrade mlopskit.")


# --- frames -----------------------------------------------------------------------


def _values_node(values: Any, parts: _Parts, where: str) -> Any:
    """1-d column values (Series/Index values) as a node."""
    if type(values) is pd.arrays.NumpyExtensionArray:  # not its subclasses (strings)
        values = values.to_numpy()
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in _NPY_KINDS and dtype.kind != "V":
        return ["np", parts.add("npy", _npy(np.ascontiguousarray(values)))]
    if isinstance(dtype, pd.DatetimeTZDtype):
        from mlopskit.versioning._arrays import tz_name

        naive = np.asarray(values.tz_convert("UTC").tz_localize(None))
        return ["tz", tz_name(dtype.tz), parts.add("npy", _npy(naive))]
    if isinstance(dtype, pd.CategoricalDtype):
        return [
            "cat",
            bool(dtype.ordered),
            _index_node(dtype.categories, parts, f"{where} categories"),
            parts.add("npy", _npy(np.asarray(values.codes))),
        ]
    if isinstance(dtype, pd.StringDtype):
        na_nan = isinstance(getattr(dtype, "na_value", None), float)
        items = [None if pd.isna(v) else str(v) for v in values]
        return ["str", dtype.storage, na_nan, items]
    if isinstance(values, pd.api.extensions.ExtensionArray) and hasattr(
        values, "_mask"
    ):
        data = np.asarray(values._data)  # masked arrays: data + mask, both plain
        mask = np.asarray(values._mask)
        return [
            "masked",
            str(dtype),
            parts.add("npy", _npy(data)),
            parts.add("npy", _npy(mask)),
        ]
    if isinstance(dtype, np.dtype) and dtype.kind == "O":
        return ["obj", [_node(v, parts, f"{where}[{i}]") for i, v in enumerate(values)]]
    raise NeedsPickle(f"{where} (dtype {dtype})", values)


def _values(node: Any, parts: list[tuple[str, memoryview]], decode_part: Any) -> Any:
    tag = node[0]
    if tag == "np":
        return decode_part(*parts[node[1]])
    if tag == "tz":
        naive = decode_part(*parts[node[2]])
        return pd.DatetimeIndex(naive).tz_localize("UTC").tz_convert(node[1]).array
    if tag == "cat":
        categories = _index(node[2], parts, decode_part)
        codes = decode_part(*parts[node[3]])
        dtype = pd.CategoricalDtype(categories, ordered=node[1])
        return pd.Categorical.from_codes(codes, dtype=dtype)
    if tag == "str":
        if node[2]:
            dtype = pd.StringDtype(node[1], na_value=np.nan)
        else:
            dtype = pd.StringDtype(node[1])
        return pd.array(node[3], dtype=dtype)
    if tag == "masked":
        dtype = pd.api.types.pandas_dtype(node[1])
        data = decode_part(*parts[node[2]])
        mask = decode_part(*parts[node[3]])
        return dtype.construct_array_type()(data, mask)
    if tag == "obj":
        out = np.empty(len(node[1]), dtype=object)
        for i, item in enumerate(node[1]):
            out[i] = _value(item, parts, decode_part)
        return out
    raise StoreError(
        f"Unknown column node {tag!r} in a stored frame; upgrade mlopskit."
    )


def _index_node(index: pd.Index, parts: _Parts, where: str) -> Any:
    names = _node(list(index.names), parts, f"{where} names")
    if type(index) is pd.RangeIndex:
        return ["range", index.start, index.stop, index.step, names]
    if isinstance(index, pd.MultiIndex):
        levels = [
            _values_node(index.get_level_values(i).array, parts, f"{where} level {i}")
            for i in range(index.nlevels)
        ]
        return ["multi", names, levels]
    return ["index", names, _values_node(index.array, parts, where)]


def _index(node: Any, parts: list[tuple[str, memoryview]], decode_part: Any) -> Any:
    names = _value(node[-1] if node[0] == "range" else node[1], parts, decode_part)
    if node[0] == "range":
        return pd.RangeIndex(node[1], node[2], node[3], name=names[0])
    if node[0] == "multi":
        arrays = [_values(v, parts, decode_part) for v in node[2]]
        return pd.MultiIndex.from_arrays(arrays, names=names)
    values = _values(node[2], parts, decode_part)
    return pd.Index(values, dtype=values.dtype, name=names[0], copy=False)


def _frame_node(obj: Any, parts: _Parts) -> Any:
    if isinstance(obj, pd.Series):
        return [
            "series",
            _node(obj.name, parts, "the Series name"),
            _index_node(obj.index, parts, "the index"),
            _values_node(obj.array, parts, "the values"),
        ]
    columns = [
        _values_node(obj.iloc[:, i].array, parts, f"column {obj.columns[i]!r}")
        for i in range(obj.shape[1])
    ]
    return [
        "frame",
        _index_node(obj.columns, parts, "the columns"),
        _index_node(obj.index, parts, "the index"),
        columns,
    ]


def _series(node: Any, parts: list[tuple[str, memoryview]], decode_part: Any) -> Any:
    values = _values(node[3], parts, decode_part)
    index = _index(node[2], parts, decode_part)
    name = _value(node[1], parts, decode_part)
    return pd.Series(values, index=index, name=name, dtype=values.dtype, copy=False)


def _frame(node: Any, parts: list[tuple[str, memoryview]], decode_part: Any) -> Any:
    columns = _index(node[1], parts, decode_part)
    index = _index(node[2], parts, decode_part)
    data = {i: _values(v, parts, decode_part) for i, v in enumerate(node[3])}
    frame = pd.DataFrame(data, index=index, copy=False)
    frame.columns = columns
    return frame


_FRAME_TAGS = {"series": _series, "frame": _frame}


# --- parquet ----------------------------------------------------------------------


def _parquet_roundtrip(frame: pd.DataFrame) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame), buffer)
    return pq.read_table(pa.BufferReader(buffer.getvalue())).to_pandas()


def _parquet_object_ok(column: pd.Series) -> bool:
    """An object column Parquet keeps exactly: strings, with ``None`` for missing."""
    if column.dtype != object:
        return True
    if pd.api.types.infer_dtype(column, skipna=True) not in ("string", "empty"):
        return False
    missing = column.isna().to_numpy()
    return all(v is None for v in column.to_numpy()[missing])


def _parquet(frame: pd.DataFrame) -> memoryview | None:
    """Parquet bytes, or ``None`` if pyarrow is missing or would change the frame."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    from mlopskit.versioning._fingerprint import fingerprint

    names = list(frame.columns)
    if (
        not names  # Parquet keeps no rows without columns
        or isinstance(frame.columns, pd.MultiIndex)
        or not all(type(n) is str for n in names)
        or len(set(names)) != len(names)
        or not all(_parquet_object_ok(frame[n]) for n in names)
    ):
        return None
    try:
        empty = frame.iloc[:0]
        if fingerprint(_parquet_roundtrip(empty)) != fingerprint(empty):
            return None  # a dtype, name or index kind Parquet would not keep
        table = pa.Table.from_pandas(frame)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getbuffer()


# --- dispatch ---------------------------------------------------------------------


def _skops(obj: Any) -> bytes | None:
    from sklearn.base import BaseEstimator

    return skops_dumps(obj) if isinstance(obj, BaseEstimator) else None


def skops_dumps(obj: Any) -> bytes | None:
    """skops bytes of ``obj``, or ``None`` if skops is missing or cannot store it."""
    try:
        import skops.io as sio
    except ImportError:
        return None
    try:
        return bytes(sio.dumps(obj))
    except Exception:  # skops cannot represent this object: pickle is needed
        return None


def encode_leaf(obj: Any, skops: bool, where: str) -> tuple[str, bytes | memoryview]:
    """Codec and payload of an object with a safe codec; else raise NeedsPickle."""
    if type(obj) is bytes:
        return "bytes", obj
    if is_npy_array(obj):
        return "npy", _npy(obj)
    if type(obj) is pd.DataFrame:
        payload = _parquet(obj)
        if payload is not None:
            return "parquet", payload
    if type(obj) in (pd.DataFrame, pd.Series):
        parts = _Parts(skops)
        return "frame", parts.archive(_frame_node(obj, parts))
    if skops:
        data = _skops(obj)
        if data is not None:
            return "skops", data
    raise NeedsPickle(where, obj)


def encode_safe(obj: Any, *, skops: bool = True) -> tuple[str, bytes | memoryview]:
    """The safe codec and payload for ``obj``; raise NeedsPickle if there is none."""
    if _is_json(obj):  # exactly JSON's types, so the round trip is exact
        return "json", json.dumps(obj, allow_nan=True).encode("ascii")
    kind = type(obj)
    if (
        kind in (dict, list, tuple, set, frozenset, complex)
        or _textual_node(obj) is not None
        or (isinstance(obj, np.generic) and not isinstance(obj, np.void))
        or (
            kind is np.ndarray
            and (obj.dtype.kind == "O" or _plain_string_dtype(obj.dtype))
        )
    ):
        parts = _Parts(skops)
        return "tree", parts.archive(_node(obj, parts, "value"))
    return encode_leaf(obj, skops, "value")


def encode_pickle(obj: Any) -> memoryview:
    import joblib

    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    return buffer.getbuffer()


def skops_untrusted(payload: Any, trusted: Iterable[str]) -> list[str]:
    """Types in a skops payload that neither the defaults nor ``trusted`` allow."""
    import skops.io as sio

    allowed = set(trusted)
    return [
        t
        for t in sio.get_untrusted_types(data=bytes(payload))
        if t not in allowed and not t.startswith(SKOPS_TRUSTED_PREFIXES)
    ]


def decode(
    codec: str,
    payload: memoryview,
    *,
    allowed: frozenset[str],
    trusted: tuple[str, ...] = (),
    what: str = "the object",
) -> Any:
    """Decode a verified payload, refusing any codec (or part's codec) not allowed."""
    if codec not in allowed:
        if codec in PICKLE_CODECS:
            how = (
                "It is a pickle, which runs code when loaded. If you trust whoever "
                "can write to this store, load it with trust_pickle=True (per call, "
                "or ContentStore(..., trust_pickle=True))"
            )
        else:
            how = f"Allow the codec with allow=({codec!r}, ...)"
        raise UntrustedFormatError(
            f"{what} is stored with codec {codec!r}, which this load does not allow "
            f"(allowed: {sorted(allowed)}). Nothing was deserialised. {how}.",
            codec=codec,
            allowed=tuple(sorted(allowed)),
        )

    inner = allowed | _PLAIN  # plain data inside an allowed frame or tree

    def part(sub_codec: str, sub_payload: memoryview) -> Any:
        return decode(sub_codec, sub_payload, allowed=inner, trusted=trusted, what=what)

    if codec == "bytes":
        return bytes(payload)
    if codec == "json":
        return json.loads(bytes(payload))
    if codec == "npy":
        return np.lib.format.read_array(io.BytesIO(payload), allow_pickle=False)
    if codec in ("tree", "frame"):
        root, parts = _read_archive(payload)
        if codec == "frame":
            return _FRAME_TAGS[root[0]](root, parts, part)
        return _value(root, parts, part)
    if codec == "parquet":
        from mlopskit._optional import import_optional

        pq = import_optional(
            "pyarrow.parquet", extra="parquet", feature="Parquet objects"
        )
        import pyarrow as pa

        return pq.read_table(pa.BufferReader(pa.py_buffer(payload))).to_pandas()
    if codec == "skops":
        return _load_skops(payload, trusted, what)
    if codec == "joblib":
        import joblib

        return joblib.load(io.BytesIO(payload))
    raise StoreError(f"Unknown codec {codec!r} in a verified object; upgrade mlopskit.")


def _load_skops(payload: memoryview, trusted: tuple[str, ...], what: str) -> Any:
    from mlopskit._optional import import_optional

    sio = import_optional("skops.io", extra="skops", feature="Loading skops objects")
    untrusted = skops_untrusted(payload, trusted)
    if untrusted:
        raise UntrustedFormatError(
            f"{what} is a skops file with types that are not trusted: {untrusted}. "
            "Nothing was loaded. Review them, then pass trusted=[...] naming them "
            "if you trust their source.",
            codec="skops",
            untrusted=tuple(untrusted),
        )
    data = bytes(payload)
    return sio.loads(data, trusted=list(sio.get_untrusted_types(data=data)) or None)
