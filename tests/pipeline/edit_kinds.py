"""Kinds of edit to user code that a step's result depends on (the stale-case matrix).

Each kind is a module whose step ``out(x)`` depends on an integer ``{v}`` through one
shape of user code. The *edit* either re-renders the module with another value
(a file edit, then a reload or a fresh import) or, for ``mutate`` kinds, runs a
statement against the imported module (a notebook mutating a global between runs).
A cache that returns the old result after the edit is stale.

Shared by ``tests/pipeline/test_code_identity.py`` and
``benchmarks/bench_pipeline.py --stale-matrix`` (which runs the same edits through
Hamilton's cache and ``joblib.Memory``).
"""

from __future__ import annotations

import dataclasses

__all__ = ["KINDS", "EditKind"]


@dataclasses.dataclass(frozen=True)
class EditKind:
    """One shape of user code; ``source`` is formatted with ``v`` (and ``hm``, ``path``)."""

    name: str
    source: str
    mutate: str | None = None  # a statement run on the module, formatted with ``w``
    helper: str | None = None  # a second user module ``{hm}``, formatted with ``v``
    uses_file: bool = False  # ``{path}`` holds ``v`` as text; the edit rewrites it


_DECO = """
import functools
def deco(fn):
    @functools.wraps(fn)
    def wrapper(x):
        return fn(x) + {v}
    return wrapper
"""

KINDS: tuple[EditKind, ...] = (
    EditKind("step body", "def out(x):\n    return x + {v}\n"),
    EditKind(
        "helper function",
        "def helper(x):\n    return x + {v}\n\ndef out(x):\n    return helper(x)\n",
    ),
    EditKind(
        "helper of a helper",
        "def leaf(x):\n    return x + {v}\n\ndef mid(x):\n    return leaf(x)\n\n"
        "def out(x):\n    return mid(x)\n",
    ),
    EditKind("module constant", "K = {v}\n\ndef out(x):\n    return x + K\n"),
    EditKind(
        "inherited method (MRO)",
        "class Base:\n    def f(self, x):\n        return x + {v}\n\n"
        "class Child(Base):\n    pass\n\ndef out(x):\n    return Child().f(x)\n",
    ),
    EditKind(
        "grandparent method (MRO, 3 levels)",
        "class Base:\n    def f(self, x):\n        return x + {v}\n\n"
        "class Mid(Base):\n    pass\n\nclass Child(Mid):\n    pass\n\n"
        "def out(x):\n    return Child().f(x)\n",
    ),
    EditKind(
        "method reached through super()",
        "class Base:\n    def f(self, x):\n        return x + {v}\n\n"
        "class Child(Base):\n    def f(self, x):\n        return super().f(x)\n\n"
        "def out(x):\n    return Child().f(x)\n",
    ),
    EditKind(
        "method of a module-level instance",
        "class Scaler:\n    def apply(self, x):\n        return x + {v}\n\n"
        "SCALER = Scaler()\n\ndef out(x):\n    return SCALER.apply(x)\n",
    ),
    EditKind(
        "data of a module-level instance",
        "class Scaler:\n    def __init__(self, k):\n        self.k = k\n\n"
        "    def apply(self, x):\n        return x + self.k\n\n"
        "SCALER = Scaler({v})\n\ndef out(x):\n    return SCALER.apply(x)\n",
    ),
    EditKind(
        "inherited method of a module-level instance",
        "class Base:\n    def apply(self, x):\n        return x + {v}\n\n"
        "class Scaler(Base):\n    pass\n\n"
        "SCALER = Scaler()\n\ndef out(x):\n    return SCALER.apply(x)\n",
    ),
    EditKind(
        "decorator body (functools.wraps)",
        _DECO + "\n@deco\ndef out(x):\n    return x\n",
    ),
    EditKind(
        "decorator factory argument",
        "import functools\n\ndef shift(k):\n    def deco(fn):\n"
        "        @functools.wraps(fn)\n        def wrapper(x):\n"
        "            return fn(x) + k\n        return wrapper\n    return deco\n\n"
        "@shift({v})\ndef out(x):\n    return x\n",
    ),
    EditKind(
        "decorated helper's decorator body",
        _DECO + "\n@deco\ndef helper(x):\n    return x\n\n"
        "def out(x):\n    return helper(x)\n",
    ),
    EditKind(
        "decorated method's decorator body",
        "import functools\n\ndef deco(fn):\n    @functools.wraps(fn)\n"
        "    def wrapper(self, x):\n        return fn(self, x) + {v}\n"
        "    return wrapper\n\nclass T:\n    @deco\n    def f(self, x):\n"
        "        return x\n\ndef out(x):\n    return T().f(x)\n",
    ),
    EditKind(
        "closure cell (a factory's argument)",
        "def make(k):\n    def out(x):\n        return x + k\n    return out\n\n"
        "out = make({v})\n",
    ),
    EditKind(
        "function held in a closure",
        "def leaf(x):\n    return x + {v}\n\ndef make(f):\n    def out(x):\n"
        "        return f(x)\n    return out\n\nout = make(leaf)\ndel leaf\n",
    ),
    EditKind(
        "partial's argument",
        "import functools\n\ndef add(x, k):\n    return x + k\n\n"
        "def out(x):\n    return functools.partial(add, k={v})(x)\n",
    ),
    EditKind(
        "function behind a module-level partial",
        "import functools\n\ndef add(x, k):\n    return x + k + {v}\n\n"
        "H = functools.partial(add, k=0)\n\ndef out(x):\n    return H(x)\n",
    ),
    EditKind(
        "function in a dict constant",
        "def h(x):\n    return x + {v}\n\nOPS = {{'h': h}}\n\n"
        "def out(x):\n    return OPS['h'](x)\n",
    ),
    EditKind(
        "function in a list constant",
        "def h(x):\n    return x + {v}\n\nOPS = [h]\n\ndef out(x):\n    return OPS[0](x)\n",
    ),
    EditKind(
        "function in a tuple constant",
        "def h(x):\n    return x + {v}\n\nOPS = (h,)\n\ndef out(x):\n    return OPS[0](x)\n",
    ),
    EditKind(
        "function as a helper's default argument",
        "def h(x):\n    return x + {v}\n\ndef helper(x, f=h):\n    return f(x)\n\n"
        "def out(x):\n    return helper(x)\n",
    ),
    EditKind(
        "helper's keyword-only default",
        "def helper(x, *, k={v}):\n    return x + k\n\n"
        "def out(x):\n    return helper(x)\n",
    ),
    EditKind(
        "nested class's method",
        "class Outer:\n    class Inner:\n        def f(self, x):\n"
        "            return x + {v}\n\ndef out(x):\n    return Outer.Inner().f(x)\n",
    ),
    EditKind(
        "module-level lambda",
        "SHIFT = lambda x: x + {v}  # noqa: E731\n\ndef out(x):\n    return SHIFT(x)\n",
    ),
    EditKind(
        "lambda in a list constant",
        "OPS = [lambda x: x + {v}]\n\ndef out(x):\n    return OPS[0](x)\n",
    ),
    EditKind(
        "staticmethod",
        "class T:\n    @staticmethod\n    def f(x):\n        return x + {v}\n\n"
        "def out(x):\n    return T.f(x)\n",
    ),
    EditKind(
        "classmethod",
        "class T:\n    @classmethod\n    def f(cls, x):\n        return x + {v}\n\n"
        "def out(x):\n    return T.f(x)\n",
    ),
    EditKind(
        "property getter",
        "class T:\n    @property\n    def k(self):\n        return {v}\n\n"
        "def out(x):\n    return x + T().k\n",
    ),
    EditKind(
        "second property's getter",
        "class T:\n    @property\n    def a(self):\n        return 0\n\n"
        "    @property\n    def b(self):\n        return {v}\n\n"
        "def out(x):\n    return x + T().a + T().b\n",
    ),
    EditKind(
        "class attribute",
        "class T:\n    K = {v}\n\n    def f(self, x):\n        return x + self.K\n\n"
        "def out(x):\n    return T().f(x)\n",
    ),
    EditKind(
        "__call__ of a callable instance",
        "class Adder:\n    def __call__(self, x):\n        return x + {v}\n\n"
        "ADD = Adder()\n\ndef out(x):\n    return ADD(x)\n",
    ),
    EditKind(
        "operator dunder method",
        "class V:\n    def __init__(self, x):\n        self.x = x\n\n"
        "    def __add__(self, other):\n        return self.x + other + {v}\n\n"
        "def out(x):\n    return V(x) + 0\n",
    ),
    EditKind(
        "attribute of another user module",
        "import {hm}\n\ndef out(x):\n    return {hm}.h(x)\n",
        helper="def h(x):\n    return x + {v}\n",
    ),
    EditKind(
        "name imported from another user module",
        "from {hm} import h\n\ndef out(x):\n    return h(x)\n",
        helper="def h(x):\n    return x + {v}\n",
    ),
    EditKind(
        "method of a module-level dict subclass",
        "class Table(dict):\n    def look(self, x):\n        return x + {v}\n\n"
        "TABLE = Table()\n\ndef out(x):\n    return TABLE.look(x)\n",
    ),
    EditKind(
        "config object attribute mutated",
        "class Config:\n    def __init__(self):\n        self.k = {v}\n\n"
        "CONFIG = Config()\n\ndef out(x):\n    return x + CONFIG.k\n",
        mutate="CONFIG.k = {w}",
    ),
    EditKind(
        "dataclass config mutated",
        "import dataclasses\n\n@dataclasses.dataclass\nclass Config:\n    k: int = {v}\n\n"
        "CONFIG = Config()\n\ndef out(x):\n    return x + CONFIG.k\n",
        mutate="CONFIG.k = {w}",
    ),
    EditKind(
        "nested config object mutated",
        "class Sub:\n    def __init__(self):\n        self.k = {v}\n\n"
        "class Config:\n    def __init__(self):\n        self.sub = Sub()\n\n"
        "CONFIG = Config()\n\ndef out(x):\n    return x + CONFIG.sub.k\n",
        mutate="CONFIG.sub.k = {w}",
    ),
    EditKind(
        "class attribute mutated",
        "class T:\n    K = {v}\n\ndef out(x):\n    return x + T.K\n",
        mutate="T.K = {w}",
    ),
    EditKind(
        "dict constant mutated in place",
        "CFG = {{'k': {v}}}\n\ndef out(x):\n    return x + CFG['k']\n",
        mutate="CFG['k'] = {w}",
    ),
    EditKind(
        "dict behind a bound builtin method mutated",
        "CFG = {{'k': {v}}}\nGET = CFG.get\n\ndef out(x):\n    return x + GET('k')\n",
        mutate="CFG['k'] = {w}",
    ),
    EditKind(
        "numpy array mutated in place",
        "import numpy as np\n\nW = np.array([{v}])\n\n"
        "def out(x):\n    return x + int(W[0])\n",
        mutate="W[0] = {w}",
    ),
    EditKind(
        "declared file input's content",
        "from mlopskit.pipeline import step\n\n@step(files=[{path!r}])\n"
        "def out(x):\n    with open({path!r}) as fh:\n        return x + int(fh.read())\n",
        uses_file=True,
    ),
)
