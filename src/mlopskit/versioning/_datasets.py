"""Dataset versions: ``snapshot`` a DataFrame into a store, list its ``versions``.

A version record is a small JSON file ``datasets/<name>/<N:08d>.json`` beside the
store's objects, created with an exclusive create (``mode="xb"``), so two writers
can never get the same version number: the loser retries with ``N + 1``.

What does *not* belong here: comparing two frames (``_diff``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import Field

from mlopskit._results import Result
from mlopskit.errors import InvalidParameterError, StoreError, TamperedObjectError

if TYPE_CHECKING:
    from mlopskit.versioning._store import ContentStore

__all__ = ["DatasetVersion", "snapshot"]

_MAX_ATTEMPTS = 1000
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class DatasetVersion(Result):
    """One recorded version of a named dataset.

    Attributes
    ----------
    name
        The dataset's name.
    version
        1, 2, 3 … in the order the versions were recorded.
    digest
        The :func:`fingerprint` of the data; ``store.get(digest)`` loads it.
    rows
        Number of rows.
    columns, dtypes
        Column names (as strings) and their dtypes, in order.
    created_at
        When the version was recorded (UTC).
    parent
        The digest of the previous version, or None for the first.
    meta
        Free-form JSON-serialisable metadata given to :func:`snapshot`.

    Examples
    --------
    >>> import pandas as pd
    >>> from mlopskit.versioning import ContentStore
    >>> store = ContentStore("memory://doc-dataset-version")
    >>> v = snapshot(pd.DataFrame({"a": [1, 2]}), store, name="demo")
    >>> v.version, v.rows, v.columns, v.dtypes, v.parent
    (1, 2, ('a',), ('int64',), None)
    >>> DatasetVersion.from_json(v.to_json()) == v
    True
    """

    name: str
    version: int
    digest: str
    rows: int
    columns: tuple[str, ...]
    dtypes: tuple[str, ...]
    created_at: dt.datetime
    parent: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    def load(self, store: ContentStore) -> pd.DataFrame:
        """The version's data from ``store`` (verified before it is decoded)."""
        data = store.get(self.digest)
        assert isinstance(data, pd.DataFrame)
        return data


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidParameterError(
            "`name` must be 1–128 letters, digits, '.', '_' or '-', starting with a "
            f"letter or digit. Got {name!r} instead.",
            name=name,
        )
    return name


def _directory(store: ContentStore, name: str) -> str:
    return f"{store.root}/datasets/{name}"


def _read_record(store: ContentStore, path: str) -> DatasetVersion:
    relative = path[len(store.root) :].strip("/").split("/")
    try:
        return DatasetVersion.from_json(store.records.read(*relative) or b"")
    except TamperedObjectError:
        raise
    except ValueError as exc:
        raise StoreError(
            f"The dataset version record {path} is unreadable ({exc}). It was "
            "edited or truncated; restore it or delete it.",
            path=path,
        ) from None


def read_versions(store: ContentStore, name: str) -> tuple[DatasetVersion, ...]:
    """Every version of ``name`` in ``store``, oldest first (no version: ``()``)."""
    directory = _directory(store, _check_name(name))
    store.fs.invalidate_cache(directory)  # listings are cached (s3fs): see new records
    if not store.fs.exists(directory):
        return ()
    records = [
        _read_record(store, path)
        for path in store.fs.ls(directory, detail=False)
        if path.endswith(".json") and not path.rsplit("/", 1)[-1].startswith(".")
    ]
    return tuple(sorted(records, key=lambda v: v.version))


def snapshot(
    data: pd.DataFrame,
    store: ContentStore,
    *,
    name: str,
    meta: dict[str, Any] | None = None,
) -> DatasetVersion:
    """Store a DataFrame and record it as the next version of dataset ``name``.

    Parameters
    ----------
    data
        The frame to version.
    store
        The :class:`ContentStore` that keeps the data and the record.
    name
        The dataset's name (letters, digits, ``.``, ``_``, ``-``).
    meta
        JSON-serialisable metadata kept on the record (source, query …).

    Returns
    -------
    DatasetVersion
        The new record; or, if the latest version already has this digest and
        ``meta``, that version (nothing new is recorded). Data is stored once.

    Examples
    --------
    >>> import pandas as pd
    >>> from mlopskit.versioning import ContentStore
    >>> store = ContentStore("memory://doc-snapshot")
    >>> v1 = snapshot(pd.DataFrame({"a": [1]}), store, name="d", meta={"src": "x"})
    >>> v2 = snapshot(pd.DataFrame({"a": [1, 2]}), store, name="d")
    >>> v2.version, v2.parent == v1.digest, v2.load(store)["a"].tolist()
    (2, True, [1, 2])
    """
    _check_name(name)
    if not isinstance(data, pd.DataFrame):
        raise InvalidParameterError(
            f"`data` must be a pandas DataFrame. Got {type(data).__name__} instead; "
            "wrap a Series with .to_frame() or an array with pandas.DataFrame(...).",
            type_name=type(data).__name__,
        )
    try:
        meta = json.loads(json.dumps(dict(meta or {})))  # as the record will hold it
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"`meta` must be JSON-serialisable. Got {meta!r} ({exc}).", meta=meta
        ) from None
    digest = store.put(data)
    directory = _directory(store, name)
    store.fs.makedirs(directory, exist_ok=True)
    records = store.records  # signed with the store's key, if it has one
    relative = ("datasets", name)
    for _attempt in range(_MAX_ATTEMPTS):
        existing = read_versions(store, name)
        previous = existing[-1] if existing else None
        if previous is not None and previous.digest == digest and previous.meta == meta:
            return previous  # unchanged data: nothing new to record
        record = DatasetVersion(
            name=name,
            version=previous.version + 1 if previous else 1,
            digest=digest,
            rows=int(data.shape[0]),
            columns=tuple(str(c) for c in data.columns),
            dtypes=tuple(str(t) for t in data.dtypes),
            created_at=dt.datetime.now(dt.timezone.utc),
            parent=previous.digest if previous else None,
            meta=meta,
        )
        path = f"{directory}/{record.version:08d}.json"
        try:
            records.create(
                record.to_json().encode("utf-8"), *relative, path.rsplit("/", 1)[1]
            )
        except FileExistsError:
            continue  # another writer took this number: re-read and take the next
        except OSError as exc:
            raise StoreError(
                f"Could not record version {record.version} of {name!r} in "
                f"{store.url!r}: {exc}.",
                name=name,
            ) from exc
        return record
    raise StoreError(
        f"Could not record a version of {name!r} in {store.url!r}: every version "
        f"number was taken {_MAX_ATTEMPTS} times in a row. The store's listing may "
        "be stale (an eventually consistent filesystem?); retry later.",
        name=name,
    )
