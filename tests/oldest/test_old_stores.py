"""Stores written by mlopskit before safe codecs keep loading, with explicit trust.

``data/store-v1`` and ``data/store-v1-registry`` were written by the previous
release's code (``git archive`` of main before this change), which pickled every
non-array object with joblib under the ``MLOPSKIT-OBJECT 1`` header. They hold only
builtins and arrays, so their pickles load under every supported numpy and pandas.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from mlopskit.errors import UntrustedFormatError
from mlopskit.registry import ModelRegistry
from mlopskit.versioning import ContentStore, fingerprint
from mlopskit.versioning._digest import raw_digest

DATA = Path(__file__).parent / "data"
DIGESTS = json.loads((DATA / "store-v1.json").read_text())


@pytest.fixture
def old(tmp_path: Path) -> Path:
    for name in ("store-v1", "store-v1-registry"):
        shutil.copytree(DATA / name, tmp_path / name)
    return tmp_path


def test_an_old_pickled_object_needs_trust(old: Path) -> None:
    store = ContentStore(str(old / "store-v1"))
    with pytest.raises(UntrustedFormatError, match="trust_pickle=True") as info:
        store.get(DIGESTS["dict"])
    assert info.value.codec == "joblib"
    expected = {"a": [1, 2.5, None], "b": ("x", b"y")}
    assert store.get(DIGESTS["dict"], trust_pickle=True) == expected
    trusting = ContentStore(str(old / "store-v1"), trust_pickle=True)
    assert trusting.get(DIGESTS["dict"]) == expected


def test_old_arrays_and_bytes_need_no_trust(old: Path) -> None:
    store = ContentStore(str(old / "store-v1"))
    back = store.get(DIGESTS["array"])
    assert back.dtype == np.dtype(">i4")
    assert fingerprint(back) == DIGESTS["array"]
    assert store.get_bytes(DIGESTS["bytes"]) == b"raw bytes"
    assert store.verify().ok


def test_an_old_registry_loads_its_pickled_model_with_trust(old: Path) -> None:
    registry = ModelRegistry(str(old / "store-v1-registry"))
    assert registry.get_version("legacy").digest == DIGESTS["model_digest"]
    with pytest.raises(UntrustedFormatError, match="legacy v1"):
        registry.load("legacy")
    model = registry.load("legacy", trust_pickle=True)
    assert model == {"threshold": 0.5, "weights": [1.0, 2.0]}
    assert ModelRegistry(str(old / "store-v1-registry"), trust_pickle=True).load(
        "legacy@latest"
    ) == {"threshold": 0.5, "weights": [1.0, 2.0]}


def _old_object(store: ContentStore, obj: object) -> str:
    """Write ``obj`` exactly as the previous release did: joblib under header 1."""
    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    payload = buffer.getvalue()
    digest = fingerprint(obj)
    header = json.dumps(
        {
            "codec": "joblib",
            "digest": digest,
            "payload": raw_digest(payload),
            "size": len(payload),
        },
        sort_keys=True,
    ).encode("ascii")
    path = store._path(digest)
    store.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    store.fs.pipe_file(path, b"MLOPSKIT-OBJECT 1\n" + header + b"\n" + payload)
    return digest


def test_an_old_pickled_frame_loads_under_trust(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.5, np.nan], "c": pd.Categorical(["a", "b"])})
    store = ContentStore(str(tmp_path / "store"))
    digest = _old_object(store, frame)
    with pytest.raises(UntrustedFormatError):
        store.get(digest)
    with pytest.raises(UntrustedFormatError):  # a call's allow never widens trust
        store.get(digest, allow=("joblib",))
    pd.testing.assert_frame_equal(store.get(digest, trust_pickle=True), frame)
    # a new put of equal content dedups against the old object (same digest)
    assert store.put(frame) == digest
    assert store.codec(digest) == "joblib"
