"""mlopskit: composable MLOps building blocks.

Six blocks, each useful alone, that compose into a continuous-training loop:

- :mod:`mlopskit.versioning`: content hashes, a content-addressed store, dataset versions.
- :mod:`mlopskit.schema`: declarative DataFrame schemas.
- :mod:`mlopskit.pipeline`: a cached DAG of plain Python functions.
- :mod:`mlopskit.registry`: a model registry on any filesystem.
- :mod:`mlopskit.drift`: covariate, prior and streaming drift detectors.
- :mod:`mlopskit.rollout`: simulators of deployment strategies.

Sub-packages are imported lazily on first attribute access, so ``import mlopskit``
is fast and pulls in none of the optional extras.

Examples
--------
>>> import mlopskit
>>> mlopskit.__version__
'0.1.0.dev0'
>>> issubclass(mlopskit.MlopsKitError, Exception)
True
"""

from __future__ import annotations

import importlib as _importlib
from typing import Any

from mlopskit._version import __version__
from mlopskit.errors import MlopsKitError

_SUBMODULES = frozenset(
    {
        "drift",
        "errors",
        "loop",
        "pipeline",
        "registry",
        "rollout",
        "schema",
        "testing",
        "versioning",
    }
)

__all__ = ["MlopsKitError", "__version__"]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return _importlib.import_module(f"mlopskit.{name}")
    raise AttributeError(f"module 'mlopskit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_SUBMODULES})
