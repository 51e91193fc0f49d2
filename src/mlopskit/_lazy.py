"""Lazy re-exports for sub-packages: names imported from private modules on first use.

A sub-package whose private modules pull in heavy dependencies (pandas, scikit-learn)
declares where each public name lives, and this module builds the package's
``__getattr__`` and ``__dir__`` (PEP 562), so ``import mlopskit.drift`` costs
nothing until a detector is used, and the command line starts fast.

Examples
--------
>>> getattr_, dir_ = lazy_exports("json", {"JSONDecodeError": "decoder"}, ["JSONDecodeError"])
>>> getattr_("JSONDecodeError").__module__
'json.decoder'
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, homes: Mapping[str, str], public: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Build ``__getattr__`` and ``__dir__`` for ``package``.

    Parameters
    ----------
    package
        The package's dotted name (``__name__``).
    homes
        Public name → the module that defines it, relative to ``package``
        (``"_ks"``, ``"decoder"``) or absolute (``"mlopskit.drift.covariate._ks"``).
    public
        The package's ``__all__``.
    """
    names = sorted(public)

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = home if "." in home else f"{package}.{home}"
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *names})

    return __getattr__, __dir__
