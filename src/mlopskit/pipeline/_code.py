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
import pickle
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

# id(code object) -> (weak ref to it, digest of its stripped source, global names).
# By identity, not equality: equal code objects can come from different source
# (``def f(x, k=1)`` and ``def f(x, k=2)`` compile to equal code).
_OWN: dict[int, tuple[weakref.ref[types.CodeType], str, tuple[str, ...]]] = {}
# function -> (fingerprint, checks that must still hold for it to be valid)
_FULL: weakref.WeakKeyDictionary[
    Any, tuple[str, tuple[str, ...], tuple[_Check, ...]]
] = weakref.WeakKeyDictionary()

# (namespace or None for the object itself, name, object, its _state)
_Check = tuple[Any, str, Any, Any]


def code_fingerprint(func: Callable[..., Any]) -> str:
    """Digest of a function's code and of the user code and values it reaches.

    Parameters
    ----------
    func
        A function (or a :class:`~mlopskit.pipeline.Step`, or a
        :func:`functools.partial` of one).

    Returns
    -------
    str
        A hex digest. It changes when the function's code changes (not its comments,
        docstring or decorators), when user code it reaches changes (helpers and
        their defaults, classes through their MRO and nested classes, the classes of
        module-level instances, decorators' wrappers, closures, partials, functions
        held in containers, lambdas; transitively), when a module-level value it
        reads changes (also in place: a mutated config object or array), or when a
        third-party package it calls changes version. Values that cannot be
        fingerprinted count by their type here; :meth:`Pipeline.run` does not cache
        a step that reaches one (see ``StepRun.reason``).

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
    return code_identity(func)[0]


def code_identity(func: Callable[..., Any]) -> tuple[str, tuple[str, ...]]:
    """``(fingerprint, problems)``: problems name what could not be fingerprinted."""
    target = _unwrap(func)
    try:
        cached = _FULL.get(target)
    except TypeError:  # not weak-referenceable
        cached = None
    if cached is not None and all(_holds(c) for c in cached[2]):
        return cached[0], cached[1]
    walker = _Walker()
    walker.checks.append((None, "", target, _state(target)))
    walker.value("step", target, ())
    digest = hashlib.blake2b(
        "\n".join(walker.tokens).encode(), digest_size=16
    ).hexdigest()
    problems = tuple(dict.fromkeys(walker.problems))
    with contextlib.suppress(TypeError):
        _FULL[target] = (digest, problems, tuple(walker.checks))
    return digest, problems


def _holds(check: _Check) -> bool:
    namespace, name, obj, state = check
    if namespace is not None and _lookup(namespace, name) is not obj:
        return False
    return bool(_state(obj) == state)


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


def _state(obj: Any, depth: int = 0) -> Any:
    """A cheap summary that changes when ``obj`` is rebound inside or mutated.

    Used to re-validate a memoised fingerprint: functions by the identity of their
    code and defaults (IPython's autoreload swaps ``__code__`` in place), user
    classes by the identity of their attributes, containers and user objects by
    their items (recursively), other values (arrays, frames) by their content.
    """
    if depth > 12:
        return ("deep", _Same(obj))
    if isinstance(obj, (*_SCALARS, types.ModuleType)):
        return None
    if isinstance(obj, types.FunctionType):
        return (_Same(obj.__code__), _Same(obj.__defaults__), _Same(obj.__kwdefaults__))
    if isinstance(obj, tuple | list):
        return (type(obj), tuple(_item_state(x, depth) for x in obj))
    if isinstance(obj, set | frozenset):
        return (type(obj), frozenset(_item_state(x, depth) for x in obj))
    if isinstance(obj, dict):
        return tuple(
            (_item_state(k, depth), _item_state(v, depth)) for k, v in obj.items()
        )
    if isinstance(obj, type):
        if not _is_user_module(obj.__module__):
            return None
        return tuple(
            (attr, _item_state(v, depth))
            for cls in obj.__mro__
            if _is_user_module(cls.__module__)
            for attr, v in vars(cls).items()
            if not _bookkeeping(attr, v)
        )
    if isinstance(obj, functools.partial):
        return (_item_state(obj.func, depth), _state(obj.args, depth + 1),
                _state(obj.keywords, depth + 1))  # fmt: skip
    if isinstance(obj, types.MethodType):
        return (_item_state(obj.__func__, depth), _item_state(obj.__self__, depth))
    if _bound_builtin(obj):
        return _item_state(obj.__self__, depth)
    if _is_user_instance(obj):
        if _has_handler(type(obj)):
            return (type(obj), _object_token(obj))
        return (type(obj), _state(_instance_data(obj), depth + 1))
    if callable(obj) and not _is_user_module(getattr(obj, "__module__", None)):
        wrapped = getattr(obj, "__wrapped__", None)
        return None if wrapped is None else _item_state(wrapped, depth)
    return _object_token(obj)


def _bound_builtin(obj: Any) -> bool:
    """A builtin method bound to an object (``CFG.get``), not a module function."""
    if not isinstance(obj, types.BuiltinMethodType | types.MethodWrapperType):
        return False
    owner = getattr(obj, "__self__", None)
    return owner is not None and not isinstance(owner, types.ModuleType | type)


class _Same:
    """Compares by identity and keeps its object alive (so no id can be reused)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)


def _item_state(obj: Any, depth: int) -> Any:
    if isinstance(obj, _SCALARS):
        return (type(obj), obj)
    return (_Same(obj), _state(obj, depth + 1))


def _is_user_instance(obj: Any) -> bool:
    cls = type(obj)
    return _is_user_module(cls.__module__) and not isinstance(
        obj, type | types.FunctionType | types.ModuleType
    )


def _has_handler(cls: type) -> bool:
    """A ``fingerprint`` handler registered for this user class (or a base)."""
    from mlopskit.versioning import fingerprint

    return bool(fingerprint.dispatch(cls) is not fingerprint.dispatch(object))


def _instance_data(obj: Any) -> dict[str, Any]:
    data = dict(getattr(obj, "__dict__", {}))
    for cls in type(obj).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if isinstance(slot, str) and hasattr(obj, slot):
                data[slot] = getattr(obj, slot)
    return data


class _Walker:
    """Collects tokens for a function and everything of the user's it reaches."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.checks: list[_Check] = []
        self.problems: list[str] = []
        self.seen: set[int] = set()
        # what ``seen`` names stays alive during the walk: a temporary (a property's
        # (fget, fset, fdel)) freed early could hand its id to another object
        self.alive: list[Any] = []
        self.depth = 0

    def function(self, func: Any) -> None:
        code = func.__code__
        if id(code) in self.seen:
            return
        self.seen.add(id(code))
        self.alive.append(code)
        own, names = _own_code(func, code)
        self.tokens.append(f"fn {getattr(func, '__qualname__', '?')} {own}")
        self.value("defaults", func.__defaults__, ())
        self.value("kwdefaults", func.__kwdefaults__, ())
        wrapped = getattr(func, "__wrapped__", None)
        if wrapped is not None:  # a decorator's wrapper: the wrapped code counts too
            self.value("wrapped", wrapped, ())
        cells = func.__closure__ or ()
        for var, cell in zip(code.co_freevars, cells, strict=False):
            obj = _lookup(cell, var)
            if obj is not _MISSING:
                self.checks.append((cell, var, obj, _state(obj)))
                self.value(f"cell {var}", obj, names)
        namespace = func.__globals__
        for name in names:
            obj = namespace.get(name, _MISSING)
            if obj is _MISSING:
                continue
            self.checks.append((namespace, name, obj, _state(obj)))
            self.value(f"global {name}", obj, names)

    def value(self, label: str, obj: Any, names: tuple[str, ...]) -> None:
        if isinstance(obj, _SCALARS):
            self.tokens.append(f"{label} = {_const_token(obj)}")
            return
        if self.depth > 40:
            self.tokens.append(f"{label} = deep {type(obj).__qualname__}")
            return
        self.depth += 1
        try:
            self._value(label, obj, names)
        finally:
            self.depth -= 1

    def _value(self, label: str, obj: Any, names: tuple[str, ...]) -> None:
        from mlopskit.pipeline._step import Step

        if isinstance(obj, Step):
            obj = obj.func
        module = getattr(obj, "__module__", None)
        if isinstance(obj, tuple | list | set | frozenset | dict):
            self._container(label, obj)
        elif isinstance(obj, types.ModuleType):
            self._module(label, obj, names)
        elif isinstance(obj, functools.partial):
            self.tokens.append(f"{label} -> partial")
            self.value(f"{label}.func", obj.func, ())
            self.value(f"{label}.args", obj.args, ())
            self.value(f"{label}.keywords", obj.keywords, ())
        elif isinstance(obj, types.MethodType):
            self.value(f"{label}.__func__", obj.__func__, ())
            self.value(f"{label}.__self__", obj.__self__, ())
        elif _bound_builtin(obj):  # CFG.get: the dict it reads counts
            self.tokens.append(f"{label} = builtin method {obj.__name__}")
            self.value(f"{label}.__self__", obj.__self__, ())
        elif isinstance(obj, types.FunctionType):
            if _is_user_file(obj.__code__):
                self.tokens.append(f"{label} -> {obj.__qualname__}")
                self.function(obj)
            else:
                self.tokens.append(f"{label} = {_external(obj, module)}")
        elif isinstance(obj, type):
            self._class(label, obj, module)
        elif _is_user_instance(obj):
            self._instance(label, obj)
        else:
            self._other(label, obj, module)

    def _container(self, label: str, obj: Any) -> None:
        if type(obj) not in (tuple, list, set, frozenset, dict):  # a user subclass
            self.value(f"{label} type", type(obj), ())
        if _all_scalars(obj):
            self.tokens.append(f"{label} = {_const_token(obj)}")
            return
        if id(obj) in self.seen:
            self.tokens.append(f"{label} = cycle")
            return
        self.seen.add(id(obj))
        self.alive.append(obj)
        kind = type(obj).__qualname__
        if isinstance(obj, dict):
            self.tokens.append(f"{label} = {kind}[{len(obj)}]")
            for key, item in obj.items():
                self.value(f"{label}[{_const_token(key)}]", item, ())
            return
        items = list(obj)
        if isinstance(obj, set | frozenset):  # order by content, not by hash seed
            items.sort(key=lambda x: _const_token(x))
        self.tokens.append(f"{label} = {kind}[{len(items)}]")
        for i, item in enumerate(items):
            self.value(f"{label}[{i}]", item, ())

    def _class(self, label: str, cls: type, module: str | None) -> None:
        if not _is_user_module(module):
            self.tokens.append(f"{label} = {_external(cls, module)}")
            return
        self.tokens.append(f"{label} -> class {cls.__qualname__}")
        if id(cls) in self.seen:
            return
        self.seen.add(id(cls))
        self.alive.append(cls)
        for base in cls.__mro__:
            if base is cls or not _is_user_module(base.__module__):
                if base is not cls and base is not object:
                    self.tokens.append(
                        f"{label} base {_external(base, base.__module__)}"
                    )
                continue
            self.value(f"{label} base", base, ())
        for attr in sorted(vars(cls)):
            member = vars(cls)[attr]
            if _bookkeeping(attr, member):
                continue
            if isinstance(member, staticmethod | classmethod):
                member = member.__func__
            if isinstance(member, property):
                member = (member.fget, member.fset, member.fdel)
            self.value(f"{cls.__qualname__}.{attr}", member, ())

    def _instance(self, label: str, obj: Any) -> None:
        if id(obj) in self.seen:
            self.tokens.append(f"{label} = cycle")
            return
        self.seen.add(id(obj))
        self.alive.append(obj)
        self.value(f"{label} type", type(obj), ())
        if _has_handler(type(obj)):  # the user said what identifies it
            self.tokens.append(f"{label} = {_object_token(obj)}")
            return
        data = _instance_data(obj)
        self.tokens.append(f"{label} data {sorted(data)}")
        for attr in sorted(data):
            self.value(f"{label}.{attr}", data[attr], ())

    def _other(self, label: str, obj: Any, module: str | None) -> None:
        wrapped = getattr(obj, "__wrapped__", None)
        if wrapped is not None and callable(obj):  # functools.lru_cache & co
            self.tokens.append(f"{label} = wrapper {type(obj).__qualname__}")
            self.value(f"{label}.__wrapped__", wrapped, ())
            return
        token = _object_token(obj)
        if token is not None:
            self.tokens.append(f"{label} = {token}")
        elif callable(obj) and not _is_user_module(module):
            self.tokens.append(f"{label} = {_external(obj, module)}")
        else:
            kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
            self.tokens.append(f"{label} = unfingerprintable {kind}")
            self.problems.append(
                f"{label.replace('global ', 'global ', 1)} is a {kind} that can be "
                "neither fingerprinted nor pickled"
            )

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
            self.checks.append((mod, name, obj, _state(obj)))
            self.value(f"{mod.__name__}.{name}", obj, ())


def _bookkeeping(attr: str, member: Any) -> bool:
    """Dunder data of a class (``__module__``, ``__dataclass_fields__`` …): not behaviour.

    Dunder *methods* (``__init__``, ``__add__``, ``__call__``) are behaviour.
    """
    return (
        attr.startswith("__")
        and attr.endswith("__")
        and not isinstance(
            member, types.FunctionType | staticmethod | classmethod | property | type
        )
    )


def _all_scalars(obj: Any) -> bool:
    if isinstance(obj, dict):
        return all(
            isinstance(k, _SCALARS) and (isinstance(v, _SCALARS) or _is_const(v))
            for k, v in obj.items()
        )
    return all(isinstance(x, _SCALARS) or _is_const(x) for x in obj)


def _is_const(obj: Any) -> bool:
    return isinstance(obj, tuple | list | set | frozenset | dict) and _all_scalars(obj)


def _own_code(func: Any, code: types.CodeType) -> tuple[str, tuple[str, ...]]:
    cached = _OWN.get(id(code))
    if cached is None or cached[0]() is not code:
        if len(_OWN) > 50_000:  # entries of collected code objects: start afresh
            _OWN.clear()
        own = _source_digest(func, code)
        cached = (weakref.ref(code), own, tuple(sorted(_global_names(code))))
        _OWN[id(code)] = cached
    return cached[1], cached[2]


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
        tree = ast.parse(textwrap.dedent(inspect.getsource(code)))
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
    return _object_token(obj) or f"object {type(obj).__qualname__}"


def _object_token(obj: Any) -> str | None:
    """Content token of another value (an array, a frame …), or None if it has none."""
    digest = value_digest(obj)
    if digest is None:
        return None
    return f"object {type(obj).__module__}.{type(obj).__qualname__} {digest}"


def value_digest(obj: Any) -> str | None:
    """A value's content digest: :func:`~mlopskit.versioning.fingerprint`, else pickled.

    Values ``fingerprint`` does not know (a ``FunctionTransformer`` holding a user
    function, a user object) are digested by their pickle stream, in which every user
    function and class is replaced by its code fingerprint (plain pickle names them
    only, so an edit of their code would not change the digest). ``None`` when the
    value can be neither fingerprinted nor pickled.

    Examples
    --------
    >>> value_digest([1, 2]).startswith("obj-v1:")
    True
    >>> import threading
    >>> value_digest(threading.Lock()) is None
    True
    """
    from mlopskit.errors import FingerprintError
    from mlopskit.versioning import fingerprint

    try:
        return str(fingerprint(obj))
    except FingerprintError:
        pass
    except Exception:  # a handler that failed on this value: try its pickle
        pass
    return _pickle_digest(obj)


def _pickle_digest(obj: Any) -> str | None:
    sink = _HashSink()
    try:
        _CodePickler(sink, protocol=5).dump(obj)
    except Exception:  # not picklable (a lock, a connection, a generator …)
        return None
    return "pkl-v1:blake2b:" + sink.hash.hexdigest()


class _HashSink:
    def __init__(self) -> None:
        self.hash = hashlib.blake2b(digest_size=32)

    def write(self, data: Any) -> int:
        self.hash.update(data)
        return len(data)


class _CodePickler(pickle.Pickler):
    """Pickles user functions and classes as their code fingerprints (for digests)."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, types.FunctionType) and _is_user_file(obj.__code__):
            return (_code_ref, (obj.__qualname__, code_fingerprint(obj)))
        if isinstance(obj, type) and _is_user_module(obj.__module__):
            walker = _Walker()
            walker.value("class", obj, ())
            return (_code_ref, (obj.__qualname__, "\n".join(walker.tokens)))
        return NotImplemented


def _code_ref(*args: Any) -> None:  # pragma: no cover - only named in digest streams
    return None


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
