"""Code fingerprints: stable under cosmetic edits, sensitive to what the code reaches."""

from __future__ import annotations

import functools
import math
import textwrap
import types

import numpy as np

from mlopskit.pipeline import code_fingerprint, step
from mlopskit.pipeline._code import _is_user_module


def _define(source: str, namespace: dict | None = None, name: str = "f"):
    """Define functions as a notebook cell would: exec'd source in a namespace."""
    ns = namespace if namespace is not None else {"__name__": "__main__"}
    code = compile(textwrap.dedent(source), f"<cell-{len(ns)}-{name}>", "exec")
    exec(code, ns)
    return ns[name], ns


def _from_file(tmp_path, source: str, name: str = "f"):
    """Define a function in a real file, so inspect.getsource reads its text."""
    path = tmp_path / f"mod_{abs(hash(source))}.py"
    path.write_text(textwrap.dedent(source))
    module = types.ModuleType(path.stem)
    module.__file__ = str(path)
    exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
    return getattr(module, name)


def test_comments_docstrings_and_decorators_do_not_count(tmp_path) -> None:
    a = _from_file(tmp_path, "def f(x):\n    return x + 1\n")
    b = _from_file(
        tmp_path,
        '''
        import functools

        @functools.lru_cache
        def f(x):
            """A docstring added later."""
            # a comment
            return (x +
                    1)  # reformatted
        ''',
    )
    c = _from_file(tmp_path, "def f(x):\n    return x + 2\n")
    assert code_fingerprint(a) == code_fingerprint(b.__wrapped__)
    assert code_fingerprint(a) != code_fingerprint(c)


def test_helpers_are_followed_transitively() -> None:
    ns = {"__name__": "__main__"}
    _define("def inner(x):\n    return x * 2\n", ns, "inner")
    _define("def helper(x):\n    return inner(x) + 1\n", ns, "helper")
    f, _ = _define("def f(x):\n    return helper(x)\n", ns)
    before = code_fingerprint(f)
    assert code_fingerprint(f) == before  # memoised and still valid
    _define("def inner(x):\n    return x * 3\n", ns, "inner")  # edit the leaf helper
    assert code_fingerprint(f) != before


def test_constants_are_covered_including_in_place_mutation() -> None:
    ns = {"__name__": "__main__", "RATE": 0.1, "COLUMNS": ["a", "b"]}
    f, _ = _define("def f(x):\n    return x * RATE, COLUMNS\n", ns)
    before = code_fingerprint(f)
    ns["RATE"] = 0.2
    changed = code_fingerprint(f)
    assert changed != before
    ns["COLUMNS"].append("c")  # mutated in place, same object
    assert code_fingerprint(f) != changed


def test_constant_types_are_distinguished() -> None:
    prints = set()
    for value in (1, 1.0, "1", True):
        ns = {"__name__": "__main__", "K": value}
        f, _ = _define("def f():\n    return K\n", ns)
        prints.add(code_fingerprint(f))
    assert len(prints) == 4


def test_closures_and_partials_are_covered() -> None:
    def make(k):
        def f(x):
            return x + k

        return f

    assert code_fingerprint(make(1)) != code_fingerprint(make(2))
    p1 = functools.partial(max, 1)
    p2 = functools.partial(max, 2)
    assert code_fingerprint(p1) != code_fingerprint(p2)


def test_user_classes_and_global_arrays_are_covered() -> None:
    ns = {"__name__": "__main__", "WEIGHTS": np.arange(3.0)}
    _define(
        "class Scaler:\n    def apply(self, x):\n        return x * 2\n", ns, "Scaler"
    )
    f, _ = _define("def f(x):\n    return Scaler().apply(x) @ WEIGHTS\n", ns)
    before = code_fingerprint(f)
    _define(
        "class Scaler:\n    def apply(self, x):\n        return x * 3\n", ns, "Scaler"
    )
    after_class = code_fingerprint(f)
    assert after_class != before
    ns["WEIGHTS"] = np.arange(3.0) + 1
    assert code_fingerprint(f) != after_class


def test_third_party_code_is_identified_by_version_not_walked() -> None:
    ns = {"__name__": "__main__", "np": np, "sqrt": math.sqrt}
    f, _ = _define("def f(x):\n    return np.mean(x) + sqrt(4)\n", ns)
    code_fingerprint(f)
    assert not _is_user_module("numpy")
    assert not _is_user_module("math")
    assert _is_user_module("__main__")


def test_steps_and_plain_functions_share_a_fingerprint() -> None:
    def f(x):
        return x

    assert code_fingerprint(step(f)) == code_fingerprint(f)


def test_recursive_functions_terminate() -> None:
    ns = {"__name__": "__main__"}
    f, _ = _define("def f(n):\n    return 1 if n <= 1 else n * f(n - 1)\n", ns)
    assert code_fingerprint(f) == code_fingerprint(f)


def test_lambdas_hash_their_bytecode() -> None:
    assert code_fingerprint(lambda x: x + 1) != code_fingerprint(lambda x: x + 2)
    assert code_fingerprint(lambda x: x + 1) == code_fingerprint(lambda x: x + 1)


def test_class_docstrings_do_not_count() -> None:
    ns = {"__name__": "__main__"}
    _define("class C:\n    def m(self):\n        return 1\n", ns, "C")
    f, _ = _define("def f():\n    return C().m()\n", ns)
    before = code_fingerprint(f)
    _define(
        'class C:\n    """Documented."""\n    def m(self):\n        return 1\n', ns, "C"
    )
    assert code_fingerprint(f) == before
