"""Custom vectorised checks, registered by name so that schemas serialise.

A schema stores only the *name* of a custom check; the function lives in this
process-wide registry. A schema read back from JSON therefore needs the same
``register_check`` calls to have run (import the module that makes them).

What does *not* belong here: the built-in checks (``_validate``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from mlopskit.errors import SchemaError

__all__ = ["get_check", "register_check", "registered_checks"]

CheckFn = Callable[[Any], Any]
_F = TypeVar("_F", bound=CheckFn)
_REGISTRY: dict[str, CheckFn] = {}


def register_check(name: str, fn: _F | None = None, *, overwrite: bool = False) -> Any:
    """Register a vectorised check under ``name`` (usable as a decorator).

    A column check receives the column's non-null values as a ``pandas.Series``
    (index labels kept); a table check (listed in ``Schema.checks``) receives the
    whole DataFrame. Either returns a boolean Series/array aligned with its input
    (``True`` = valid) or a single ``bool`` for the whole input.

    Parameters
    ----------
    name
        The name schemas refer to (``Column(checks=("even",))``).
    fn
        The check. Omit it to use ``register_check`` as a decorator.
    overwrite
        Replace an existing check of the same name instead of raising.

    Returns
    -------
    callable
        ``fn`` unchanged (or a decorator that registers and returns it).

    Raises
    ------
    SchemaError
        ``name`` is taken and ``overwrite`` is false, or ``fn`` is not callable.

    Examples
    --------
    >>> import pandas as pd
    >>> from mlopskit.schema import Column, Schema, register_check
    >>> @register_check("even_doc_example", overwrite=True)
    ... def even(values):
    ...     return values % 2 == 0
    >>> schema = Schema(columns={"n": Column(dtype="integer", checks=("even_doc_example",))})
    >>> schema.validate(pd.DataFrame({"n": [2, 3, 4]})).failures["index"].tolist()
    [1]
    """

    def decorate(func: _F) -> _F:
        if not callable(func):
            raise SchemaError(
                f"A check must be callable. Got {type(func).__name__} for {name!r}."
            )
        if name in _REGISTRY and not overwrite and _REGISTRY[name] is not func:
            raise SchemaError(
                f"A check named {name!r} is already registered. Choose another name "
                "or pass overwrite=True.",
                name=name,
            )
        _REGISTRY[name] = func
        return func

    return decorate if fn is None else decorate(fn)


def registered_checks() -> tuple[str, ...]:
    """Names of the registered custom checks, sorted.

    Examples
    --------
    >>> isinstance(registered_checks(), tuple)
    True
    """
    return tuple(sorted(_REGISTRY))


def get_check(name: str) -> CheckFn:
    """The check registered under ``name``; a :class:`SchemaError` if none is."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(registered_checks()) or "none"
        raise SchemaError(
            f"No custom check is registered as {name!r} (registered: {known}). "
            "Import the module that calls register_check before validating.",
            name=name,
        ) from None
