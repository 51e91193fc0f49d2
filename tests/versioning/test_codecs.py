"""Safe codecs: exact round trips without pickle, and the trust / allow policy."""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import json
import sys
import uuid
import warnings
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import datasets
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlopskit.errors import (
    InvalidParameterError,
    PickleTrustWarning,
    UntrustedFormatError,
)
from mlopskit.versioning import ContentStore, _codecs, fingerprint
from mlopskit.versioning._digest import raw_digest


@pytest.fixture
def store() -> ContentStore:
    """Codecs do not depend on the filesystem (test_store runs every backend)."""
    return ContentStore(f"memory://codecs-{uuid.uuid4().hex}")


def _adult_like(n: int = 300) -> pd.DataFrame:
    """Census-like columns: ints, floats with NaN, object and category strings."""
    rng = np.random.default_rng(0)
    work = rng.choice(["Private", "State-gov", None], size=n).astype(object)
    return pd.DataFrame(
        {
            "age": rng.integers(17, 90, size=n),
            "fnlwgt": rng.normal(2e5, 1e5, size=n),
            "workclass": work,
            "education": pd.Categorical(rng.choice(["HS", "Bachelors"], size=n)),
            "hours": pd.array(
                np.where(rng.random(n) < 0.1, None, rng.integers(1, 99, n)),
                dtype="Int64",
            ),
            "income": rng.random(n) > 0.75,
        }
    )


def _frames() -> dict[str, Any]:
    out: dict[str, Any] = {
        name: getattr(datasets, f"load_{name}")(as_frame=True).frame
        for name in ("iris", "wine", "breast_cancer", "diabetes")
    }
    out["adult_like"] = _adult_like()
    times = pd.date_range("2024-03-30", periods=4, freq="7h")
    out["times"] = pd.DataFrame(
        {
            "paris": times.tz_localize("Europe/Paris"),
            "ms": times.astype("datetime64[ms]"),
            "delta": times - times[0],
            "f32": np.float32([0.0, -0.0, np.nan, np.inf]),
            "u8": np.uint8([0, 1, 2, 255]),
            "c": pd.Categorical([1, 2, 1, None]),
            "bool": pd.array([True, None, False, True], dtype="boolean"),
            "str": pd.array(["a", None, "é", ""], dtype="string"),
        },
        index=pd.Index([10, 20, 30, 40], name="k"),
    )
    out["multi"] = pd.DataFrame(
        np.arange(12.0).reshape(4, 3),
        columns=pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1)]),
        index=pd.MultiIndex.from_product([["x", "y"], [1, 2]], names=["l", "n"]),
    )
    out["int_columns"] = pd.DataFrame(np.eye(3))
    out["duplicate_columns"] = pd.DataFrame([[1, 2]], columns=["a", "a"])
    out["empty"] = pd.DataFrame({"a": pd.Series([], dtype="float64")})
    out["no_columns"] = pd.DataFrame(index=pd.RangeIndex(5, 15, 2))
    out["objects"] = pd.DataFrame({"o": [1, "a", None, 2.5, dt.date(2024, 1, 1)]})
    out["series"] = pd.Series([1.5, None], name=("a", 1), index=["r", "s"])
    out["cat_series"] = pd.Series(pd.Categorical(["b", "a"], ordered=True))
    return out


FRAMES = _frames()


@pytest.mark.parametrize("name", sorted(FRAMES))
@pytest.mark.parametrize("pyarrow", [True, False])
def test_frames_round_trip_exactly_without_pickle(
    store: ContentStore, name: str, pyarrow: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not pyarrow:  # as in the oldest-pandas CI job, which has no pyarrow
        monkeypatch.setitem(sys.modules, "pyarrow", None)
        monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    obj = FRAMES[name]
    digest = store.put(obj)
    codec = store.codec(digest)
    assert codec in ("parquet", "frame")
    if not pyarrow or isinstance(obj, pd.Series):
        assert codec == "frame"
    back = store.get(digest, allow=(codec,))
    assert fingerprint(back) == digest
    if isinstance(obj, pd.Series):
        pd.testing.assert_series_equal(back, obj)
    else:
        pd.testing.assert_frame_equal(back, obj)


def test_plain_frames_use_parquet_when_pyarrow_is_there(store: ContentStore) -> None:
    pytest.importorskip("pyarrow")
    assert store.codec(store.put(FRAMES["iris"])) == "parquet"
    assert store.codec(store.put(FRAMES["wine"])) == "parquet"


def test_a_frame_with_an_unsupported_dtype_needs_pickle(
    store: ContentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_codecs, "_parquet", lambda frame: None)  # it keeps periods
    frame = pd.DataFrame({"p": pd.period_range("2024-01", periods=2, freq="M")})
    with pytest.raises(UntrustedFormatError, match="column 'p'") as info:
        store.put(frame)
    assert info.value.part.startswith("column 'p'")
    with pytest.warns(PickleTrustWarning, match="DataFrame"):
        digest = store.put(frame, trust_pickle=True)
    pd.testing.assert_frame_equal(store.get(digest, trust_pickle=True), frame)


@functools.lru_cache(maxsize=1)
def _models() -> dict[str, Any]:
    x, y = datasets.load_iris(return_X_y=True)
    return {
        "logistic": LogisticRegression(max_iter=500).fit(x, y),
        "forest": RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y),
        "hgb": HistGradientBoostingClassifier(max_iter=3, random_state=0).fit(x, y),
        "pipeline": make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y),
    }


@pytest.mark.parametrize("name", ["forest", "hgb", "logistic", "pipeline"])
def test_estimators_use_skops_and_keep_their_fingerprint(
    store: ContentStore, name: str
) -> None:
    model = _models()[name]
    digest = store.put(model)
    assert store.codec(digest) == "skops"
    back = store.get(digest, allow=("skops",))
    assert fingerprint(back) == digest
    x = datasets.load_iris().data[:7]
    np.testing.assert_array_equal(back.predict(x), model.predict(x))


LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(),
    st.binary(max_size=8),
    st.complex_numbers(allow_nan=False),
    st.decimals(allow_nan=False),
    st.dates(),
    st.timedeltas(),
    st.datetimes(),
    st.uuids(),
    st.builds(np.float32, st.floats(width=32)),
    st.builds(np.int8, st.integers(-128, 127)),
)
TREES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(st.one_of(st.text(), st.integers()), children, max_size=4),
        st.frozensets(st.one_of(st.integers(), st.text()), max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(TREES)
def test_builtin_trees_round_trip_exactly(obj: Any) -> None:
    store = ContentStore("memory://codec-trees", lease_seconds=0)
    digest = store.put(obj)
    assert store.codec(digest) in ("json", "tree", "bytes")
    back = store.get(digest, allow=("json", "tree", "npy", "bytes"))
    assert fingerprint(back) == digest
    assert type(back) is type(obj)


def test_containers_of_safe_leaves_keep_every_part(store: ContentStore) -> None:
    obj = {
        "model": _models()["logistic"],
        "frame": FRAMES["iris"].head(),
        "arrays": [np.arange(3), np.array(["a", None], dtype=object)],
        "shape": (1, 2),
        "seen": {1, 2},
        1: b"bytes",
    }
    digest = store.put(obj)
    assert store.codec(digest) == "tree"
    assert fingerprint(store.get(digest)) == digest
    with pytest.raises(UntrustedFormatError, match="codec 'skops'"):
        store.get(digest, allow=("tree", "npy", "parquet", "frame", "bytes"))


def test_put_refuses_what_only_pickle_stores(store: ContentStore) -> None:
    with pytest.raises(
        UntrustedFormatError, match=r"value\['where'\] is a pathlib"
    ) as info:
        store.put({"where": PurePosixPath("a/b")})
    assert info.value.type_name == "pathlib.PurePosixPath"
    assert "trust_pickle=True" in str(info.value)
    assert not store.fs.exists(f"{store.root}/objects")  # nothing was written
    with pytest.warns(PickleTrustWarning, match="builtins.dict"):
        digest = store.put({"where": PurePosixPath("a/b")}, trust_pickle=True)
    assert store.codec(digest) == "joblib"
    trusting = ContentStore(store.url, trust_pickle=True)
    with pytest.warns(PickleTrustWarning):
        trusting.put(PurePosixPath("c"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert trusting.get(digest) == {"where": PurePosixPath("a/b")}


class _Planted:
    """Unpickling this touches a file: stands for code an attacker planted."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self) -> Any:
        return (self.sentinel.touch, ())


def _plant(store: ContentStore, digest: str, payload: bytes, codec: str) -> None:
    """Overwrite the object at ``digest`` with ``payload`` and a consistent header."""
    header = json.dumps(
        {
            "codec": codec,
            "digest": digest,
            "payload": raw_digest(payload),
            "size": len(payload),
        },
        sort_keys=True,
    ).encode()
    store.fs.pipe_file(
        store._path(digest), b"MLOPSKIT-OBJECT 1\n" + header + b"\n" + payload
    )


def test_a_planted_pickle_is_never_unpickled_without_trust(tmp_path: Path) -> None:
    store = ContentStore(str(tmp_path / "store"))
    import io

    import joblib

    sentinel = tmp_path / "pwned"
    buffer = io.BytesIO()
    joblib.dump(_Planted(sentinel), buffer)
    digest = store.put(np.arange(3))  # a safe object an attacker rewrites
    _plant(store, digest, buffer.getvalue(), "joblib")  # header and digest consistent
    for kwargs in ({}, {"allow": ("joblib",)}, {"allow": ("npy", "joblib")}):
        with pytest.raises(UntrustedFormatError, match="codec 'joblib'"):
            store.get(digest, **kwargs)
    assert not sentinel.exists()
    store.get(digest, trust_pickle=True)  # the caller trusted it: it runs
    assert sentinel.exists()


def test_the_callers_allow_narrows_and_the_store_policy_holds(
    store: ContentStore,
) -> None:
    digest = store.put([1, 2])
    assert store.get(digest, allow=["json"]) == [1, 2]
    with pytest.raises(UntrustedFormatError, match="allowed: \\['npy'\\]"):
        store.get(digest, allow=("npy",))
    narrow = ContentStore(store.url, allow=("npy",))
    with pytest.raises(UntrustedFormatError):
        narrow.get(digest)
    with pytest.raises(UntrustedFormatError):  # a call cannot widen the store's policy
        narrow.get(digest, allow=("json", "npy"))
    with pytest.raises(InvalidParameterError, match="unknown codecs \\['yaml'\\]"):
        store.get(digest, allow=("yaml",))


def test_forcing_a_codec(store: ContentStore) -> None:
    model = _models()["logistic"]
    assert store.codec(store.put(model, codec="skops")) == "skops"
    with pytest.raises(InvalidParameterError, match="codec='npy'"):
        store.put({"a": 1}, codec="npy")
    with pytest.raises(UntrustedFormatError):
        store.put({"a": 2}, codec="joblib")
    with pytest.warns(PickleTrustWarning):
        digest = store.put({"a": 3}, codec="joblib", trust_pickle=True)
    assert store.codec(digest) == "joblib"


def test_textual_leaves(store: ContentStore) -> None:
    obj = [
        decimal.Decimal("1.10"),
        uuid.UUID(int=7),
        dt.date(2024, 2, 29),
        dt.timedelta(days=-1, microseconds=3),
        dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone.utc),
    ]
    digest = store.put(obj)
    assert store.codec(digest) == "tree"
    assert store.get(digest) == obj
    assert fingerprint(store.get(digest)) == digest
