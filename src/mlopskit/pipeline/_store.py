"""Where runs and the cache index live: inside a versioning ``ContentStore``.

Step outputs are ordinary objects of the content store (``put``/``get`` by digest).
Metadata is written with exclusive create, each file whole or not at all, so that
concurrent runs (a team sharing a bucket) never overwrite each other and a crash
never leaves a torn file:

- ``<store root>/pipeline-index/<run_id>-s<n>.json``: written as each step
  finishes (after its output object), so a crash, ``KeyboardInterrupt`` or SIGKILL
  keeps every finished step cached: its cache entry (cache key → output digest),
  where a pickled output's bytes are, and, when the step's state changed, its
  latest code fingerprint, version and input digests (which let the next run say
  *why* a step re-runs);
- at the end of the run, ``<store root>/pipeline-runs/<run_id>.json`` (the run
  record), and the run's step files merged into ``pipeline-index/<run_id>.json``
  (the step files are then removed), so a fresh process reads one file per run.

Each process keeps the index in memory and refreshes it with one listing per run,
reading only the index files it has not seen. A cached re-run therefore costs one
``ls`` plus dictionary lookups, and a fresh process reads the entries (about 130
bytes each), not every run record.

What does *not* belong here: deciding what runs (``_execute.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import posixpath
import threading
import uuid
from typing import TYPE_CHECKING, Any

from fsspec.implementations.local import LocalFileSystem

from mlopskit.errors import (
    InvalidParameterError,
    RunNotFoundError,
    UntrustedFormatError,
)

if TYPE_CHECKING:
    from mlopskit.pipeline._run import Run

__all__ = ["list_runs", "load_run"]

RUNS_DIR = "pipeline-runs"
INDEX_DIR = "pipeline-index"

_STORES: dict[str, Any] = {}
_INDEXES: dict[tuple[int, str], _Index] = {}
_LOCK = threading.Lock()


def open_store(cache: Any) -> Any:
    """A ``ContentStore`` from a store object or an fsspec URL (memoised per URL)."""
    if isinstance(cache, str):
        with _LOCK:
            store = _STORES.get(cache)
            if store is None:
                from mlopskit.versioning import ContentStore

                store = _STORES[cache] = ContentStore(cache)
            return store
    if all(hasattr(cache, a) for a in ("put", "get", "fs", "root")):
        return cache
    raise InvalidParameterError(
        "`cache` must be None, an fsspec URL (e.g. 'memory://cache' or "
        "'.mlopskit/store') or a mlopskit.versioning.ContentStore. "
        f"Got {type(cache).__name__} instead."
    )


class _Index:
    """Cache key → output digest of one store, plus the run records read so far."""

    def __init__(self, store: Any) -> None:
        self.fs = store.fs
        root = str(store.root).rstrip("/")
        self.runs_dir = posixpath.join(root, RUNS_DIR)
        self.index_dir = posixpath.join(root, INDEX_DIR)
        self.entries: dict[str, str] = {}
        #: output digest -> where its bytes are, for outputs stored as pickles
        self.pickled: dict[str, str] = {}
        #: "pipeline/step" -> {"code": …, "version": …, "inputs": {param: digest}}
        self.latest: dict[str, dict[str, Any]] = {}
        self.seen: set[str] = set()
        self.records: dict[str, bytes] = {}
        #: run_id -> the step files this process wrote for it (merged by save)
        self.partial: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self.lock = threading.Lock()

    def refresh(self) -> None:
        """Read the index files written since the last refresh (one listing)."""
        for filename, data in self._unread(self.index_dir, self.seen):
            self.seen.add(filename)
            try:
                content = json.loads(data)
            except ValueError:  # torn by a crash mid-write on a non-atomic backend
                continue
            self._merge(content)

    def _merge(self, content: dict[str, Any]) -> None:
        self.entries.update(content.get("entries", {}))
        self.pickled.update(content.get("pickled", {}))
        self.latest.update(content.get("latest", {}))

    def read_runs(self) -> dict[str, bytes]:
        """Every run record (read once per process)."""
        for filename, data in self._unread(self.runs_dir, self.records):
            self.records[filename] = data
        return self.records

    def _unread(self, folder: str, known: Any) -> list[tuple[str, bytes]]:
        try:
            listed = self.fs.ls(folder, detail=False)
        except FileNotFoundError:
            return []
        new = [p for p in listed if p.endswith(".json") and _base(p) not in known]
        if not new:
            return []
        return sorted((_base(p), data) for p, data in self.fs.cat(new).items())

    def commit_step(
        self,
        run_id: str,
        seq: int,
        slot: str,
        state: dict[str, Any],
        entry: tuple[str, str] | None,
        pickled: tuple[str, str] | None,
    ) -> None:
        """Write one finished step's cache entry at once (it survives a crash after).

        The step's output object is already in the store; this small file makes it
        findable. ``<run_id>-s<seq>.json`` files are merged into ``<run_id>.json``
        when the run ends (:meth:`save`).
        """
        content: dict[str, Any] = {}
        if entry is not None:
            content["entries"] = {entry[0]: entry[1]}
        if pickled is not None:
            content["pickled"] = {pickled[0]: pickled[1]}
        if self.latest.get(slot) != state:
            content["latest"] = {slot: state}
        if not content:
            return
        filename = f"{run_id}-s{seq:05d}.json"
        self._write(self.index_dir, filename, json.dumps(content).encode())
        with self.lock:
            self._merge(content)
            self.seen.add(filename)
        self.partial.setdefault(run_id, []).append((filename, content))

    def save(self, run: Run) -> None:
        """Write the run record, and merge the run's per-step index files into one."""
        filename = f"{run.run_id}.json"
        record = run.to_json().encode()
        self._write(self.runs_dir, filename, record)
        parts = self.partial.pop(run.run_id, [])
        if parts:
            merged: dict[str, dict[str, Any]] = {}
            for _, content in parts:
                for field, values in content.items():
                    merged.setdefault(field, {}).update(values)
            self._write(self.index_dir, filename, json.dumps(merged).encode())
            for (
                part,
                _,
            ) in parts:  # the merged file holds them now; a leftover is harmless
                with contextlib.suppress(OSError):
                    self.fs.rm(posixpath.join(self.index_dir, part))
        with self.lock:
            self.records[filename] = record
            self.seen.add(filename)

    def why(
        self,
        pipeline: str,
        step: str,
        code: str,
        version: str | None,
        digests: dict[str, str],
    ) -> str:
        """Why a step's key is not stored, compared with its latest recorded state."""
        prev = self.latest.get(f"{pipeline}/{step}")
        if prev is None:
            return "no cache entry (first run of this step)"
        if prev["code"] != code:
            return "code changed"
        if prev["version"] != version:
            return f"version changed ({prev['version']!r} → {version!r})"
        old = prev["inputs"]
        changed = sorted(
            p for p in set(old) | set(digests) if old.get(p) != digests.get(p)
        )
        if changed:
            return f"input changed: {', '.join(changed)}"
        return "no cache entry"

    def _write(self, folder: str, filename: str, data: bytes) -> None:
        """Write a whole file or nothing: a crash never leaves a torn index file."""
        path = posixpath.join(folder, filename)
        if isinstance(self.fs, LocalFileSystem):
            os.makedirs(folder, exist_ok=True)
            tmp = posixpath.join(folder, f".tmp-{uuid.uuid4().hex}")
            try:
                with open(tmp, "wb") as fh:
                    fh.write(data)
                try:
                    os.link(tmp, path)  # fails if the file exists, like "xb"
                except FileExistsError:
                    raise
                except OSError:  # a filesystem without hard links
                    os.replace(tmp, path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(tmp)
            return
        # memory:// and object stores (s3) make a file visible only when it is closed
        self.fs.makedirs(folder, exist_ok=True)
        with self.fs.open(path, "xb") as fh:
            fh.write(data)


def load_output(store: Any, index: _Index, digest: str, trust_pickle: bool) -> Any:
    """A step's output by its digest: a store object, or a verified pickle."""
    address = index.pickled.get(digest)
    if address is None:
        return store.get(digest, trust_pickle=trust_pickle or None)
    if not (trust_pickle or getattr(store, "trust_pickle", False)):
        raise UntrustedFormatError(
            f"Output {digest} is stored as a pickle, and loading a pickle runs code. "
            "Pass trust_pickle=True if you trust everyone who can write to this store.",
            codec="pickle",
        )
    return pickle.loads(store.get_bytes(address))


def _base(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def index_of(store: Any, *, refresh: bool = True) -> _Index:
    """The process-wide index of ``store``, refreshed with one listing."""
    key = (id(store.fs), str(store.root))
    with _LOCK:
        index = _INDEXES.get(key)
        if index is None or index.fs is not store.fs:
            index = _INDEXES[key] = _Index(store)
    if refresh:
        with index.lock:
            index.refresh()
    return index


def list_runs(cache: Any, *, pipeline: str | None = None) -> tuple[Run, ...]:
    """Every run saved in a store, oldest first (optionally of one pipeline).

    Parameters
    ----------
    cache
        The store: an fsspec URL or a :class:`mlopskit.versioning.ContentStore`.
    pipeline
        Keep only runs of the pipeline with this name.

    Returns
    -------
    tuple of Run
        Run records (their ``outputs`` are empty; use :meth:`Run.load`).

    Examples
    --------
    >>> from mlopskit.pipeline import Pipeline
    >>> def one():
    ...     return 1
    >>> pipe = Pipeline([one], name="listed")
    >>> _ = pipe.run(cache="memory://list-doc")
    >>> _ = pipe.run(cache="memory://list-doc")
    >>> [r.steps["one"].status for r in list_runs("memory://list-doc")]
    ['ran', 'cached']
    """
    from mlopskit.pipeline._run import Run

    index = index_of(open_store(cache), refresh=False)
    with index.lock:
        records = dict(index.read_runs())
    runs = (Run.from_json(records[f]) for f in sorted(records))
    return tuple(r for r in runs if pipeline is None or r.pipeline == pipeline)


def load_run(cache: Any, run_id: str) -> Run:
    """The saved record of one run, by its ``run_id``.

    Raises
    ------
    RunNotFoundError
        No run with that id is saved in the store.

    Examples
    --------
    >>> from mlopskit.pipeline import Pipeline
    >>> def one():
    ...     return 1
    >>> run = Pipeline([one]).run(cache="memory://load-run-doc")
    >>> load_run("memory://load-run-doc", run.run_id) == run
    True
    """
    from mlopskit.pipeline._run import Run

    index = index_of(open_store(cache), refresh=False)
    with index.lock:
        records = dict(index.read_runs())
    data = records.get(f"{run_id}.json")
    if data is None:
        known = [f[: -len(".json")] for f in sorted(records)][-5:]
        raise RunNotFoundError(
            f"No run {run_id!r} is saved in this store. The latest saved runs are "
            f"{known}; list them all with list_runs(cache).",
            run_id=run_id,
        )
    return Run.from_json(data)
