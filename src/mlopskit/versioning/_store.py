"""``ContentStore``: a content-addressed object store on any fsspec filesystem.

Layout under the store's root::

    objects/<2 hex>/<62 hex>       one object: a header line, then its payload bytes
    datasets/<name>/<N>.json       dataset version records (see ``_datasets``)
    leases/<2 hex>/<62 hex>        "keep this object until …", written by every put
    roots/<namespace>/<name>.json  explicit gc roots (see ``_gc``)

An object file is ``MLOPSKIT-OBJECT 1\\n``, one line of JSON (``codec``, ``digest``
= the object's key, ``payload`` = the ``raw-v1`` digest of the payload bytes,
``size``, and in a signed store ``sig``), ``\\n``, then the payload. Reads verify
the signature and the payload against its recorded digest *before* decoding
anything, and decode only codecs the caller allows (``_codecs``).

What does *not* belong here: hashing rules (``_fingerprint``), codecs (``_codecs``),
signatures (``_signing``), garbage collection (``_gc``), dataset records.
"""

from __future__ import annotations

import io
import json
import os
import time
import warnings
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

import blake3
import fsspec
from fsspec.implementations.local import LocalFileSystem

from mlopskit._results import Result
from mlopskit.errors import (
    IntegrityError,
    InvalidParameterError,
    ObjectNotFoundError,
    PickleTrustWarning,
    StoreError,
    UntrustedFormatError,
)
from mlopskit.versioning import _codecs
from mlopskit.versioning._digest import ALGORITHM, RAW_SCHEME, parse_digest, raw_digest
from mlopskit.versioning._fingerprint import fingerprint
from mlopskit.versioning._gc import GcReport, collect
from mlopskit.versioning._records import Storage, clean_temporary, temporary_name
from mlopskit.versioning._signing import SigningKey

if TYPE_CHECKING:
    from mlopskit.versioning._datasets import DatasetVersion

__all__ = ["ContentStore", "GcReport", "VerifyReport"]

_MAGIC = b"MLOPSKIT-OBJECT 1\n"
_MAX_HEADER = 4096
_READ_PIECE = 1 << 20
#: How long a put keeps its object safe from gc by default: one day.
LEASE_SECONDS = 86400.0


class VerifyReport(Result):
    """What :meth:`ContentStore.verify` checked and what it found corrupt.

    Attributes
    ----------
    checked
        Number of objects read and hashed.
    corrupt
        Digests of objects whose bytes do not match (or, if the header itself is
        unreadable, the object's path relative to the store root).
    """

    checked: int
    corrupt: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when nothing is corrupt."""
        return not self.corrupt


def _parse(
    data: bytes | memoryview, digest: str | None, where: str
) -> tuple[dict[str, Any], int]:
    """The header and the payload offset; raise IntegrityError if malformed."""
    head = bytes(data[: len(_MAGIC) + _MAX_HEADER])
    end = head.find(b"\n", len(_MAGIC))
    try:
        if not head.startswith(_MAGIC) or end < 0:
            raise ValueError("no object header")
        header = json.loads(head[len(_MAGIC) : end])
        if (
            not isinstance(header, dict)
            or not {"codec", "digest", "payload", "size"} <= header.keys()
        ):
            raise ValueError("incomplete header")
    except ValueError as exc:
        raise IntegrityError(
            f"The object at {where} has a corrupt header ({exc}); it was tampered "
            "with or truncated. Delete it and put the object again.",
            digest=digest,
            path=where,
        ) from None
    if digest is not None and header["digest"] != digest:
        raise IntegrityError(
            f"The object at {where} is recorded as {header['digest']}, expected "
            f"{digest}; the file was moved or tampered with. Delete it and put the "
            "object again.",
            digest=digest,
            path=where,
        )
    return header, end + 1


class ContentStore:
    """A content-addressed store: objects keyed by their digest, verified on read.

    Parameters
    ----------
    url
        Where the store lives: a local folder (the default, ``.mlopskit/store``),
        ``memory://name``, ``s3://bucket/prefix`` or any fsspec URL.
    trust_pickle
        Store-wide: allow ``put`` to pickle objects that have no safe codec and
        ``get`` to unpickle. Only for stores that nobody untrusted can write to.
    key
        Sign every object and record and refuse unsigned or wrongly signed ones:
        ``bytes``, ``"env:VARIABLE"``, ``"file:/path"``, a path or a
        :class:`~mlopskit.versioning.SigningKey` (HMAC-SHA256).
    allow
        Store-wide: the codecs ``get`` may decode (default: every safe codec, plus
        ``joblib`` under ``trust_pickle``). A call's ``allow=`` narrows it further.
    trusted
        Extra type names a skops object may contain (besides scikit-learn's own).
    lease_seconds
        How long an object just put is safe from :meth:`gc` (a lease), so that a
        writer has time to record what references it. ``0``: no lease.
    storage_options
        Passed to the fsspec filesystem (credentials, ``client_kwargs`` …); extra
        keyword arguments are added to them (``ContentStore(url, anon=True)``).

    Attributes
    ----------
    fs : fsspec.AbstractFileSystem
        The filesystem; other blocks keep their own records beside the objects.
    root : str
        The store's root path inside ``fs`` (no trailing slash).
    url : str
        The URL the store was opened with.
    records : Storage
        Create-only records below the root, signed with the store's key.

    Notes
    -----
    ``put`` keys an object by :func:`fingerprint`, stores it once (a second ``put``
    of equal content writes nothing but a lease) and makes it appear whole or not at
    all. Codecs (see ``docs/versioning.md``): bytes as they are, JSON values as JSON,
    plain arrays as ``.npy``, DataFrames as Parquet (with pyarrow) or the ``frame``
    codec, scikit-learn estimators with skops, containers of those as a ``tree``.
    Anything else needs pickle, which runs code when loaded: ``put`` refuses it
    unless pickle is trusted (per call or per store), and ``get`` of a pickled
    object needs the same trust. ``get`` checks the payload's BLAKE3 digest (and,
    with a key, the header's signature) before decoding anything.

    For an S3 store, an access key given as ``key="..."`` next to ``secret=`` is
    passed to s3fs as before; prefer ``storage_options={"key": ..., "secret": ...}``.

    Examples
    --------
    >>> import numpy as np
    >>> store = ContentStore("memory://doc-store")
    >>> digest = store.put(np.arange(3))
    >>> digest in store, store.get(digest)
    (True, array([0, 1, 2]))
    >>> store.codec(digest)
    'npy'
    >>> blob = store.put_bytes(b"hello")
    >>> store.get_bytes(blob)
    b'hello'
    >>> store.verify().ok
    True
    """

    def __init__(
        self,
        url: str = ".mlopskit/store",
        *,
        trust_pickle: bool = False,
        key: Any = None,
        allow: Iterable[str] | None = None,
        trusted: Iterable[str] = (),
        lease_seconds: float = LEASE_SECONDS,
        storage_options: dict[str, Any] | None = None,
        **more_options: Any,
    ) -> None:
        options = {**(storage_options or {}), **more_options}
        if isinstance(key, str) and "secret" in options and ":" not in key:
            options["key"], key = key, None  # an s3fs access key, as before
        try:
            fs, root = fsspec.core.url_to_fs(str(url), **options)
        except (ImportError, ValueError) as exc:
            raise StoreError(
                f"Cannot open a store at {url!r}: {exc}. Pass a local folder, "
                "'memory://name' or an fsspec URL whose backend is installed "
                '(for S3: pip install "mlopskit-blocks[s3]").',
                url=url,
            ) from exc
        self.fs = fs
        self.root = str(root).rstrip("/") or "/"
        self.url = str(url)
        self.storage_options = options
        self.trust_pickle = _check_bool(trust_pickle, "trust_pickle")
        self.key = SigningKey.load(key)
        self.allow = None if allow is None else _check_codecs(allow)
        self.trusted = tuple(trusted)
        self.lease_seconds = float(lease_seconds)
        self.records = Storage(fs, self.root, self.url, key=self.key)

    def __repr__(self) -> str:
        signed = ", signed" if self.key is not None else ""
        trust = ", trust_pickle=True" if self.trust_pickle else ""
        return f"ContentStore({self.url!r}{trust}{signed})"

    # --- paths -------------------------------------------------------------------

    def _path(self, digest: str) -> str:
        _, hex_ = parse_digest(digest)
        return f"{self.root}/objects/{hex_[:2]}/{hex_[2:]}"

    def _object_paths(self) -> Iterator[str]:
        base = f"{self.root}/objects"
        self.fs.invalidate_cache(base)  # listings are cached (s3fs): list afresh
        if not self.fs.exists(base):
            return
        for path in sorted(self.fs.find(base)):
            name = path.rsplit("/", 1)[-1]
            if not name.startswith("."):
                yield path

    # --- policy --------------------------------------------------------------------

    def _trusts(self, trust_pickle: bool | None) -> bool:
        if trust_pickle is None:
            return self.trust_pickle
        return _check_bool(trust_pickle, "trust_pickle")

    def allowed(
        self, allow: Iterable[str] | None = None, trust_pickle: bool | None = None
    ) -> frozenset[str]:
        """The codecs a ``get`` with these arguments may decode.

        The store's ``allow`` (default: every safe codec) narrowed by the call's
        ``allow``; pickle codecs only when pickle is trusted. Nothing stored can
        widen it.

        Examples
        --------
        >>> sorted(ContentStore("memory://doc-allowed").allowed(allow=["npy", "joblib"]))
        ['npy']
        """
        codecs = _codecs.SAFE_CODECS | (
            _codecs.PICKLE_CODECS if self._trusts(trust_pickle) else frozenset()
        )
        if self.allow is not None:
            codecs &= self.allow
        if allow is not None:
            codecs &= _check_codecs(allow)
        return frozenset(codecs)

    # --- writing -----------------------------------------------------------------

    def put(
        self, obj: Any, *, trust_pickle: bool | None = None, codec: str | None = None
    ) -> str:
        """Store an object under its :func:`fingerprint`; return the digest.

        Parameters
        ----------
        obj
            The object. One without a safe codec needs pickle (see ``trust_pickle``).
        trust_pickle
            Allow pickling it (default: the store's ``trust_pickle``); a
            :class:`~mlopskit.errors.PickleTrustWarning` names what was pickled.
        codec
            Force a codec (``"skops"``, ``"joblib"`` …) instead of choosing one. An
            object already stored keeps the codec it was first stored with.

        Raises
        ------
        UntrustedFormatError
            Only pickle can store the object and pickle is not trusted; the message
            names the object's type (or the part of a container) and how to opt in.

        Examples
        --------
        >>> store = ContentStore("memory://doc-put")
        >>> store.put({"a": 1}) == fingerprint({"a": 1})
        True
        >>> import dataclasses
        >>> @dataclasses.dataclass
        ... class Opaque:
        ...     x: int
        >>> store.put(Opaque(1))
        Traceback (most recent call last):
        ...
        mlopskit.errors.UntrustedFormatError: Only pickle can store the object: a ...Opaque has no safe codec, ...
        """
        return self._put(obj, trust_pickle, codec)[0]

    def _put(
        self, obj: Any, trust_pickle: bool | None, codec: str | None
    ) -> tuple[str, dict[str, Any] | None]:
        """``put``; also the header written (``None``: the object was already there)."""
        digest = fingerprint(obj)
        if self.exists(digest):
            self._lease(digest)  # before the re-check: see _gc "why … safe"
            if self.exists(digest):
                return digest, None
        name, payload = self._encode(obj, self._trusts(trust_pickle), codec)
        self._lease(digest)  # only once it can be stored: a refusal writes nothing
        self._write(digest, name, payload)
        return digest, {"codec": name, "digest": digest, "size": len(payload)}

    def _encode(
        self, obj: Any, trust: bool, codec: str | None
    ) -> tuple[str, bytes | memoryview]:
        if codec == "skops":
            data = _codecs.skops_dumps(obj)
            if data is None:
                raise InvalidParameterError(
                    f"skops cannot store this {_codecs.type_name(obj)}; leave "
                    "codec=None (or serializer=None) to let the store choose.",
                    codec=codec,
                )
            return "skops", data
        if codec is not None and codec not in _codecs.PICKLE_CODECS:
            name, payload = self._encode(obj, False, None)
            if name != codec:
                raise InvalidParameterError(
                    f"codec={codec!r} cannot store this {_codecs.type_name(obj)} "
                    f"(its safe codec is {name!r}). Leave codec=None.",
                    codec=codec,
                )
            return name, payload
        try:
            if codec is None:
                return _codecs.encode_safe(obj)
            raise _codecs.NeedsPickle("value", obj)
        except _codecs.NeedsPickle as need:
            if not trust:
                what = _codecs.type_name(obj)
                if need.what == "value":
                    why = f"a {what} has no safe codec"
                else:
                    why = f"in this {what}, {need.what} is a {need.type_name}"
                raise UntrustedFormatError(
                    f"Only pickle can store the object: {why}, and pickle runs code "
                    "when loaded. If you trust everyone who can write to this store, "
                    "pass trust_pickle=True (to put, or ContentStore(..., "
                    "trust_pickle=True)); or store arrays, DataFrames, JSON values, "
                    "scikit-learn models or containers of them instead.",
                    type_name=need.type_name,
                    part=need.what,
                ) from None
        warnings.warn(
            f"Pickling a {_codecs.type_name(obj)} into {self.url!r} "
            "(trust_pickle=True): loading it will run code.",
            PickleTrustWarning,
            stacklevel=3,
        )
        return "joblib", _codecs.encode_pickle(obj)

    def put_bytes(self, data: bytes) -> str:
        """Store raw bytes under their ``raw-v1`` digest (plain BLAKE3); return it.

        The digest equals :func:`hash_path` of a file holding the same bytes.

        Examples
        --------
        >>> store = ContentStore("memory://doc-put-bytes")
        >>> store.put_bytes(b"abc")
        'raw-v1:blake3:6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85'
        """
        view = memoryview(data)
        digest = raw_digest(view)
        self._lease(digest)
        if not self.exists(digest):
            self._write(digest, "bytes", view)
        return digest

    def describe(self, digest: str) -> dict[str, Any]:
        """An object's verified header: ``codec``, ``size`` (payload bytes), ``digest``.

        Only the header is read (and, in a signed store, its signature checked).

        Examples
        --------
        >>> store = ContentStore("memory://doc-describe")
        >>> store.describe(store.put([1, 2]))["codec"]
        'json'
        """
        path = self._path(digest)
        try:
            with self.fs.open(path, "rb") as handle:
                head = handle.read(len(_MAGIC) + _MAX_HEADER)
        except FileNotFoundError:
            raise ObjectNotFoundError(
                f"No object {digest} in the store at {self.url!r}.",
                digest=digest,
                url=self.url,
            ) from None
        header, _ = _parse(head, digest, path)
        self._check_header(header, digest, path)
        return {k: header[k] for k in ("codec", "digest", "size")}

    def _header(self, digest: str, codec: str, payload: bytes | memoryview) -> bytes:
        fields: dict[str, Any] = {
            "codec": codec,
            "digest": digest,
            "payload": raw_digest(payload),
            "size": len(payload),
        }
        if self.key is not None:
            fields["sig"] = self.key.sign(_signed_part(fields))
        return json.dumps(fields, sort_keys=True).encode("ascii")

    def _write(self, digest: str, codec: str, payload: bytes | memoryview) -> None:
        header = self._header(digest, codec, payload)
        path = self._path(digest)
        parent = path.rsplit("/", 1)[0]
        try:
            if isinstance(self.fs, LocalFileSystem):
                os.makedirs(parent, exist_ok=True)
                clean_temporary(parent)  # what killed writers left behind
                tmp = f"{parent}/{temporary_name()}"
                try:
                    with open(tmp, "wb") as handle:
                        handle.write(_MAGIC + header + b"\n")
                        handle.write(payload)
                    os.replace(tmp, path)  # atomic: the object appears whole
                finally:
                    if os.path.exists(tmp):
                        os.remove(tmp)
            else:
                self.fs.makedirs(parent, exist_ok=True)
                with self.fs.open(path, "wb") as handle:  # one PUT on object stores
                    handle.write(_MAGIC + header + b"\n")
                    handle.write(payload)
        except OSError as exc:
            raise StoreError(
                f"Could not write object {digest} to {self.url!r}: {exc}. Check the "
                "store URL, permissions and free space.",
                digest=digest,
                url=self.url,
            ) from exc

    # --- leases and roots (see _gc) -------------------------------------------------

    def _lease_path(self, digest: str) -> str:
        _, hex_ = parse_digest(digest)
        return f"{self.root}/leases/{hex_[:2]}/{hex_[2:]}"

    def _lease(self, digest: str) -> None:
        if self.lease_seconds <= 0:
            return
        path = self._lease_path(digest)
        body = json.dumps({"digest": digest, "until": time.time() + self.lease_seconds})
        try:
            self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            self.fs.pipe_file(path, body.encode("ascii"))
        except OSError as exc:
            raise StoreError(
                f"Could not write the lease of {digest} to {self.url!r}: {exc}.",
                digest=digest,
            ) from exc

    def release(self, digest: str) -> None:
        """Drop the lease of a put: ``gc`` may collect the object if nothing roots it.

        Examples
        --------
        >>> store = ContentStore("memory://doc-release")
        >>> d = store.put("scratch")
        >>> store.release(d)
        >>> store.gc(dry_run=True, grace=0).removed == (d,)
        True
        """
        path = self._lease_path(digest)
        if self.fs.exists(path):
            self.fs.rm_file(path)

    def add_root(self, namespace: str, name: str, digests: Iterable[str]) -> None:
        """Record that ``namespace``/``name`` references ``digests`` (a gc root).

        Blocks whose records live in this store's folder need no explicit roots
        (``gc`` reads every record); use this for references kept elsewhere (a
        registry at another URL, a service's state). Roots are create-only; adding
        the same root again with the same digests is a no-op.

        Examples
        --------
        >>> store = ContentStore("memory://doc-add-root", lease_seconds=0)
        >>> d = store.put("kept")
        >>> store.add_root("my-service", "model-7", [d])
        >>> store.gc(dry_run=False, grace=0).removed, d in store
        ((), True)
        >>> store.remove_root("my-service", "model-7")
        >>> store.gc(dry_run=False, grace=0).removed == (d,)
        True
        """
        digests = sorted({parse_digest(d) and d for d in digests})
        parts = _root_parts(namespace, name)
        body = json.dumps({"format": 1, "digests": digests}, sort_keys=True).encode()
        try:
            self.records.create(body, *parts)
        except FileExistsError:
            existing = self.records.read(*parts) or b"{}"
            if json.loads(existing).get("digests") != digests:
                raise StoreError(
                    f"The root {namespace}/{name} already exists with other digests; "
                    "remove_root it first, or use another name.",
                    namespace=namespace,
                    name=name,
                ) from None

    def remove_root(self, namespace: str, name: str) -> None:
        """Remove a root written by :meth:`add_root` (missing: a no-op)."""
        path = self.records.path(*_root_parts(namespace, name))
        if self.fs.exists(path):
            self.fs.rm_file(path)

    # --- reading -----------------------------------------------------------------

    def exists(self, digest: str) -> bool:
        """True if an object with this digest is stored (not verified; see ``verify``).

        Examples
        --------
        >>> store = ContentStore("memory://doc-exists")
        >>> store.exists(store.put(1))
        True
        """
        return bool(self.fs.exists(self._path(digest)))

    def __contains__(self, digest: object) -> bool:
        return isinstance(digest, str) and self.exists(digest)

    def _check_header(self, header: dict[str, Any], digest: str, path: str) -> None:
        if self.key is not None:
            self.key.verify(
                _signed_part(header), header.get("sig"), f"Object {digest} at {path}"
            )

    def _read(self, digest: str) -> tuple[dict[str, Any], memoryview]:
        path = self._path(digest)
        try:
            data = self.fs.cat_file(path)
        except FileNotFoundError:
            raise ObjectNotFoundError(
                f"No object {digest} in the store at {self.url!r}. Put it first, or "
                "check the digest and the store URL.",
                digest=digest,
                url=self.url,
            ) from None
        header, offset = _parse(data, digest, path)
        self._check_header(header, digest, path)
        payload = memoryview(data)[offset:]
        if len(payload) != header["size"] or raw_digest(payload) != header["payload"]:
            raise IntegrityError(
                f"Object {digest} at {path} is corrupt: its {len(payload)} payload "
                f"bytes do not match the recorded {header['size']} bytes with digest "
                f"{header['payload']}. It was not loaded; delete it and put the "
                "object again.",
                digest=digest,
                path=path,
            )
        return header, payload

    def get(
        self,
        digest: str,
        *,
        allow: Iterable[str] | None = None,
        trust_pickle: bool | None = None,
        trusted: Iterable[str] = (),
    ) -> Any:
        """Load an object, after verifying its bytes (and signature, if signed).

        Parameters
        ----------
        digest
            The object's digest.
        allow
            Codecs this call may decode (narrows the store's policy; it never
            widens it). E.g. ``allow=("skops",)`` to load a model and nothing else.
        trust_pickle
            Allow unpickling (default: the store's ``trust_pickle``). Old stores
            pickled every DataFrame and model (codec ``joblib``): open them with
            ``trust_pickle=True`` if you trust who wrote them.
        trusted
            Extra type names a skops object may contain.

        Raises
        ------
        ObjectNotFoundError
            Nothing is stored under ``digest``.
        IntegrityError
            The stored bytes do not match their digest (nothing is deserialised).
        TamperedObjectError
            The store has a key and the object's signature is missing or wrong.
        UntrustedFormatError
            The object's codec is not allowed (a pickle without trust); nothing was
            deserialised.

        Examples
        --------
        >>> import pandas as pd
        >>> store = ContentStore("memory://doc-get")
        >>> df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
        >>> store.get(store.put(df)).equals(df)
        True
        >>> store.get(store.put([1, 2]), allow=("npy",))
        Traceback (most recent call last):
        ...
        mlopskit.errors.UntrustedFormatError: Object obj-v1:blake3:... is stored with codec 'json', ...
        """
        header, payload = self._read(digest)
        return _codecs.decode(
            str(header["codec"]),
            payload,
            allowed=self.allowed(allow, trust_pickle),
            trusted=(*self.trusted, *trusted),
            what=f"Object {digest}",
        )

    def codec(self, digest: str) -> str:
        """The codec an object was stored with (from its verified header)."""
        return str(self.describe(digest)["codec"])

    def get_bytes(self, digest: str) -> bytes:
        """The verified payload bytes of an object.

        For a digest from :meth:`put_bytes` (or ``put`` of a ``bytes`` object) this
        is the original bytes; for other objects, their serialised form.

        Examples
        --------
        >>> store = ContentStore("memory://doc-get-bytes")
        >>> store.get_bytes(store.put_bytes(b"x"))
        b'x'
        """
        return bytes(self._read(digest)[1])

    def open(self, digest: str) -> BinaryIO:
        """A binary file object over an object's payload, verified as it is read.

        Reading to the end checks the BLAKE3 digest and the size; a mismatch raises
        :class:`~mlopskit.errors.IntegrityError` from the read that reaches the end.

        Examples
        --------
        >>> store = ContentStore("memory://doc-open")
        >>> with store.open(store.put_bytes(b"streamed")) as f:
        ...     f.read()
        b'streamed'
        """
        path = self._path(digest)
        try:
            handle = self.fs.open(path, "rb")
        except FileNotFoundError:
            raise ObjectNotFoundError(
                f"No object {digest} in the store at {self.url!r}.",
                digest=digest,
                url=self.url,
            ) from None
        head = handle.read(len(_MAGIC) + _MAX_HEADER)
        header, offset = _parse(head, digest, path)
        self._check_header(header, digest, path)
        handle.seek(offset)
        raw = _VerifyingReader(handle, header, digest, path)
        return io.BufferedReader(raw)

    # --- maintenance -------------------------------------------------------------

    def verify(self, digest: str | None = None) -> VerifyReport:
        """Re-hash one object (``digest``) or every object (no argument).

        Corrupt objects (and, in a signed store, unsigned or wrongly signed ones)
        are reported, not raised; a ``digest`` that is not stored raises
        :class:`~mlopskit.errors.ObjectNotFoundError`.

        Examples
        --------
        >>> store = ContentStore("memory://doc-verify")
        >>> d = store.put([1, 2, 3])
        >>> store.verify(d)
        VerifyReport(checked=1, corrupt=())
        """
        if digest is not None:
            try:
                self._read(digest)
            except IntegrityError:
                return VerifyReport(checked=1, corrupt=(digest,))
            return VerifyReport(checked=1)
        corrupt = []
        checked = 0
        for path in self._object_paths():
            checked += 1
            name = self._name_of(path)
            if name.startswith("objects/"):  # header unreadable or misplaced
                corrupt.append(name)
                continue
            try:
                self._read(name)
            except IntegrityError:
                corrupt.append(name)
        return VerifyReport(checked=checked, corrupt=tuple(corrupt))

    def _name_of(self, path: str) -> str:
        """The digest stored at ``path`` (from its header), else its relative path."""
        relative = path[len(self.root) + 1 :]
        try:
            with self.fs.open(path, "rb") as handle:
                header, _ = _parse(handle.read(len(_MAGIC) + _MAX_HEADER), None, path)
            digest = str(header["digest"])
            if self._path(digest) == path:
                return digest
        except (IntegrityError, ValueError):
            pass
        return relative

    def gc(
        self,
        dry_run: bool = True,
        *,
        grace: float = 3600.0,
        keep: Iterable[str] = (),
        expire: dict[str, float] | None = None,
    ) -> GcReport:
        """Remove objects that nothing references (by default, only report them).

        An object is kept if it is *rooted*: named in ``keep``, in an explicit root
        (:meth:`add_root`), under an unexpired lease (every ``put`` takes one for
        ``lease_seconds``), or mentioned by any record in the store's folder
        (registry versions, dataset versions, pipeline runs and cache index, loop
        state …); or if it is younger than ``grace`` seconds. See
        ``docs/versioning.md`` for the roots protocol and why this is safe while
        other processes write.

        Parameters
        ----------
        dry_run
            Only report what would be removed (the default).
        grace
            Keep objects written less than this many seconds ago.
        keep
            More digests to keep.
        expire
            ``{top-level folder: seconds}``: records in that folder older than that
            no longer root anything (e.g. ``{"pipeline-index": 30 * 86400}`` keeps
            cache entries for 30 days).

        Examples
        --------
        >>> store = ContentStore("memory://doc-gc", lease_seconds=0)
        >>> a, b = store.put("a"), store.put("b")
        >>> store.gc(grace=0, keep=[a]).removed == (b,), b in store  # a dry run
        (True, True)
        >>> report = store.gc(dry_run=False, grace=0, keep=[a])
        >>> report.removed == (b,), a in store, b in store
        (True, True, False)
        """
        return collect(
            self,
            dry_run=_check_bool(dry_run, "dry_run"),
            grace=float(grace),
            keep=keep,
            expire=dict(expire or {}),
        )

    # --- dataset versions ----------------------------------------------------------

    def versions(self, name: str) -> tuple[DatasetVersion, ...]:
        """Every recorded version of dataset ``name``, oldest first.

        Examples
        --------
        >>> import pandas as pd
        >>> from mlopskit.versioning import snapshot
        >>> store = ContentStore("memory://doc-versions")
        >>> _ = snapshot(pd.DataFrame({"a": [1]}), store, name="d")
        >>> [v.version for v in store.versions("d")]
        [1]
        """
        from mlopskit.versioning._datasets import read_versions

        return read_versions(self, name)


def _check_bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidParameterError(
            f"`{what}` must be True or False. Got {value!r} instead.", value=value
        )
    return value


def _check_codecs(codecs: Iterable[str]) -> frozenset[str]:
    if isinstance(codecs, str):
        codecs = (codecs,)
    out = frozenset(codecs)
    unknown = out - _codecs.SAFE_CODECS - _codecs.PICKLE_CODECS
    if unknown:
        known = sorted(_codecs.SAFE_CODECS | _codecs.PICKLE_CODECS)
        raise InvalidParameterError(
            f"`allow` names unknown codecs {sorted(unknown)}; known codecs: {known}.",
            codecs=tuple(sorted(unknown)),
        )
    return out


def _signed_part(header: dict[str, Any]) -> bytes:
    """The header fields a signature covers (all but the signature)."""
    fields = {k: v for k, v in header.items() if k != "sig"}
    return json.dumps(fields, sort_keys=True).encode("ascii")


def _root_parts(namespace: str, name: str) -> tuple[str, str, str]:
    for part in (namespace, name):
        if (
            not isinstance(part, str)
            or not part
            or part.startswith(".")
            or any(c in part for c in "/\\\0")
        ):
            raise InvalidParameterError(
                "A root's namespace and name must be non-empty strings without '/', "
                f"'\\\\' or a leading '.'. Got {part!r} instead.",
                value=part,
            )
    return ("roots", namespace, f"{name}.json")


class _VerifyingReader(io.RawIOBase):
    """Raw reader over a payload that checks its digest when the end is reached."""

    def __init__(
        self, handle: Any, header: dict[str, Any], digest: str, path: str
    ) -> None:
        self._handle = handle
        self._remaining = int(header["size"])
        self._expected = str(header["payload"])
        self._hasher = blake3.blake3()
        self._digest = digest
        self._path = path
        self._checked = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._remaining, _READ_PIECE)
        data = self._handle.read(want) if want else b""
        n = len(data)
        view[:n] = data
        self._hasher.update(data)
        self._remaining -= n
        if (n == 0 or self._remaining == 0) and not self._checked:
            self._checked = True
            got = f"{RAW_SCHEME}:{ALGORITHM}:{self._hasher.hexdigest()}"
            extra = self._handle.read(1)
            if self._remaining or extra or got != self._expected:
                raise IntegrityError(
                    f"Object {self._digest} at {self._path} is corrupt: its payload "
                    "does not match the recorded size and digest. Delete it and put "
                    "the object again.",
                    digest=self._digest,
                    path=self._path,
                )
        return n

    def close(self) -> None:
        self._handle.close()
        super().close()
