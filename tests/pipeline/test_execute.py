"""Running pipelines: executors, failures, retries, fail_fast, contracts, progress."""

from __future__ import annotations

import concurrent.futures as cf
import gc
import pickle
import weakref

import pandas as pd
import pytest

from mlopskit.errors import (
    InvalidParameterError,
    MlopsKitError,
    SchemaValidationError,
    StepFailedError,
)
from mlopskit.pipeline import Pipeline, Run, step


class FlakyError(MlopsKitError, OSError):
    """A picklable error with context, as a step doing I/O might raise."""


def source():
    return 3


def left(source):
    return source * 2


def right(source):
    return source + 1


def broken(source):
    raise FlakyError("disk on fire", path="/data/x.csv")


def after_broken(broken):
    return broken


def join(left, right):
    return left + right


def _pipe() -> Pipeline:
    return Pipeline([source, left, right, broken, after_broken, join])


@pytest.mark.parametrize("executor", ["sequential", "threads", "processes"])
def test_failure_is_recorded_dependents_skipped_branches_finish(executor) -> None:
    run = _pipe().run(executor=executor)
    assert run.executor == executor
    statuses = {n: s.status for n, s in run.steps.items()}
    assert statuses == {
        "source": "ran",
        "left": "ran",
        "right": "ran",
        "broken": "failed",
        "after_broken": "skipped",
        "join": "ran",
    }
    assert run.outputs == {"join": 10}
    assert not run.ok
    assert run.failed == ("broken",)
    rec = run.steps["broken"]
    assert rec.error_type == f"{__name__}.FlakyError"
    assert rec.error_message == "disk on fire"
    assert "raise FlakyError" in rec.error_traceback
    assert run.steps["after_broken"].reason == "upstream step 'broken' failed"
    with pytest.raises(StepFailedError, match="Step 'broken' failed") as err:
        run.raise_for_status()
    assert err.value.run is run
    assert err.value.step == "broken"
    cause = err.value.__cause__
    assert isinstance(cause, FlakyError)
    assert cause.path == "/data/x.csv"


def test_step_failed_error_pickles_with_its_run() -> None:
    run = _pipe().run()
    with pytest.raises(StepFailedError) as err:
        run.raise_for_status()
    back = pickle.loads(pickle.dumps(err.value))
    assert back.run == run
    assert back.step == "broken"


def test_fail_fast_stops_submitting() -> None:
    def first():
        raise ValueError("stop")

    def second(first):
        return first

    def independent():
        return 1

    run = Pipeline([first, second, independent]).run(fail_fast=True)
    assert run.steps["first"].status == "failed"
    assert run.steps["independent"].status == "skipped"
    assert "fail_fast" in run.steps["independent"].reason
    assert Pipeline([first, second, independent]).run().steps["independent"].status == (
        "ran"
    )


def test_retries_rerun_a_flaky_step() -> None:
    attempts: list[int] = []

    @step(retries=2, retry_delay=0.001)
    def flaky():
        attempts.append(1)
        if len(attempts) < 3:
            raise OSError("timeout")
        return "ok"

    run = Pipeline([flaky]).run()
    assert run.outputs == {"flaky": "ok"}
    assert run.steps["flaky"].attempts == 3

    attempts.clear()
    once = Pipeline([step(flaky, retries=1)]).run()
    assert once.steps["flaky"].status == "failed"
    assert once.steps["flaky"].attempts == 2


def test_raise_for_status_returns_an_ok_run() -> None:
    run = Pipeline([source, left]).run()
    assert run.raise_for_status() is run


def test_any_concurrent_futures_executor() -> None:
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        run = _pipe().run(executor=pool, targets=["join"])
    assert run.outputs == {"join": 10}
    assert run.executor == "ThreadPoolExecutor"


def test_unknown_executor_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="`executor` must be"):
        _pipe().run(executor="gpu")


def test_unpicklable_exception_from_a_process_travels_as_text() -> None:
    class Local(Exception):  # defined in a function: plain pickle cannot load it
        pass

    def bad():
        raise Local("local")

    run = Pipeline([bad]).run(executor="processes")
    rec = run.steps["bad"]
    assert rec.status == "failed"
    assert rec.error_message == "local"
    # The traceback names the step's frame and the exception; its source lines are
    # not asserted: cloudpickle >= 3.1.3 rebuilds code objects under "<dynamic-code>",
    # so the worker has no source to print.
    assert "in bad\n" in rec.error_traceback
    assert rec.error_traceback.rstrip().endswith("Local: local")
    with pytest.raises(StepFailedError, match=r"failed with .*Local: local"):
        run.raise_for_status()


def test_unpicklable_exception_from_a_thread_is_kept() -> None:
    class Local(Exception):  # defined in a function: cannot be pickled by name
        pass

    def bad():
        raise Local("local")

    run = Pipeline([bad]).run(executor="threads")
    assert run.steps["bad"].error_message == "local"
    back = pickle.loads(pickle.dumps(run))  # the record pickles, the exception stays
    assert back == run
    with pytest.raises(StepFailedError) as err:
        back.raise_for_status()
    assert err.value.__cause__ is None
    with pytest.raises(StepFailedError) as err:
        run.raise_for_status()
    assert isinstance(err.value.__cause__, Local)


def test_progress_prints_one_line_per_step(capsys) -> None:
    _pipe().run(progress=True)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 6
    assert lines[0].startswith("[1/6] source ran")
    assert any("broken failed" in line and "disk on fire" in line for line in lines)
    _pipe().run()
    assert capsys.readouterr().err == ""


def test_run_record_round_trips_through_json_without_outputs() -> None:
    run = _pipe().run()
    text = run.to_json()
    assert "outputs" not in text
    back = Run.from_json(text)
    assert back == run
    assert back.outputs == {}
    assert back.steps["broken"].error_type == run.steps["broken"].error_type
    frame = run.to_frame()
    assert list(frame["status"]) == [s.status for s in run.steps.values()]
    assert "<table" in run._repr_html_()
    assert "failed=1" in repr(run)


class _Report:
    def __init__(self, ok: bool, text: str) -> None:
        self.ok = ok
        self.text = text

    def __str__(self) -> str:
        return self.text


class _MinRows:
    """A test double with the schema duck type: validate(df) -> report with .ok."""

    def __init__(self, n: int) -> None:
        self.n = n

    def validate(self, df):
        return _Report(len(df) >= self.n, f"expected >= {self.n} rows, got {len(df)}")


def test_contracts_fail_the_step_with_the_report() -> None:
    def frame():
        return pd.DataFrame({"a": [1, 2]})

    @step(input_schema=_MinRows(3))
    def model(frame):
        return frame

    @step(output_schema=_MinRows(2))
    def summary(frame):
        return frame.head(1)

    run = Pipeline([frame, model, summary]).run()
    assert run.steps["model"].status == "failed"
    assert run.steps["model"].error_type == "mlopskit.errors.SchemaValidationError"
    assert (
        "input 'frame' failed its schema contract" in run.steps["model"].error_message
    )
    assert "expected >= 3 rows, got 2" in run.steps["model"].error_message
    assert run.steps["summary"].status == "failed"
    assert "its output" in run.steps["summary"].error_message
    with pytest.raises(StepFailedError) as err:
        run.raise_for_status()
    assert isinstance(err.value.__cause__, SchemaValidationError)
    assert err.value.__cause__.report.ok is False

    ok = Pipeline([frame, step(model, input_schema={"frame": _MinRows(1)})]).run()
    assert ok.ok


class _Blob:
    """A weak-referenceable value, to see when the pipeline lets go of it."""


@pytest.mark.parametrize("executor", ["sequential", "threads"])
def test_intermediate_values_are_released_once_read(executor) -> None:
    refs: list[weakref.ref] = []

    def a():
        blob = _Blob()
        refs.append(weakref.ref(blob))
        return blob

    def b(a):
        return 1

    def c(b):
        gc.collect()
        return refs[-1]() is None  # a's value is gone: its only reader has run

    run = Pipeline([a, b, c]).run(executor=executor)
    assert run.outputs == {"c": True}
    kept = Pipeline([a, b, c]).run(targets=["a", "c"])
    assert isinstance(kept.outputs["a"], _Blob)  # targets are kept
    assert kept.outputs["c"] is False
