"""gc while other processes register: no version ever becomes unloadable.

Issue 15 measured the old ``gc(keep=...)``, run with the registry's digests gathered
just before each pass while another process registered: 558 of 602 versions became
unloadable. Here gc finds its roots itself (records, leases) and passes run back to
back while the writers run; every version must load afterwards, and garbage written
before the writers started must be gone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mlopskit.registry import ModelRegistry
from mlopskit.versioning import ContentStore

from ._workers import REGISTER_WORKER

WORKERS, PER_WORKER = 2, 8


def _gc_during_writers(location: dict[str, Any], sync: Path) -> int:
    url, options = location["url"], location["storage_options"]
    ModelRegistry(url, **options).register("shared", {"seed": True})
    garbage_store = ContentStore(url, lease_seconds=0, storage_options=options)
    garbage = [garbage_store.put({"garbage": i}) for i in range(3)]
    sync.mkdir()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                REGISTER_WORKER,
                json.dumps(
                    {**location, "worker": w, "n": PER_WORKER, "sync": str(sync)}
                ),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=sync,
        )
        for w in range(WORKERS)
    ]
    while len(list(sync.glob("ready-*"))) < WORKERS:  # synchronise on files
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.01)
    (sync / "go").touch()
    collector = ContentStore(url, storage_options=options)
    removed: set[str] = set()
    passes = 0
    while passes == 0 or any(p.poll() is None for p in procs):
        removed.update(collector.gc(dry_run=False, grace=0).removed)
        passes += 1
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert set(garbage) <= removed
    assert not any(g in collector for g in garbage)
    return passes


def _all_load(location: dict[str, Any]) -> None:
    registry = ModelRegistry(location["url"], **location["storage_options"])
    frame = registry.list_versions("shared")
    assert len(frame) == 1 + WORKERS * PER_WORKER
    for version in frame["version"]:
        registry.load("shared", int(version))
    after = ContentStore(location["url"], storage_options=location["storage_options"])
    assert after.gc(dry_run=False, grace=0).removed == ()  # nothing left to collect


@pytest.mark.slow
def test_gc_while_registering_on_a_folder(tmp_path: Path) -> None:
    location = {"url": str(tmp_path / "registry"), "storage_options": {}}
    assert _gc_during_writers(location, tmp_path / "sync") >= 1
    _all_load(location)


@pytest.mark.slow
@pytest.mark.s3
def test_gc_while_registering_on_s3(s3_bucket: dict[str, Any], tmp_path: Path) -> None:
    location = {
        "url": s3_bucket["url"],
        "storage_options": s3_bucket["storage_options"],
    }
    assert _gc_during_writers(location, tmp_path / "sync") >= 1
    _all_load(location)
