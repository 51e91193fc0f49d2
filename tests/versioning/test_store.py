"""ContentStore: round trips, integrity, atomic writes and gc on local and memory."""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from mlopskit.errors import (
    IntegrityError,
    InvalidParameterError,
    ObjectNotFoundError,
)
from mlopskit.versioning import ContentStore, fingerprint


@pytest.fixture(params=["local", "memory"])
def store(request, tmp_path):
    if request.param == "local":
        return ContentStore(str(tmp_path / "store"))
    return ContentStore(f"memory://store-{uuid.uuid4().hex}")


def roundtrip_objects():
    return [
        b"raw bytes",
        np.arange(10, dtype=">i2").reshape(2, 5),
        np.array(["2024-01-01"], dtype="datetime64[s]"),
        np.array(["a", None], dtype=object),
        pd.DataFrame(
            {
                "f": [1.5, np.nan],
                "s": pd.Series(["a", None], dtype="string"),
                "o": pd.Series(["a", None], dtype=object),
                "c": pd.Categorical(["x", "y"], ordered=True),
                "t": pd.to_datetime(["2024-01-01", None]).tz_localize("Europe/Paris"),
                "n": pd.array([1, None], dtype="Int64"),
            },
            index=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["k", "n"]),
        ),
        {"params": [1, 2.5, None], "name": "x"},
    ]


@pytest.mark.parametrize("obj", roundtrip_objects(), ids=lambda o: type(o).__name__)
def test_put_get_roundtrip_keeps_dtypes_and_fingerprint(store, obj):
    digest = store.put(obj)
    assert digest == fingerprint(obj)
    assert digest in store
    back = store.get(digest)
    assert fingerprint(back) == digest
    if isinstance(obj, pd.DataFrame):
        pd.testing.assert_frame_equal(back, obj)
    elif isinstance(obj, np.ndarray):
        assert back.dtype == obj.dtype
        np.testing.assert_array_equal(back, obj)
    else:
        assert back == obj


def test_identical_content_is_stored_once(store):
    a = store.put(np.arange(5))
    b = store.put(np.arange(5))
    assert a == b
    assert store.verify().checked == 1


def test_layout_is_objects_two_hex_rest(store):
    digest = store.put("x")
    hex_ = digest.rsplit(":", 1)[1]
    assert store.fs.exists(f"{store.root}/objects/{hex_[:2]}/{hex_[2:]}")


def test_put_bytes_digest_is_plain_blake3_and_open_streams(store):
    import blake3

    data = os.urandom(3 * 2**20 + 17)
    digest = store.put_bytes(data)
    assert digest == "raw-v1:blake3:" + blake3.blake3(data).hexdigest()
    assert store.get_bytes(digest) == data
    with store.open(digest) as handle:
        assert handle.read() == data


def _tamper(store, digest, change):
    hex_ = digest.rsplit(":", 1)[1]
    path = f"{store.root}/objects/{hex_[:2]}/{hex_[2:]}"
    data = store.fs.cat_file(path)
    store.fs.pipe_file(path, change(data))


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d[:-1] + bytes([d[-1] ^ 1]),  # one flipped bit at the end
        lambda d: d[: len(d) // 2 + 60],  # truncated
        lambda d: d[:10],  # header cut
    ],
    ids=["flipped", "truncated", "header"],
)
def test_tampered_objects_are_never_returned(store, change):
    digest = store.put({"a": np.arange(100)})
    _tamper(store, digest, change)
    with pytest.raises(IntegrityError) as info:
        store.get(digest)
    assert info.value.digest == digest
    with pytest.raises(IntegrityError):
        store.get_bytes(digest)
    report = store.verify()
    assert not report.ok
    assert len(report.corrupt) == 1
    assert not store.verify(digest).ok


def test_tampered_pickle_is_never_unpickled(store, monkeypatch):
    import joblib

    digest = store.put({"a": 1})
    _tamper(store, digest, lambda d: d[:-2] + b"X.")
    calls = []
    monkeypatch.setattr(joblib, "load", lambda *a, **k: calls.append(a))
    with pytest.raises(IntegrityError):
        store.get(digest)
    assert calls == []


def test_open_detects_corruption_at_the_end(store):
    digest = store.put_bytes(b"x" * 5000)
    _tamper(store, digest, lambda d: d[:-1] + b"y")
    with pytest.raises(IntegrityError), store.open(digest) as handle:
        handle.read()


def test_missing_and_malformed_digests(store):
    missing = "obj-v1:blake3:" + "0" * 64
    assert missing not in store
    with pytest.raises(ObjectNotFoundError, match="No object"):
        store.get(missing)
    with pytest.raises(ObjectNotFoundError):
        store.open(missing)
    with pytest.raises(InvalidParameterError, match="Expected a digest"):
        store.get("md5:abc")
    assert 42 not in store


def test_gc_removes_only_what_is_not_kept(store):
    keep = [store.put("a"), store.put_bytes(b"b")]
    drop = store.put(np.arange(3))
    for digest in (*keep, drop):
        store.release(digest)
    report = store.gc(dry_run=False, grace=0, keep=keep)
    assert report.removed == (drop,)
    assert report.kept == 2
    assert report.freed_bytes > 0
    assert all(d in store for d in keep)
    assert drop not in store


def test_concurrent_puts_of_the_same_content(tmp_path):
    url = str(tmp_path / "store")
    frame = pd.DataFrame({"a": np.arange(50_000)})

    def put(_):
        return ContentStore(url).put(frame)

    with ThreadPoolExecutor(4) as pool:
        digests = set(pool.map(put, range(8)))
    store = ContentStore(url)
    assert digests == {fingerprint(frame)}
    assert store.verify() == store.verify()
    assert store.verify().ok
    leftovers = [n for _, _, files in os.walk(url) for n in files if n.startswith(".")]
    assert leftovers == []


def test_repr_and_attributes(tmp_path):
    store = ContentStore(str(tmp_path / "s"))
    assert repr(store).startswith("ContentStore(")
    assert store.root.endswith("/s")
    assert store.fs.protocol[0] in ("file", "local")


def test_numpy_string_dtype_roundtrips_without_pickle(store):
    string_dtype = getattr(np.dtypes, "StringDType", None)
    if string_dtype is None:  # numpy < 2 has no StringDType
        return
    values = np.array(["a", "bc"], dtype=string_dtype())
    digest = store.put(values)
    assert store.codec(digest) == "tree"
    back = store.get(digest)
    assert back.dtype == values.dtype
    assert back.tolist() == ["a", "bc"]


WORKER = """
import sys
import numpy as np, pandas as pd
from mlopskit.versioning import ContentStore, snapshot
store = ContentStore(sys.argv[1])
frame = pd.DataFrame({"a": np.arange(200_000), "s": ["x", "y"] * 100_000})
print(store.put(frame))
print(snapshot(frame.head(int(sys.argv[2])), store, name="d").version)
"""


@pytest.mark.slow
def test_concurrent_processes_share_one_store(tmp_path):
    import subprocess
    import sys

    url = str(tmp_path / "store")
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, str(i + 1)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    outputs = [w.communicate(timeout=120)[0].split() for w in workers]
    assert all(w.returncode == 0 for w in workers)
    assert len({out[0] for out in outputs}) == 1  # one digest for equal content
    assert sorted(int(out[1]) for out in outputs) == [1, 2, 3]
    store = ContentStore(url)
    assert store.verify().ok
    assert store.verify().checked == 4  # the shared frame, stored once, and 3 heads


def test_store_pickles_for_worker_processes(tmp_path):
    import pickle

    store = ContentStore(str(tmp_path / "store"))
    digest = store.put([1, 2])
    clone = pickle.loads(pickle.dumps(store))
    assert clone.get(digest) == [1, 2]
    assert (clone.root, clone.url) == (store.root, store.url)
