"""Complete code identity: every edit of user code a step depends on is a cache miss.

A module is generated from one of the edit kinds (``edit_kinds.py``), written to a
temporary folder and imported; the pipeline runs with a cache; the module is edited
(rewritten and reloaded in this process, or imported afresh as a new process would)
or a global is mutated; the next run must re-run the step and return the new value.
The unedited module, re-run, must be a hit.
"""

from __future__ import annotations

import importlib
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.pipeline.edit_kinds import KINDS, EditKind

from mlopskit.pipeline import Pipeline, Step, _code, step

# Every kind is a test case; hypothesis draws the values and the way of editing.
_SETTINGS = settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
_KINDS = pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])


class _Module:
    """A generated user module (and its helper module) on disk, importable."""

    def __init__(self, folder: Path, kind: EditKind, v: int) -> None:
        self.folder = folder
        self.kind = kind
        tag = uuid.uuid4().hex[:10]
        self.name = f"gen_{tag}"
        self.hm = f"gen_helper_{tag}"
        self.path = str(folder / f"{tag}.txt")
        self.write(v)
        self.module = importlib.import_module(self.name)

    def write(self, v: int) -> None:
        kind = self.kind
        if kind.helper is not None:
            (self.folder / f"{self.hm}.py").write_text(kind.helper.format(v=v))
        if kind.uses_file:
            Path(self.path).write_text(str(v))
        text = kind.source.format(v=v, hm=self.hm, path=self.path)
        (self.folder / f"{self.name}.py").write_text(text)
        importlib.invalidate_caches()

    def edit(self, w: int, how: str) -> None:
        if self.kind.mutate is not None:
            exec(self.kind.mutate.format(w=w), self.module.__dict__)
            return
        if self.kind.uses_file:
            Path(self.path).write_text(str(w))
            return
        self.write(w)
        if how == "reload":
            if self.kind.helper is not None:
                importlib.reload(sys.modules[self.hm])
            self.module = importlib.reload(self.module)
        else:  # a fresh process: nothing memoised, modules imported anew
            sys.modules.pop(self.name, None)
            sys.modules.pop(self.hm, None)
            _forget_memos()
            self.module = importlib.import_module(self.name)

    def pipeline(self) -> Pipeline:
        out = self.module.out
        return Pipeline([out if isinstance(out, Step) else step(out, name="out")])


def _forget_memos() -> None:
    _code._OWN.clear()
    _code._FULL.clear()


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    return tmp_path


def _run(pipe: Pipeline, cache: str) -> Any:
    return pipe.run({"x": 1}, cache=cache)


@_KINDS
@_SETTINGS
@given(
    v=st.integers(-50, 50),
    delta=st.integers(1, 50),
    how=st.sampled_from(["reload", "fresh"]),
)
def test_every_edit_kind_is_a_miss(user_dir, kind, v, delta, how) -> None:
    mod = _Module(user_dir, kind, v)
    cache = f"memory://identity-{uuid.uuid4().hex}"
    first = _run(mod.pipeline(), cache)
    assert first.steps["out"].status == "ran"
    assert first.outputs["out"] == 1 + v
    mod.edit(v + delta, how)
    second = _run(mod.pipeline(), cache)
    assert second.steps["out"].status == "ran", (kind.name, second.steps["out"])
    assert second.outputs["out"] == 1 + v + delta


@_KINDS
@_SETTINGS
@given(
    v=st.integers(-50, 50),
    how=st.sampled_from(["same process", "reload", "fresh"]),
)
def test_unedited_module_is_a_hit(user_dir, kind, v, how) -> None:
    mod = _Module(user_dir, kind, v)
    cache = f"memory://identity-{uuid.uuid4().hex}"
    assert _run(mod.pipeline(), cache).steps["out"].status == "ran"
    if how == "reload":
        mod.write(v)
        if kind.helper is not None:
            importlib.reload(sys.modules[mod.hm])
        mod.module = importlib.reload(mod.module)
    elif how == "fresh":
        sys.modules.pop(mod.name, None)
        sys.modules.pop(mod.hm, None)
        _forget_memos()
        mod.module = importlib.import_module(mod.name)
    again = _run(mod.pipeline(), cache)
    assert again.steps["out"].status == "cached", (kind.name, again.steps["out"])
    assert again.outputs["out"] == 1 + v


def test_the_matrix_has_at_least_29_kinds() -> None:
    assert len({k.name for k in KINDS}) == len(KINDS) >= 29
