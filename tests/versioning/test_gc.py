"""Garbage collection: roots from records, explicit roots, leases and grace."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlopskit.errors import InvalidParameterError, StoreError
from mlopskit.pipeline import Pipeline
from mlopskit.registry import ModelRegistry
from mlopskit.versioning import ContentStore, snapshot


@pytest.fixture(params=["local", "memory"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "local":
        return str(tmp_path / "store")
    return f"memory://gc-{uuid.uuid4().hex}"


def _age(store: ContentStore, digest: str, seconds: float) -> None:
    """Make an object look ``seconds`` old (local folders only)."""
    path = store._path(digest)
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_gc_is_a_dry_run_by_default(url: str) -> None:
    store = ContentStore(url, lease_seconds=0)
    digest = store.put("garbage")
    report = store.gc(grace=0)
    assert report.dry_run
    assert report.removed == (digest,)
    assert digest in store
    report = store.gc(dry_run=False, grace=0)
    assert not report.dry_run
    assert report.removed == (digest,)
    assert digest not in store
    with pytest.raises(InvalidParameterError, match="dry_run"):
        store.gc(["a list, as the old gc(keep) took"])  # type: ignore[arg-type]


def test_a_lease_protects_an_artifact_until_its_record_is_written(url: str) -> None:
    """The race of issue 15: artifact stored, record not yet written, gc runs."""
    leased = ContentStore(url)
    artifact = leased.put({"weights": [1.0, 2.0]})
    assert leased.gc(dry_run=False, grace=0).leased == 1
    assert artifact in leased
    leased.records.create(f'{{"digest": "{artifact}"}}'.encode(), "mine", "1.json")
    leased.release(artifact)  # the record now roots it
    report = leased.gc(dry_run=False, grace=0)
    assert (report.removed, report.rooted) == ((), 1)
    # the same sequence without a lease loses the artifact: the lease is what protects
    bare = ContentStore(url, lease_seconds=0)
    other = bare.put({"weights": [3.0]})
    bare.gc(dry_run=False, grace=0)
    assert other not in bare


def test_a_deduplicated_put_renews_the_lease(url: str) -> None:
    store = ContentStore(url)
    digest = store.put("shared")
    store.release(digest)
    assert store.gc(grace=0).removed == (digest,)  # unrooted, unleased: collectable
    assert store.put("shared") == digest  # found stored: writes only the lease
    assert store.gc(dry_run=False, grace=0).removed == ()


def test_grace_protects_young_objects(tmp_path: Path) -> None:
    store = ContentStore(str(tmp_path / "store"), lease_seconds=0)
    young, old = store.put("young"), store.put("old")
    _age(store, old, 7200)
    report = store.gc(dry_run=False)  # default grace: one hour
    assert report.removed == (old,)
    assert report.young == 1
    assert young in store


def test_expired_leases_are_removed(url: str) -> None:
    store = ContentStore(url, lease_seconds=1e-9)
    digest = store.put("brief")
    store.gc(dry_run=False, grace=0)
    assert digest not in store
    assert not store.fs.exists(store._lease_path(digest))


def test_records_in_the_store_folder_are_roots(url: str) -> None:
    store = ContentStore(url, lease_seconds=0)
    version = snapshot(pd.DataFrame({"a": [1, 2]}), store, name="d")
    registry = ModelRegistry(url, store=store)
    model = registry.register("m", {"w": np.arange(3)})
    garbage = store.put("garbage")
    report = store.gc(dry_run=False, grace=0)
    assert report.removed == (garbage,)
    assert version.digest in store
    assert model.digest in store
    assert registry.load("m")["w"].tolist() == [0, 1, 2]


def test_a_registry_elsewhere_writes_explicit_roots(tmp_path: Path) -> None:
    store = ContentStore(str(tmp_path / "store"), lease_seconds=0)
    registry = ModelRegistry(str(tmp_path / "registry"), store=store)
    model = registry.register("m", [1, 2, 3])
    assert store.gc(dry_run=False, grace=0).removed == ()
    assert registry.load("m") == [1, 2, 3]
    assert model.digest in store


def test_explicit_roots(url: str) -> None:
    store = ContentStore(url, lease_seconds=0)
    a, b = store.put("a"), store.put("b")
    store.add_root("svc", "state", [a, b])
    store.add_root("svc", "state", [b, a])  # the same root again: a no-op
    with pytest.raises(StoreError, match="already exists"):
        store.add_root("svc", "state", [a])
    with pytest.raises(InvalidParameterError):
        store.add_root("svc", "../escape", [a])
    assert store.gc(dry_run=False, grace=0).removed == ()
    store.remove_root("svc", "state")
    assert set(store.gc(dry_run=False, grace=0).removed) == {a, b}


def _steps() -> list[object]:
    def raw() -> np.ndarray:
        return np.arange(10)

    def total(raw: np.ndarray) -> int:
        return int(raw.sum())

    return [raw, total]


def test_pipeline_cache_entries_are_roots_within_a_retention(tmp_path: Path) -> None:
    store = ContentStore(str(tmp_path / "store"), lease_seconds=0)
    pipe = Pipeline(_steps(), name="gc-pipe")
    pipe.run(cache=store)
    assert store.gc(dry_run=False, grace=0).removed == ()
    assert {s.status for s in pipe.run(cache=store).steps.values()} == {"cached"}
    old = time.time() - 40 * 86400
    for folder in ("pipeline-index", "pipeline-runs"):
        for path in (tmp_path / "store" / folder).iterdir():
            os.utime(path, (old, old))
    retention = {"pipeline-index": 30 * 86400, "pipeline-runs": 30 * 86400}
    report = store.gc(dry_run=False, grace=0, expire=retention)
    assert len(report.removed) == 2  # both outputs, now older than the retention
    rerun = pipe.run(cache=store)
    assert rerun.outputs["total"] == 45  # recomputed, never a wrong value
