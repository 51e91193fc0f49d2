"""Concurrent writers: no lost, duplicated or reused version, no lost alias move."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from mlopskit.registry import ModelRegistry

from ._workers import REGISTER_WORKER


def _run_writers(
    location: dict[str, Any], sync: Path, processes: int, n: int
) -> list[list[int]]:
    """Start ``processes`` writers, release them together, return their versions."""
    sync.mkdir()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                REGISTER_WORKER,
                json.dumps({**location, "worker": w, "n": n, "sync": str(sync)}),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=sync,  # outside any git checkout: lineage skips the git state
        )
        for w in range(processes)
    ]
    deadline = time.monotonic() + 60
    while len(list(sync.glob("ready-*"))) < processes and time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.01)
    (sync / "go").touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _check_all_versions(
    location: dict[str, Any], results: list[list[int]], total: int
) -> None:
    claimed = sorted(v for r in results for v in r)
    assert claimed == list(range(1, total + 1))  # none lost, none duplicated
    for versions in results:
        assert versions == sorted(versions)  # each writer's numbers only grow
    reg = ModelRegistry(location["url"], **location["storage_options"])
    frame = reg.list_versions("shared")
    assert frame["version"].tolist() == list(range(1, total + 1))
    calls = [
        (w, i, v) for w, versions in enumerate(results) for i, v in enumerate(versions)
    ]
    with ThreadPoolExecutor(4) as pool:  # overlaps the round trips to S3
        loaded = list(pool.map(lambda call: reg.load("shared", call[2]), calls))
    for (worker, i, version), model in zip(calls, loaded, strict=True):
        row = frame.iloc[version - 1]
        assert (row["tags.worker"], row["tags.i"]) == (str(worker), str(i))
        assert model == {"worker": worker, "i": i}


@pytest.mark.slow
def test_8_processes_x_25_on_a_local_folder(tmp_path: Path) -> None:
    location = {"url": str(tmp_path / "registry"), "storage_options": {}}
    results = _run_writers(location, tmp_path / "sync", processes=8, n=25)
    _check_all_versions(location, results, 200)


@pytest.mark.slow
@pytest.mark.s3
def test_8_processes_x_25_on_s3(tmp_path: Path, s3_bucket: dict[str, Any]) -> None:
    location = {
        "url": s3_bucket["url"],
        "storage_options": s3_bucket["storage_options"],
    }
    results = _run_writers(location, tmp_path / "sync", processes=8, n=25)
    _check_all_versions(location, results, 200)


@pytest.mark.s3
def test_s3fs_exclusive_create_is_a_conditional_put(s3_bucket: dict[str, Any]) -> None:
    """The primitive the registry relies on: s3fs's "xb" refuses an existing key."""
    import s3fs

    fs = s3fs.S3FileSystem(**s3_bucket["storage_options"])
    key = f"{s3_bucket['bucket']}/probe"
    with fs.open(key, "xb") as f:
        f.write(b"first")
    with pytest.raises(FileExistsError), fs.open(key, "xb") as f:
        f.write(b"second")
    assert fs.cat_file(key) == b"first"
    reg = ModelRegistry(s3_bucket["url"], **s3_bucket["storage_options"])
    reg.register("m", 1)
    assert reg._storage.method == "native"


def _alias_race(reg_factory: Any, threads: int, moves: int) -> ModelRegistry:
    """``threads`` writers move one alias ``moves`` times each, to their own versions."""
    reg = reg_factory()
    for i in range(threads * moves):
        reg.register("m", i)
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def mover(t: int) -> None:
        own = reg_factory()
        barrier.wait()
        try:
            for k in range(moves):
                own.set_alias("m", "production", 1 + t * moves + k, reason=f"{t}/{k}")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    workers = [threading.Thread(target=mover, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors
    return reg


def test_concurrent_alias_moves_are_never_lost(any_registry: ModelRegistry) -> None:
    registry = any_registry

    def factory() -> ModelRegistry:
        return ModelRegistry(registry.url, **registry.storage_options)

    reg = _alias_race(factory, threads=4, moves=3)
    moves = [e for e in reg.history("m").events if e.kind == "set_alias"]
    assert len(moves) == 12  # every move recorded, none overwritten
    # The log is one chain: each move starts where the previous one ended.
    seqs = sorted(
        (
            json.loads(
                reg._storage.read("models", "m", "aliases", "production", n) or b"{}"
            )
            for n in reg._storage.list("models", "m", "aliases", "production")
        ),
        key=lambda r: r["seq"],
    )
    assert [r["seq"] for r in seqs] == list(range(1, 13))
    for before, after in itertools.pairwise(seqs):
        assert after["from_version"] == before["to_version"]
    assert reg.get_version("m", alias="production").version == seqs[-1]["to_version"]


class _NoExclusiveFS(MemoryFileSystem):
    """A filesystem whose "xb" silently overwrites (as some object stores do)."""

    protocol = "noexcl"
    store: ClassVar[dict[str, Any]] = {}  # separate from memory://
    pseudo_dirs: ClassVar[list[str]] = [""]

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        return super()._open(path, mode.replace("x", "w"), **kwargs)


def test_fallback_lock_when_exclusive_create_is_missing() -> None:
    fsspec.register_implementation("noexcl", _NoExclusiveFS, clobber=True)
    url = f"noexcl://reg-{os.getpid()}-{time.monotonic_ns()}"
    reg = ModelRegistry(url)
    reg.register("m", 0)
    assert reg._storage.method == "lock"  # the probe saw the overwrite
    results: list[int] = []
    lock = threading.Lock()

    def writer(t: int) -> None:
        own = ModelRegistry(url)
        for i in range(8):
            mv = own.register("m", (t, i))
            with lock:
                results.append(mv.version)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == list(range(2, 34))
