"""The store, dataset versions and hash_path on S3 (a moto server on 127.0.0.1)."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import s3fs

from mlopskit.errors import IntegrityError
from mlopskit.versioning import ContentStore, fingerprint, hash_path, snapshot

pytestmark = pytest.mark.s3


@pytest.fixture
def store(s3_storage):
    return ContentStore(s3_storage["url"], **s3_storage["storage_options"])


def test_roundtrip_layout_and_bytes_on_s3(store, s3_storage):
    df = pd.DataFrame(
        {"x": np.arange(1000, dtype=np.float32), "s": [f"r{i}" for i in range(1000)]}
    )
    digest = store.put(df)
    assert digest == fingerprint(df)
    pd.testing.assert_frame_equal(store.get(digest), df)
    hex_ = digest.rsplit(":", 1)[1]
    assert store.fs.exists(f"{s3_storage['bucket']}/root/objects/{hex_[:2]}/{hex_[2:]}")
    blob = store.put_bytes(b"payload")
    with store.open(blob) as handle:
        assert handle.read() == b"payload"
    assert store.verify().checked == 2


def test_tampering_is_detected_on_s3(store):
    digest = store.put(np.arange(100))
    hex_ = digest.rsplit(":", 1)[1]
    path = f"{store.root}/objects/{hex_[:2]}/{hex_[2:]}"
    data = store.fs.cat_file(path)
    store.fs.pipe_file(path, data[:-1] + bytes([data[-1] ^ 0xFF]))
    with pytest.raises(IntegrityError):
        store.get(digest)
    assert store.verify().corrupt == (digest,)


def test_gc_on_s3(store):
    keep = store.put("keep")
    drop = store.put("drop")
    store.release(keep)
    store.release(drop)
    assert store.gc(grace=0, keep=[keep]).removed == (drop,)  # a dry run
    assert drop in store
    assert store.gc(dry_run=False, grace=0, keep=[keep]).removed == (drop,)
    assert keep in store
    assert drop not in store


@pytest.mark.slow
def test_concurrent_snapshots_on_s3(s3_storage):
    def take(i):
        store = ContentStore(s3_storage["url"], **s3_storage["storage_options"])
        return snapshot(pd.DataFrame({"i": [i]}), store, name="d").version

    with ThreadPoolExecutor(4) as pool:
        numbers = sorted(pool.map(take, range(4)))
    assert numbers == list(range(1, 5))
    store = ContentStore(s3_storage["url"], **s3_storage["storage_options"])
    versions = store.versions("d")
    assert [v.version for v in versions] == numbers
    assert all(v.parent == p.digest for p, v in itertools.pairwise(versions))


def test_hash_path_on_s3_matches_local(s3_storage, tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPSKIT_CACHE_DIR", str(tmp_path / "cache"))
    files = {"a.txt": b"alpha", "sub/b.bin": bytes(range(256))}
    fs = s3fs.S3FileSystem(**s3_storage["storage_options"])
    for rel, data in files.items():
        fs.pipe_file(f"{s3_storage['bucket']}/tree/{rel}", data)
        (tmp_path / "tree" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "tree" / rel).write_bytes(data)
    url = f"s3://{s3_storage['bucket']}/tree"
    options = s3_storage["storage_options"]
    assert hash_path(url, **options) == hash_path(tmp_path / "tree")
    assert hash_path(f"{url}/a.txt", **options) == hash_path(
        tmp_path / "tree" / "a.txt"
    )
