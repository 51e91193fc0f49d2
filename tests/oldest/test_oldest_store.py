"""Store round trips that must hold under the oldest supported numpy and pandas too."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest

from mlopskit.errors import IntegrityError
from mlopskit.versioning import ContentStore, diff_datasets, fingerprint, snapshot


def objects():
    return {
        "bytes": b"abc",
        "float_matrix": np.arange(12, dtype=">f8").reshape(3, 4),
        "datetimes": np.array(["2024-01-01", "NaT"], dtype="datetime64[ms]"),
        "object_strings": np.array(["a", None], dtype=object),
        "frame": pd.DataFrame(
            {
                "f": [1.5, np.nan],
                "o": pd.Series(["a", None], dtype=object),
                "s": pd.Series(["a", None], dtype="string"),
                "c": pd.Categorical(["x", "y"], ordered=True),
                "t": pd.to_datetime(["2024-01-01", None]).tz_localize("UTC"),
                "n": pd.array([1, None], dtype="Int64"),
                "u": np.array([1, 2], dtype=np.uint16),
            },
            index=pd.Index(["r1", "r2"], name="row"),
        ),
        "dict": {"a": [1, 2.5, None], "b": ("x", b"y")},
    }


@pytest.fixture(params=["local", "memory"])
def store(request, tmp_path):
    if request.param == "local":
        return ContentStore(str(tmp_path / "store"))
    return ContentStore(f"memory://oldest-{uuid.uuid4().hex}")


@pytest.mark.parametrize("name", sorted(objects()))
def test_roundtrip_is_exact(store, name):
    obj = objects()[name]
    digest = store.put(obj)
    back = store.get(digest)
    assert fingerprint(back) == digest
    if isinstance(obj, pd.DataFrame):
        pd.testing.assert_frame_equal(back, obj)
    elif isinstance(obj, np.ndarray):
        assert back.dtype == obj.dtype
        np.testing.assert_array_equal(back, obj)
    else:
        assert back == obj


def test_tampering_is_detected(store):
    digest = store.put(objects()["frame"])
    hex_ = digest.rsplit(":", 1)[1]
    path = f"{store.root}/objects/{hex_[:2]}/{hex_[2:]}"
    data = store.fs.cat_file(path)
    store.fs.pipe_file(path, data[:-3])
    with pytest.raises(IntegrityError):
        store.get(digest)


def test_snapshot_and_diff(store):
    df = objects()["frame"].reset_index()
    v1 = snapshot(df, store, name="frame")
    v2 = snapshot(df.iloc[:1], store, name="frame")
    assert [v.version for v in store.versions("frame")] == [1, 2]
    pd.testing.assert_frame_equal(v1.load(store), df)
    diff = diff_datasets(v1.load(store), v2.load(store), key="row")
    assert (diff.n_removed, diff.n_added, diff.n_changed) == (1, 0, 0)
