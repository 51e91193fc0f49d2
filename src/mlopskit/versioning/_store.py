"""``ContentStore``: a content-addressed object store on any fsspec filesystem.

Layout under the store's root::

    objects/<2 hex>/<62 hex>     one object: a header line, then its payload bytes
    datasets/<name>/<N>.json     dataset version records (see ``_datasets``)

An object file is ``MLOPSKIT-OBJECT 1\\n``, one line of JSON (``codec``, ``digest``
= the object's key, ``payload`` = the ``raw-v1`` digest of the payload bytes,
``size``), ``\\n``, then the payload. Reads verify the payload against its recorded
digest *before* decoding anything, so a tampered pickle is never unpickled.

What does *not* belong here: hashing rules (``_fingerprint``), dataset records.
"""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

import blake3
import fsspec
import numpy as np
from fsspec.implementations.local import LocalFileSystem

from mlopskit._results import Result
from mlopskit.errors import IntegrityError, ObjectNotFoundError, StoreError
from mlopskit.versioning._digest import ALGORITHM, RAW_SCHEME, parse_digest, raw_digest
from mlopskit.versioning._fingerprint import fingerprint

if TYPE_CHECKING:
    from mlopskit.versioning._datasets import DatasetVersion

__all__ = ["ContentStore", "GcReport", "VerifyReport"]

_MAGIC = b"MLOPSKIT-OBJECT 1\n"
_MAX_HEADER = 4096
_READ_PIECE = 1 << 20
#: dtype kinds that ``.npy`` stores without pickle (numpy 2's StringDType is not one).
_NPY_KINDS = frozenset("biufcmMSUV")


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


class GcReport(Result):
    """What :meth:`ContentStore.gc` removed.

    Attributes
    ----------
    removed
        Digests of the removed objects.
    kept
        Number of objects left in the store.
    freed_bytes
        Bytes of the removed object files.
    """

    removed: tuple[str, ...]
    kept: int
    freed_bytes: int


def _encode(obj: Any) -> tuple[str, bytes | memoryview]:
    """Codec and payload: bytes as is, plain numpy arrays as ``.npy``, others joblib."""
    if type(obj) is bytes:
        return "bytes", obj
    if (
        type(obj) is np.ndarray
        and obj.dtype.kind in _NPY_KINDS
        and not obj.dtype.hasobject
    ):
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, obj, allow_pickle=False)
        return "npy", buffer.getbuffer()
    import joblib

    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    return "joblib", buffer.getbuffer()


def _decode(codec: str, payload: memoryview) -> Any:
    if codec == "bytes":
        return bytes(payload)
    if codec == "npy":
        return np.lib.format.read_array(io.BytesIO(payload), allow_pickle=False)
    if codec == "joblib":
        import joblib

        return joblib.load(io.BytesIO(payload))
    raise StoreError(f"Unknown codec {codec!r} in a verified object; upgrade mlopskit.")


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
    **storage_options
        Passed to the fsspec filesystem (credentials, ``client_kwargs`` …).

    Attributes
    ----------
    fs : fsspec.AbstractFileSystem
        The filesystem; other blocks keep their own records beside the objects.
    root : str
        The store's root path inside ``fs`` (no trailing slash).
    url : str
        The URL the store was opened with.

    Notes
    -----
    ``put`` keys an object by :func:`fingerprint`, stores it once (a second ``put``
    of equal content writes nothing) and makes it appear whole or not at all (a
    temporary file renamed into place on local disks, a single object PUT on object
    stores), so concurrent writers of the same content are safe. Payloads: bytes as
    they are, plain numpy arrays as ``.npy`` (every non-object dtype, byte order
    kept), everything else (DataFrames with every pandas dtype, estimators …) with
    ``joblib.dump``. ``get`` checks the payload's BLAKE3 digest before decoding, so
    corrupt or tampered bytes raise :class:`~mlopskit.errors.IntegrityError` and a
    tampered pickle is never unpickled. This guards against corruption and careless
    edits, not against a writer who rewrites both the payload and its header.

    Examples
    --------
    >>> import numpy as np
    >>> store = ContentStore("memory://doc-store")
    >>> digest = store.put(np.arange(3))
    >>> digest in store, store.get(digest)
    (True, array([0, 1, 2]))
    >>> blob = store.put_bytes(b"hello")
    >>> store.get_bytes(blob)
    b'hello'
    >>> store.verify().ok
    True
    """

    def __init__(self, url: str = ".mlopskit/store", **storage_options: Any) -> None:
        try:
            fs, root = fsspec.core.url_to_fs(str(url), **storage_options)
        except (ImportError, ValueError) as exc:
            raise StoreError(
                f"Cannot open a store at {url!r}: {exc}. Pass a local folder, "
                "'memory://name' or an fsspec URL whose backend is installed "
                '(for S3: pip install "mlopskit[s3]").',
                url=url,
            ) from exc
        self.fs = fs
        self.root = str(root).rstrip("/") or "/"
        self.url = str(url)
        self.storage_options = dict(storage_options)

    def __repr__(self) -> str:
        return f"ContentStore({self.url!r})"

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

    # --- writing -----------------------------------------------------------------

    def put(self, obj: Any) -> str:
        """Store an object under its :func:`fingerprint`; return the digest.

        Examples
        --------
        >>> store = ContentStore("memory://doc-put")
        >>> store.put({"a": 1}) == fingerprint({"a": 1})
        True
        """
        digest = fingerprint(obj)
        if not self.exists(digest):
            codec, payload = _encode(obj)
            self._write(digest, codec, payload)
        return digest

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
        if not self.exists(digest):
            self._write(digest, "bytes", view)
        return digest

    def _write(self, digest: str, codec: str, payload: bytes | memoryview) -> None:
        header = json.dumps(
            {
                "codec": codec,
                "digest": digest,
                "payload": raw_digest(payload),
                "size": len(payload),
            },
            sort_keys=True,
        ).encode("ascii")
        path = self._path(digest)
        parent = path.rsplit("/", 1)[0]
        try:
            if isinstance(self.fs, LocalFileSystem):
                os.makedirs(parent, exist_ok=True)
                tmp = f"{parent}/.tmp-{uuid.uuid4().hex}"
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

    def get(self, digest: str) -> Any:
        """Load an object, after verifying its bytes.

        Raises
        ------
        ObjectNotFoundError
            Nothing is stored under ``digest``.
        IntegrityError
            The stored bytes do not match their digest (nothing is deserialised).

        Examples
        --------
        >>> import pandas as pd
        >>> store = ContentStore("memory://doc-get")
        >>> df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
        >>> store.get(store.put(df)).equals(df)
        True
        """
        header, payload = self._read(digest)
        return _decode(header["codec"], payload)

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
        handle.seek(offset)
        raw = _VerifyingReader(handle, header, digest, path)
        return io.BufferedReader(raw)

    # --- maintenance -------------------------------------------------------------

    def verify(self, digest: str | None = None) -> VerifyReport:
        """Re-hash one object (``digest``) or every object (no argument).

        Corrupt objects are reported, not raised; a ``digest`` that is not stored
        raises :class:`~mlopskit.errors.ObjectNotFoundError`.

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

    def gc(self, keep: Iterable[str]) -> GcReport:
        """Remove every object whose digest is not in ``keep``.

        Objects referenced by the store's dataset versions are always kept. Objects
        that only other blocks' records point to (registry versions, the pipeline
        cache) are removed unless their digests are in ``keep``: collect them first.

        Examples
        --------
        >>> store = ContentStore("memory://doc-gc")
        >>> a, b = store.put("a"), store.put("b")
        >>> report = store.gc(keep=[a])
        >>> report.removed == (b,), a in store, b in store
        (True, True, False)
        """
        kept_hex = {parse_digest(d)[1] for d in keep}
        kept_hex.update(parse_digest(v.digest)[1] for v in self._all_versions())
        removed, freed, kept = [], 0, 0
        for path in self._object_paths():
            hex_ = "".join(path.rsplit("/", 2)[-2:])
            if hex_ in kept_hex:
                kept += 1
                continue
            name = self._name_of(path)
            freed += int(self.fs.size(path))
            self.fs.rm_file(path)
            removed.append(name)
        return GcReport(removed=tuple(removed), kept=kept, freed_bytes=freed)

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

    def _all_versions(self) -> Iterator[DatasetVersion]:
        from mlopskit.versioning._datasets import read_versions

        base = f"{self.root}/datasets"
        if not self.fs.exists(base):
            return
        for entry in self.fs.ls(base, detail=False):
            yield from read_versions(self, entry.rstrip("/").rsplit("/", 1)[-1])


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
