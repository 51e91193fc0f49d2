"""Content-hash caching: what invalidates a step, what does not, and the run store."""

from __future__ import annotations

import linecache
import textwrap
import threading
import uuid

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlopskit.errors import (
    RunNotFoundError,
    StepFailedError,
    UncacheableOutputError,
)
from mlopskit.pipeline import CacheWarning, Pipeline, list_runs, load_run, step
from mlopskit.versioning import ContentStore, fingerprint


@pytest.fixture
def cache() -> str:
    return f"memory://pipeline-{uuid.uuid4().hex}"


def _statuses(run) -> dict[str, str]:
    return {n: s.status for n, s in run.steps.items()}


class Counter:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, name: str) -> None:
        self.calls.append(name)


# Steps read the counter, so its state would be part of their keys (a module-level
# object mutated between runs must miss). A registered handler says what identifies
# an object: for a call log, nothing the outputs depend on.
fingerprint.register(Counter)(lambda counter: fingerprint("Counter"))


def _cell(ns: dict, source: str) -> None:
    """Run source as a notebook cell would: exec in the notebook's namespace.

    Like IPython, register the cell's text in ``linecache`` so that
    ``inspect.getsource`` finds it.
    """
    source = textwrap.dedent(source)
    filename = f"<cell {uuid.uuid4().hex}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), ns)


def test_edit_a_step_rerun_only_it_reruns(cache) -> None:
    """The notebook flow: define steps in cells, run, redefine one cell, run again."""
    calls = Counter()
    ns: dict = {"__name__": "__main__", "calls": calls}
    _cell(
        ns,
        """
        def raw():
            calls("raw")
            return list(range(10))

        def features(raw):
            calls("features")
            return [x * 2 for x in raw]

        def model(features):
            calls("model")
            return sum(features)
        """,
    )

    def pipeline():
        return Pipeline([ns["raw"], ns["features"], ns["model"]])

    first = pipeline().run(cache=cache)
    assert _statuses(first) == {"raw": "ran", "features": "ran", "model": "ran"}
    assert first.outputs == {"model": 90}

    calls.calls.clear()
    again = pipeline().run(cache=cache)
    assert _statuses(again) == {
        "raw": "cached",
        "features": "cached",
        "model": "cached",
    }
    assert again.outputs == {"model": 90}
    assert calls.calls == []

    # Edit the features cell: only a docstring and a comment. Nothing re-runs.
    _cell(
        ns,
        '''
        def features(raw):
            """Doubled values."""
            calls("features")  # count the call
            return [x * 2 for x in raw]
        ''',
    )
    assert _statuses(pipeline().run(cache=cache))["features"] == "cached"

    # A real edit: features and its dependent re-run, raw stays cached.
    _cell(
        ns,
        """
        def features(raw):
            calls("features")
            return [x * 3 for x in raw]
        """,
    )
    calls.calls.clear()
    edited = pipeline().run(cache=cache)
    assert _statuses(edited) == {"raw": "cached", "features": "ran", "model": "ran"}
    assert edited.outputs == {"model": 135}
    assert calls.calls == ["features", "model"]
    # The record says why each step re-ran.
    assert first.steps["raw"].reason == "no cache entry (first run of this step)"
    assert edited.steps["features"].reason == "code changed"
    assert edited.steps["model"].reason == "input changed: features"
    assert edited.steps["raw"].reason == "cache hit"


def test_an_edit_that_keeps_the_output_stops_the_invalidation(cache) -> None:
    ns: dict = {"__name__": "__main__"}
    _cell(ns, "def a():\n    return [1, 2]\ndef b(a):\n    return sum(a)\n")
    Pipeline([ns["a"], ns["b"]]).run(cache=cache)
    _cell(ns, "def a():\n    return [1] + [2]\n")  # new code, same output
    run = Pipeline([ns["a"], ns["b"]]).run(cache=cache)
    assert _statuses(run) == {"a": "ran", "b": "cached"}


def test_editing_a_helper_invalidates_the_step(cache) -> None:
    ns: dict = {"__name__": "__main__"}
    _cell(
        ns,
        """
        SCALE = 2
        def scale(x):
            return x * SCALE
        def out(x):
            return scale(x)
        """,
    )
    assert Pipeline([ns["out"]]).run({"x": 1}, cache=cache).outputs == {"out": 2}
    assert _statuses(Pipeline([ns["out"]]).run({"x": 1}, cache=cache)) == {
        "out": "cached"
    }
    _cell(ns, "def scale(x):\n    return x * SCALE + 1\n")
    run = Pipeline([ns["out"]]).run({"x": 1}, cache=cache)
    assert _statuses(run) == {"out": "ran"}
    assert run.outputs == {"out": 3}
    ns["SCALE"] = 10
    run = Pipeline([ns["out"]]).run({"x": 1}, cache=cache)
    assert _statuses(run) == {"out": "ran"}
    assert run.outputs == {"out": 11}


@pytest.mark.parametrize(
    "values",
    [
        (1, 1.0, "1", True),
        (
            np.zeros(4, dtype=np.int64),
            np.zeros((2, 2), dtype=np.int64),
            np.zeros(8, dtype=np.int32),
        ),
        (pd.DataFrame({"a": [1]}), pd.DataFrame({"b": [1]})),
    ],
)
def test_inputs_are_keyed_with_their_types(cache, values) -> None:
    def echo(x):
        return repr(x)

    pipe = Pipeline([echo])
    keys = set()
    for value in values:
        run = pipe.run({"x": value}, cache=cache)
        assert run.steps["echo"].status == "ran", value
        keys.add(run.steps["echo"].cache_key)
    assert len(keys) == len(values)
    assert pipe.run({"x": values[0]}, cache=cache).steps["echo"].status == "cached"


def test_configuration_and_version_are_in_the_key(cache) -> None:
    def scaled(x, factor=2):
        return x * factor

    pipe = Pipeline([scaled])
    assert pipe.run({"x": 1}, cache=cache).steps["scaled"].status == "ran"
    assert pipe.run({"x": 1}, cache=cache).steps["scaled"].status == "cached"
    run = pipe.run({"x": 1, "factor": 3}, cache=cache)
    assert run.steps["scaled"].status == "ran"
    assert run.outputs == {"scaled": 3}
    assert run.steps["scaled"].reason == "input changed: factor"
    bumped = Pipeline([step(scaled, version="2")])
    rerun = bumped.run({"x": 1}, cache=cache)
    assert rerun.steps["scaled"].status == "ran"
    assert rerun.steps["scaled"].reason == "version changed (None → '2')"
    assert bumped.run({"x": 1}, cache=cache).steps["scaled"].status == "cached"


def test_force_reruns_named_steps(cache) -> None:
    def a():
        return 1

    def b(a):
        return a + 1

    pipe = Pipeline([a, b])
    pipe.run(cache=cache)
    run = pipe.run(cache=cache, force=["a"])
    assert _statuses(run) == {"a": "ran", "b": "cached"}
    assert run.steps["a"].reason == "forced"


def test_unstorable_output_fails_the_step_with_a_clear_error(cache) -> None:
    def connection():
        return threading.Lock()

    def uses(connection):
        return "used"

    run = Pipeline([connection, uses]).run(cache=cache)
    rec = run.steps["connection"]
    assert rec.status == "failed"
    assert rec.error_type == "mlopskit.errors.UncacheableOutputError"
    assert "Step 'connection' returned a _thread.lock" in rec.error_message
    assert "cache=False" in rec.error_message
    with pytest.raises(StepFailedError) as err:
        run.raise_for_status()
    assert isinstance(err.value.__cause__, UncacheableOutputError)

    fixed = Pipeline([step(connection, cache=False), uses])
    with pytest.warns(CacheWarning, match="uses: runs uncached: no digest for"):
        run = fixed.run(cache=cache)
    assert run.ok
    assert run.steps["connection"].cache_key is None
    assert run.steps["uses"].status == "ran"  # no digest for its input: uncached
    assert "neither fingerprinted nor pickled" in run.steps["uses"].notes[0]
    with pytest.warns(CacheWarning):
        assert fixed.run(cache=cache).steps["uses"].status == "ran"


def test_lineage_is_recorded_and_runs_are_listable(cache) -> None:
    def data(n):
        return np.arange(n)

    def total(data):
        return int(data.sum())

    pipe = Pipeline([data, total], name="lineage")
    first = pipe.run({"n": 4}, cache=cache)
    second = pipe.run({"n": 4}, cache=cache)
    rec = first.steps["total"]
    assert rec.input_digests["data"] == first.steps["data"].output_digest
    assert rec.code_fingerprint
    assert rec.cache_key
    assert rec.output_digest
    assert first.inputs["n"].startswith("obj-v1:")
    assert second.steps["total"].output_digest == rec.output_digest

    runs = pipe.runs(cache)
    assert [r.run_id for r in runs] == [first.run_id, second.run_id]
    assert runs[0] == first
    assert runs[0].outputs == {}
    assert load_run(cache, second.run_id).load("total", cache) == 6
    assert list_runs(cache, pipeline="other") == ()
    with pytest.raises(RunNotFoundError, match="No run 'nope'"):
        load_run(cache, "nope")


def test_runs_are_seen_by_a_fresh_process_state(tmp_path) -> None:
    """A second store object over the same folder (another process, a teammate)."""
    from mlopskit.pipeline import _store

    def a():
        return 41

    def b(a):
        return a + 1

    url = str(tmp_path / "store")
    Pipeline([a, b]).run(cache=url)
    _store._INDEXES.clear()
    _store._STORES.clear()
    run = Pipeline([a, b]).run(cache=ContentStore(url))
    assert _statuses(run) == {"a": "cached", "b": "cached"}
    assert run.outputs == {"b": 42}
    assert len(list_runs(url)) == 2


def test_a_lost_cache_object_is_recomputed(cache) -> None:
    calls = Counter()

    def a():
        calls("a")
        return [1, 2, 3]

    def b(a):
        calls("b")
        return len(a)

    def c(b, x):
        return b + x

    pipe = Pipeline([a, b, c])
    first = pipe.run({"x": 0}, cache=cache)
    store = ContentStore(cache)
    store.fs.rm_file(store._path(first.steps["b"].output_digest))
    calls.calls.clear()
    run = pipe.run({"x": 1}, cache=cache)
    assert run.outputs == {"c": 4}
    assert run.steps["b"].status == "ran"
    assert run.steps["b"].reason == "cache entry unreadable: recomputed"
    assert calls.calls == ["b"]


def test_cached_steps_are_loaded_lazily(cache) -> None:
    loads: list[str] = []
    store = ContentStore(cache)
    original = store.get

    def spying_get(digest, **options):
        loads.append(digest)
        return original(digest, **options)

    store.get = spying_get  # type: ignore[method-assign]

    def a():
        return 1

    def b(a):
        return a + 1

    def c(b):
        return b + 1

    pipe = Pipeline([a, b, c])
    pipe.run(cache=store)
    run = pipe.run(cache=store)
    assert _statuses(run) == {"a": "cached", "b": "cached", "c": "cached"}
    assert loads == [run.steps["c"].output_digest]  # only the target was loaded


def test_bad_cache_argument() -> None:
    from mlopskit.errors import InvalidParameterError

    def a():
        return 1

    with pytest.raises(InvalidParameterError, match="`cache` must be None"):
        Pipeline([a]).run(cache=42)


@pytest.mark.s3
def test_cache_shared_on_s3(s3_storage) -> None:
    options = s3_storage["storage_options"]
    url = f"s3://{s3_storage['bucket']}/cache"

    def a():
        return np.arange(5)

    def b(a):
        return float(a.mean())

    first = Pipeline([a, b]).run(cache=ContentStore(url, **options))
    assert first.outputs == {"b": 2.0}
    from mlopskit.pipeline import _store

    _store._INDEXES.clear()  # as a teammate's process would see the bucket
    again = Pipeline([a, b]).run(cache=ContentStore(url, **options))
    assert _statuses(again) == {"a": "cached", "b": "cached"}
    assert again.outputs == {"b": 2.0}
    assert [r.run_id for r in list_runs(ContentStore(url, **options))] == [
        first.run_id,
        again.run_id,
    ]


_scalars = st.one_of(
    st.integers(-3, 3),
    st.floats(-3, 3, allow_nan=False),
    st.booleans(),
    st.text(max_size=3),
    st.none(),
)


@settings(max_examples=40, deadline=None)
@given(a=_scalars, b=_scalars)
def test_cache_keys_differ_exactly_when_typed_inputs_differ(a, b) -> None:
    """Two inputs share a key iff they have the same type and value (1 != 1.0 != True)."""

    def echo(x):
        return x

    cache = f"memory://pipeline-prop-{uuid.uuid4().hex}"
    pipe = Pipeline([echo])
    key_a = pipe.run({"x": a}, cache=cache).steps["echo"].cache_key
    run_b = pipe.run({"x": b}, cache=cache)
    same = type(a) is type(b) and (a == b or (a != a and b != b))
    assert (run_b.steps["echo"].cache_key == key_a) == same
    assert run_b.steps["echo"].status == ("cached" if same else "ran")
    assert run_b.outputs["echo"] == b or b != b


def test_processes_executor_shares_the_cache(cache) -> None:
    def a():
        return np.arange(3)

    def b(a):
        return int(a.sum())

    pipe = Pipeline([a, b])
    first = pipe.run(cache=cache, executor="processes")
    assert first.outputs == {"b": 3}
    assert _statuses(pipe.run(cache=cache, executor="threads")) == {
        "a": "cached",
        "b": "cached",
    }


def test_a_failing_code_fingerprint_runs_the_step_uncached(cache, monkeypatch) -> None:
    from mlopskit.pipeline import _execute

    def broken(func):
        raise RuntimeError("odd code object")

    monkeypatch.setattr(_execute, "code_identity", broken)

    def a():
        return 1

    pipe = Pipeline([a])
    for _ in range(2):
        with pytest.warns(CacheWarning, match="code fingerprint failed"):
            run = pipe.run(cache=cache)
        assert run.steps["a"].status == "ran"
        assert run.steps["a"].cache_key is None
        assert "code fingerprint failed" in run.steps["a"].reason


def test_a_storage_failure_fails_the_step_with_the_store_error(cache) -> None:
    from mlopskit.errors import StoreError

    store = ContentStore(cache)

    def failing_put(obj, **options):
        raise StoreError("bucket is read-only", url=cache)

    store.put = failing_put  # type: ignore[method-assign]

    def a():
        return 1

    rec = Pipeline([a]).run(cache=store).steps["a"]
    assert rec.status == "failed"
    assert rec.error_type == "mlopskit.errors.StoreError"
    assert rec.error_message == "bucket is read-only"
