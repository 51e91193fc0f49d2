"""``hash_path``: the digest of a file, or of a directory through a sorted manifest.

A file's digest is ``raw-v1:blake3:<hex>``: plain BLAKE3 of its exact bytes (no
normalisation of any kind), read in 1 MiB pieces. A directory's digest is
``dir-v1:blake3:<hex>`` of its manifest, the compact JSON list of
``{"digest", "path", "size"}`` for every file below it, sorted by POSIX relative
path (empty directories do not count, as in git and DVC).

On a local disk a file's digest is remembered under its absolute path together
with its ``(size, mtime_ns, inode)``; a later call re-reads only files whose stat
changed (DVC's "state" database does the same). The cache is a SQLite file in
``$MLOPSKIT_CACHE_DIR`` (default ``~/.cache/mlopskit``). A file modified less than
two seconds before it was hashed is not cached, since a second write within the
filesystem's timestamp granularity could go unseen ("racily clean", as git calls it).

What does *not* belong here: object hashing (``_fingerprint``), the store.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import blake3
import fsspec
from fsspec.implementations.local import LocalFileSystem

from mlopskit.errors import ObjectNotFoundError
from mlopskit.versioning._digest import ALGORITHM, DIR_SCHEME, RAW_SCHEME

__all__ = ["hash_path"]

_PIECE = 1 << 20
_RACY_SECONDS = 2.0


@dataclass(frozen=True)
class PathHash:
    """What ``hash_path`` found (used by the command line)."""

    digest: str
    kind: str
    files: int
    size: int


def hash_path(
    path_or_url: str | os.PathLike[str],
    *,
    use_cache: bool = True,
    **storage_options: Any,
) -> str:
    """The digest of a file, or of a directory through its sorted manifest.

    Parameters
    ----------
    path_or_url
        A local path or an fsspec URL (``s3://bucket/data/``, ``memory://x`` …).
    use_cache
        On local disks, reuse digests of files whose ``(size, mtime, inode)`` did
        not change since they were last hashed.
    **storage_options
        Passed to the fsspec filesystem.

    Returns
    -------
    str
        ``raw-v1:blake3:<hex>`` for a file (``b3sum`` prints the same hex, and
        :meth:`ContentStore.put_bytes` of its bytes gives the same digest), or
        ``dir-v1:blake3:<hex>`` for a directory.

    Raises
    ------
    ObjectNotFoundError
        Nothing exists at the path.

    Examples
    --------
    >>> import fsspec
    >>> fs = fsspec.filesystem("memory")
    >>> fs.pipe({"/hp-doc/a.txt": b"a", "/hp-doc/sub/b.txt": b"b"})
    >>> hash_path("memory://hp-doc/a.txt")
    'raw-v1:blake3:17762fddd969a453925d65717ac3eea21320b66b54342fde15128d6caf21215f'
    >>> hash_path("memory://hp-doc").startswith("dir-v1:blake3:")
    True
    """
    return hash_path_info(path_or_url, use_cache=use_cache, **storage_options).digest


def hash_path_info(
    path_or_url: str | os.PathLike[str],
    *,
    use_cache: bool = True,
    **storage_options: Any,
) -> PathHash:
    fs, path = fsspec.core.url_to_fs(os.fspath(path_or_url), **storage_options)
    if isinstance(fs, LocalFileSystem):
        return _hash_local(Path(path).absolute(), use_cache=use_cache)
    return _hash_remote(fs, str(path).rstrip("/"))


def _missing(path: Any) -> ObjectNotFoundError:
    return ObjectNotFoundError(
        f"No file or directory at {str(path)!r}. Check the path (and, for a URL, "
        "the storage options).",
        path=str(path),
    )


def _digest_file(handle: Any, buffer: bytearray) -> str:
    hasher = blake3.blake3()
    view = memoryview(buffer)
    while True:
        n = handle.readinto(buffer)
        if not n:
            break
        hasher.update(view[:n])
    return f"{RAW_SCHEME}:{ALGORITHM}:{hasher.hexdigest()}"


def manifest_digest(entries: list[tuple[str, str, int]]) -> str:
    """``dir-v1`` digest of ``(relpath, digest, size)`` entries (any order)."""
    manifest = [
        {"digest": digest, "path": rel, "size": size}
        for rel, digest, size in sorted(entries)
    ]
    data = json.dumps(
        manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return f"{DIR_SCHEME}:{ALGORITHM}:{blake3.blake3(data.encode('utf-8')).hexdigest()}"


def _walk(root: Path) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Files below ``root`` as (POSIX relative path, entry); dir symlinks not followed."""
    stack = [("", str(root))]
    while stack:
        prefix, directory = stack.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                rel = f"{prefix}{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    stack.append((f"{rel}/", entry.path))
                elif entry.is_file():
                    yield rel, entry


def _hash_local(root: Path, *, use_cache: bool) -> PathHash:
    if not root.exists():
        raise _missing(root)
    cache = _StatCache.open() if use_cache else None
    buffer = bytearray(_PIECE)
    try:
        if root.is_file():
            stat = root.stat()
            digest = _cached_or_hash(cache, str(root), stat, {}, buffer)
            return PathHash(digest, "file", 1, stat.st_size)
        known = cache.load_under(str(root)) if cache else {}
        entries = []
        for rel, entry in _walk(root):
            stat = entry.stat()
            digest = _cached_or_hash(cache, entry.path, stat, known, buffer)
            entries.append((rel, digest, stat.st_size))
        return PathHash(
            manifest_digest(entries),
            "directory",
            len(entries),
            sum(e[2] for e in entries),
        )
    finally:
        if cache is not None:
            cache.close()


def _cached_or_hash(
    cache: _StatCache | None,
    path: str,
    stat: os.stat_result,
    known: dict[str, tuple[int, int, int, str]],
    buffer: bytearray,
) -> str:
    key = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
    if cache is not None:
        hit = known.get(path) or (cache.lookup(path) if not known else None)
        if hit is not None and hit[:3] == key:
            return hit[3]
    with open(path, "rb", buffering=0) as handle:
        digest = _digest_file(handle, buffer)
    if cache is not None and time.time() - stat.st_mtime_ns / 1e9 > _RACY_SECONDS:
        cache.remember(path, key, digest)
    return digest


def _hash_remote(fs: Any, path: str) -> PathHash:
    if not fs.exists(path):
        raise _missing(path)
    buffer = bytearray(_PIECE)
    if fs.isfile(path):
        with fs.open(path, "rb") as handle:
            digest = _digest_file(handle, buffer)
        return PathHash(digest, "file", 1, int(fs.size(path)))
    entries = []
    for file_path, info in sorted(fs.find(path, detail=True).items()):
        if info.get("type") != "file":
            continue
        with fs.open(file_path, "rb") as handle:
            digest = _digest_file(handle, buffer)
        rel = file_path[len(path) :].lstrip("/")
        entries.append((rel, digest, int(info.get("size") or 0)))
    return PathHash(
        manifest_digest(entries), "directory", len(entries), sum(e[2] for e in entries)
    )


class _StatCache:
    """path → (size, mtime_ns, inode, digest) in a SQLite file; best effort."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._pending: list[tuple[str, int, int, int, str]] = []

    @classmethod
    def open(cls) -> _StatCache | None:
        directory = Path(
            os.environ.get("MLOPSKIT_CACHE_DIR") or Path.home() / ".cache" / "mlopskit"
        )
        try:
            directory.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(directory / "hash_path.sqlite", timeout=30)
            db.execute(
                "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, "
                "mtime_ns INTEGER, inode INTEGER, digest TEXT)"
            )
        except (OSError, sqlite3.Error):
            return None  # a cache we cannot use only costs speed
        return cls(db)

    def load_under(self, directory: str) -> dict[str, tuple[int, int, int, str]]:
        prefix = directory.rstrip(os.sep) + os.sep
        upper = prefix[:-1] + chr(ord(os.sep) + 1)
        rows = self._db.execute(
            "SELECT path, size, mtime_ns, inode, digest FROM files WHERE path >= ? AND path < ?",
            (prefix, upper),
        )
        return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}

    def lookup(self, path: str) -> tuple[int, int, int, str] | None:
        row = self._db.execute(
            "SELECT size, mtime_ns, inode, digest FROM files WHERE path = ?", (path,)
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2], row[3])

    def remember(self, path: str, key: tuple[int, int, int], digest: str) -> None:
        self._pending.append((path, *key, digest))

    def close(self) -> None:
        try:
            if self._pending:
                with self._db:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)",
                        self._pending,
                    )
        except sqlite3.Error:
            pass  # e.g. a read-only cache directory: nothing is lost but speed
        finally:
            self._db.close()
