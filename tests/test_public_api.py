"""Meta-tests: every public module keeps a complete, sorted ``__all__``, and
``import mlopskit`` imports none of the optional extras."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import mlopskit

OPTIONAL_EXTRAS = (
    "s3fs",
    "dask",
    "distributed",
    "matplotlib",
    "skops",
    "graphviz",
    "moto",
)


def _public_modules() -> list[str]:
    names = [
        info.name
        for info in pkgutil.walk_packages(mlopskit.__path__, prefix="mlopskit.")
        if not any(part.startswith("_") for part in info.name.split("."))
    ]
    return sorted(["mlopskit", *names])


def _defined_here(value: object, modname: str) -> bool:
    """Defined in this module or in one of its private sub-modules (a re-export)."""
    if isinstance(value, type(sys)):
        return False
    origin = getattr(value, "__module__", None)
    if origin is None:  # a constant: it belongs to the module that holds it
        return not hasattr(value, "__module__") and type(value).__module__ == "builtins"
    return bool(origin == modname or origin.startswith(modname + "._"))


@pytest.mark.parametrize("modname", _public_modules())
def test_all_is_sorted_and_complete(modname: str) -> None:
    module = importlib.import_module(modname)
    exported = list(module.__all__)
    assert exported == sorted(exported), f"{modname}.__all__ is not sorted"
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and _defined_here(value, modname)
    }
    missing = public - set(exported)
    assert not missing, (
        f"{modname} defines public names missing from __all__: {missing}"
    )
    for name in exported:
        assert hasattr(module, name), (
            f"{modname}.__all__ names {name!r}, which is not defined"
        )


def test_import_does_not_pull_optional_extras() -> None:
    code = (
        "import sys, mlopskit, mlopskit.errors, mlopskit.cli;"
        f"bad = [m for m in {OPTIONAL_EXTRAS!r} if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"import mlopskit imported optional extras: {out}"


def test_subpackages_are_lazy() -> None:
    code = (
        "import sys, mlopskit; print('pandas' in sys.modules, 'sklearn' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "False False"


def test_unknown_attribute_raises() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = mlopskit.nope  # type: ignore[attr-defined]


def test_version_matches_package_metadata() -> None:
    from importlib.metadata import version

    # The distribution is mlopskit-blocks; the import name is mlopskit.
    assert version("mlopskit-blocks") == mlopskit.__version__
