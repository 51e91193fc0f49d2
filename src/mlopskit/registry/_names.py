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
    "parse_reference",
]

#: A model name: lower-case letters, digits, ``.``, ``_`` and ``-``; 1 to 100
#: characters; starts with a letter or digit, does not end with ``.`` (Windows
#: drops a trailing dot from folder names, so ``model.`` and ``model`` would be
#: one folder); never contains ``..``.
MODEL_NAME_PATTERN = r"[a-z0-9](?:[a-z0-9._-]{0,98}[a-z0-9_-])?"

#: Why each rule exists, quoted in the error.
NAME_RULES = (
    "A model name becomes a folder under the registry root, so it must be 1 to 100 "
    "characters of lower-case letters, digits, '.', '_' and '-'; start with a letter "
    "or digit; not end with '.' (Windows drops a trailing dot, so 'model.' would "
    "collide with 'model'); and not contain '..' (it would climb out of the root). "
    "Lower case only, because macOS and Windows file systems ignore case: 'Churn' "
    "and 'churn' would share one folder and mix their versions."
)

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
    mlopskit.errors.RegistryError: Invalid model name ...'../etc'. A model name must match ...
    """
    if not isinstance(name, str) or _NAME_RE.fullmatch(name) is None or ".." in name:
        hint = ""
        if isinstance(name, str):
            fixed = name.lower().rstrip(".")
            if fixed != name and _NAME_RE.fullmatch(fixed) and ".." not in fixed:
                hint = f" Use {fixed!r}."
            if "@" in name or ":" in name:
                hint += (
                    " ('name@alias', 'name@3' and 'name:3' are references: pass "
                    "them where a model is loaded or looked up, not as a new name.)"
                )
        raise RegistryError(
            f"Invalid model name {_show(name)}. A model name must match "
            f"{MODEL_NAME_PATTERN!r}. {NAME_RULES}{hint}",
            name=name if isinstance(name, str) else repr(name),
        )
    return name


def parse_reference(ref: Any) -> tuple[str, int | None, str | None]:
    """Split ``name``, ``name@alias``, ``name@3`` or ``name:3`` into its parts.

    Returns ``(name, version, alias)``; a bare name designates the latest version.

    Examples
    --------
    >>> parse_reference("churn@production")
    ('churn', None, 'production')
    >>> parse_reference("churn:3"), parse_reference("churn@3")
    (('churn', 3, None), ('churn', 3, None))
    >>> parse_reference("churn")
    ('churn', None, None)
    """
    if not isinstance(ref, str):
        return check_name(ref), None, None
    if "@" in ref:
        name, _, tail = ref.partition("@")
        if tail.isdigit():
            return check_name(name), check_version(int(tail)), None
        if tail == "latest":
            return check_name(name), None, None
        return check_name(name), None, check_alias(tail)
    if ":" in ref:
        name, _, tail = ref.partition(":")
        if not tail.isdigit():
            raise RegistryError(
                f"In {ref!r}, the part after ':' must be a version number "
                "('name:3'); for an alias write 'name@alias'.",
                ref=ref,
            )
        return check_name(name), check_version(int(tail)), None
    return check_name(ref), None, None


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
