"""The cache is never silently stale: mutation, pickled outputs, unsound dependencies."""

from __future__ import annotations

import dataclasses
import threading
import uuid

import numpy as np
import pytest
from sklearn.datasets import load_iris, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from mlopskit.errors import PickleTrustWarning
from mlopskit.pipeline import CacheWarning, Pipeline, step
from mlopskit.pipeline._code import value_digest
from mlopskit.versioning import ContentStore


@pytest.fixture
def cache() -> str:
    return f"memory://soundness-{uuid.uuid4().hex}"


def _statuses(run) -> dict[str, str]:
    return {n: s.status for n, s in run.steps.items()}


# -- a step that mutates its input in place ------------------------------------------


def frame():
    data = load_wine(as_frame=True).frame
    return data.iloc[:50].reset_index(drop=True)


def clean(frame):
    frame["alcohol"] = 0.0  # in place: the caller's frame changes too
    return len(frame)


def summary(frame, clean):
    return float(frame["alcohol"].sum())


def test_a_step_mutating_its_input_is_reported_and_later_steps_read_the_original(
    cache,
) -> None:
    original = float(frame()["alcohol"].sum())
    pipe = Pipeline([frame, clean, summary])
    with pytest.warns(CacheWarning, match="clean: mutated its input 'frame' in place"):
        first = pipe.run(cache=cache)
    assert "mutated its input 'frame'" in first.steps["clean"].notes[0]
    # summary runs after clean; it reads what `frame` returned, as a cached run would
    assert first.outputs["summary"] == original

    def edited(frame, clean):  # the later step is edited: it re-runs on the original
        return float(frame["alcohol"].sum()) + 1

    again = Pipeline([frame, clean, step(edited, name="summary")]).run(cache=cache)
    assert _statuses(again) == {"frame": "cached", "clean": "cached", "summary": "ran"}
    assert again.outputs["summary"] == original + 1


def test_a_mutated_external_input_re_keys_later_readers(cache) -> None:
    def grow(xs):
        xs.append(99)
        return len(xs)

    def total(xs, grow):
        return sum(xs)

    pipe = Pipeline([grow, total])
    with pytest.warns(CacheWarning, match="mutated its input 'xs'"):
        run = pipe.run({"xs": [1, 2]}, cache=cache)
    assert run.outputs["total"] == 102
    assert run.steps["total"].input_digests["xs"] == value_digest([1, 2, 99])
    again = pipe.run({"xs": [1, 2]}, cache=cache)  # grow is cached: no mutation now

    assert _statuses(again) == {"grow": "cached", "total": "ran"}
    assert again.outputs["total"] == 3


def test_a_step_that_does_not_mutate_is_quiet(cache) -> None:
    def data():
        return np.arange(10.0)

    def doubled(data):
        return data * 2

    run = Pipeline([data, doubled]).run(cache=cache)  # filterwarnings=error: no warning
    assert run.steps["doubled"].notes == ()


# -- any picklable output ---------------------------------------------------------------


class Model:
    """A user object fingerprint does not know."""

    def __init__(self, k: int) -> None:
        self.k = k

    def predict(self, x: float) -> float:
        return x * self.k


def fit(k):
    return Model(k)


def score(fit):
    return fit.predict(2.0)


def test_a_pickle_only_output_runs_uncached_without_trust_and_says_how(cache) -> None:
    pipe = Pipeline([fit, score])
    with pytest.warns(CacheWarning, match="trust_pickle=True"):
        first = pipe.run({"k": 3}, cache=cache)
    assert first.outputs["score"] == 6.0
    assert "can only be stored as a pickle" in first.steps["fit"].notes[0]
    with pytest.warns(CacheWarning):
        again = pipe.run({"k": 3}, cache=cache)
    # fit re-runs (nothing stored); its digest is stable, so score is a hit
    assert _statuses(again) == {"fit": "ran", "score": "cached"}


def test_a_pickle_only_output_is_cached_with_trust_and_verified_on_load(
    tmp_path,
) -> None:
    store = ContentStore(str(tmp_path / "store"))
    pipe = Pipeline([fit, score])
    with pytest.warns(PickleTrustWarning, match="Pickling a .*Model .*step 'fit'"):
        first = pipe.run({"k": 3}, cache=store, trust_pickle=True, targets=["fit"])
    assert first.outputs["fit"].k == 3
    again = pipe.run({"k": 3}, cache=store, trust_pickle=True, targets=["fit"])
    assert _statuses(again) == {"fit": "cached"}
    assert again.outputs["fit"].k == 3
    # a cached pickle is not loaded by a run that did not opt in: it re-runs
    with pytest.warns(CacheWarning):
        plain = pipe.run({"k": 3}, cache=store, targets=["fit"])
    assert plain.steps["fit"].status == "ran"
    assert "trust_pickle=True" in plain.steps["fit"].reason
    # tampered bytes are detected, never unpickled: the step is recomputed
    for path in (tmp_path / "store" / "objects").rglob("*"):
        if path.is_file():
            path.write_bytes(path.read_bytes()[:-3] + b"bad")
    with pytest.warns(PickleTrustWarning):  # stored again
        healed = pipe.run({"k": 3}, cache=store, trust_pickle=True, targets=["fit"])
    assert healed.outputs["fit"].k == 3
    assert healed.steps["fit"].reason == "cache entry unreadable: recomputed"


def _log1p(x):
    return np.log1p(np.abs(x))


def test_function_transformer_with_a_user_function_is_keyed_by_its_code(cache) -> None:
    X, y = load_iris(return_X_y=True)

    def model(X, y):
        est = make_pipeline(
            FunctionTransformer(_log1p), LogisticRegression(max_iter=500)
        )
        return est.fit(X, y)

    def accuracy(model, X, y):
        return float(model.score(X, y))

    pipe = Pipeline([model, accuracy])
    with pytest.warns(PickleTrustWarning):
        first = pipe.run({"X": X, "y": y}, cache=cache, trust_pickle=True)
    assert first.steps["model"].output_digest.startswith("pkl-v1:")
    again = pipe.run({"X": X, "y": y}, cache=cache, trust_pickle=True)
    assert _statuses(again) == {"model": "cached", "accuracy": "cached"}
    # the same estimator fitted again has the same digest (a stable identity) …
    fitted = make_pipeline(
        FunctionTransformer(_log1p), LogisticRegression(max_iter=500)
    )
    assert value_digest(fitted.fit(X, y)) == first.steps["model"].output_digest
    # … and the user function's code is part of it
    other = make_pipeline(
        FunctionTransformer(lambda v: np.log1p(np.abs(v)) * 2),
        LogisticRegression(max_iter=500),
    )
    assert value_digest(other.fit(X, y)) != first.steps["model"].output_digest


def test_an_unpicklable_output_still_fails_with_a_clear_error(cache) -> None:
    def lock():
        return threading.Lock()

    run = Pipeline([lock]).run(cache=cache)
    assert run.steps["lock"].error_type == "mlopskit.errors.UncacheableOutputError"
    assert "neither fingerprinted nor pickled" in run.steps["lock"].error_message


# -- dependencies that cannot be fingerprinted ------------------------------------------

LOCK = threading.Lock()


def guarded(x):
    with LOCK:
        return x + 1


def test_a_step_reaching_an_unfingerprintable_global_is_not_cached(cache) -> None:
    pipe = Pipeline([guarded])
    for _ in range(2):
        with pytest.warns(CacheWarning, match="global LOCK is a _thread.lock"):
            run = pipe.run({"x": 1}, cache=cache)
        rec = run.steps["guarded"]
        assert rec.status == "ran"
        assert rec.cache_key is None
        assert rec.reason.startswith("runs uncached: global LOCK is a _thread.lock")


def test_a_missing_declared_file_runs_the_step_uncached(cache, tmp_path) -> None:
    path = tmp_path / "labels.csv"

    @step(files=[path])
    def labels(x):
        return x

    with pytest.warns(CacheWarning, match="declared file"):
        assert (
            Pipeline([labels]).run({"x": 1}, cache=cache).steps["labels"].cache_key
            is None
        )
    path.write_text("a,b\n")
    run = Pipeline([labels]).run({"x": 1}, cache=cache)
    assert f"file:{path}" in run.steps["labels"].input_digests
    assert (
        Pipeline([labels]).run({"x": 1}, cache=cache).steps["labels"].status == "cached"
    )


def test_a_pickled_output_loads_from_the_run_record_only_with_trust(tmp_path) -> None:
    from mlopskit.errors import UntrustedFormatError
    from mlopskit.pipeline import load_run

    url = str(tmp_path / "store")
    with pytest.warns(PickleTrustWarning):
        run = Pipeline([fit]).run({"k": 4}, cache=url, trust_pickle=True)
    saved = load_run(url, run.run_id)
    assert saved.load("fit", url, trust_pickle=True).k == 4
    with pytest.raises(UntrustedFormatError, match="trust_pickle=True"):
        saved.load("fit", url)


@dataclasses.dataclass
class Settings:
    """Fingerprintable (a dataclass), but only pickle can store it."""

    alpha: float
    tags: tuple


def settings(alpha):
    return Settings(alpha, ("a", "b"))


def use(settings):
    return settings.alpha * 2


def test_a_fingerprintable_output_without_a_safe_codec_needs_trust(cache) -> None:
    pipe = Pipeline([settings, use])
    with pytest.warns(CacheWarning, match="settings: output not cached"):
        first = pipe.run({"alpha": 0.5}, cache=cache)
    assert first.outputs["use"] == 1.0
    assert first.steps["settings"].output_digest.startswith("obj-v1:")  # fingerprint
    with pytest.warns(CacheWarning):
        again = pipe.run({"alpha": 0.5}, cache=cache)
    assert _statuses(again) == {"settings": "ran", "use": "cached"}
    with pytest.warns(PickleTrustWarning):  # the store pickles it, and says so
        pipe.run({"alpha": 0.5}, cache=cache, trust_pickle=True)
    trusted = pipe.run({"alpha": 0.5}, cache=cache, trust_pickle=True)
    assert _statuses(trusted) == {"settings": "cached", "use": "cached"}
    assert trusted.outputs["use"] == 1.0


def test_a_sklearn_pipeline_of_library_functions_needs_no_trust(cache) -> None:
    X, y = load_wine(return_X_y=True)

    def model(X, y):
        est = make_pipeline(
            FunctionTransformer(np.log1p), LogisticRegression(max_iter=300)
        )
        return est.fit(X, y)

    pipe = Pipeline([model])
    first = pipe.run({"X": X, "y": y}, cache=cache)  # no warning: a safe codec
    assert first.steps["model"].output_digest.startswith("obj-v1:")
    again = pipe.run({"X": X, "y": y}, cache=cache)
    assert again.steps["model"].status == "cached"
    loaded = again.outputs["model"]
    assert (loaded.predict(X) == first.outputs["model"].predict(X)).all()


def test_trust_pickle_must_be_a_bool(cache) -> None:
    from mlopskit.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="`trust_pickle` must be True or"):
        Pipeline([fit]).run({"k": 1}, cache=cache, trust_pickle="yes")
