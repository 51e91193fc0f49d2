"""Garbage collection of a content store: roots, leases and a grace period.

The roots protocol (what keeps an object alive), checked in this order:

1. **Records in the store's folder.** Every file below the store root outside
   ``objects/`` and ``leases/`` is read and every digest string in it
   (``obj-v1:…``, ``raw-v1:…``, ``dir-v1:…``) is a root. So registry versions,
   dataset versions, pipeline runs and the pipeline cache index, the loop's state —
   any block that keeps its records beside the objects — root their objects with
   no code here knowing about them (versioning imports no other block), and a
   store written by an older mlopskit is collected safely too. ``expire=`` lets a
   folder's old records stop rooting (a retention policy for the pipeline cache).
2. **Explicit roots**: ``roots/<namespace>/<name>.json`` written with
   :meth:`ContentStore.add_root` (``{"digests": [...]}``) by whoever references
   objects from records kept elsewhere (a registry at another URL).
3. **Leases**: every ``put`` writes ``leases/<digest path>`` = "keep until
   now + lease_seconds" *before* it checks whether the object exists. A writer
   that stores an artifact and then writes the record naming it is therefore safe
   from a concurrent ``gc`` for ``lease_seconds`` (a day by default), even when
   its ``put`` found the object already there (deduplicated) and wrote nothing.
4. **Grace**: an object whose file is younger than ``grace`` seconds is kept (it
   protects writers of older mlopskit versions, which take no lease).

Why concurrent writers are safe: ``gc`` lists the objects *first* and reads
leases and records *afterwards*. An object in the listing was written before the
roots were read, and its writer's lease was written before the object; so the
lease (or, once the writer is done, the record that replaced it) is visible to
``gc``. The one remaining window: a ``put`` that finds an unrooted, expired object
already stored, while a ``gc`` that read the leases a moment before that ``put``
deletes the object; the ``grace`` period closes it for objects written recently.

What does *not* belong here: reading and writing objects (``_store``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mlopskit._results import Result
from mlopskit.versioning._digest import parse_digest

if TYPE_CHECKING:
    from mlopskit.versioning._store import ContentStore

__all__ = ["GcReport", "collect"]

_DIGEST = re.compile(rb"(?:obj|raw|dir)-v1:blake3:([0-9a-f]{64})")
#: Folders below the root that are not records.
_NOT_RECORDS = ("objects", "leases")


class GcReport(Result):
    """What :meth:`ContentStore.gc` removed (or, in a dry run, would remove).

    Attributes
    ----------
    removed
        Digests of the removed objects (in a dry run: of those it would remove).
    kept
        Number of objects left in the store.
    freed_bytes
        Bytes of the removed object files.
    dry_run
        True if nothing was deleted.
    rooted
        Objects kept because a record, an explicit root or ``keep`` names them.
    leased
        Objects kept by an unexpired lease (a recent ``put``).
    young
        Objects kept only because they are younger than the grace period.
    """

    removed: tuple[str, ...]
    kept: int
    freed_bytes: int
    dry_run: bool = False
    rooted: int = 0
    leased: int = 0
    young: int = 0


def _mtime(info: dict[str, Any]) -> float | None:
    for field in ("mtime", "LastModified", "last_modified", "created"):
        value = info.get(field)
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.timezone.utc)
            return value.timestamp()
        if isinstance(value, int | float):
            return float(value)
    return None


def _listing(store: ContentStore, folder: str) -> dict[str, dict[str, Any]]:
    base = f"{store.root}/{folder}"
    store.fs.invalidate_cache()  # s3fs caches listings of every sub-folder: list afresh
    try:
        found = store.fs.find(base, detail=True)
    except FileNotFoundError:
        return {}
    return {
        p: i
        for p, i in found.items()
        if i.get("type", "file") == "file" and not p.rsplit("/", 1)[-1].startswith(".")
    }


def _hex_of(path: str) -> str:
    return "".join(path.rsplit("/", 2)[-2:])


def _read_all(store: ContentStore, paths: list[str]) -> dict[str, bytes]:
    if not paths:
        return {}
    data = store.fs.cat(paths, on_error="omit")
    return {p: bytes(b) for p, b in data.items() if isinstance(b, bytes | bytearray)}


def _record_roots(
    store: ContentStore, expire: dict[str, float], now: float
) -> set[str]:
    """Hex digests named by any record below the root (objects and leases aside)."""
    store.fs.invalidate_cache()
    try:
        found = store.fs.find(store.root, detail=True)
    except FileNotFoundError:
        return set()
    paths = []
    for path, info in found.items():
        relative = path[len(store.root) :].lstrip("/")
        top = relative.split("/", 1)[0]
        if top in _NOT_RECORDS or info.get("type", "file") != "file":
            continue
        if top in expire:
            written = _mtime(info)
            if written is not None and now - written > expire[top]:
                continue
        paths.append(path)
    roots: set[str] = set()
    for data in _read_all(store, paths).values():
        roots.update(m.decode("ascii") for m in _DIGEST.findall(data))
    return roots


def _leases(store: ContentStore, now: float) -> tuple[set[str], list[str]]:
    """Hex digests under an unexpired lease, and the paths of expired leases."""
    active, expired = set(), []
    paths = list(_listing(store, "leases"))
    for path, data in _read_all(store, paths).items():
        try:
            until = float(json.loads(data)["until"])
        except (ValueError, KeyError, TypeError):
            until = 0.0  # unreadable: treat as expired
        if until > now:
            active.add(_hex_of(path))
        else:
            expired.append(path)
    return active, expired


def collect(
    store: ContentStore,
    *,
    dry_run: bool,
    grace: float,
    keep: Iterable[str],
    expire: dict[str, float],
) -> GcReport:
    """Implement :meth:`ContentStore.gc` (see the module docstring)."""
    objects = _listing(store, "objects")  # first: see "why concurrent writers are safe"
    now = time.time()
    leased, expired = _leases(store, now)
    rooted = {parse_digest(d)[1] for d in keep}
    rooted |= _record_roots(store, expire, now)
    removed, freed = [], 0
    counts = {"rooted": 0, "leased": 0, "young": 0}
    for path, info in sorted(objects.items()):
        hex_ = _hex_of(path)
        if hex_ in rooted:
            counts["rooted"] += 1
            continue
        if hex_ in leased:
            counts["leased"] += 1
            continue
        written = _mtime(info)
        if written is None or now - written < grace:
            counts["young"] += 1  # unknown age counts as young: never guess old
            continue
        try:
            name = store._name_of(path)
            if not dry_run:
                store.fs.rm_file(path)
        except FileNotFoundError:  # another gc removed it meanwhile
            continue
        removed.append(name)
        freed += int(info.get("size") or 0)
    if not dry_run:
        _drop_expired(store, expired)
    return GcReport(
        removed=tuple(removed),
        kept=len(objects) - len(removed),
        freed_bytes=freed,
        dry_run=dry_run,
        **counts,
    )


def _drop_expired(store: ContentStore, expired: list[str]) -> None:
    """Delete expired leases, unless a writer renewed one meanwhile."""
    for path, data in _read_all(store, expired).items():
        try:
            if float(json.loads(data)["until"]) > time.time():
                continue
        except (ValueError, KeyError, TypeError):
            pass
        with contextlib.suppress(FileNotFoundError):
            store.fs.rm_file(path)
