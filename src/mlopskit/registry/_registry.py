"""``ModelRegistry``: versions, aliases, lineage and an audit log in a folder or bucket.

Layout below the registry's root (every file is written once, never rewritten)::

    objects/                                  the content store (model artifacts)
    models/<name>/versions/0000000007.json    version 7's record
    models/<name>/aliases/<alias>/0000000003.json   the alias's 3rd move (an audit event)
    models/<name>/archived/0000000002.json    version 2 was archived (an audit event)

- **Versions** are claimed with an exclusive create of the record itself: the writer
  stores the artifact first (content-addressed, so a crash leaves at worst an
  unreferenced object), then creates ``versions/<N>.json``; if another writer got
  there first it moves on to ``N+1`` after a jittered backoff. No number is lost,
  duplicated or reused, and a version is visible only once its record is whole.
- **Aliases** move by compare-and-swap: the alias's state is its highest-numbered
  record; a move creates the next number exclusively, so of two concurrent moves from
  the same state one wins and the other re-reads and retries. The records are the
  audit log: nobody's history is overwritten.

What does *not* belong here: the create-only primitive (``mlopskit.versioning._records``), the
serialisers, name validation, gates.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import blake3
import fsspec
import numpy as np
import pandas as pd

from mlopskit.errors import (
    FingerprintError,
    IntegrityError,
    PromotionRefusedError,
    RegistryError,
    RegistryLookupError,
    UntrustedFormatError,
)
from mlopskit.registry._gates import run_gate
from mlopskit.registry._lineage import Lineage, collect_lineage
from mlopskit.registry._model_version import (
    AuditEvent,
    AuditLog,
    GateOutcome,
    ModelVersion,
    Promotion,
)
from mlopskit.registry._names import (
    check_alias,
    check_name,
    check_version,
    parse_reference,
)
from mlopskit.registry._search import matches, parse_filter
from mlopskit.registry._serializers import codec_for, load_legacy, pickle_bytes
from mlopskit.registry._signature import infer_signature
from mlopskit.versioning import ContentStore, fingerprint
from mlopskit.versioning._records import Storage, backoff
from mlopskit.versioning._signing import SigningKey

__all__ = ["ModelRegistry"]

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


class ModelRegistry:
    """A model registry in a folder or a bucket: no server, no database.

    Parameters
    ----------
    url
        Where the registry lives: a local folder (default ``.mlopskit/registry``),
        ``memory://…`` for tests, or any fsspec URL (``s3://bucket/registry``).
    store
        The :class:`mlopskit.versioning.ContentStore` that holds the artifacts;
        default: one at ``url`` itself (its objects go to ``<url>/objects/``). Pass a
        shared store to deduplicate models with pipeline outputs.
    trust_pickle
        Allow registering and loading models that only pickle can store (default:
        refused). Only for registries nobody untrusted can write to.
    key
        Sign every record and artifact and refuse unsigned ones (see
        :class:`~mlopskit.versioning.ContentStore`); default: the store's key.
    **storage_options
        Passed to fsspec (credentials, ``client_kwargs`` …).

    Notes
    -----
    Safe under concurrency and crashes on every filesystem with exclusive create (local
    folders, ``memory://``, S3 through s3fs): no lost or duplicated version numbers
    across processes and machines, and a process killed at any point leaves either no
    version or a whole one. A model's digest is its :func:`fingerprint` (class,
    parameters and fitted state), so registering the same fitted model twice stores
    one artifact (``ModelVersion.same_as`` lists the earlier versions). Models are
    stored without pickle where possible (scikit-learn estimators with skops, arrays,
    frames, JSON values); other models need ``trust_pickle=True``.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> reg = ModelRegistry("memory://docs/registry")
    >>> model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    >>> mv = reg.register("churn", model, metrics={"auc": 0.91}, tags={"team": "crm"})
    >>> mv.version
    1
    >>> _ = reg.set_alias("churn", "production", 1, reason="first model")
    >>> reg.load("churn", alias="production").predict([[3.0]])
    array([1])
    >>> reg.list_models()
    ('churn',)
    """

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

    # -- reading records -------------------------------------------------------------

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

    # -- public reads ----------------------------------------------------------------

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

    def load(
        self,
        name: str,
        version: int | None = None,
        *,
        alias: str | None = None,
        trusted: Sequence[str] | None = None,
        allow: Iterable[str] | None = None,
        trust_pickle: bool | None = None,
    ) -> Any:
        """Load a model: verify its artifact, then deserialise it with an allowed codec.

        Parameters
        ----------
        name, version, alias
            As for :meth:`get_version`; ``name`` may be a reference:
            ``"churn@production"``, ``"churn@3"`` or ``"churn:3"``.
        trusted
            Extra type names a skops artifact may contain (beyond scikit-learn's).
        allow
            The codecs this load may use, e.g. ``("skops",)``; the version record
            cannot widen it (its ``serializer`` is not consulted).
        trust_pickle
            Allow unpickling (default: the registry's ``trust_pickle``). Models
            registered by mlopskit before content identity were pickled: load them
            with ``trust_pickle=True`` if you trust who registered them.

        Raises
        ------
        IntegrityError
            The stored artifact does not match the recorded digest (tampered or
            corrupted); nothing was deserialised.
        UntrustedFormatError
            The artifact's codec is not allowed (a pickle without trust, or outside
            ``allow``), or a skops artifact holds untrusted types.

        Examples
        --------
        >>> reg = ModelRegistry("memory://docs/load")
        >>> _ = reg.register("m", {"threshold": 0.5})
        >>> _ = reg.set_alias("m", "production", 1)
        >>> reg.load("m@production")
        {'threshold': 0.5}
        >>> reg.load("m:1", allow=("skops",))
        Traceback (most recent call last):
        ...
        mlopskit.errors.UntrustedFormatError: m v1 is stored with codec 'json', ...
        """
        _, record = self._resolve(name, version, alias)
        digest = str(record["digest"])
        what = f"{record['name']} v{record['version']}"
        trust = self.trust_pickle if trust_pickle is None else trust_pickle
        if digest.startswith("obj-v1:"):
            try:
                model = self.store.get(
                    digest, allow=allow, trust_pickle=trust, trusted=trusted or ()
                )
            except UntrustedFormatError as exc:
                raise UntrustedFormatError(
                    exc.message.replace(f"Object {digest}", what), **exc.context
                ) from None
            if fingerprint(model) != digest:  # the object's header was rewritten
                raise IntegrityError(
                    f"The artifact of {what} does not match its recorded digest "
                    f"{digest}: it was modified in the store. Register the model "
                    "again from a trusted copy.",
                    digest=digest,
                )
            return model
        data = self.store.get_bytes(digest)  # the store checks its own header
        # and the registry checks the bytes against the digest in the version record,
        # so an object rewritten with a matching header is caught too.
        scheme, _, expected = digest.rpartition(":")
        if scheme == "raw-v1:blake3" and blake3.blake3(data).hexdigest() != expected:
            raise IntegrityError(
                f"The artifact of {what} does not match its recorded digest "
                f"{digest}: it was modified in the store. Nothing was deserialised. "
                "Register the model again from a trusted copy.",
                digest=digest,
            )
        if len(data) != int(record.get("size", len(data))):
            raise IntegrityError(
                f"The artifact of {what} has {len(data)} bytes; its record says "
                f"{record['size']}. Nothing was deserialised.",
                digest=digest,
            )
        return load_legacy(
            data,
            allowed=self.store.allowed(allow, trust),
            trusted=(*getattr(self.store, "trusted", ()), *(trusted or ())),
            what=what,
        )

    def list_models(self) -> tuple[str, ...]:
        """Names of the models with at least one version, sorted.

        Examples
        --------
        >>> reg = ModelRegistry("memory://docs/list-models")
        >>> _ = reg.register("b", 1); _ = reg.register("a", 2)
        >>> reg.list_models()
        ('a', 'b')
        """
        return tuple(self._models())

    def _has_whole_version(self, name: str) -> bool:
        return any(
            self._record(name, v) is not None for v in reversed(self._claimed(name))
        )

    def list_versions(
        self,
        name: str,
        *,
        tags: Mapping[str, str] | None = None,
        filter: str | None = None,
        include_archived: bool = True,
    ) -> pd.DataFrame:
        """One row per version: number, date, digest, aliases, metrics and tags.

        Metric columns are named ``metrics.<key>``, tag columns ``tags.<key>`` and
        parameter columns ``params.<key>``; filter further with pandas.

        Parameters
        ----------
        name
            The model.
        tags
            Keep only versions whose tags include all these key/value pairs.
        filter
            An MLflow-style search filter (see :meth:`search_versions`).
        include_archived
            Whether archived versions are listed.

        Examples
        --------
        >>> reg = ModelRegistry("memory://docs/list-versions")
        >>> _ = reg.register("m", 1, metrics={"auc": 0.8}, tags={"data": "jan"})
        >>> _ = reg.register("m", 2, metrics={"auc": 0.9}, tags={"data": "feb"})
        >>> df = reg.list_versions("m")
        >>> df[["version", "metrics.auc", "tags.data"]]
           version  metrics.auc tags.data
        0        1          0.8       jan
        1        2          0.9       feb
        >>> reg.list_versions("m", tags={"data": "feb"})["version"].tolist()
        [2]
        >>> reg.list_versions("m", filter="metrics.auc > 0.85")["version"].tolist()
        [2]
        """
        conditions = parse_filter(filter)
        rows = [
            _row(mv)
            for mv in self._versions(name, include_archived)
            if not (tags and any(mv.tags.get(k) != v for k, v in tags.items()))
            and matches(conditions, mv)
        ]
        return pd.DataFrame(rows, columns=None if rows else _BASE_COLUMNS)

    def search_versions(
        self,
        filter: str | None = None,
        *,
        include_archived: bool = True,
    ) -> pd.DataFrame:
        """Versions of every model that match an MLflow-style filter, one row each.

        The filter joins expressions with ``AND``: ``metrics.<key>``,
        ``params.<key>`` and ``tags.<key>`` compared with ``=``, ``!=``, ``<``,
        ``<=``, ``>``, ``>=`` (numbers) or ``=``, ``!=``, ``LIKE``, ``ILIKE``
        (strings), and the attributes ``name``, ``version``, ``alias``, ``digest``,
        ``serializer``, ``archived`` and ``run_id``. A version lacking a metric,
        param or tag that an expression names does not match (as in MLflow).

        Examples
        --------
        >>> reg = ModelRegistry("memory://docs/search-versions")
        >>> _ = reg.register("churn", 1, metrics={"auc": 0.81}, tags={"team": "crm"})
        >>> _ = reg.register("churn", 2, metrics={"auc": 0.93}, tags={"team": "crm"})
        >>> _ = reg.register("fraud", 3, metrics={"auc": 0.95}, params={"depth": 6})
        >>> reg.search_versions("metrics.auc > 0.9")[["name", "version"]]
            name  version
        0  churn        2
        1  fraud        1
        >>> reg.search_versions("name LIKE 'ch%' and tags.team = 'crm'")["version"].tolist()
        [1, 2]
        >>> reg.search_versions("params.depth >= 5")["name"].tolist()
        ['fraud']
        """
        conditions = parse_filter(filter)
        rows = [
            {"name": mv.name, **_row(mv)}
            for model in self._models()
            for mv in self._versions(model, include_archived)
            if matches(conditions, mv)
        ]
        return pd.DataFrame(rows, columns=None if rows else ["name", *_BASE_COLUMNS])

    def _versions(self, name: str, include_archived: bool) -> list[ModelVersion]:
        claimed = self._existing(name)
        aliases, archived = self._aliases(name), self._archived(name)
        records = self._records(name, claimed)
        return [
            self._version_of(records[n], aliases=aliases, archived=archived)
            for n in claimed
            if n in records and (include_archived or n not in archived)
        ]

    def history(self, name: str) -> AuditLog:
        """The model's audit log: registrations, alias moves and archivals, oldest first.

        Examples
        --------
        >>> reg = ModelRegistry("memory://docs/history")
        >>> _ = reg.register("m", 1); _ = reg.register("m", 2)
        >>> _ = reg.set_alias("m", "production", 1)
        >>> _ = reg.set_alias("m", "production", 2, reason="better AUC")
        >>> [(e.kind, e.from_version, e.to_version) for e in reg.history("m").events][2:]
        [('set_alias', None, 1), ('set_alias', 1, 2)]
        """
        claimed = self._existing(name)
        events: list[tuple[str, int, AuditEvent]] = []
        for number, rec in sorted(self._records(name, claimed).items()):
            event = AuditEvent(
                name=name,
                kind="register",
                at=rec["created_at"],
                who=rec.get("registered_by", ""),
                version=number,
                reason=rec.get("description"),
            )
            events.append((rec["created_at"], 0, event))
        marks_at: tuple[str, ...] = ("models", name, "archived")
        marks = self._storage.read_many(marks_at, self._storage.list(*marks_at))
        for file, data in marks.items():
            mark = _decode(data)
            if mark is not None:
                event = AuditEvent(
                    name=name,
                    kind="archive",
                    at=mark["at"],
                    who=mark["who"],
                    version=int(file.split(".")[0]),
                    reason=mark.get("reason"),
                )
                events.append((mark["at"], 2, event))
        for alias in self._storage.list("models", name, "aliases"):
            folder = ("models", name, "aliases", alias)
            for data in self._storage.read_many(
                folder, self._storage.list(*folder)
            ).values():
                move = _decode(data)
                if move is None:
                    continue
                event = AuditEvent(
                    name=name,
                    kind=move["kind"],
                    at=move["at"],
                    who=move["who"],
                    version=move.get("to_version") or move.get("from_version"),
                    alias=alias,
                    from_version=move.get("from_version"),
                    to_version=move.get("to_version"),
                    reason=move.get("reason"),
                )
                events.append((move["at"], 1, event))
        events.sort(key=lambda item: (item[0], item[1]))
        return AuditLog(name=name, events=tuple(e for _, _, e in events))

    # -- writes ----------------------------------------------------------------------

    def register(
        self,
        name: str,
        model: Any,
        *,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        input_schema: Any = None,
        input_example: Any = None,
        lineage: Any = None,
        serializer: str | None = None,
        trust_pickle: bool | None = None,
    ) -> ModelVersion:
        """Store ``model`` as the next version of ``name``.

        The artifact is stored first (content-addressed, under the model's
        :func:`~mlopskit.versioning.fingerprint`), the version record last, with an
        exclusive create: concurrent writers get distinct numbers 1, 2, 3 …, and a
        crash leaves no version or a whole one.

        Parameters
        ----------
        name
            The model's name: lower-case letters, digits, ".", "_" and "-", at most 100
            characters, not ending in "." (the error explains each rule).
        model
            A scikit-learn estimator (stored with skops), an array, a frame, JSON
            values or containers of them; anything else needs ``trust_pickle``.
        metrics, params, tags, description
            Recorded with the version (metrics: numbers; params: JSON values; tags: str).
        input_schema
            A :class:`mlopskit.schema.Schema` (stored as its JSON) or its JSON text.
        input_example
            A DataFrame like the model's input: its schema is inferred
            (``Schema.infer``) unless ``input_schema`` is given, and the model's
            output type is recorded from ``predict`` on its first rows
            (``ModelVersion.signature``).
        lineage
            A mapping (``datasets``, ``run_id``, any extra fields), a :class:`Lineage`
            or a pipeline run (anything with a ``run_id``). The git commit and dirty
            flag of the working directory are added when it is a git checkout.
        serializer
            ``None`` (default: the store's safe codec for the model), ``"skops"``, or
            ``"joblib"`` (pickle; needs ``trust_pickle``).
        trust_pickle
            Allow pickling a model that has no safe codec (default: the registry's).

        Raises
        ------
        RegistryError
            A bad name or argument; in every case before anything is written.
        UntrustedFormatError
            Only pickle can store the model and pickle is not trusted.

        Examples
        --------
        >>> reg = ModelRegistry("memory://docs/register")
        >>> mv = reg.register("m", {"w": 1}, params={"alpha": 0.1},
        ...                   lineage={"datasets": {"train": "ab12"}, "run_id": "r1"})
        >>> mv.version, mv.params, mv.lineage.datasets, mv.lineage.run_id
        (1, {'alpha': 0.1}, {'train': 'ab12'}, 'r1')
        >>> reg.register("m", {"w": 1}).same_as  # the same content: one artifact
        (1,)
        """
        name = check_name(name)
        codec = codec_for(serializer)
        record: dict[str, Any] = {
            "format": _FORMAT,
            "name": name,
            "metrics": _metrics(metrics),
            "params": _jsonable(dict(params or {}), "params"),
            "tags": _tags(tags),
            "description": _description(description),
            "input_schema": _schema_json(input_schema),
            "lineage": collect_lineage(lineage).model_dump(mode="json"),
            "registered_by": _who(),
        }
        if input_example is not None:
            signature = infer_signature(model, input_example)
            record["signature"] = signature
            record["input_schema"] = record["input_schema"] or signature["inputs"]
        trust = self.trust_pickle if trust_pickle is None else trust_pickle
        digest, serializer, size = self._store_model(model, trust, codec)
        record.update(digest=digest, serializer=serializer, size=size)
        if not self._store_is_here:  # gc of a store elsewhere must see this reference
            self._add_root(name, digest)
        same_as = self._same_digest(name, digest)
        number = self._next_hint.get(name) or max(self._claimed(name), default=0) + 1
        for attempt in range(_MAX_ATTEMPTS):
            record["version"] = number
            record["created_at"] = _now()
            try:
                self._storage.create(
                    _encode(record), "models", name, "versions", _file(number)
                )
            except FileExistsError:  # another writer claimed it: move on
                self._backoff(attempt)
                number += 1
                if attempt % 4 == 0:  # far behind (a stale hint)? jump to the end
                    number = max(number, max(self._claimed(name), default=0) + 1)
                continue
            self._next_hint[name] = number + 1
            mv = self._version_of(record, aliases={}, archived=set())
            return mv.model_copy(update={"same_as": same_as})
        raise RegistryError(  # pragma: no cover - needs ~10k lost races in a row
            f"Gave up registering {name!r} after {_MAX_ATTEMPTS} lost races.", name=name
        )

    def _store_model(
        self, model: Any, trust: bool, codec: str | None
    ) -> tuple[str, str, int]:
        """Store the artifact; ``(digest, codec, payload size)``."""
        try:
            digest = fingerprint(model)
        except FingerprintError:
            if not trust:
                raise UntrustedFormatError(
                    f"Only pickle can store a {type(model).__module__}."
                    f"{type(model).__qualname__} (mlopskit cannot read its fitted "
                    "state, and pickle runs code when loaded). If you trust everyone "
                    "who can write to this registry, pass trust_pickle=True; its "
                    "digest is then that of the pickle bytes.",
                    type_name=type(model).__qualname__,
                ) from None
            data = bytes(pickle_bytes(model))  # warns: PickleTrustWarning
            return self.store.put_bytes(data), "joblib", len(data)
        digest = self.store.put(model, trust_pickle=trust, codec=codec)
        header = self.store.describe(digest)
        return digest, str(header["codec"]), int(header["size"])

    def _add_root(self, name: str, digest: str) -> None:
        where = blake3.blake3(f"{self.url}|{name}".encode()).hexdigest()[:16]
        self.store.add_root("registry", f"{where}-{digest.rsplit(':', 1)[1]}", [digest])

    def _same_digest(self, name: str, digest: str) -> tuple[int, ...]:
        """Earlier versions of ``name`` whose artifact is this same object."""
        records = self._records(name, self._claimed(name))
        return tuple(sorted(v for v, r in records.items() if r.get("digest") == digest))

    def _move_alias(
        self,
        name: str,
        alias: str,
        to_version: int | None,
        *,
        reason: str | None,
        check: Any = None,
    ) -> tuple[int | None, tuple[GateOutcome, ...]]:
        """Compare-and-swap ``alias`` to ``to_version``; return the previous holder.

        ``check(previous_holder)`` runs before each attempt (gates); it raises to
        refuse. A lost race re-reads the alias and runs ``check`` again.
        """
        for attempt in range(_MAX_ATTEMPTS):
            seq, state = self._alias_state(name, alias)
            previous = None if state is None else state.get("to_version")
            outcomes = check(previous) if check is not None else ()
            if previous == to_version:
                return previous, outcomes
            event = {
                "format": _FORMAT,
                "name": name,
                "alias": alias,
                "seq": seq,
                "kind": "set_alias" if to_version is not None else "delete_alias",
                "from_version": previous,
                "to_version": to_version,
                "at": _now(),
                "who": _who(),
                "reason": _description(reason, "reason"),
            }
            try:
                self._storage.create(
                    _encode(event), "models", name, "aliases", alias, _file(seq)
                )
            except FileExistsError:  # a concurrent move won: re-read and retry
                self._backoff(attempt)
                continue
            return previous, outcomes
        raise RegistryError(  # pragma: no cover - needs ~10k lost races in a row
            f"Gave up moving alias {alias!r} of {name!r} after {_MAX_ATTEMPTS} lost races."
        )

    def set_alias(
        self, name: str, alias: str, version: int, *, reason: str | None = None
    ) -> ModelVersion:
        """Point ``alias`` at ``version`` (an audited compare-and-swap).

        Examples
        --------
        >>> reg = ModelRegistry("memory://docs/set-alias")
        >>> _ = reg.register("m", 1)
        >>> reg.set_alias("m", "staging", 1).aliases
        ('staging',)
        """
        alias = check_alias(alias)
        version, _ = self._resolve(name, check_version(version), None)
        if version in self._archived(name):
            raise RegistryError(
                f"Version {version} of {name!r} is archived; an alias cannot point at it. "
                "Register it again to bring it back.",
                name=name,
                version=version,
            )
        self._move_alias(name, alias, version, reason=reason)
        return self.get_version(name, version)

    def delete_alias(self, name: str, alias: str, *, reason: str | None = None) -> None:
        """Remove ``alias`` from ``name`` (recorded in the audit log).

        Examples
        --------
        >>> reg = ModelRegistry("memory://docs/delete-alias")
        >>> _ = reg.register("m", 1); _ = reg.set_alias("m", "staging", 1)
        >>> reg.delete_alias("m", "staging")
        >>> reg.get_version("m", 1).aliases
        ()
        """
        alias = check_alias(alias)
        self._existing(name)
        if alias not in self._aliases(name):
            self._resolve(name, None, alias)  # raises the lookup error listing aliases
        self._move_alias(name, alias, None, reason=reason)

    def promote(
        self,
        name: str,
        version: int,
        *,
        alias: str = "production",
        gates: Iterable[Any] = (),
        reason: str | None = None,
    ) -> Promotion:
        """Move ``alias`` to ``version`` if every gate passes.

        Each gate is called with the candidate and the version holding ``alias`` now
        (``None`` if none); see :mod:`mlopskit.registry` for the gate protocol and the
        built-in gates. If a concurrent writer moves the alias meanwhile, the gates run
        again against the new holder before the alias moves.

        Raises
        ------
        PromotionRefusedError
            At least one gate failed; ``failures`` holds each failing
            :class:`GateOutcome`. The alias did not move.

        Examples
        --------
        >>> from mlopskit.registry import metric_not_worse
        >>> reg = ModelRegistry("memory://docs/promote")
        >>> _ = reg.register("m", 1, metrics={"auc": 0.90})
        >>> _ = reg.register("m", 2, metrics={"auc": 0.85})
        >>> reg.promote("m", 1).version
        1
        >>> reg.promote("m", 2, gates=[metric_not_worse("auc")])
        Traceback (most recent call last):
        ...
        mlopskit.errors.PromotionRefusedError: Promotion of m v2 to 'production' refused by 1 gate: auc_not_worse: auc 0.85 is below the current holder's 0.9 (v1, tolerance 0).
        """
        alias = check_alias(alias)
        gates = tuple(gates)
        version, _ = self._resolve(name, check_version(version), None)
        candidate = self.get_version(name, version)
        if candidate.archived:
            raise RegistryError(
                f"Version {version} of {name!r} is archived and cannot be promoted.",
                name=name,
                version=version,
            )

        def check(holder: int | None) -> tuple[GateOutcome, ...]:
            current = None if holder is None else self.get_version(name, holder)
            outcomes = tuple(run_gate(g, candidate, current) for g in gates)
            failures = tuple(o for o in outcomes if not o.passed)
            if failures:
                detail = "; ".join(f"{o.gate}: {o.reason}" for o in failures)
                raise PromotionRefusedError(
                    f"Promotion of {name} v{version} to {alias!r} refused by "
                    f"{len(failures)} gate{'s' if len(failures) > 1 else ''}: {detail}.",
                    name=name,
                    version=version,
                    alias=alias,
                    failures=failures,
                )
            return outcomes

        why = reason or (
            "promoted; gates passed: "
            + ", ".join(
                g.__name__ if hasattr(g, "__name__") else type(g).__name__
                for g in gates
            )
            if gates
            else "promoted"
        )
        previous, outcomes = self._move_alias(
            name, alias, version, reason=why, check=check
        )
        return Promotion(
            name=name, alias=alias, version=version, previous=previous, gates=outcomes
        )

    def archive(
        self, name: str, version: int, *, reason: str | None = None
    ) -> ModelVersion:
        """Archive a version: it leaves "latest" and cannot get an alias, but still loads.

        Its number is never reused. Archiving twice is a no-op.

        Raises
        ------
        RegistryError
            An alias points at the version (move or delete it first).

        Examples
        --------
        >>> reg = ModelRegistry("memory://docs/archive")
        >>> _ = reg.register("m", 1); _ = reg.register("m", 2)
        >>> reg.archive("m", 2).archived
        True
        >>> reg.get_version("m").version
        1
        """
        version, _ = self._resolve(name, check_version(version), None)
        holding = sorted(a for a, v in self._aliases(name).items() if v == version)
        if holding:
            raise RegistryError(
                f"Cannot archive {name} v{version}: alias(es) {holding} point at it. "
                "Move them (set_alias/promote) or delete them (delete_alias) first.",
                name=name,
                version=version,
                aliases=tuple(holding),
            )
        event = {
            "format": _FORMAT,
            "name": name,
            "version": version,
            "at": _now(),
            "who": _who(),
            "reason": _description(reason, "reason"),
        }
        with contextlib.suppress(FileExistsError):  # already archived: a no-op
            self._storage.create(
                _encode(event), "models", name, "archived", _file(version)
            )
        return self.get_version(name, version)


_BASE_COLUMNS = [
    "version",
    "created_at",
    "aliases",
    "archived",
    "digest",
    "size",
    "serializer",
    "run_id",
    "git_commit",
    "description",
]


def _row(mv: ModelVersion) -> dict[str, Any]:
    row: dict[str, Any] = {
        "version": mv.version,
        "created_at": mv.created_at,
        "aliases": ",".join(mv.aliases),
        "archived": mv.archived,
        "digest": mv.digest,
        "size": mv.size,
        "serializer": mv.serializer,
        "run_id": mv.lineage.run_id,
        "git_commit": mv.lineage.git_commit,
        "description": mv.description,
    }
    row.update({f"metrics.{k}": v for k, v in mv.metrics.items()})
    row.update({f"params.{k}": v for k, v in mv.params.items()})
    row.update({f"tags.{k}": v for k, v in mv.tags.items()})
    return row


def _metrics(metrics: Mapping[str, Any] | None) -> dict[str, float]:
    if metrics is None:
        return {}
    if not isinstance(metrics, Mapping):
        raise RegistryError(
            f"`metrics` must be a mapping of str to numbers. Got {type(metrics).__name__} instead."
        )
    out = {}
    for key, value in metrics.items():
        if (
            not isinstance(key, str)
            or isinstance(value, bool | np.bool_)
            or not isinstance(value, int | float | np.integer | np.floating)
        ):
            raise RegistryError(
                "`metrics` must map str keys to numbers. Got "
                f"{key!r}: {value!r} ({type(value).__name__}) instead.",
            )
        out[key] = float(value)
    return out


def _tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
    ):
        raise RegistryError(
            f"`tags` must be a mapping of str to str. Got {tags!r} instead; convert "
            "values with str() if you mean them as text.",
        )
    return dict(tags)


def _description(text: Any, what: str = "description") -> str | None:
    if text is not None and not isinstance(text, str):
        raise RegistryError(
            f"`{what}` must be a str or None. Got {type(text).__name__} instead."
        )
    return text


def _schema_json(schema: Any) -> str | None:
    if schema is None:
        return None
    if isinstance(schema, str):
        text = schema
    elif hasattr(schema, "to_json"):
        text = schema.to_json()
    else:
        raise RegistryError(
            "`input_schema` must be an mlopskit.schema.Schema or its JSON text. Got "
            f"{type(schema).__name__} instead.",
        )
    try:
        json.loads(text)
    except ValueError as exc:
        raise RegistryError(f"`input_schema` is not valid JSON: {exc}.") from exc
    return str(text)
