"""snapshot, versions and diff_datasets."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from mlopskit.errors import InvalidParameterError
from mlopskit.versioning import (
    ContentStore,
    DatasetVersion,
    diff_datasets,
    fingerprint,
    snapshot,
)


@pytest.fixture
def store():
    return ContentStore(f"memory://ds-{uuid.uuid4().hex}")


def frame(n=5, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "x": rng.normal(size=n),
            "s": pd.Series([f"v{i % 3}" for i in range(n)], dtype="string"),
            "c": pd.Categorical([["a", "b"][i % 2] for i in range(n)]),
        }
    )


def test_snapshot_records_versions_in_order(store):
    v1 = snapshot(frame(), store, name="d", meta={"source": "test"})
    v2 = snapshot(frame(6), store, name="d")
    assert (v1.version, v2.version) == (1, 2)
    assert v1.parent is None
    assert v2.parent == v1.digest
    assert v1.digest == fingerprint(frame())
    assert v1.rows == 5
    assert v1.columns == ("id", "x", "s", "c")
    assert v1.dtypes[3] == "category"
    assert v1.meta == {"source": "test"}
    assert v1.created_at.tzinfo is not None
    assert store.versions("d") == (v1, v2)
    assert store.versions("unknown") == ()
    back = v1.load(store)
    pd.testing.assert_frame_equal(back, frame())
    assert fingerprint(back) == v1.digest
    assert DatasetVersion.from_json(v2.to_json()) == v2


def test_unchanged_data_records_nothing_new(store):
    v1 = snapshot(frame(), store, name="d")
    assert snapshot(frame(), store, name="d") == v1
    assert len(store.versions("d")) == 1


@pytest.mark.parametrize("kind", ["local", "memory"])
def test_concurrent_snapshots_get_distinct_numbers(tmp_path, kind):
    url = (
        str(tmp_path / "store") if kind == "local" else f"memory://c-{uuid.uuid4().hex}"
    )

    def take(i):
        return snapshot(frame(3, seed=i), ContentStore(url), name="d").version

    with ThreadPoolExecutor(4) as pool:
        numbers = sorted(pool.map(take, range(8)))
    assert numbers == list(range(1, 9))


def test_gc_keeps_dataset_versions(store):
    v = snapshot(frame(), store, name="d")
    stray = store.put("stray")
    for digest in (v.digest, stray):
        store.release(digest)  # no leases: only the dataset record roots v
    report = store.gc(dry_run=False, grace=0, keep=[])
    assert report.removed == (stray,)
    assert report.rooted == 1
    assert v.digest in store
    assert stray not in store


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".hidden", 3])
def test_bad_names(store, name):
    with pytest.raises(InvalidParameterError, match="`name`"):
        snapshot(frame(), store, name=name)


def test_bad_data_and_meta(store):
    with pytest.raises(InvalidParameterError, match="DataFrame"):
        snapshot([1, 2], store, name="d")
    with pytest.raises(InvalidParameterError, match="JSON"):
        snapshot(frame(), store, name="d", meta={"x": object()})


def test_diff_schema_changes():
    old = frame()
    new = old.drop(columns=["c"]).assign(extra=1, x=old["x"].astype(np.float32))
    d = diff_datasets(old, new)
    assert d.added_columns == ("extra",)
    assert d.removed_columns == ("c",)
    assert d.dtype_changes == (("x", "float64", "float32"),)
    assert not d.identical


def test_diff_without_key_is_a_multiset():
    old = pd.DataFrame({"a": [1, 1, 2, 3]})
    new = pd.DataFrame({"a": [3, 1, 4, 4]})
    d = diff_datasets(old, new)
    assert (d.n_added, d.n_removed, d.n_unchanged, d.n_changed) == (2, 2, 2, None)
    assert sorted(d.added["a"]) == [4, 4]
    assert sorted(d.removed["a"]) == [1, 2]
    assert diff_datasets(old, old.iloc[::-1]).identical


def test_diff_with_key_counts_and_frames():
    old = frame(6)
    new = old.iloc[1:].copy()  # id 0 removed
    new.loc[new["id"] == 2, "x"] = 99.0
    new.loc[new["id"] == 3, "s"] = pd.NA
    new = pd.concat([new, frame(8).iloc[6:]], ignore_index=True)  # ids 6, 7 added
    d = diff_datasets(old, new, key="id")
    assert (d.n_added, d.n_removed, d.n_changed, d.n_unchanged) == (2, 1, 2, 3)
    assert d.added["id"].tolist() == [6, 7]
    assert d.removed["id"].tolist() == [0]
    assert d.changed["id"].tolist() == [2, 3]
    assert dict(d.changed_columns) == {"x": 1, "s": 1}
    assert d.changed.loc[0, "x_new"] == 99.0
    assert diff_datasets(old, old, key=["id", "s"]).identical


def test_diff_nan_equals_nan_and_dtype_change_is_not_a_row_change():
    old = pd.DataFrame({"id": [1, 2], "x": [np.nan, 1.0]})
    new = old.assign(x=old["x"].astype(np.float32))
    d = diff_datasets(old, new, key="id")
    assert d.n_changed == 0
    assert d.dtype_changes


def test_diff_bad_key():
    old = pd.DataFrame({"id": [1, 1], "x": [1, 2]})
    with pytest.raises(InvalidParameterError, match="not unique"):
        diff_datasets(old, old, key="id")
    with pytest.raises(InvalidParameterError, match="not in"):
        diff_datasets(old, old, key="nope")
    with pytest.raises(InvalidParameterError, match="DataFrame"):
        diff_datasets(old, [1], key=None)


def test_diff_result_round_trips_json():
    old = pd.DataFrame({"id": [1, 2], "x": [1.0, 2.0]})
    new = pd.DataFrame({"id": [2, 3], "x": [2.5, 3.0]})
    d = diff_datasets(old, new, key="id")
    assert type(d).from_json(d.to_json()).n_changed == 1
    assert "<table" in d._repr_html_()


def test_meta_is_stored_as_json_holds_it(store):
    v1 = snapshot(frame(), store, name="d", meta={"cols": ("a", "b")})
    assert v1.meta == {"cols": ["a", "b"]}
    assert snapshot(frame(), store, name="d", meta={"cols": ("a", "b")}) == v1
