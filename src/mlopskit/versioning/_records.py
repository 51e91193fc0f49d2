"""Create-only writes: the one primitive every record of mlopskit rests on.

Every record (a dataset version; a model version, an alias move, an archive mark; a
loop event) is written once,
with an *exclusive create*, and never rewritten. Two writers racing for the same path
cannot both win: the loser gets :class:`FileExistsError` and retries elsewhere. How
the exclusive create is done depends on the filesystem:

- **local** folders: the record is written and ``fsync``-ed to a private temporary
  file, then hard-linked to its final name (``os.link`` fails if the name exists).
  The record appears whole or not at all, even if the process is killed mid-write;
  the directory is ``fsync``-ed too, so a returned write survives a power cut.
- **memory://**: check-and-write under a process-wide lock (the filesystem lives in
  one process).
- **any other fsspec filesystem** (S3 through s3fs, GCS, …): ``fs.open(path, "xb")``,
  which s3fs maps to a conditional ``PUT`` with ``If-None-Match: *``. A single ``PUT``
  is atomic, so readers never see half a record. The first write through a ``Storage``
  *probes* the filesystem: it creates one key twice and checks that the second create
  fails. A filesystem that silently overwrites instead falls back to a **lock**: a
  file lock (``fcntl.flock``) in the local temporary folder, keyed by the storage's
  URL, under which existence is checked and then the record written. That lock only
  serialises writers **on one machine**; writers on several machines sharing such a
  filesystem can still race, so use a backend with create-only writes for them.

A record written by a killed process never appears half-written, but its private
temporary file (``.tmp-<pid>-<random>``) stays behind; the next write to the same
folder removes the temporary files of processes of this machine that are no longer
running (and those of the old ``.tmp-<random>`` form that are older than a day).

With a :class:`~mlopskit.versioning._signing.SigningKey`, every record gets a
signature line in front of it and reads verify and strip it (see ``_signing``).

What does *not* belong here: what the records contain (dataset versions in
``_datasets.py``, the registry's records in ``mlopskit.registry``, loop events in
``mlopskit.loop``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from mlopskit.errors import MlopsKitError, StoreError
from mlopskit.versioning._signing import SigningKey, unwrap

__all__ = ["Storage", "backoff", "clean_temporary", "temporary_name"]

_MEMORY_LOCK = threading.Lock()
_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def backoff(attempt: int, *, base: float = 0.002, cap: float = 0.25) -> None:
    """Sleep a "full jitter" exponential backoff: uniform in ``[0, base·2^attempt]``.

    Jitter spreads writers that collided apart so that they do not collide again in
    lock-step; the cap keeps one unlucky writer from sleeping long.

    Examples
    --------
    >>> backoff(0, base=0.0)
    """
    delay = min(cap, base * (2 ** min(attempt, 16)))
    if delay > 0:
        time.sleep(random.uniform(0.0, delay))


class Storage:
    """Create-only records on one fsspec filesystem below a root path.

    Parameters
    ----------
    fs
        The fsspec filesystem.
    root
        The root path on ``fs`` (protocol stripped).
    url
        The URL the user gave, used in messages and to key the fallback lock.
    error
        The error raised when the filesystem cannot be written at all (each block
        reports in its own family: ``StoreError``, ``RegistryError`` …).
    key
        Sign every record written and verify every record read with this key.
    """

    def __init__(
        self,
        fs: Any,
        root: str,
        url: str,
        *,
        error: type[MlopsKitError] = StoreError,
        key: SigningKey | None = None,
    ) -> None:
        self.fs = fs
        self.key = key
        self.error = error
        self.root = root.rstrip("/") or "/"
        self.url = url
        protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
        if "file" in protocols or "local" in protocols:
            self.kind = "local"
        elif "memory" in protocols:
            self.kind = "memory"
        else:
            self.kind = "remote"
        #: How exclusive creates are done: "link", "memory-lock", "native" or "lock";
        #: "native" or "lock" for a remote filesystem is decided by the first write.
        self.method: str | None = {"local": "link", "memory": "memory-lock"}.get(
            self.kind
        )

    # -- paths ------------------------------------------------------------------

    def path(self, *parts: str) -> str:
        """The full path of ``parts`` below the root."""
        return "/".join((self.root, *parts))

    # -- reads ------------------------------------------------------------------

    def read(self, *parts: str) -> bytes | None:
        """The bytes at ``parts``, or ``None`` if there is no such file.

        Raises
        ------
        TamperedObjectError
            The storage has a key and the record's signature is missing or wrong.
        """
        path = self.path(*parts)
        try:
            if self.kind == "local":
                with open(path, "rb") as f:
                    data = f.read()
            else:
                data = bytes(self.fs.cat_file(path))
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        return self._unwrap(data, path)

    def _unwrap(self, data: bytes, path: str) -> bytes:
        if not data and self.key is None:
            return data
        return unwrap(data, self.key, f"The record {path}")

    def read_many(self, folder: tuple[str, ...], names: list[str]) -> dict[str, bytes]:
        """The bytes of several files of one folder (missing ones are left out).

        On a remote filesystem the reads run concurrently (one ``fs.cat`` call).
        """
        if self.kind != "remote":
            found = {n: self.read(*folder, n) for n in names}
            return {n: b for n, b in found.items() if b is not None}
        paths = {self.path(*folder, n): n for n in names}
        if not paths:
            return {}
        data = self.fs.cat(list(paths), on_error="omit")
        return {
            paths[p]: self._unwrap(bytes(b), p) for p, b in data.items() if p in paths
        }

    def list(self, *parts: str) -> list[str]:
        """Names (not paths) of the entries in folder ``parts``; ``[]`` if missing.

        Hidden names (a leading ``.``: temporary files, probes) are left out.
        """
        path = self.path(*parts)
        try:
            if self.kind == "local":
                names = os.listdir(path)
            else:
                self.fs.invalidate_cache(path)
                names = [
                    p.rstrip("/").rsplit("/", 1)[-1]
                    for p in self.fs.ls(path, detail=False)
                ]
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(n for n in names if n and not n.startswith("."))

    # -- the exclusive create ----------------------------------------------------

    def create(self, data: bytes, *parts: str) -> None:
        """Write ``data`` at ``parts`` only if nothing is there yet.

        Raises
        ------
        FileExistsError
            Something (possibly a concurrent writer's record) is already there.
        """
        path = self.path(*parts)
        if self.key is not None:
            data = self.key.wrap(data)
        if self.kind == "local":
            self._create_local(path, data)
        elif self.kind == "memory":
            with _MEMORY_LOCK:
                if self.fs.exists(path):
                    raise FileExistsError(path)
                self.fs.pipe_file(path, data)
        else:
            if self.method is None:
                self.method = "native" if self._probe_exclusive() else "lock"
            if self.method == "native":
                with self.fs.open(path, "xb") as f:
                    f.write(data)
            else:
                with self._fallback_lock():
                    self.fs.invalidate_cache(path.rsplit("/", 1)[0])
                    if self.fs.exists(path):
                        raise FileExistsError(path)
                    self.fs.pipe_file(path, data)

    def _create_local(self, path: str, data: bytes) -> None:
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        clean_temporary(folder)
        tmp = os.path.join(folder, temporary_name())
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise
            except OSError:  # no hard links here (some FUSE/SMB mounts): O_EXCL
                with open(path, "xb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
        finally:
            os.unlink(tmp)
        _fsync_dir(folder)

    def _probe_exclusive(self) -> bool:
        """Whether ``open(path, "xb")`` refuses an existing path on this filesystem."""
        probe = self.path(".probe", uuid.uuid4().hex)
        try:
            with self.fs.open(probe, "xb") as f:
                f.write(b"1")
            try:
                with self.fs.open(probe, "xb") as f:
                    f.write(b"2")
            except FileExistsError:
                return True
            return False
        except (ValueError, NotImplementedError):  # mode "x" not supported at all
            return False
        except OSError as exc:
            raise self.error(
                f"Cannot write to {self.url!r}: {exc}. Check the URL, "
                "the credentials in storage_options and that the bucket or folder "
                "exists.",
                url=self.url,
            ) from exc
        finally:
            with contextlib.suppress(OSError):
                self.fs.rm(probe)

    @contextlib.contextmanager
    def _fallback_lock(self) -> Iterator[None]:
        key = hashlib.sha256(self.url.encode()).hexdigest()[:32]
        with _THREAD_LOCKS_GUARD:
            thread_lock = _THREAD_LOCKS.setdefault(key, threading.Lock())
        lock_path = os.path.join(tempfile.gettempdir(), f"mlopskit-records-{key}.lock")
        with thread_lock, open(lock_path, "ab") as handle:
            _lock_file(handle.fileno())
            try:
                yield
            finally:
                _unlock_file(handle.fileno())


#: This machine, as it appears in temporary file names (no "-" in it).
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:12]
#: An old-style temporary file (no pid in its name) this old is abandoned.
_OLD_TEMPORARY_SECONDS = 86400.0


def temporary_name() -> str:
    """A private temporary file name that says which process owns it."""
    return f".tmp-{os.getpid()}-{_HOST}-{uuid.uuid4().hex}"


def _abandoned(name: str, path: str) -> bool:
    pieces = name.split("-", 3)  # "", "tmp" … or ".tmp", pid, host, random
    if len(pieces) == 4 and pieces[1].isdigit() and pieces[2] == _HOST:
        return not _alive(int(pieces[1]))
    if len(pieces) == 2:  # ".tmp-<random>": written by an older mlopskit
        try:
            return time.time() - os.stat(path).st_mtime > _OLD_TEMPORARY_SECONDS
        except OSError:
            return False
    return False  # another machine's file (a shared mount): its owner may be alive


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but owned by someone else
        return True
    return True


def clean_temporary(folder: str) -> list[str]:
    """Remove the temporary files that killed writers left in a local ``folder``.

    Only files of processes of this machine that are no longer running (and old
    ``.tmp-<random>`` files of older versions) go; a live writer's file stays.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / f".tmp-999999999-{_HOST}-x").write_bytes(b"")
    >>> [p.split("-")[1] for p in clean_temporary(str(folder))]
    ['999999999']
    """
    removed: list[str] = []
    try:
        names = [n for n in os.listdir(folder) if n.startswith(".tmp-")]
    except OSError:
        return removed
    for name in names:
        path = os.path.join(folder, name)
        if _abandoned(name, path):
            with contextlib.suppress(OSError):
                os.unlink(path)
                removed.append(name)
    return removed


def _fsync_dir(folder: str) -> None:
    if (
        sys.platform == "win32"
    ):  # pragma: no cover - directories cannot be opened on Windows
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lock_file(fd: int) -> None:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                return
            except OSError:
                continue
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX)


def _unlock_file(fd: int) -> None:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)
