"""hash_path: file and directory digests, the stat cache, URLs."""

from __future__ import annotations

import json
import os
import time

import blake3
import fsspec
import pytest

from mlopskit.errors import ObjectNotFoundError
from mlopskit.versioning import ContentStore, hash_path
from mlopskit.versioning._paths import hash_path_info


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    directory = tmp_path / "cache"
    monkeypatch.setenv("MLOPSKIT_CACHE_DIR", str(directory))
    return directory


def make_tree(root, files):
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    old = time.time() - 60  # older than the racy window, so the cache may keep them
    for rel in files:
        os.utime(root / rel, (old, old))


def test_file_digest_is_plain_blake3_of_the_bytes(tmp_path):
    data = os.urandom(2**20 * 2 + 5)
    make_tree(tmp_path, {"f.bin": data})
    digest = hash_path(tmp_path / "f.bin")
    assert digest == "raw-v1:blake3:" + blake3.blake3(data).hexdigest()
    assert ContentStore(str(tmp_path / "s")).put_bytes(data) == digest


def test_crlf_is_not_normalised(tmp_path):
    make_tree(tmp_path, {"unix.txt": b"a\nb\n", "dos.txt": b"a\r\nb\r\n"})
    assert hash_path(tmp_path / "unix.txt") != hash_path(tmp_path / "dos.txt")


def test_directory_manifest_matches_the_spec(tmp_path):
    files = {"b.txt": b"b", "a/x.bin": b"xx", "a/y/z.txt": b""}
    make_tree(tmp_path / "d", files)
    (tmp_path / "d" / "empty").mkdir()
    manifest = sorted(
        (rel, "raw-v1:blake3:" + blake3.blake3(data).hexdigest(), len(data))
        for rel, data in files.items()
    )
    text = json.dumps(
        [{"digest": d, "path": p, "size": s} for p, d, s in manifest],
        sort_keys=True,
        separators=(",", ":"),
    )
    expected = "dir-v1:blake3:" + blake3.blake3(text.encode()).hexdigest()
    assert hash_path(tmp_path / "d") == expected
    info = hash_path_info(tmp_path / "d")
    assert (info.kind, info.files, info.size) == ("directory", 3, 3)


def test_directory_digest_changes_with_content_names_and_files(tmp_path):
    make_tree(tmp_path / "d", {"a.txt": b"1", "b.txt": b"2"})
    base = hash_path(tmp_path / "d")
    (tmp_path / "d" / "a.txt").write_bytes(b"3")
    changed = hash_path(tmp_path / "d")
    (tmp_path / "d" / "a.txt").rename(tmp_path / "d" / "c.txt")
    renamed = hash_path(tmp_path / "d")
    (tmp_path / "d" / "new.txt").write_bytes(b"")
    added = hash_path(tmp_path / "d")
    assert len({base, changed, renamed, added}) == 4


def test_same_tree_elsewhere_has_the_same_digest(tmp_path):
    files = {"x/1.txt": b"one", "2.txt": b"two"}
    make_tree(tmp_path / "a", files)
    make_tree(tmp_path / "b", files)
    assert hash_path(tmp_path / "a") == hash_path(tmp_path / "b")


def test_stat_cache_skips_unchanged_files_and_sees_changes(tmp_path, monkeypatch):
    from mlopskit.versioning import _paths

    make_tree(tmp_path / "d", {f"f{i}.txt": str(i).encode() for i in range(20)})
    first = hash_path(tmp_path / "d")
    reads = []
    original = _paths._digest_file
    monkeypatch.setattr(
        _paths, "_digest_file", lambda h, b: reads.append(1) or original(h, b)
    )
    assert hash_path(tmp_path / "d") == first
    assert reads == []
    path = tmp_path / "d" / "f3.txt"
    path.write_bytes(b"changed")
    old = time.time() - 30
    os.utime(path, (old, old))
    assert hash_path(tmp_path / "d") != first
    assert len(reads) == 1
    assert hash_path(tmp_path / "d", use_cache=False) != first
    assert len(reads) == 21


def test_recently_modified_files_are_not_cached(tmp_path, monkeypatch):
    from mlopskit.versioning import _paths

    (tmp_path / "fresh.txt").write_bytes(b"now")
    hash_path(tmp_path / "fresh.txt")
    reads = []
    original = _paths._digest_file
    monkeypatch.setattr(
        _paths, "_digest_file", lambda h, b: reads.append(1) or original(h, b)
    )
    hash_path(tmp_path / "fresh.txt")
    assert reads == [1]


def test_unusable_cache_directory_only_costs_speed(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_bytes(b"")
    monkeypatch.setenv("MLOPSKIT_CACHE_DIR", str(blocker / "sub"))
    make_tree(tmp_path / "d", {"a": b"a"})
    assert hash_path(tmp_path / "d").startswith("dir-v1:")


def test_memory_url_matches_local_digest(tmp_path):
    files = {"a.txt": b"alpha", "s/b.txt": b"beta"}
    make_tree(tmp_path / "d", files)
    fs = fsspec.filesystem("memory")
    fs.pipe({f"/hp-test/{rel}": data for rel, data in files.items()})
    assert hash_path("memory://hp-test") == hash_path(tmp_path / "d")
    assert hash_path("memory://hp-test/a.txt") == hash_path(tmp_path / "d" / "a.txt")


def test_missing_path(tmp_path):
    with pytest.raises(ObjectNotFoundError, match="No file or directory"):
        hash_path(tmp_path / "nope")
    with pytest.raises(ObjectNotFoundError):
        hash_path("memory://no-such-hp-path")
