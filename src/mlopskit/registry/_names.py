"""Validation of model names, alias names and version numbers.

Everything a caller names becomes a path component under the registry root, so every
name is checked against a strict pattern *before* anything is written: nothing can
escape the root (``..``, ``/``, absolute paths, control characters) and nothing is
over-long. Names and aliases are lower case so that a registry copied to a
case-insensitive filesystem (macOS, Windows) keeps one folder per name.

What does *not* belong here: reading or writing the registry.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from mlopskit.errors import RegistryError

__all__ = [
    "ALIAS_PATTERN",
    "MODEL_NAME_PATTERN",
    "RESERVED_ALIASES",
    "check_alias",
    "check_name",
    "check_version",
]

#: A model name: lower-case letters, digits, ``.``, ``_`` and ``-``; 1 to 100
#: characters; starts with a letter or digit; never contains ``..``.
MODEL_NAME_PATTERN = r"[a-z0-9][a-z0-9._-]{0,99}"

#: An alias: lower-case letters, digits, ``_`` and ``-``; 1 to 64 characters; starts
#: with a letter (so ``name@3`` is always a version and ``name@prod`` an alias).
ALIAS_PATTERN = r"[a-z][a-z0-9_-]{0,63}"

#: Aliases the registry keeps for itself: ``latest`` always means the newest version.
RESERVED_ALIASES = frozenset({"latest"})

_NAME_RE = re.compile(MODEL_NAME_PATTERN)
_ALIAS_RE = re.compile(ALIAS_PATTERN)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_name(name: Any) -> str:
    """Return ``name`` if it is a valid model name, else raise :class:`RegistryError`.

    Examples
    --------
    >>> check_name("churn-model")
    'churn-model'
    >>> check_name("../etc")
    Traceback (most recent call last):
    ...
    mlopskit.errors.RegistryError: A model name must match ...
    """
    if not isinstance(name, str) or _NAME_RE.fullmatch(name) is None or ".." in name:
        hint = ""
        if isinstance(name, str) and name.lower() != name:
            hint = f" Use {name.lower()!r} (names are lower case)."
        raise RegistryError(
            f"A model name must match {MODEL_NAME_PATTERN!r} (lower-case letters, "
            "digits, '.', '_' and '-', at most 100 characters, no '..'; it becomes a "
            f"folder name under the registry root). Got {_show(name)} instead.{hint}",
            name=name if isinstance(name, str) else repr(name),
        )
    return name


def check_alias(alias: Any) -> str:
    """Return ``alias`` if it is a valid, settable alias, else raise :class:`RegistryError`.

    Examples
    --------
    >>> check_alias("production")
    'production'
    >>> check_alias("latest")
    Traceback (most recent call last):
    ...
    mlopskit.errors.RegistryError: The alias 'latest' is reserved: ...
    """
    if isinstance(alias, str) and alias in RESERVED_ALIASES:
        raise RegistryError(
            f"The alias {alias!r} is reserved: it always means the newest version and cannot be "
            "set. Choose another alias, e.g. 'production', 'staging' or 'champion'.",
            alias=alias,
        )
    if not isinstance(alias, str) or _ALIAS_RE.fullmatch(alias) is None:
        raise RegistryError(
            f"An alias must match {ALIAS_PATTERN!r} (starts with a lower-case letter; "
            "then lower-case letters, digits, '_' or '-'; at most 64 characters). "
            f"Got {_show(alias)} instead.",
            alias=alias if isinstance(alias, str) else repr(alias),
        )
    return alias


def check_version(version: Any) -> int:
    """Return ``version`` as an ``int`` if it is a positive integer.

    Examples
    --------
    >>> check_version(3)
    3
    >>> check_version(0)
    Traceback (most recent call last):
    ...
    mlopskit.errors.RegistryError: A version must be a positive integer (1, 2, 3 ...). Got 0 instead.
    """
    if isinstance(version, np.integer):
        version = int(version)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise RegistryError(
            "A version must be a positive integer (1, 2, 3 ...). "
            f"Got {_show(version)} instead.",
            version=repr(version),
        )
    return version
