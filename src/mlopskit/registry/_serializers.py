"""How a model becomes an artifact, and how artifacts of older registries load.

A model is stored in the registry's content store like any object (see
:class:`mlopskit.versioning.ContentStore`): scikit-learn estimators with skops, arrays,
frames and JSON values with their safe codecs; anything else only with
``trust_pickle=True``. ``register(..., serializer=...)`` can force ``"skops"`` or
``"joblib"`` (pickle: needs trust); the default ``None`` lets the store choose.

The codec that loads an artifact is read from the artifact's own verified (and, in a
signed store, signed) header and checked against what the *caller* allows; the
version record's ``serializer`` field is informational only, so editing a record
cannot make ``load`` unpickle.

Artifacts of registries written before content identity (digest ``raw-v1:…`` of the
serialised bytes) are recognised by their bytes, never by the record: a zip archive
is a skops file, anything else is treated as a pickle and needs ``trust_pickle``.

What does *not* belong here: where the bytes are stored (the content store).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

from mlopskit.errors import PickleTrustWarning, RegistryError
from mlopskit.versioning._codecs import decode, encode_pickle

__all__ = ["SERIALIZERS", "codec_for", "load_legacy", "pickle_bytes"]

#: Serializer names ``register(..., serializer=...)`` accepts (``None``: automatic).
SERIALIZERS = ("joblib", "skops")
_ZIP = b"PK\x03\x04"


def codec_for(serializer: Any) -> str | None:
    """The store codec to force for ``serializer`` (``None``: the store chooses).

    Examples
    --------
    >>> codec_for(None), codec_for("skops")
    (None, 'skops')
    """
    if serializer is None or serializer == "auto":
        return None
    if serializer not in SERIALIZERS:
        raise RegistryError(
            f"`serializer` must be None (automatic), 'skops' or 'joblib'. Got "
            f"{serializer!r} instead.",
            serializer=repr(serializer),
        )
    return str(serializer)


def load_legacy(
    data: bytes, *, allowed: frozenset[str], trusted: Iterable[str], what: str
) -> Any:
    """Load an artifact of an older registry: its format is sniffed from its bytes.

    Examples
    --------
    >>> load_legacy(b"\\x80\\x04K\\x01.", allowed=frozenset({"skops"}), trusted=(),
    ...             what="m v1")
    Traceback (most recent call last):
    ...
    mlopskit.errors.UntrustedFormatError: m v1 is stored with codec 'joblib', ...
    """
    codec = "skops" if data.startswith(_ZIP) else "joblib"
    return decode(
        codec, memoryview(data), allowed=allowed, trusted=tuple(trusted), what=what
    )


def pickle_bytes(model: Any) -> memoryview:
    """joblib bytes of a model mlopskit cannot fingerprint (the caller trusts pickle)."""
    warnings.warn(
        f"Pickling a {type(model).__module__}.{type(model).__qualname__} "
        "(trust_pickle=True): loading it will run code.",
        PickleTrustWarning,
        stacklevel=4,
    )
    try:
        return encode_pickle(model)
    except Exception as exc:  # unpicklable: a lambda, a lock, an open file …
        raise RegistryError(
            f"Cannot pickle this {type(model).__name__}: {type(exc).__name__}: {exc}. "
            "Nothing was registered. Remove lambdas, open files, locks and "
            "connections from the model.",
            model_type=type(model).__name__,
        ) from exc
