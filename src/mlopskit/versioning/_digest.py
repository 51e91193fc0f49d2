"""Digest strings and the canonical byte stream every digest is computed over.

A digest is ``"<scheme>:blake3:<64 hex>"``; the three schemes are

- ``obj-v1``: :func:`~mlopskit.versioning.fingerprint` of a Python object, computed
  with BLAKE3 in *derive-key* mode (context ``"mlopskit obj-v1"``), so an object's
  digest can never equal the digest of some raw bytes;
- ``raw-v1``: plain BLAKE3 of exact bytes (a file, or a blob given to
  :meth:`~mlopskit.versioning.ContentStore.put_bytes`); ``b3sum`` gives the same hex;
- ``dir-v1``: plain BLAKE3 of a directory's JSON manifest.

What does *not* belong here: the per-type encodings (``_fingerprint``, ``_arrays``).
"""

from __future__ import annotations

import re
import struct
from typing import Any

import blake3

__all__: list[str] = []

ALGORITHM = "blake3"
OBJ_SCHEME = "obj-v1"
RAW_SCHEME = "raw-v1"
DIR_SCHEME = "dir-v1"
SCHEMES = (OBJ_SCHEME, RAW_SCHEME, DIR_SCHEME)
_OBJ_CONTEXT = "mlopskit obj-v1"

#: Pieces streamed into the hasher (and the size of converted copies): 1 MiB.
CHUNK_BYTES = 1 << 20
#: Values per block where a block structure is part of the spec (strings, datetimes).
BLOCK = 1 << 16

_DIGEST_RE = re.compile(r"^(obj-v1|raw-v1|dir-v1):blake3:([0-9a-f]{64})$")
_PACK_U64 = struct.Struct("<Q").pack


def parse_digest(digest: Any) -> tuple[str, str]:
    """Split a digest string into ``(scheme, hex)``; raise if it is not one.

    Examples
    --------
    >>> parse_digest("raw-v1:blake3:" + "0" * 64)[0]
    'raw-v1'
    """
    from mlopskit.errors import InvalidParameterError

    match = _DIGEST_RE.match(digest) if isinstance(digest, str) else None
    if match is None:
        raise InvalidParameterError(
            "Expected a digest like 'obj-v1:blake3:<64 hex>' (from fingerprint, "
            f"hash_path or ContentStore.put). Got {digest!r} instead.",
            digest=digest,
        )
    return match.group(1), match.group(2)


def raw_digest(data: Any) -> str:
    """The ``raw-v1`` digest of a bytes-like object.

    Examples
    --------
    >>> raw_digest(b"")
    'raw-v1:blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'
    """
    return f"{RAW_SCHEME}:{ALGORITHM}:{blake3.blake3(data).hexdigest()}"


class Stream:
    """The canonical byte stream of one object, fed straight into BLAKE3.

    Every token is self-delimiting (a tag or a length prefix comes first), so two
    different token sequences never produce the same bytes.
    """

    __slots__ = ("_h", "update")

    def __init__(self) -> None:
        self._h = blake3.blake3(derive_key_context=_OBJ_CONTEXT)
        self.update = self._h.update

    def array(self, values: Any) -> None:
        """The raw buffer of a contiguous 1-d numpy array (already canonical)."""
        self.update(memoryview(values).cast("B"))

    def u64(self, n: int) -> None:
        self.update(_PACK_U64(n))

    def blob(self, data: bytes) -> None:
        self.update(_PACK_U64(len(data)))
        self.update(data)

    def tag(self, name: str) -> None:
        self.blob(name.encode("utf-8"))

    def text(self, value: str) -> None:
        self.blob(value.encode("utf-8", "surrogatepass"))

    def ref(self, digest: str) -> None:
        """A child object, written as its own digest (a Merkle link)."""
        self.tag("ref")
        self.blob(digest.encode("ascii"))

    def hexdigest(self) -> str:
        return str(self._h.hexdigest())

    def digest(self) -> str:
        return f"{OBJ_SCHEME}:{ALGORITHM}:{self._h.hexdigest()}"
