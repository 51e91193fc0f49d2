"""Per-step commit: an interrupted run keeps every finished step cached."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from mlopskit.pipeline import Pipeline
from mlopskit.versioning import ContentStore

_STEPS = """
import threading
from pathlib import Path


def a(n):
    return list(range(n))


def b(a):
    return [x * 2 for x in a]


def c(b, marker, mode):
    if mode == "interrupt":
        raise KeyboardInterrupt
    if mode == "fail":
        raise RuntimeError("step c broke")
    if mode == "block":  # the child process: tell the parent, then wait to be killed
        Path(marker).write_text("in c")
        threading.Event().wait()
    return sum(b)


def d(c):
    return c + 1
"""


@pytest.fixture
def steps(tmp_path, monkeypatch):
    """The steps as an importable module (a child process imports the same code)."""
    name = f"resume_steps_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(_STEPS))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(name)
    yield module
    sys.modules.pop(name, None)


def _pipe(mod) -> Pipeline:
    return Pipeline([mod.a, mod.b, mod.c, mod.d], name="resume")


def _inputs(marker: str, mode: str) -> dict:
    return {"n": 5, "marker": marker, "mode": mode}


@pytest.mark.parametrize("mode", ["interrupt", "fail"])
def test_steps_before_an_interrupt_or_a_failure_stay_cached(steps, tmp_path, mode):
    cache = f"memory://resume-{uuid.uuid4().hex}"
    marker = str(tmp_path / "marker")
    if mode == "interrupt":
        with pytest.raises(KeyboardInterrupt):
            _pipe(steps).run(_inputs(marker, mode), cache=cache)
    else:
        assert _pipe(steps).run(_inputs(marker, mode), cache=cache).failed == ("c",)
    run = _pipe(steps).run(_inputs(marker, "ok"), cache=cache)
    statuses = {n: s.status for n, s in run.steps.items()}
    assert statuses == {"a": "cached", "b": "cached", "c": "ran", "d": "ran"}
    assert run.outputs == {"d": sum(x * 2 for x in range(5)) + 1}


def test_steps_before_a_sigkill_stay_cached(steps, tmp_path):
    store_dir = tmp_path / "store"
    marker = tmp_path / "marker"
    child = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import {steps.__name__} as mod
        from mlopskit.pipeline import Pipeline
        Pipeline([mod.a, mod.b, mod.c, mod.d], name="resume").run(
            {{"n": 5, "marker": {str(marker)!r}, "mode": "block"}},
            cache={str(store_dir)!r},
        )
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", child], env=env)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():  # the child is inside step c: a and b are done
            assert proc.poll() is None, "the child exited before reaching step c"
            assert time.monotonic() < deadline, "the child never reached step c"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    run = _pipe(steps).run(
        _inputs(str(marker), "ok"), cache=ContentStore(str(store_dir))
    )
    statuses = {n: s.status for n, s in run.steps.items()}
    assert statuses == {"a": "cached", "b": "cached", "c": "ran", "d": "ran"}
    assert run.outputs == {"d": 21}


def test_a_torn_index_file_is_ignored(steps, tmp_path):
    """A crash mid-write on a backend without atomic writes leaves a partial file."""
    store = ContentStore(str(tmp_path / "store"))
    index = tmp_path / "store" / "pipeline-index"
    index.mkdir(parents=True)
    (index / "20260101T000000000000Z-deadbeef-s00001.json").write_text('{"entr')
    run = _pipe(steps).run(_inputs("unused", "ok"), cache=store)
    assert run.ok
