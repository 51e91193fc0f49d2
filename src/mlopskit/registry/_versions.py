"""Registering and reading model versions: register, load, list and search.

What does *not* belong here: aliases (``_aliases``), the audit log (``_audit``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import blake3
import numpy as np
import pandas as pd

from mlopskit.errors import (
    FingerprintError,
    IntegrityError,
    RegistryError,
    UntrustedFormatError,
)
from mlopskit.registry._base import (
    _FORMAT,
    _MAX_ATTEMPTS,
    RegistryBase,
    _description,
    _encode,
    _file,
    _jsonable,
    _now,
    _who,
)
from mlopskit.registry._lineage import collect_lineage
from mlopskit.registry._model_version import (
    ModelVersion,
)
from mlopskit.registry._names import (
    check_name,
)
from mlopskit.registry._search import matches, parse_filter
from mlopskit.registry._serializers import codec_for, load_legacy, pickle_bytes
from mlopskit.registry._signature import infer_signature
from mlopskit.versioning import fingerprint

__all__: list[str] = []


class VersionsMixin(RegistryBase):
    """Versions: ``register``, ``load``, ``list_versions``, ``search_versions``."""

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

        >>> from mlopskit.registry import ModelRegistry
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

        >>> from mlopskit.registry import ModelRegistry
        >>> reg = ModelRegistry("memory://docs/list-models")
        >>> _ = reg.register("b", 1); _ = reg.register("a", 2)
        >>> reg.list_models()
        ('a', 'b')
        """
        return tuple(self._models())

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

        >>> from mlopskit.registry import ModelRegistry
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

        >>> from mlopskit.registry import ModelRegistry
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

        >>> from mlopskit.registry import ModelRegistry
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
        digest, serializer, size, existed = self._store_model(model, trust, codec)
        record.update(digest=digest, serializer=serializer, size=size)
        if not self._store_is_here:  # gc of a store elsewhere must see this reference
            self._add_root(name, digest)
        # Only content already in the store can be an earlier version: a new object
        # costs no read of the other records.
        same_as = self._same_digest(name, digest) if existed else ()
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
    ) -> tuple[str, str, int, bool]:
        """Store the artifact: ``(digest, codec, payload size, already stored)``."""
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
            return self.store.put_bytes(data), "joblib", len(data), True
        digest, header = self.store._put(model, trust, codec)
        existed = header is None
        if header is None:  # stored before (maybe as an earlier version): read it
            header = self.store.describe(digest)
        return digest, str(header["codec"]), int(header["size"]), existed

    def _add_root(self, name: str, digest: str) -> None:
        where = blake3.blake3(f"{self.url}|{name}".encode()).hexdigest()[:16]
        self.store.add_root("registry", f"{where}-{digest.rsplit(':', 1)[1]}", [digest])

    def _same_digest(self, name: str, digest: str) -> tuple[int, ...]:
        """Earlier versions of ``name`` whose artifact is this same object."""
        records = self._records(name, self._claimed(name))
        return tuple(sorted(v for v, r in records.items() if r.get("digest") == digest))


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
