"""Lazy import of optional extras, with a message that names the extra to install.

An optional dependency is imported inside the function that needs it, through
:func:`import_optional`, never at module level, so ``import mlopskit`` stays fast and
works with only the core dependencies installed.

Examples
--------
>>> import_optional("json", extra="core", feature="JSON output").__name__
'json'
>>> try:
...     import_optional("no_such_module_xyz", extra="s3", feature="S3 storage")
... except ImportError as err:
...     print(err)
S3 storage requires the optional dependency 'no_such_module_xyz'. Install it with: pip install "mlopskit-blocks[s3]"
"""

from __future__ import annotations

import importlib
from types import ModuleType

from mlopskit.errors import OptionalDependencyError

__all__ = ["import_optional"]


def import_optional(module: str, *, extra: str, feature: str) -> ModuleType:
    """Import ``module`` or raise :class:`OptionalDependencyError` naming the extra.

    Parameters
    ----------
    module
        Dotted module name, e.g. ``"s3fs"`` or ``"dask.distributed"``.
    extra
        The mlopskit extra that installs it, e.g. ``"s3"``.
    feature
        What the caller was trying to do, for the message.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise OptionalDependencyError(
            f"{feature} requires the optional dependency {module!r}. "
            f'Install it with: pip install "mlopskit-blocks[{extra}]"',
            module=module,
            extra=extra,
        ) from exc
