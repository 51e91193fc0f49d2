"""Signed stores: every object header and record is signed; forgeries are refused."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlopskit.errors import InvalidParameterError, TamperedObjectError
from mlopskit.registry import ModelRegistry
from mlopskit.versioning import ContentStore, SigningKey, snapshot
from mlopskit.versioning._digest import raw_digest

KEY = b"0123456789abcdef0123456789abcdef"
OTHER = b"fedcba9876543210fedcba9876543210"


@pytest.fixture(params=["local", "memory"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "local":
        return str(tmp_path / "store")
    return f"memory://signed-{uuid.uuid4().hex}"


def _rewrite_header(store: ContentStore, digest: str, **changes: object) -> None:
    path = store._path(digest)
    data = store.fs.cat_file(path)
    magic, header, payload = data.split(b"\n", 2)
    fields = {**json.loads(header), **changes}
    fields = {k: v for k, v in fields.items() if v is not None}
    new = json.dumps(fields, sort_keys=True).encode()
    store.fs.pipe_file(path, magic + b"\n" + new + b"\n" + payload)


def test_a_signed_store_reads_its_own_objects(url: str) -> None:
    store = ContentStore(url, key=KEY)
    digest = store.put(np.arange(4))
    assert store.get(digest).tolist() == [0, 1, 2, 3]
    assert store.verify().ok
    assert "sig" in json.loads(store.fs.cat_file(store._path(digest)).split(b"\n")[1])


def test_unsigned_and_forged_objects_are_refused_before_decoding(url: str) -> None:
    signed = ContentStore(url, key=KEY)
    plain = ContentStore(url)
    unsigned = plain.put([1, 2])
    with pytest.raises(TamperedObjectError, match="is not signed") as info:
        signed.get(unsigned)
    assert unsigned in info.value.name
    digest = signed.put({"w": 1.0})
    # an attacker rewrites payload and header consistently, but cannot sign
    payload = json.dumps({"w": 2.0}).encode()
    _rewrite_header(signed, digest, payload=raw_digest(payload), size=len(payload))
    path = signed._path(digest)
    head = signed.fs.cat_file(path).split(b"\n", 2)
    signed.fs.pipe_file(path, head[0] + b"\n" + head[1] + b"\n" + payload)
    assert plain.get(digest) == {"w": 2.0}  # without the key nothing notices
    for read in (signed.get, signed.get_bytes, signed.open, signed.describe):
        with pytest.raises(TamperedObjectError, match="wrong signature"):
            read(digest)
    assert set(signed.verify().corrupt) == {digest, unsigned}


def test_a_store_signed_with_another_key_says_so(url: str) -> None:
    digest = ContentStore(url, key=OTHER).put("x")
    with pytest.raises(TamperedObjectError, match="signed with another key"):
        ContentStore(url, key=KEY).get(digest)


def test_signed_dataset_records(url: str) -> None:
    store = ContentStore(url, key=KEY)
    version = snapshot(pd.DataFrame({"a": [1, 2]}), store, name="d")
    assert [v.version for v in store.versions("d")] == [1]
    path = f"{store.root}/datasets/d/00000001.json"
    data = store.fs.cat_file(path)
    store.fs.pipe_file(path, data.replace(b'"rows":2', b'"rows":3'))
    with pytest.raises(TamperedObjectError, match="wrong signature"):
        store.versions("d")
    assert version.rows == 2


def test_signed_registry_refuses_an_edited_record(tmp_path: Path) -> None:
    registry = ModelRegistry(str(tmp_path / "reg"), key=KEY)
    registry.register("m", {"w": 1}, tags={"stage": "dev"})
    assert registry.load("m") == {"w": 1}
    path = tmp_path / "reg" / "models" / "m" / "versions" / "0000000001.json"
    path.write_bytes(path.read_bytes().replace(b'"dev"', b'"prod"'))
    with pytest.raises(TamperedObjectError, match="wrong signature"):
        registry.get_version("m")
    with pytest.raises(TamperedObjectError):
        registry.load("m")


@pytest.mark.parametrize("source", ["env", "file", "path", "bytes"])
def test_keys_from_env_file_path_or_bytes(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "store.key"
    key_file.write_text(KEY.decode() + "\n")
    monkeypatch.setenv("TEST_STORE_KEY", KEY.decode())
    spec = {
        "env": "env:TEST_STORE_KEY",
        "file": f"file:{key_file}",
        "path": key_file,
        "bytes": KEY,
    }[source]
    assert SigningKey.load(spec).key_id == SigningKey(KEY).key_id


@pytest.mark.parametrize(
    ("key", "match"),
    [
        (b"short", "at least 32 bytes"),
        ("env:NO_SUCH_VARIABLE_XYZ", "not set"),
        ("plain-string", "env:VARIABLE"),
        ("file:/no/such/key/file", "Cannot read"),
    ],
)
def test_bad_keys(key: object, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        ContentStore("memory://bad-key", key=key)


def test_an_s3_access_key_keeps_working() -> None:
    store = ContentStore("memory://s3-style", key="AKIA", secret="x")
    assert store.key is None
    assert store.storage_options == {"key": "AKIA", "secret": "x"}
