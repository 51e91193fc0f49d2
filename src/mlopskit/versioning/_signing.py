"""Signed stores: an HMAC-SHA256 key that signs every object header and record.

A key comes from bytes, from an environment variable (``"env:NAME"``) or from a
file (``"file:/path"`` or a :class:`os.PathLike`); file and variable hold the key
as text (at least 32 characters; surrounding whitespace is ignored). A store opened
with a key

- signs the header of every object it writes (the header names the object's digest,
  codec, payload digest and size, so the signature covers the payload too) and every
  record written through ``store.records``;
- refuses, with :class:`~mlopskit.errors.TamperedObjectError` and before decoding
  anything, an object or record whose signature is missing or wrong.

The signature is ``hmac-sha256:<key id>:<hex>``; the key id (the first 16 hex of
SHA-256 of the key) only says which key signed, so a message can tell "signed with
another key" from "forged". HMAC means that whoever can verify can also sign: give
the key only to the writers and readers you trust, not to the store's bucket.

What does *not* belong here: where objects and records live (``_store``, ``_records``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

from mlopskit.errors import InvalidParameterError, TamperedObjectError

__all__ = ["SigningKey"]

_MIN_KEY = 32
RECORD_MAGIC = b"MLOPSKIT-SIGNED 1 "


class SigningKey:
    """An HMAC-SHA256 key for a signed store.

    Parameters
    ----------
    secret
        The key's bytes (at least 32).

    Examples
    --------
    >>> key = SigningKey(b"k" * 32)
    >>> sig = key.sign(b"record")
    >>> key.verify(b"record", sig, "a record")
    >>> key.verify(b"other", sig, "a record")
    Traceback (most recent call last):
    ...
    mlopskit.errors.TamperedObjectError: a record has a wrong signature: ...
    """

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, bytes) or len(secret) < _MIN_KEY:
            raise InvalidParameterError(
                f"A store key must be at least {_MIN_KEY} bytes (generate one with "
                '`python -c "import secrets; print(secrets.token_hex(32))"`). Got '
                f"{len(secret) if isinstance(secret, bytes) else type(secret).__name__}"
                " instead."
            )
        self._secret = secret
        self.key_id = hashlib.sha256(secret).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.key_id!r})"

    @classmethod
    def load(cls, key: Any) -> SigningKey | None:
        """A key from bytes, ``"env:NAME"``, ``"file:PATH"``, a path, or ``None``.

        Examples
        --------
        >>> import os
        >>> os.environ["DOC_STORE_KEY"] = "0123456789abcdef" * 4
        >>> SigningKey.load("env:DOC_STORE_KEY").key_id == SigningKey.load(
        ...     ("0123456789abcdef" * 4).encode()).key_id
        True
        """
        if key is None or isinstance(key, SigningKey):
            return key
        if isinstance(key, bytes):
            return cls(key)
        if isinstance(key, str) and key.startswith("env:"):
            value = os.environ.get(key[4:])
            if not value:
                raise InvalidParameterError(
                    f"The store key names the environment variable {key[4:]!r}, "
                    "which is not set or empty. Set it, or pass key=b'...'.",
                    variable=key[4:],
                )
            return cls(value.strip().encode())
        if isinstance(key, str) and key.startswith("file:"):
            key = key[5:]
        elif isinstance(key, str):
            raise InvalidParameterError(
                "`key` must be bytes, 'env:VARIABLE', 'file:/path/to/key' or a "
                f"pathlib.Path. Got the string {key[:4]!r}… instead (an S3 access "
                "key goes in storage_options={'key': ...})."
            )
        try:
            with open(os.fspath(key), "rb") as handle:
                return cls(handle.read().strip())
        except (OSError, TypeError) as exc:
            raise InvalidParameterError(
                f"Cannot read the store key from {key!r}: {exc}.", path=str(key)
            ) from None

    def sign(self, data: bytes) -> str:
        """``hmac-sha256:<key id>:<hex>`` of ``data``."""
        mac = hmac.new(self._secret, data, hashlib.sha256).hexdigest()
        return f"hmac-sha256:{self.key_id}:{mac}"

    def verify(self, data: bytes, signature: Any, what: str) -> None:
        """Raise :class:`TamperedObjectError` unless ``signature`` signs ``data``."""
        if not isinstance(signature, str) or not signature:
            raise TamperedObjectError(
                f"{what} is not signed, but this store was opened with a key: it was "
                "written without the key or planted. Nothing was deserialised.",
                name=what,
            )
        if not hmac.compare_digest(self.sign(data), signature):
            other = signature.split(":")[1:2]
            hint = (
                f" It was signed with another key ({other[0]}; this key is "
                f"{self.key_id})."
                if other and other[0] != self.key_id
                else ""
            )
            raise TamperedObjectError(
                f"{what} has a wrong signature: it was modified after it was "
                f"written.{hint} Nothing was deserialised.",
                name=what,
            )

    # -- records: a first line with the signature, then the record's bytes ---------

    def wrap(self, data: bytes) -> bytes:
        """A record with its signature line in front."""
        return RECORD_MAGIC + self.sign(data).encode("ascii") + b"\n" + data


def unwrap(data: bytes, key: SigningKey | None, what: str) -> bytes:
    """A record's bytes without its signature line; verified when there is a key."""
    signature = None
    if data.startswith(RECORD_MAGIC):
        end = data.find(b"\n")
        signature = data[len(RECORD_MAGIC) : end].decode("ascii", "replace")
        data = data[end + 1 :]
    if key is not None:
        key.verify(data, signature, what)
    return data
