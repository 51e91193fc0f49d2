"""``fingerprint``: the content digest of a Python object (``functools.singledispatch``).

Each handler writes a canonical, self-delimiting byte stream (see ``docs/versioning.md``
for the spec) into BLAKE3. Builtin scalars inside containers are written inline;
any other child is written as its own digest (a Merkle link), so a handler that a
user registers for their type composes with every container.

What does *not* belong here: file and directory hashing (``_paths``), the store.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import functools
import pathlib
import struct
import sys
import types
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mlopskit.errors import FingerprintError
from mlopskit.versioning._arrays import (
    _write_datetime,
    tz_name,
    write_ndarray_values,
    write_pandas_values,
)
from mlopskit.versioning._digest import Stream

__all__ = ["fingerprint"]

_NAN_BYTES = bytes.fromhex("000000000000f87f")  # the one NaN (little-endian float64)
_PACK_F64 = struct.Struct("<d").pack
#: Instance attributes of estimators that depend on the machine, not on the fit.
_MACHINE_STATE = frozenset({"_n_threads", "_sklearn_version"})


@functools.singledispatch
def fingerprint(obj: Any) -> str:
    """The content digest of a Python object: ``"obj-v1:blake3:<64 hex>"``.

    Equal content gives an equal digest in any process, under any
    ``PYTHONHASHSEED``, on any machine, and across the supported numpy and pandas
    versions; any change of a value, dtype, shape, column name or order, index or
    categories changes it. Dict key order never matters and every NaN is the same
    value; ``0.0`` and ``-0.0`` differ (they behave differently). See
    ``docs/versioning.md`` for the full specification.

    Parameters
    ----------
    obj
        None, bool, int, float, complex, str, bytes; list, tuple, dict, set,
        frozenset; numpy arrays and scalars of every dtype; pandas Index,
        MultiIndex, Series, DataFrame and extension arrays; datetimes, dates,
        timedeltas, Decimal, UUID, paths, enums; dataclasses and pydantic models;
        scikit-learn estimators (by class, parameters and fitted attributes). Other
        types: register a handler with ``@fingerprint.register(MyType)``.

    Returns
    -------
    str
        The digest.

    Raises
    ------
    FingerprintError
        No handler for the object's type (the message says how to register one).

    Examples
    --------
    >>> fingerprint({"a": 1, "b": [1.5, None]}) == fingerprint({"b": [1.5, None], "a": 1})
    True
    >>> fingerprint(1) == fingerprint(1.0)
    False
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": [1, 2]})
    >>> fingerprint(df) == fingerprint(df.rename(columns={"x": "y"}))
    False

    A handler for your own type returns the fingerprint of what identifies it:

    >>> class Point:
    ...     def __init__(self, x, y):
    ...         self.x, self.y = x, y
    >>> @fingerprint.register(Point)
    ... def _(p):
    ...     return fingerprint(("Point", p.x, p.y))
    >>> fingerprint(Point(1, 2)) == fingerprint(Point(1, 2))
    True
    """
    return _fallback(obj)


def _qualname(cls: Any) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _fallback(obj: Any) -> str:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _fields("dataclass", obj, [f.name for f in dataclasses.fields(obj)])
    if "sklearn.base" in sys.modules:  # never import scikit-learn just to check
        from sklearn.base import BaseEstimator

        if isinstance(obj, BaseEstimator):  # also estimators of other libraries
            return _estimator(obj)
        if (type(obj).__module__ or "").startswith("sklearn."):
            return _reduced(obj)
    raise FingerprintError(
        f"fingerprint does not support objects of type {_qualname(type(obj))}. "
        "Register a handler that returns the fingerprint of what identifies the "
        "object, e.g. `@mlopskit.versioning.fingerprint.register(MyType)` and "
        "`def _(obj): return fingerprint((obj.a, obj.b))`.",
        type_name=_qualname(type(obj)),
    )


# --- scalars ------------------------------------------------------------------------


def _w_none(s: Stream, obj: Any) -> None:
    s.tag("none")


def _w_bool(s: Stream, obj: Any) -> None:
    s.tag("bool")
    s.update(b"\x01" if obj else b"\x00")


def _w_int(s: Stream, obj: Any) -> None:
    s.tag("int")
    s.blob(int(obj).to_bytes(int(obj).bit_length() // 8 + 1, "little", signed=True))


def _w_float(s: Stream, obj: Any) -> None:
    s.tag("float")
    s.update(_NAN_BYTES if obj != obj else _PACK_F64(obj))


def _w_str(s: Stream, obj: Any) -> None:
    s.tag("str")
    s.text(str(obj))


def _w_bytes(s: Stream, obj: Any) -> None:
    s.tag("bytes")
    s.blob(bytes(obj))


_INLINE: dict[type, Callable[[Stream, Any], None]] = {
    type(None): _w_none,
    bool: _w_bool,
    int: _w_int,
    float: _w_float,
    str: _w_str,
    bytes: _w_bytes,
}


def _item(s: Stream, obj: Any) -> None:
    """A child value: builtin scalars inline, anything else by its digest."""
    write = _INLINE.get(type(obj))
    if write is not None:
        write(s, obj)
    else:
        s.ref(fingerprint(obj))


def _scalar(base: type) -> Callable[[Any], str]:
    write = _INLINE[base]

    def handler(obj: Any) -> str:
        if isinstance(obj, enum.Enum):
            return _enum(obj)
        s = Stream()
        if type(obj) is not base:
            s.tag("subclass")
            s.text(_qualname(type(obj)))
        write(s, obj)
        return s.digest()

    return handler


for _base in _INLINE:
    fingerprint.register(_base)(_scalar(_base))


@fingerprint.register(enum.Enum)
def _enum(obj: Any) -> str:
    s = Stream()
    s.tag("enum")
    s.text(_qualname(type(obj)))
    _item(s, obj.value)
    return s.digest()


@fingerprint.register(complex)
def _complex(obj: complex) -> str:
    s = Stream()
    s.tag("complex")
    _w_float(s, obj.real)
    _w_float(s, obj.imag)
    return s.digest()


@fingerprint.register(bytearray)
@fingerprint.register(memoryview)
def _bytearray(obj: Any) -> str:
    s = Stream()
    s.tag(type(obj).__name__)
    s.blob(bytes(obj))
    return s.digest()


@fingerprint.register(decimal.Decimal)
@fingerprint.register(uuid.UUID)
@fingerprint.register(pathlib.PurePath)
@fingerprint.register(dt.date)
@fingerprint.register(dt.time)
def _textual(obj: Any) -> str:
    # datetime.datetime has its own handler below (it refines dt.date).
    s = Stream()
    s.tag(_textual_tag(obj))
    s.text(obj.as_posix() if isinstance(obj, pathlib.PurePath) else str(obj))
    return s.digest()


def _textual_tag(obj: Any) -> str:
    for cls, tag in (
        (decimal.Decimal, "decimal"),
        (uuid.UUID, "uuid"),
        (pathlib.PurePath, "path"),
        (dt.date, "date"),
        (dt.time, "time"),
    ):
        if isinstance(obj, cls):
            return tag
    raise AssertionError(type(obj))  # pragma: no cover


@fingerprint.register(dt.datetime)
def _datetime(obj: dt.datetime) -> str:
    # datetime.datetime and pandas.Timestamp of the same instant and zone are equal.
    ts = pd.Timestamp(obj)
    s = Stream()
    s.tag("datetime" if ts.tz is None else f"datetime[tz={tz_name(ts.tz)}]")
    _write_datetime(s, np.asarray([ts.to_datetime64()]))
    return s.digest()


@fingerprint.register(dt.timedelta)
def _timedelta(obj: dt.timedelta) -> str:
    s = Stream()
    s.tag("timedelta")
    _write_datetime(s, np.asarray([pd.Timedelta(obj).to_timedelta64()]))
    return s.digest()


@fingerprint.register(type(pd.NaT))
@fingerprint.register(type(pd.NA))
def _pandas_missing(obj: Any) -> str:
    s = Stream()
    s.tag("NaT" if obj is pd.NaT else "NA")
    return s.digest()


@fingerprint.register(range)
def _range(obj: range) -> str:
    s = Stream()
    s.tag("range")
    for value in (obj.start, obj.stop, obj.step):
        _w_int(s, value)
    return s.digest()


@fingerprint.register(type)
def _type(obj: type) -> str:
    s = Stream()
    s.tag("type")
    s.text(_qualname(obj))
    return s.digest()


@fingerprint.register(np.ufunc)
@fingerprint.register(types.BuiltinFunctionType)
def _builtin_function(obj: Any) -> str:
    # Compiled functions (numpy.log, len …) are named by where they live; their code
    # cannot change without a new library version. Python functions are not covered:
    # their identity is their source (see the pipeline block's code fingerprints).
    s = Stream()
    s.tag("ufunc" if isinstance(obj, np.ufunc) else "builtin-function")
    module = getattr(obj, "__module__", None) or "numpy"
    s.text(f"{module}.{obj.__name__}")
    return s.digest()


# --- containers ---------------------------------------------------------------------


def _sequence(obj: Any, tag: str) -> str:
    s = Stream()
    s.tag(tag)
    if type(obj) not in (list, tuple):
        s.tag("subclass")
        s.text(_qualname(type(obj)))
    s.u64(len(obj))
    for item in obj:
        _item(s, item)
    return s.digest()


@fingerprint.register(list)
def _list(obj: list[Any]) -> str:
    return _sequence(obj, "list")


@fingerprint.register(tuple)
def _tuple(obj: tuple[Any, ...]) -> str:
    return _sequence(obj, "tuple")


@fingerprint.register(dict)
def _dict(obj: dict[Any, Any]) -> str:
    s = Stream()
    s.tag("dict")
    if type(obj) is not dict:
        s.tag("subclass")
        s.text(_qualname(type(obj)))
    s.u64(len(obj))
    for key, value in sorted((fingerprint(k), fingerprint(v)) for k, v in obj.items()):
        s.ref(key)
        s.ref(value)
    return s.digest()


@fingerprint.register(set)
@fingerprint.register(frozenset)
def _set(obj: Any) -> str:
    s = Stream()
    s.tag("frozenset" if isinstance(obj, frozenset) else "set")
    s.u64(len(obj))
    for digest in sorted(fingerprint(item) for item in obj):
        s.ref(digest)
    return s.digest()


def _fields(tag: str, obj: Any, names: list[str]) -> str:
    s = Stream()
    s.tag(tag)
    s.text(_qualname(type(obj)))
    s.u64(len(names))
    for name in sorted(names):
        s.text(name)
        _item(s, getattr(obj, name))
    return s.digest()


# --- numpy and pandas ---------------------------------------------------------------


@fingerprint.register(np.ndarray)
def _ndarray(obj: np.ndarray) -> str:
    s = Stream()
    if isinstance(obj, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(obj)
        data = np.where(mask, np.zeros((), dtype=obj.dtype), np.ma.getdata(obj))
        s.tag("masked-ndarray")
        s.ref(_ndarray(mask))
        s.ref(_ndarray(data))
        return s.digest()
    if type(obj) not in (np.ndarray, np.memmap):
        raise FingerprintError(
            f"fingerprint does not support the ndarray subclass {_qualname(type(obj))}. "
            "Pass numpy.asarray(obj), or register a handler with "
            "@fingerprint.register(...).",
            type_name=_qualname(type(obj)),
        )
    s.tag("ndarray")
    s.u64(obj.ndim)
    for dim in obj.shape:
        s.u64(dim)
    write_ndarray_values(s, obj)
    return s.digest()


@fingerprint.register(np.generic)
def _numpy_scalar(obj: np.generic) -> str:
    s = Stream()
    s.tag("numpy-scalar")
    write_ndarray_values(s, np.asarray(obj))
    return s.digest()


@fingerprint.register(np.dtype)
def _dtype(obj: np.dtype[Any]) -> str:
    s = Stream()
    s.tag("dtype")
    s.text(repr(obj.descr) if obj.names else obj.str)
    return s.digest()


@fingerprint.register(pd.api.extensions.ExtensionDtype)
def _extension_dtype(obj: Any) -> str:
    s = Stream()
    s.tag("pandas-dtype")
    s.text(str(obj))
    return s.digest()


@fingerprint.register(pd.Index)
def _index(obj: pd.Index) -> str:
    s = Stream()
    s.tag("MultiIndex" if isinstance(obj, pd.MultiIndex) else "Index")
    s.ref(fingerprint(tuple(obj.names)))
    s.u64(len(obj))
    if isinstance(obj, pd.MultiIndex):
        s.u64(obj.nlevels)
        for level in range(obj.nlevels):
            write_pandas_values(s, obj.get_level_values(level))
    else:
        write_pandas_values(s, obj)
    return s.digest()


@fingerprint.register(pd.Series)
def _series(obj: pd.Series) -> str:
    s = Stream()
    s.tag("Series")
    s.ref(fingerprint(obj.name))
    s.ref(fingerprint(obj.index))
    s.u64(len(obj))
    write_pandas_values(s, obj)
    return s.digest()


@fingerprint.register(pd.DataFrame)
def _frame(obj: pd.DataFrame) -> str:
    s = Stream()
    s.tag("DataFrame")
    s.u64(obj.shape[0])
    s.u64(obj.shape[1])
    s.ref(fingerprint(obj.columns))
    s.ref(fingerprint(obj.index))
    for position in range(obj.shape[1]):
        write_pandas_values(s, obj.iloc[:, position])
    return s.digest()


@fingerprint.register(pd.api.extensions.ExtensionArray)
def _extension_array(obj: Any) -> str:
    s = Stream()
    s.tag("array")
    s.u64(len(obj))
    write_pandas_values(s, obj)
    return s.digest()


@fingerprint.register(np.random.RandomState)
def _random_state(obj: np.random.RandomState) -> str:
    s = Stream()
    s.tag("RandomState")
    s.ref(fingerprint(obj.get_state(legacy=True)))
    return s.digest()


@fingerprint.register(np.random.Generator)
def _generator(obj: np.random.Generator) -> str:
    s = Stream()
    s.tag("Generator")
    s.ref(fingerprint(obj.bit_generator.state))
    return s.digest()


# --- models ---------------------------------------------------------------------


def _register_pydantic() -> None:
    from pydantic import BaseModel

    @fingerprint.register(BaseModel)
    def _pydantic(obj: BaseModel) -> str:
        names = list(type(obj).model_fields)
        digest = _fields("pydantic", obj, names)
        if not obj.model_extra:
            return digest
        return fingerprint((digest, obj.model_extra))


_register_pydantic()


def _estimator(obj: Any) -> str:
    """A scikit-learn estimator: class, parameters and every fitted attribute."""
    params = obj.get_params(deep=False)
    state = {
        name: value
        for name, value in vars(obj).items()
        if name not in params and name not in _MACHINE_STATE
    }
    s = Stream()
    s.tag("sklearn-estimator")
    s.text(_qualname(type(obj)))
    for group in (params, state):
        s.u64(len(group))
        for name in sorted(group):
            s.text(name)
            _item(s, group[name])
    return s.digest()


def _reduced(obj: Any) -> str:
    """A scikit-learn helper object (a tree, a loss …) by its pickle *state*.

    The reduce tuple names a constructor and its arguments and state; they are
    fingerprinted as values, never as pickle bytes.
    """
    reduced = obj.__reduce_ex__(4)
    if isinstance(reduced, str):
        return _type(type(obj))  # a module-level singleton, named by its class
    constructor, args, *rest = reduced
    state = rest[0] if rest else None
    if isinstance(state, dict):
        state = {k: v for k, v in state.items() if k not in _MACHINE_STATE}
    s = Stream()
    s.tag("sklearn-object")
    s.text(_qualname(type(obj)))
    s.ref(fingerprint(args[1:] if args and args[0] is type(obj) else args))
    s.ref(fingerprint(state))
    del constructor
    return s.digest()
