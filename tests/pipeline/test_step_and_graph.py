"""Steps, wiring and build-time validation of the graph."""

from __future__ import annotations

import pickle

import pytest

from mlopskit.errors import InvalidParameterError, PipelineDefinitionError
from mlopskit.pipeline import Pipeline, Step, step


def load(path):
    return [1, 2, 3, path]


def clean(load, threshold=1):
    return [x for x in load if isinstance(x, int) and x > threshold]


def total(clean):
    return sum(clean)


def test_step_stays_callable_and_keeps_metadata() -> None:
    s = step(total)
    assert isinstance(s, Step)
    assert s([1, 2]) == 3
    assert s.name == "total"
    assert s.__doc__ == total.__doc__
    assert s.params == ("clean",)


def test_decorator_with_and_without_arguments() -> None:
    @step
    def a(x):
        return x

    @step(name="b2", version=3, retries=1, retry_delay=0.5, cache=False)
    def b(a):
        return a

    assert a.name == "a"
    assert (b.name, b.version, b.retries, b.retry_delay, b.cache) == (
        "b2",
        "3",
        1,
        0.5,
        False,
    )


def test_step_of_a_step_derives_a_renamed_copy() -> None:
    base = step(clean, version="1")
    other = step(base, name="clean_again", inputs={"load": "other_source"})
    assert other.name == "clean_again"
    assert other.version == "1"
    assert other.sources == {"load": "other_source", "threshold": "threshold"}
    assert base.sources["load"] == "load"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"retries": -1}, "`retries` must be an integer >= 0. Got -1"),
        ({"retries": 1.5}, "`retries` must be an integer"),
        ({"retry_delay": -2}, "`retry_delay` must be a number of seconds >= 0"),
    ],
)
def test_bad_step_options(kwargs, match) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        step(total, **kwargs)


def test_unwirable_signatures_are_refused() -> None:
    def star(*args):
        return args

    with pytest.raises(PipelineDefinitionError, match="'args' is variadic positional"):
        step(star)
    with pytest.raises(PipelineDefinitionError, match="no usable __name__"):
        step(lambda x: x)
    with pytest.raises(PipelineDefinitionError, match=r"inputs= maps \['nope'\]"):
        step(total, inputs={"nope": "x"})
    with pytest.raises(InvalidParameterError, match="needs a callable"):
        step(42)  # type: ignore[call-overload]


def test_plain_functions_are_wired_by_parameter_name() -> None:
    pipe = Pipeline([total, clean, load])
    assert pipe.order == ("load", "clean", "total")
    assert pipe.inputs == ("path",)
    assert pipe.config == ("threshold",)
    assert pipe.upstream["total"] == ("clean",)
    run = pipe.run({"path": 10})
    assert run.outputs == {"total": 15}


def test_configuration_is_overridable_through_inputs() -> None:
    pipe = Pipeline([load, clean, total])
    assert pipe.run({"path": 10}).outputs["total"] == 2 + 3 + 10
    assert pipe.run({"path": 10, "threshold": 2}).outputs["total"] == 3 + 10


def test_explicit_mapping_overrides_the_source() -> None:
    def raw():
        return [5, 6]

    pipe = Pipeline([raw, step(clean, inputs={"load": "raw"}), total])
    assert pipe.upstream["clean"] == ("raw",)
    assert pipe.run().outputs == {"total": 11}


def test_duplicate_names_are_refused_with_a_fix() -> None:
    with pytest.raises(
        PipelineDefinitionError, match="Two steps are named 'total'"
    ) as e:
        Pipeline([total, step(clean, name="total")])
    assert "step(func, name='...')" in str(e.value)
    assert e.value.step == "total"


def test_cycle_is_reported_with_its_path() -> None:
    def a(c):
        return c

    def b(a):
        return a

    def c(b):
        return b

    with pytest.raises(PipelineDefinitionError, match="Steps form a cycle") as e:
        Pipeline([a, b, c])
    cycle = e.value.cycle
    assert cycle[0] == cycle[-1]
    assert set(cycle) == {"a", "b", "c"}
    assert " → ".join(cycle) in str(e.value)


def test_missing_input_at_build_time_when_inputs_are_declared() -> None:
    with pytest.raises(PipelineDefinitionError, match="Step 'load' needs 'path'") as e:
        Pipeline([load, clean, total], inputs=["paht"])
    assert "run(inputs={'path': ...})" in str(e.value)
    assert e.value.step == "load"
    Pipeline([load, clean, total], inputs=["path"])  # declared: builds


def test_missing_input_at_run_time_names_the_step() -> None:
    pipe = Pipeline([load, clean, total])
    with pytest.raises(PipelineDefinitionError, match="Step 'load' needs 'path'"):
        pipe.run()


def test_unknown_input_target_and_force_are_refused() -> None:
    pipe = Pipeline([load, clean, total])
    with pytest.raises(PipelineDefinitionError, match="Input 'pth' is read by no step"):
        pipe.run({"path": 1, "pth": 2})
    with pytest.raises(PipelineDefinitionError, match="is the name of a step"):
        pipe.run({"path": 1, "clean": 2})
    with pytest.raises(PipelineDefinitionError, match="Did you mean 'total'"):
        pipe.run({"path": 1}, targets=["totl"])
    with pytest.raises(PipelineDefinitionError, match=r"force= names \['nope'\]"):
        pipe.run({"path": 1}, force=["nope"])


def test_empty_pipeline_is_refused() -> None:
    with pytest.raises(PipelineDefinitionError, match="at least one step"):
        Pipeline([])


def test_targets_compute_only_what_they_need() -> None:
    calls: list[str] = []

    def a():
        calls.append("a")
        return 1

    def b(a):
        calls.append("b")
        return a + 1

    def c():
        calls.append("c")
        return 10

    pipe = Pipeline([a, b, c])
    assert pipe.sinks() == ("b", "c")
    run = pipe.run(targets=["a"])
    assert calls == ["a"]
    assert run.outputs == {"a": 1}
    assert list(run.steps) == ["a"]
    assert pipe.needed(["b"]) == ("a", "b")


def test_default_targets_are_checked_when_built() -> None:
    with pytest.raises(PipelineDefinitionError, match="Unknown target 'claen'") as e:
        Pipeline([load, clean, total], targets=["claen"])
    assert "Did you mean 'clean'" in str(e.value)
    pipe = Pipeline([load, clean, total], targets=["clean"])
    run = pipe.run({"path": 10})
    assert list(run.outputs) == ["clean"]
    assert list(run.steps) == ["load", "clean"]
    assert list(pipe.run({"path": 10}, targets=["total"]).outputs) == ["total"]


def test_to_dot_and_to_mermaid_show_every_edge() -> None:
    pipe = Pipeline([load, step(clean, inputs={"load": "load"}), total])
    dot = pipe.to_dot()
    assert '"path" [shape=ellipse];' in dot
    assert '"load" -> "clean";' in dot
    assert '"clean" -> "total";' in dot
    mermaid = pipe.to_mermaid().splitlines()
    assert mermaid[0] == "flowchart LR"
    assert "    s0 --> s1" in mermaid
    assert "    i0 --> s0" in mermaid


def test_mapped_edges_are_labelled() -> None:
    def raw():
        return [1]

    pipe = Pipeline([raw, step(clean, inputs={"load": "raw"})])
    assert '"raw" -> "clean" [label="load"];' in pipe.to_dot()
    assert "s0 -->|load| s1" in pipe.to_mermaid()


def test_notebook_display_falls_back_to_text() -> None:
    pipe = Pipeline([load, clean, total])
    shown = pipe._repr_html_()
    assert ("<svg" in shown) or ("flowchart LR" in shown and "<pre>" in shown)


def test_steps_pickle() -> None:
    s = step(total, version="2")
    back = pickle.loads(pickle.dumps(s))
    assert back([1, 2]) == 3
    assert back.version == "2"
