"""Code fingerprints: what a step's cache key knows about the code that ran.

A function's fingerprint covers

- its own source, parsed and unparsed with comments, docstrings and decorators
  dropped (reformatting or re-documenting a step keeps its cache);
- the user's own helper functions, classes and constants it reaches by name (globals,
  closure cells, attributes of user modules), transitively;
- for third-party code (installed packages and the standard library), the package
  name and version only.

Fingerprints are memoised per process: a function's own source digest per code object,
and its full fingerprint per function object, re-validated on each call by checking
that every global it read still holds the same object (so redefining a helper in a
notebook cell is noticed) and re-hashing mutable constants (lists, dicts, sets).

What does *not* belong here: data fingerprints (``mlopskit.versioning``) and cache
keys (``_execute.py``).
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import inspect
import os
import site
import sys
import sysconfig
import textwrap
import types
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["code_fingerprint"]

_SCALARS = (type(None), bool, int, float, complex, str, bytes)
_MUTABLE = (list, dict, set, bytearray)
_CONSTANTS = (*_SCALARS, tuple, frozenset, list, dict, set)

# code object -> (digest of its stripped source, global names it and nested code read)
_OWN: weakref.WeakKeyDictionary[types.CodeType, tuple[str, tuple[str, ...]]] = (
    weakref.WeakKeyDictionary()
)
# function -> (fingerprint, checks that must still hold for it to be valid)
_FULL: weakref.WeakKeyDictionary[Any, tuple[str, tuple[_Check, ...]]] = (
    weakref.WeakKeyDictionary()
)

_Check = tuple[
    Any, str, Any, "str | None"
]  # (namespace, name, object, token if mutable)


def code_fingerprint(func: Callable[..., Any]) -> str:
    """Digest of a function's code and of the user code and constants it reaches.

    Parameters
    ----------
    func
        A function (or a :class:`~mlopskit.pipeline.Step`, or a
        :func:`functools.partial` of one).

    Returns
    -------
    str
        A hex digest. It changes when the function's code changes (not its comments,
        docstring or decorators), when a user-defined helper function or class it
        calls changes (transitively), when a module-level constant it reads changes,
        or when a third-party package it calls changes version.

    Examples
    --------
    >>> RATE = 2
    >>> def helper(x):
    ...     return x * RATE
    >>> def f(x):
    ...     '''Doubles.'''
    ...     return helper(x)  # a comment
    >>> before = code_fingerprint(f)
    >>> def f(x):
    ...     '''Doubles x (docstring reworded).'''
    ...     return helper(x)
    >>> code_fingerprint(f) == before
    True
    >>> RATE = 3
    >>> code_fingerprint(f) == before
    False
    """
    target = _unwrap(func)
    try:
        cached = _FULL.get(target)
    except TypeError:  # not weak-referenceable
        cached = None
    if cached is not None and all(_holds(c) for c in cached[1]):
        return cached[0]
    walker = _Walker()
    walker.function(target)
    digest = hashlib.blake2b(
        "\n".join(walker.tokens).encode(), digest_size=16
    ).hexdigest()
    with contextlib.suppress(TypeError):
        _FULL[target] = (digest, tuple(walker.checks))
    return digest


def _holds(check: _Check) -> bool:
    namespace, name, obj, token = check
    current = _lookup(namespace, name)
    if current is not obj:
        return False
    return token is None or _const_token(obj) == token


def _lookup(namespace: Any, name: str) -> Any:
    if isinstance(namespace, dict):
        return namespace.get(name, _MISSING)
    if isinstance(namespace, types.CellType):
        try:
            return namespace.cell_contents
        except ValueError:  # an empty cell
            return _MISSING
    return getattr(namespace, name, _MISSING)


_MISSING = object()


def _unwrap(func: Any) -> Any:
    from mlopskit.pipeline._step import Step

    while isinstance(func, Step):
        func = func.func
    return func


class _Walker:
    """Collects tokens for a function and everything of the user's it reaches."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.checks: list[_Check] = []
        self.seen: set[int] = set()

    def function(self, func: Any) -> None:
        if isinstance(func, functools.partial):
            self.tokens.append("partial")
            self.value("partial.func", func.func, ())
            self.value("partial.args", func.args, ())
            self.value("partial.keywords", func.keywords, ())
            return
        if isinstance(func, types.MethodType):
            self.function(func.__func__)
            return
        code = getattr(func, "__code__", None)
        if not isinstance(code, types.CodeType):  # a callable object
            self.value("callable", type(func), ())
            return
        if id(code) in self.seen:
            return
        self.seen.add(id(code))
        own, names = _own_code(func, code)
        self.tokens.append(f"fn {getattr(func, '__qualname__', '?')} {own}")
        self.value("defaults", func.__defaults__, ())
        self.value("kwdefaults", func.__kwdefaults__, ())
        cells = func.__closure__ or ()
        for var, cell in zip(code.co_freevars, cells, strict=False):
            obj = _lookup(cell, var)
            if obj is not _MISSING:
                self.checks.append((cell, var, obj, _mutable_token(obj)))
                self.value(f"cell {var}", obj, names)
        namespace = func.__globals__
        for name in names:
            obj = namespace.get(name, _MISSING)
            if obj is _MISSING:
                continue
            self.checks.append((namespace, name, obj, _mutable_token(obj)))
            self.value(f"global {name}", obj, names)

    def value(self, label: str, obj: Any, names: tuple[str, ...]) -> None:
        if isinstance(obj, _CONSTANTS):
            self.tokens.append(f"{label} = {_const_token(obj)}")
            return
        from mlopskit.pipeline._step import Step

        if isinstance(obj, Step):
            obj = obj.func
        module = getattr(obj, "__module__", None)
        if isinstance(obj, types.ModuleType):
            self._module(label, obj, names)
        elif isinstance(obj, functools.partial) or (
            isinstance(obj, types.FunctionType) and _is_user_file(obj.__code__)
        ):
            self.tokens.append(f"{label} -> {getattr(obj, '__qualname__', 'partial')}")
            self.function(obj)
        elif isinstance(obj, type):
            if _is_user_module(module) and id(obj) not in self.seen:
                self.seen.add(id(obj))
                self.tokens.append(f"{label} -> class {obj.__qualname__}")
                for attr in sorted(vars(obj)):
                    member = vars(obj)[attr]
                    if isinstance(member, staticmethod | classmethod):
                        member = member.__func__
                    if isinstance(member, property):
                        member = member.fget
                    is_func = isinstance(member, types.FunctionType)
                    if attr.startswith("__") and not is_func:
                        continue  # __doc__, __module__, __dict__ …: not behaviour
                    if is_func or not callable(member):
                        self.value(f"{obj.__qualname__}.{attr}", member, ())
            else:
                self.tokens.append(f"{label} = {_external(obj, module)}")
        elif callable(obj) and not _is_user_module(module):
            self.tokens.append(f"{label} = {_external(obj, module)}")
        else:
            self.tokens.append(f"{label} = {_object_token(obj)}")

    def _module(
        self, label: str, mod: types.ModuleType, names: tuple[str, ...]
    ) -> None:
        if not _is_user_module(mod.__name__):
            self.tokens.append(f"{label} = module {_external(mod, mod.__name__)}")
            return
        # A user module: include the attributes the code reads (``utils.helper``).
        self.tokens.append(f"{label} = user module {mod.__name__}")
        for name in names:
            obj = getattr(mod, name, _MISSING)
            if obj is _MISSING or isinstance(obj, types.ModuleType):
                continue
            self.checks.append((mod, name, obj, _mutable_token(obj)))
            self.value(f"{mod.__name__}.{name}", obj, ())


def _own_code(func: Any, code: types.CodeType) -> tuple[str, tuple[str, ...]]:
    cached = _OWN.get(code)
    if cached is None:
        cached = (_source_digest(func, code), tuple(sorted(_global_names(code))))
        _OWN[code] = cached
    return cached


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _source_digest(func: Any, code: types.CodeType) -> str:
    if code.co_name == "<lambda>":  # its source lines hold more than the lambda
        return "bytecode:" + _bytecode_digest(code)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return "bytecode:" + _bytecode_digest(code)
    node = tree.body[0] if tree.body else None
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return "bytecode:" + _bytecode_digest(code)
    node.decorator_list = []
    _strip_docstrings(node)
    return hashlib.blake2b(ast.unparse(node).encode(), digest_size=16).hexdigest()


def _strip_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Module
        ):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]


def _bytecode_digest(code: types.CodeType) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(code.co_code)
    h.update(repr(code.co_names).encode())
    h.update(repr(code.co_varnames).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            h.update(_bytecode_digest(const).encode())
        else:
            h.update(_const_token(const).encode())
    return h.hexdigest()


def _const_token(obj: Any) -> str:
    """Deterministic text for builtin constants (set order does not matter)."""
    if isinstance(obj, _SCALARS):
        return f"{type(obj).__name__}:{obj!r}"
    if isinstance(obj, tuple | list):
        inner = ",".join(_const_token(x) for x in obj)
        return f"{type(obj).__name__}[{inner}]"
    if isinstance(obj, set | frozenset):
        return (
            f"{type(obj).__name__}{{{','.join(sorted(_const_token(x) for x in obj))}}}"
        )
    if isinstance(obj, dict):
        inner = ",".join(f"{_const_token(k)}:{_const_token(v)}" for k, v in obj.items())
        return f"dict{{{inner}}}"
    return _object_token(obj)


def _mutable_token(obj: Any) -> str | None:
    return _const_token(obj) if isinstance(obj, _MUTABLE) else None


def _object_token(obj: Any) -> str:
    """Content digest of another global (an array, a frame …) via versioning."""
    kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
    try:
        from mlopskit.versioning import fingerprint
    except ImportError:  # pragma: no cover - versioning ships with mlopskit
        return f"object {kind}"
    try:
        return f"object {kind} {fingerprint(obj)}"
    except Exception:  # any failure to hash: the key sees the type only (documented)
        return f"object {kind}"


def _external(obj: Any, module: str | None) -> str:
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", "?")
    top = (module or "").split(".")[0]
    return f"{module}.{name}@{_package_version(top)}"


@functools.cache
def _package_version(top: str) -> str:
    if not top or top in sys.stdlib_module_names or top == "builtins":
        return f"python{sys.version_info[0]}.{sys.version_info[1]}"
    version = getattr(sys.modules.get(top), "__version__", None)
    if isinstance(version, str):
        return version
    import importlib.metadata

    try:
        return importlib.metadata.version(top)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return "unknown"


@functools.lru_cache(maxsize=1)
def _library_dirs() -> tuple[str, ...]:
    dirs = set()
    for key in ("purelib", "platlib", "stdlib", "platstdlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            dirs.add(os.path.realpath(path))
    with contextlib.suppress(AttributeError):  # virtualenv's old site module
        dirs.update(os.path.realpath(p) for p in site.getsitepackages())
    dirs.add(os.path.realpath(site.getusersitepackages()))
    dirs.add(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))  # mlopskit
    return tuple(sorted(dirs))


def _is_user_file(code: types.CodeType) -> bool:
    return _user_path(code.co_filename)


@functools.lru_cache(maxsize=4096)
def _user_path(filename: str) -> bool:
    """Functions defined in notebooks, doctests or files outside installed packages."""
    if filename.startswith("<"):
        return True
    real = os.path.realpath(filename)
    return not any(real.startswith(d + os.sep) for d in _library_dirs())


@functools.lru_cache(maxsize=4096)
def _is_user_module(module: str | None) -> bool:
    """User code: ``__main__``, notebook cells and modules outside installed packages."""
    if not module or module == "__main__":
        return True
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or top in ("builtins", "mlopskit"):
        return False
    mod = sys.modules.get(module)
    path = getattr(mod, "__file__", None)
    if mod is None or path is None:
        return mod is None  # an unknown module name: a notebook or exec'd code
    real = os.path.realpath(path)
    return not any(real.startswith(d + os.sep) for d in _library_dirs())
