"""Where runs and the cache index live: inside a versioning ``ContentStore``.

Step outputs are ordinary objects of the content store (``put``/``get`` by digest).
Run records are JSON files under ``<store root>/pipeline-runs/<run_id>.json``, one
file per run, written once at the end of the run with exclusive create, so
concurrent runs (a team sharing a bucket) never overwrite each other. The cache index
(cache key → output digest) is *derived* from the run records: each process keeps it
in memory and refreshes it with one listing per run, reading only the records it has
not seen. A cached re-run therefore costs one ``ls`` plus dictionary lookups, and a run
writes its metadata once.

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
    """Cache key → output digest, and the raw run records, of one store."""

    def __init__(self, store: Any) -> None:
        self.fs = store.fs
        self.dir = posixpath.join(str(store.root).rstrip("/"), RUNS_DIR)
        self.entries: dict[str, str] = {}
        self.records: dict[str, bytes] = {}
        self.lock = threading.Lock()

    def refresh(self) -> None:
        try:
            listed = self.fs.ls(self.dir, detail=False)
        except FileNotFoundError:
            return
        new = [
            p for p in listed if p.endswith(".json") and _base(p) not in self.records
        ]
        if not new:
            return
        blobs = self.fs.cat(new)
        for path, data in sorted(blobs.items()):
            self._add(_base(path), data)

    def _add(self, filename: str, data: bytes) -> None:
        self.records[filename] = data
        for rec in json.loads(data).get("steps", {}).values():
            ran = rec.get("status") == "ran"
            if ran and rec.get("cache_key") and rec.get("output_digest"):
                self.entries[rec["cache_key"]] = rec["output_digest"]

    def save(self, run: Run) -> None:
        data = run.to_json().encode()
        filename = f"{run.run_id}.json"
        self.fs.makedirs(self.dir, exist_ok=True)
        with self.fs.open(posixpath.join(self.dir, filename), "xb") as fh:
            fh.write(data)
        with self.lock:
            self._add(filename, data)


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

    index = index_of(open_store(cache))
    runs = (Run.from_json(index.records[f]) for f in sorted(index.records))
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

    index = index_of(open_store(cache))
    data = index.records.get(f"{run_id}.json")
    if data is None:
        known = [f[: -len(".json")] for f in sorted(index.records)][-5:]
        raise RunNotFoundError(
            f"No run {run_id!r} is saved in this store. The latest saved runs are "
            f"{known}; list them all with list_runs(cache).",
            run_id=run_id,
        )
    return Run.from_json(data)
