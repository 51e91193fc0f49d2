"""The registry's shared state and its reads: records, resolution of names, versions.

Layout below the registry's root and the concurrency rules: see ``_registry``.

What does *not* belong here: writes (``_versions``, ``_aliases``, ``_audit``).
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import fsspec
import numpy as np

from mlopskit.errors import (
    RegistryError,
    RegistryLookupError,
)
from mlopskit.registry._lineage import Lineage
from mlopskit.registry._model_version import (
    ModelVersion,
)
from mlopskit.registry._names import (
    check_alias,
    check_name,
    check_version,
    parse_reference,
)
from mlopskit.versioning import ContentStore
from mlopskit.versioning._records import Storage, backoff
from mlopskit.versioning._signing import SigningKey

__all__: list[str] = []

_FORMAT = 1
#: Give up after this many lost races (a healthy registry never gets close).
_MAX_ATTEMPTS = 10_000


def _who() -> str:
    user = os.environ.get("MLOPSKIT_USER")
    if not user:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry (some containers)
            user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _file(number: int) -> str:
    return f"{number:010d}.json"


def _numbers(names: Iterable[str]) -> list[int]:
    out = []
    for n in names:
        stem, dot, ext = n.partition(".")
        if dot and ext == "json" and stem.isdigit():
            out.append(int(stem))
    return sorted(out)


def _decode(data: bytes | None) -> dict[str, Any] | None:
    """A record, or ``None`` if absent or not whole (a claim cut short by a crash)."""
    if not data:
        return None
    try:
        record = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    return record if isinstance(record, dict) and record.get("format") else None


def _encode(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, allow_nan=True).encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _jsonable(value: Any, what: str) -> Any:
    try:
        return json.loads(json.dumps(value, default=_json_default, allow_nan=True))
    except (TypeError, ValueError) as exc:
        raise RegistryError(
            f"`{what}` must hold JSON values (numbers, strings, booleans, lists, "
            f"dicts). {exc}.",
        ) from exc


def _listing(items: Sequence[Any], limit: int = 20) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    more = len(items) - limit
    return shown + (f" … and {more} more" if more > 0 else "")


def _ranges(numbers: Sequence[int]) -> str:
    parts: list[str] = []
    for n in numbers:
        if parts and n == int(parts[-1].split("-")[-1]) + 1:
            parts[-1] = f"{parts[-1].split('-')[0]}-{n}"
        else:
            parts.append(str(n))
    return ", ".join(parts)


class RegistryBase:
    """State and reads shared by the registry's parts (see ``ModelRegistry``)."""

    def __init__(
        self,
        url: str = ".mlopskit/registry",
        *,
        store: Any = None,
        trust_pickle: bool = False,
        key: Any = None,
        **storage_options: Any,
    ) -> None:
        if not isinstance(url, str) or not url:
            raise RegistryError(
                f"`url` must be a non-empty str (a folder or an fsspec URL). Got {url!r} instead."
            )
        self.url = url
        if isinstance(key, str) and "secret" in storage_options and ":" not in key:
            storage_options["key"], key = key, None  # an s3fs access key, as before
        self.storage_options = storage_options
        if store is None:  # one filesystem (one S3 client) for records and artifacts
            store = ContentStore(
                url, trust_pickle=trust_pickle, key=key, storage_options=storage_options
            )
            fs, root = store.fs, store.root
        else:
            fs, root = fsspec.core.url_to_fs(url, **storage_options)
        self.trust_pickle = trust_pickle or bool(getattr(store, "trust_pickle", False))
        signing = getattr(store, "key", None) if key is None else SigningKey.load(key)
        self._storage = Storage(fs, root, url, error=RegistryError, key=signing)
        self._store = store
        #: Whether the artifacts live beside the records (gc then finds the roots).
        self._store_is_here = (store.fs is fs or type(store.fs) is type(fs)) and str(
            store.root
        ).rstrip("/") == str(root).rstrip("/")
        #: name → the number to try first on the next register (saves a listing).
        self._next_hint: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"ModelRegistry({self.url!r})"

    def _backoff(self, attempt: int) -> None:
        # A remote request takes milliseconds: spread the retries over as much, so
        # that writers who collided do not collide again in lock-step.
        remote = self._storage.kind == "remote"
        backoff(attempt, base=0.01 if remote else 0.001, cap=1.0 if remote else 0.1)

    @property
    def fs(self) -> Any:
        """The fsspec filesystem the registry lives on."""
        return self._storage.fs

    @property
    def store(self) -> Any:
        """The :class:`~mlopskit.versioning.ContentStore` holding the artifacts."""
        return self._store

    def _claimed(self, name: str) -> list[int]:
        return _numbers(self._storage.list("models", name, "versions"))

    def _record(self, name: str, version: int) -> dict[str, Any] | None:
        return _decode(self._storage.read("models", name, "versions", _file(version)))

    def _records(self, name: str, versions: list[int]) -> dict[int, dict[str, Any]]:
        """The whole records among ``versions`` (read concurrently on object stores)."""
        raw = self._storage.read_many(
            ("models", name, "versions"), [_file(v) for v in versions]
        )
        out = {}
        for file, data in raw.items():
            record = _decode(data)
            if record is not None:
                out[int(file.split(".")[0])] = record
        return out

    def _archived(self, name: str) -> set[int]:
        return set(_numbers(self._storage.list("models", name, "archived")))

    def _alias_state(self, name: str, alias: str) -> tuple[int, dict[str, Any] | None]:
        """The next free move number of ``alias`` and its newest whole record."""
        seqs = _numbers(self._storage.list("models", name, "aliases", alias))
        for seq in reversed(seqs):
            record = _decode(
                self._storage.read("models", name, "aliases", alias, _file(seq))
            )
            if record is not None:
                return (seqs[-1] + 1, record)
        return (seqs[-1] + 1 if seqs else 1, None)

    def _aliases(self, name: str) -> dict[str, int]:
        """Every alias of ``name`` that currently points at a version."""
        out = {}
        for alias in self._storage.list("models", name, "aliases"):
            _, record = self._alias_state(name, alias)
            if record is not None and record.get("to_version") is not None:
                out[alias] = int(record["to_version"])
        return out

    def _models(self) -> list[str]:
        return [m for m in self._storage.list("models") if self._has_whole_version(m)]

    def _lookup_error(self, name: str) -> RegistryLookupError:
        models = self._models()
        if not models:
            return RegistryLookupError(
                f"No model named {name!r}: the registry at {self.url!r} has no models "
                "yet. Register one with ModelRegistry.register(name, model).",
                name=name,
                available=(),
            )
        return RegistryLookupError(
            f"No model named {name!r} in the registry at {self.url!r}. Known models: "
            f"{_listing(models)}.",
            name=name,
            available=tuple(models),
        )

    def _existing(self, name: str) -> list[int]:
        """Claimed version numbers of ``name``; a lookup error if none is whole."""
        name = check_name(name)
        claimed = self._claimed(name)
        if not any(self._record(name, v) is not None for v in reversed(claimed)):
            raise self._lookup_error(name)
        return claimed

    def _resolve(
        self, name: str, version: Any, alias: Any
    ) -> tuple[int, dict[str, Any]]:
        """The version number and record that ``(name, version, alias)`` designate."""
        if isinstance(name, str) and ("@" in name or ":" in name):
            name, ref_version, ref_alias = parse_reference(name)
            if (version is not None or alias is not None) and (
                ref_version is not None or ref_alias is not None
            ):
                raise RegistryError(
                    "The reference already names a version or alias; do not also "
                    f"pass version={version!r} or alias={alias!r}.",
                )
            version = version if ref_version is None else ref_version
            alias = alias if ref_alias is None else ref_alias
        name = check_name(name)
        if version is not None and alias is not None:
            raise RegistryError(
                "Give `version` or `alias`, not both. Got "
                f"version={version!r} and alias={alias!r}.",
            )
        if alias is not None and alias != "latest":
            alias = check_alias(alias)
            _, state = self._alias_state(name, alias)
            if state is None or state.get("to_version") is None:
                self._existing(name)  # an unknown model is reported as such
                aliases = self._aliases(name)
                listed = ", ".join(f"{a} → v{v}" for a, v in sorted(aliases.items()))
                raise RegistryLookupError(
                    f"Model {name!r} has no alias {alias!r}. Its aliases: "
                    f"{listed or 'none yet (set one with set_alias or promote)'}.",
                    name=name,
                    alias=alias,
                    available=tuple(sorted(aliases)),
                )
            version = int(state["to_version"])
        if version is None:  # the latest whole, unarchived version
            claimed = self._existing(name)
            archived = self._archived(name)
            for number in reversed(claimed):
                if number in archived:
                    continue
                record = self._record(name, number)
                if record is not None:
                    return number, record
            if not archived:  # only claims cut short by a crash: no version at all
                raise self._lookup_error(name)
            raise RegistryLookupError(
                f"Model {name!r} has no unarchived version; its archived versions are "
                f"{_ranges(sorted(archived))}. Ask for one by number.",
                name=name,
                available=(),
            )
        version = check_version(version)
        record = self._record(name, version)
        if record is None:
            claimed = self._existing(name)
            whole = sorted(self._records(name, claimed))
            raise RegistryLookupError(
                f"Model {name!r} has no version {version}. Its versions: "
                f"{_ranges(whole) or 'none'}.",
                name=name,
                version=version,
                available=tuple(whole),
            )
        return version, record

    def _version_of(
        self,
        record: dict[str, Any],
        *,
        aliases: Mapping[str, int] | None = None,
        archived: set[int] | None = None,
    ) -> ModelVersion:
        name, version = record["name"], int(record["version"])
        if aliases is None:
            aliases = self._aliases(name)
        if archived is None:
            archived = self._archived(name)
        return ModelVersion(
            name=name,
            version=version,
            digest=record["digest"],
            created_at=datetime.fromisoformat(record["created_at"]),
            metrics=record.get("metrics") or {},
            params=record.get("params") or {},
            tags=record.get("tags") or {},
            lineage=Lineage.model_validate(record.get("lineage") or {}),
            aliases=tuple(sorted(a for a, v in aliases.items() if v == version)),
            input_schema=record.get("input_schema"),
            signature=record.get("signature"),
            serializer=record.get("serializer", "joblib"),
            size=int(record.get("size", 0)),
            description=record.get("description"),
            registered_by=record.get("registered_by", ""),
            archived=version in archived,
        )

    def get_version(
        self, name: str, version: int | None = None, *, alias: str | None = None
    ) -> ModelVersion:
        """The :class:`ModelVersion` for ``version`` or ``alias`` (default: latest).

        "Latest" is the newest version that is not archived; ``alias="latest"`` means
        the same.

        Raises
        ------
        RegistryLookupError
            Unknown model, version or alias; the message lists what exists.

        Examples
        --------

        >>> from mlopskit.registry import ModelRegistry
        >>> reg = ModelRegistry("memory://docs/get-version")
        >>> _ = reg.register("m", [1]); _ = reg.register("m", [2])
        >>> reg.get_version("m").version
        2
        >>> reg.get_version("m", 7)
        Traceback (most recent call last):
        ...
        mlopskit.errors.RegistryLookupError: Model 'm' has no version 7. Its versions: 1-2.
        """
        _, record = self._resolve(name, version, alias)
        return self._version_of(record)

    def _has_whole_version(self, name: str) -> bool:
        return any(
            self._record(name, v) is not None for v in reversed(self._claimed(name))
        )


def _description(text: Any, what: str = "description") -> str | None:
    if text is not None and not isinstance(text, str):
        raise RegistryError(
            f"`{what}` must be a str or None. Got {type(text).__name__} instead."
        )
    return text
