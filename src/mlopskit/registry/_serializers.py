"""Turning a model into bytes and back: ``joblib`` (default) and ``skops``.

.. warning::
   ``joblib`` (like ``pickle``, which it uses) **runs code while loading**: a crafted
   artifact can execute anything on the machine that loads it. The registry verifies
   every artifact's digest before deserialising, which stops corruption and tampering
   *inside* the store, but not a malicious model registered by someone you do not
   trust. For scikit-learn models from untrusted places use ``serializer="skops"``
   (``pip install "mlopskit[skops]"``): skops loads only types on an allow-list and
   refuses the rest unless you name them in ``trusted=``.

What does *not* belong here: where the bytes are stored (the content store).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from mlopskit._optional import import_optional
from mlopskit.errors import OptionalDependencyError, RegistryError

__all__ = ["SERIALIZERS", "dumps", "loads"]

#: Serializer names ``register(..., serializer=...)`` accepts.
SERIALIZERS = ("joblib", "skops")


def _check(serializer: Any) -> str:
    if serializer not in SERIALIZERS:
        raise RegistryError(
            f"`serializer` must be one of {SERIALIZERS}. Got {serializer!r} instead.",
            serializer=repr(serializer),
        )
    return str(serializer)


def dumps(model: Any, serializer: str) -> bytes:
    """Serialise ``model``; raise :class:`RegistryError` if it cannot be stored.

    Examples
    --------
    >>> loads(dumps({"w": [1.0, 2.0]}, "joblib"), "joblib")
    {'w': [1.0, 2.0]}
    """
    serializer = _check(serializer)
    try:
        if serializer == "joblib":
            import joblib

            buffer = io.BytesIO()
            joblib.dump(model, buffer)
            return buffer.getvalue()
        sio = import_optional("skops.io", extra="skops", feature="serializer='skops'")
        return bytes(sio.dumps(model))
    except (RegistryError, OptionalDependencyError):
        raise
    except Exception as exc:  # any failure to serialise: pickling, skops' TypeError …
        raise RegistryError(
            f"The {serializer} serializer cannot store this {type(model).__name__}: "
            f"{type(exc).__name__}: {exc}. Nothing was registered. Make the object "
            "serialisable (no lambdas, open files, locks or connections) or choose "
            "another serializer.",
            serializer=serializer,
            model_type=type(model).__name__,
        ) from exc


def loads(data: bytes, serializer: str, *, trusted: Sequence[str] | None = None) -> Any:
    """Deserialise bytes written by :func:`dumps`.

    Parameters
    ----------
    data
        The artifact's bytes (already verified against their digest).
    serializer
        The serializer recorded with the version.
    trusted
        ``skops`` only: extra type names to allow (see ``skops.io.get_untrusted_types``).
    """
    serializer = _check(serializer)
    if serializer == "joblib":
        import joblib

        return joblib.load(io.BytesIO(data))
    sio = import_optional("skops.io", extra="skops", feature="serializer='skops'")
    untrusted = [
        t for t in sio.get_untrusted_types(data=data) if t not in (trusted or ())
    ]
    if untrusted:
        raise RegistryError(
            f"This skops artifact contains types that are not trusted: {untrusted}. "
            "Review them, then pass them as load(..., trusted=[...]) if you trust "
            "their source.",
            untrusted=tuple(untrusted),
        )
    return sio.loads(data, trusted=list(trusted) if trusted else None)
