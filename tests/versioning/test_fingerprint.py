"""fingerprint: what must give equal digests, and what must change them."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import decimal
import enum
import uuid
from collections import OrderedDict, namedtuple

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel

from mlopskit.errors import FingerprintError
from mlopskit.versioning import fingerprint

DIGEST_PATTERN = r"^obj-v1:blake3:[0-9a-f]{64}$"


def base_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "f": [1.5, np.nan, -2.0],
            "i": np.array([1, 2, 3], dtype=np.int64),
            "s": ["a", "b", None],
            "c": pd.Categorical(["x", "y", "x"]),
            "t": pd.to_datetime(["2024-01-01", "2024-01-02", None]).tz_localize("UTC"),
            "n": pd.array([1, None, 3], dtype="Int64"),
        }
    )


def test_format_and_types_are_distinct():
    values = [None, True, 1, 1.0, "1", b"1", (1,), [1], {1}, frozenset({1}), {1: 1}]
    digests = [fingerprint(v) for v in values]
    assert len(set(digests)) == len(values)
    assert all(pd.Series(digests).str.match(DIGEST_PATTERN))


def test_dict_order_and_float_formatting_do_not_matter():
    assert fingerprint({"a": 1, "b": 2}) == fingerprint({"b": 2, "a": 1})
    assert fingerprint(1e3) == fingerprint(1000.0)
    assert fingerprint({3, 1, 2}) == fingerprint({2, 3, 1})


def test_nans_are_one_value_and_signed_zero_differs():
    other_nan = np.frombuffer(bytes.fromhex("010000000000f8ff"), dtype="<f8")[0]
    assert np.isnan(other_nan)
    assert fingerprint(float("nan")) == fingerprint(float(other_nan))
    assert fingerprint(np.array([np.nan])) == fingerprint(np.array([other_nan]))
    assert fingerprint(0.0) != fingerprint(-0.0)
    assert fingerprint(np.array([0.0])) != fingerprint(np.array([-0.0]))


def test_byte_order_and_memory_layout_are_canonical():
    a = np.arange(12, dtype="<i4").reshape(3, 4)
    assert fingerprint(a) == fingerprint(a.astype(">i4"))
    assert fingerprint(a) == fingerprint(np.asfortranarray(a))
    assert fingerprint(a[:, ::2]) == fingerprint(np.ascontiguousarray(a[:, ::2]))


def test_array_shape_dtype_and_values_matter():
    a = np.arange(6, dtype=np.int64)
    assert fingerprint(a) != fingerprint(a.reshape(2, 3))
    assert fingerprint(a) != fingerprint(a.astype(np.int32))
    b = a.copy()
    b[3] = 99
    assert fingerprint(a) != fingerprint(b)


@pytest.mark.parametrize(
    "array",
    [
        np.array([True, False]),
        np.array([1, 2], dtype=np.uint16),
        np.array([1.5, np.nan], dtype=np.float16),
        np.array([1 + 2j, np.nan], dtype=np.complex64),
        np.array([1.5, 2.5], dtype=np.longdouble),
        np.array(["2024-01-01", "NaT"], dtype="datetime64[s]"),
        np.array([1, 2], dtype="timedelta64[ms]"),
        np.array(["a", "é"], dtype="U"),
        np.array([b"a", b"bc"], dtype="S"),
        np.array(["a", None, "c"], dtype=object),
        np.array([1, "a", None], dtype=object),
        np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")]),
    ],
    ids=lambda a: str(a.dtype),
)
def test_every_numpy_dtype_is_supported_and_stable(array):
    assert fingerprint(array) == fingerprint(array.copy())
    assert fingerprint(array) != fingerprint(array[:1])


def test_datetime_resolution_is_a_representation():
    ns = np.array(["2024-01-01T00:00:01"], dtype="datetime64[ns]")
    assert fingerprint(ns) == fingerprint(ns.astype("datetime64[s]"))
    assert fingerprint(ns) != fingerprint(ns + np.timedelta64(1, "ns"))
    series = pd.Series(pd.to_datetime(["2024-01-01"]))
    assert fingerprint(series) == fingerprint(series.astype("datetime64[ns]"))


def test_object_and_string_dtypes_hash_alike():
    values = ["a", None, "é"]
    obj = pd.Series(values, dtype=object)
    dtypes: list[object] = ["string"]
    # pandas >= 2.3: the NaN-valued string dtype (pandas 3's default "str"); 2.2
    # has no na_value
    with contextlib.suppress(TypeError):
        dtypes.append(pd.StringDtype("python", na_value=np.nan))
    for dtype in dtypes:
        assert fingerprint(obj) == fingerprint(pd.Series(values, dtype=dtype))
    assert fingerprint(obj) != fingerprint(obj.astype("category"))


def test_frame_changes_that_must_change_the_digest():
    df = base_frame()
    base = fingerprint(df)
    assert fingerprint(base_frame()) == base
    changed = [
        df.rename(columns={"f": "g"}),
        df[list(reversed(df.columns))],
        df.assign(i=df["i"].astype(np.int32)),
        df.assign(i=df["i"].astype(np.float64)),
        df.set_axis([1, 2, 3]),
        df.iloc[::-1],
        df.assign(c=df["c"].cat.add_categories(["z"])),
        df.assign(t=df["t"].dt.tz_convert("Europe/Paris")),
        df.assign(t=df["t"].dt.tz_localize(None)),
        df.assign(n=df["n"].fillna(0)),
        df.assign(s=["a", "b", "c"]),
    ]
    one_value = df.copy()
    one_value.loc[0, "f"] = 1.25
    changed.append(one_value)
    digests = [fingerprint(c) for c in changed]
    assert base not in digests
    assert len(set(digests)) == len(digests)


def test_range_index_equals_the_same_int_labels():
    df = base_frame()
    assert fingerprint(df) == fingerprint(df.set_axis(pd.Index([0, 1, 2])))


def test_multiindex_series_index_and_extension_arrays():
    mi = pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["k", "n"])
    assert fingerprint(mi) == fingerprint(mi.copy())
    assert fingerprint(mi) != fingerprint(mi.set_names(["k", "m"]))
    s = pd.Series([1, 2], index=mi, name="v")
    assert fingerprint(s) != fingerprint(s.rename("w"))
    cat = pd.Categorical(["a", "b"], ordered=True)
    assert fingerprint(cat) != fingerprint(pd.Categorical(["a", "b"]))
    assert fingerprint(pd.period_range("2024-01", periods=2, freq="M")) != fingerprint(
        pd.period_range("2024-01", periods=2, freq="D")
    )
    intervals = pd.interval_range(0, 2)
    assert fingerprint(intervals) == fingerprint(pd.interval_range(0, 2))


def test_scalars_of_many_kinds():
    now = dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone.utc)
    values = [
        now,
        now.replace(tzinfo=None),
        dt.date(2024, 1, 1),
        dt.time(12),
        dt.timedelta(seconds=1),
        decimal.Decimal("1.5"),
        uuid.UUID(int=1),
        pd.NaT,
        pd.NA,
        np.int64(1),
        np.float32(1),
        2 + 1j,
        range(3),
        int,
    ]
    digests = [fingerprint(v) for v in values]
    assert len(set(digests)) == len(digests)
    assert fingerprint(pd.Timestamp(now)) == fingerprint(now)


class Colour(enum.Enum):
    RED = 1


class Level(enum.IntEnum):
    LOW = 1


@dataclasses.dataclass
class Config:
    lr: float
    layers: list[int]


class Params(BaseModel):
    lr: float
    name: str = "x"


def test_enums_dataclasses_pydantic_and_subclasses():
    assert fingerprint(Colour.RED) != fingerprint(1)
    assert fingerprint(Level.LOW) != fingerprint(1)
    assert fingerprint(Config(0.1, [1])) == fingerprint(Config(0.1, [1]))
    assert fingerprint(Config(0.1, [1])) != fingerprint(Config(0.1, [2]))
    assert fingerprint(Params(lr=0.1)) == fingerprint(Params(lr=0.1, name="x"))
    assert fingerprint(Params(lr=0.1)) != fingerprint(Params(lr=0.2))
    point = namedtuple("point", "x y")
    assert fingerprint(point(1, 2)) != fingerprint((1, 2))
    assert fingerprint(OrderedDict(a=1)) != fingerprint({"a": 1})


def test_unsupported_type_raises_with_advice():
    class Opaque:
        pass

    with pytest.raises(FingerprintError, match=r"Opaque.*fingerprint.register") as info:
        fingerprint([Opaque()])
    assert isinstance(info.value, TypeError)
    assert "Opaque" in info.value.type_name


def test_register_a_handler_for_your_type():
    class Box:
        def __init__(self, value):
            self.value = value

    @fingerprint.register(Box)
    def _(box):
        return fingerprint(("Box", box.value))

    assert fingerprint([Box(1)]) == fingerprint([Box(1)])
    assert fingerprint([Box(1)]) != fingerprint([Box(2)])


@pytest.mark.slow  # imports and fits scikit-learn models: several seconds on a busy machine
def test_sklearn_estimators_by_params_and_fitted_state():
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    unfitted = LogisticRegression(max_iter=500)
    assert fingerprint(unfitted) == fingerprint(LogisticRegression(max_iter=500))
    assert fingerprint(unfitted) != fingerprint(LogisticRegression(max_iter=400))
    fitted = LogisticRegression(max_iter=500).fit(X, y)
    assert fingerprint(fitted) != fingerprint(unfitted)
    assert fingerprint(fitted) == fingerprint(
        LogisticRegression(max_iter=500).fit(X, y)
    )
    assert fingerprint(fitted) != fingerprint(
        LogisticRegression(max_iter=500).fit(X[:100], y[:100])
    )
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    again = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    other = RandomForestClassifier(n_estimators=3, random_state=1).fit(X, y)
    assert fingerprint(forest) == fingerprint(again) != fingerprint(other)
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    assert fingerprint(pipe) == fingerprint(
        make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    )


def test_random_states():
    assert fingerprint(np.random.RandomState(0)) == fingerprint(
        np.random.RandomState(0)
    )
    assert fingerprint(np.random.default_rng(0)) != fingerprint(
        np.random.default_rng(1)
    )


def test_sparse_and_numpy_string_dtype():
    sparse = pd.arrays.SparseArray([0.0, 0.0, 1.5])
    assert fingerprint(sparse) == fingerprint(pd.arrays.SparseArray([0.0, 0.0, 1.5]))
    assert fingerprint(sparse) != fingerprint(pd.arrays.SparseArray([0.0, 1.5, 0.0]))
    string_dtype = getattr(np.dtypes, "StringDType", None)
    if string_dtype is not None:  # numpy >= 2
        values = np.array(["a", "é"], dtype=string_dtype())
        assert fingerprint(values) == fingerprint(np.array(["a", "é"]))


def test_strings_with_nul_and_surrogates():
    a = np.array(["a\x00b", "c", "\ud800"], dtype=object)
    b = np.array(["a", "\x00bc", "\ud800"], dtype=object)
    assert fingerprint(a) != fingerprint(b)
    assert fingerprint(a) == fingerprint(a.copy())


def test_mixed_object_column_differs_from_strings():
    assert fingerprint(pd.Series(["1", "2"], dtype=object)) != fingerprint(
        pd.Series([1, "2"], dtype=object)
    )


def test_compiled_functions_and_estimators_holding_them():
    from sklearn.preprocessing import FunctionTransformer

    assert fingerprint(np.log1p) != fingerprint(np.expm1)
    assert fingerprint(len) == fingerprint(len)
    log = FunctionTransformer(func=np.log1p)
    assert fingerprint(log) == fingerprint(FunctionTransformer(func=np.log1p))
    assert fingerprint(log) != fingerprint(FunctionTransformer(func=np.sqrt))
    with pytest.raises(FingerprintError, match="function"):
        fingerprint(lambda x: x)
