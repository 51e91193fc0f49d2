"""Where runs and the cache index live: inside a versioning ``ContentStore``.

Step outputs are ordinary objects of the content store (``put``/``get`` by digest).
At the end of a run, its metadata is written once, with exclusive create so that
concurrent runs (a team sharing a bucket) never overwrite each other:

- ``<store root>/pipeline-runs/<run_id>.json``: the run record;
- ``<store root>/pipeline-index/<run_id>.json``: the cache entries the run added
  (cache key → output digest of each step that ran) and, for steps whose state
  changed, their latest code fingerprint, version and input digests (which let the
  next run say *why* a step re-runs); written only when there is something new.

Each process keeps the index in memory and refreshes it with one listing per run,
reading only the index files it has not seen. A cached re-run therefore costs one
``ls`` plus dictionary lookups, and a fresh process reads the entries (about 130
bytes each), not every run record.

What does *not* belong here: deciding what runs (``_execute.py``).
"""

from __future__ import annotations

import json
import posixpath
import threading
from typing import TYPE_CHECKING, Any

from mlopskit.errors import InvalidParameterError, RunNotFoundError

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
        #: "pipeline/step" -> {"code": …, "version": …, "inputs": {param: digest}}
        self.latest: dict[str, dict[str, Any]] = {}
        self.seen: set[str] = set()
        self.records: dict[str, bytes] = {}
        self.lock = threading.Lock()

    def refresh(self) -> None:
        """Read the index files written since the last refresh (one listing)."""
        for filename, data in self._unread(self.index_dir, self.seen):
            self.seen.add(filename)
            content = json.loads(data)
            self.entries.update(content.get("entries", {}))
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

    def save(self, run: Run, versions: dict[str, str | None]) -> None:
        """Write the run record and what it added to the index: its only metadata."""
        filename = f"{run.run_id}.json"
        record = run.to_json().encode()
        added = {
            s.cache_key: s.output_digest
            for s in run.steps.values()
            if s.status == "ran" and s.cache_key and s.output_digest
        }
        latest = {}
        for s in run.steps.values():
            if s.cache_key and s.status in ("ran", "cached"):
                state = {
                    "code": s.code_fingerprint,
                    "version": versions.get(s.name),
                    "inputs": s.input_digests,
                }
                slot = f"{run.pipeline}/{s.name}"
                if self.latest.get(slot) != state:
                    latest[slot] = state
        self._write(self.runs_dir, filename, record)
        if added or latest:
            content = {"entries": added, "latest": latest}
            self._write(self.index_dir, filename, json.dumps(content).encode())
        with self.lock:
            self.records[filename] = record
            self.entries.update(added)
            self.latest.update(latest)
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
        self.fs.makedirs(folder, exist_ok=True)
        with self.fs.open(posixpath.join(folder, filename), "xb") as fh:
            fh.write(data)


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
