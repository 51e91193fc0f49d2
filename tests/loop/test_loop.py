"""The level-2 loop end to end: bootstrap, quarantine, drift → retrain → gates →
promotion or refusal, crashes, and history rebuilt from the store alone."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

from mlopskit.drift import TabularDrift
from mlopskit.errors import InvalidParameterError, LoopError
from mlopskit.loop import ContinuousTraining, HoldoutGate, Monitor, RolloutCheck
from mlopskit.pipeline import Pipeline, step
from mlopskit.registry import ModelRegistry, metric_not_worse
from mlopskit.versioning import ContentStore

FEATURES = ["x0", "x1", "x2", "x3"]


def train(data: pd.DataFrame) -> pd.DataFrame:
    return train_test_split(data, test_size=0.25, random_state=0)[0]


def holdout_rows(data: pd.DataFrame) -> pd.DataFrame:
    return train_test_split(data, test_size=0.25, random_state=0)[1]


def model(train: pd.DataFrame, depth: int = 6) -> Any:
    X, y = train[FEATURES], train["target"]
    return DecisionTreeClassifier(max_depth=depth, random_state=0).fit(X, y)


def metrics(model: Any, holdout_rows: pd.DataFrame) -> dict[str, float]:
    predicted = model.predict(holdout_rows[FEATURES])
    return {"accuracy": float(np.mean(predicted == holdout_rows["target"]))}


def dummy_model(train: pd.DataFrame) -> Any:
    return DummyClassifier(strategy="most_frequent").fit(
        train[FEATURES], train["target"]
    )


def broken_model(train: pd.DataFrame) -> Any:
    raise RuntimeError("the training cluster is gone")


def pipeline(model_func: Any = model) -> Pipeline:
    """Split → model → metrics on the held-back quarter (an honest baseline)."""
    return Pipeline([train, holdout_rows, step(model_func, name="model"), metrics])


def make_data(n: int, *, shifted: bool = False, seed: int = 0) -> pd.DataFrame:
    """Clean data: y = [x0 + x1 > 0]. Shifted: x0 moves by +3 and there the label
    follows x1 alone, so the production model is wrong on most shifted rows."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    if shifted:
        X[:, 0] += 3.0
        y = (X[:, 1] > 0.5).astype(int)
    else:
        y = (X[:, 0] + X[:, 1] > 0).astype(int)
    frame = pd.DataFrame(X, columns=FEATURES)
    frame["target"] = y
    return frame


def make_loop(
    url: str, storage_options: dict[str, Any] | None = None, **kw: Any
) -> ContinuousTraining:
    options = storage_options or {}
    params: dict[str, Any] = {
        "registry": ModelRegistry(f"{url}/registry", **options),
        "model_name": "clf",
        "monitors": [Monitor(TabularDrift(alpha=0.01), on="features")],
        "gates": [HoldoutGate(), metric_not_worse("accuracy", tolerance=0.5)],
        "store": ContentStore(f"{url}/store", **options),
        # 40 % of a 300-row batch is 120 held-out rows: enough (>= min_holdout) to
        # decide on the batch that triggered.
        "holdout_fraction": 0.4,
    }
    params.update(kw)
    return ContinuousTraining(pipeline(), **params)


def features_and_labels(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    return frame[FEATURES], frame["target"].to_numpy()


def observe(lp: ContinuousTraining, frame: pd.DataFrame) -> Any:
    """Observe a labelled batch: features, with the labels known."""
    X, y = features_and_labels(frame)
    return lp.observe(X, labels=y)


@pytest.fixture
def loop(tmp_path: Any) -> ContinuousTraining:
    lp = make_loop(str(tmp_path))
    lp.bootstrap(make_data(600, seed=1))
    return lp


def test_bootstrap_versions_trains_registers_and_promotes(tmp_path: Any) -> None:
    lp = make_loop(str(tmp_path))
    data = make_data(600, seed=1)
    event = lp.bootstrap(data)
    assert event.decision == "bootstrapped"
    assert event.production_version == 1
    production = lp.registry.get_version("clf", alias="production")
    assert production.version == 1
    assert production.lineage.run_id == event.run_id
    assert production.lineage.datasets == {"training": event.dataset_digest}
    assert lp.store.versions("clf-training")[0].digest == event.dataset_digest
    pd.testing.assert_frame_equal(lp.store.get(event.dataset_digest), data)
    assert production.input_schema is not None  # the inferred schema travels with it


def test_clean_batch_changes_nothing(loop: ContinuousTraining) -> None:
    X, y = features_and_labels(make_data(200, seed=2))
    event = loop.observe(X, labels=y)
    assert event.decision == "no-change"
    assert not event.drift
    assert event.triggers == ()
    assert event.performance is not None
    assert event.performance > 0.85
    assert loop.registry.get_version("clf", alias="production").version == 1


def test_bad_batch_is_quarantined_never_trained_on(loop: ContinuousTraining) -> None:
    X, y = features_and_labels(make_data(200, seed=3))
    X = X.copy()
    X.loc[5, "x2"] = np.nan
    X.loc[7, "x3"] = 1e6
    event = loop.observe(X, labels=y)
    assert event.decision == "quarantined"
    assert event.validation_failures == 2
    assert event.labelled_digest is None
    assert event.monitors == ()
    pd.testing.assert_frame_equal(loop.store.get(event.quarantine_digest), X)
    assert len(loop.registry.list_versions("clf")) == 1
    # The quarantined rows never reach training: the next retrain's pool excludes them.
    shifted_X, shifted_y = features_and_labels(make_data(300, shifted=True, seed=4))
    retrain = loop.observe(shifted_X, labels=shifted_y)
    assert retrain.decision == "promoted"
    training = loop.store.get(retrain.dataset_digest)
    assert len(training) == 600 + 300 - 120  # reference + shifted rows - 40 % held out
    assert not training[FEATURES].isna().any().any()


def test_covariate_shift_triggers_retrain_and_a_better_candidate_is_promoted(
    loop: ContinuousTraining,
) -> None:
    X, y = features_and_labels(make_data(300, shifted=True, seed=5))
    event = loop.observe(X, labels=y)
    assert "drift:features" in event.triggers
    assert "performance" in event.triggers  # production is wrong on shifted rows
    assert event.decision == "promoted"
    assert event.candidate_score > event.production_score
    assert event.run_id is not None
    assert event.candidate_version == 2
    assert {g.gate for g in event.gates} >= {"holdout", "accuracy_not_worse"}
    assert all(g.passed for g in event.gates)
    assert loop.registry.get_version("clf", alias="production").version == 2
    # Monitors now compare with the new training data: the same shift is no news.
    again_X, again_y = features_and_labels(make_data(300, shifted=True, seed=6))
    assert loop.observe(again_X, labels=again_y).decision != "failed"


def test_worse_candidate_is_refused_and_production_stays(tmp_path: Any) -> None:
    lp = make_loop(str(tmp_path), retrain_every=1, monitors=())
    lp.bootstrap(make_data(600, seed=1))
    lp.pipeline = pipeline(dummy_model)  # a botched change to the training code
    event = observe(lp, make_data(300, seed=7))
    assert event.triggers == ("schedule",)
    assert event.decision == "refused"
    failed = {g.gate for g in event.gates if not g.passed}
    assert "holdout" in failed
    assert event.candidate_score < event.production_score
    assert any("holdout" in r for r in event.reasons)
    assert lp.registry.get_version("clf", alias="production").version == 1
    moves = lp.registry.history("clf").to_frame()
    assert list(moves["to_version"].dropna().astype(int)) == [1]


def test_rollout_simulation_is_a_gate(tmp_path: Any) -> None:
    lp = make_loop(str(tmp_path), rollout=RolloutCheck(n_runs=40, random_state=0))
    lp.bootstrap(make_data(600, seed=1))
    X, y = features_and_labels(make_data(300, shifted=True, seed=8))
    event = lp.observe(X, labels=y)
    assert event.decision == "promoted"
    rollout = next(g for g in event.gates if g.gate == "rollout")
    assert rollout.passed
    assert "promoted in" in rollout.reason
    assert event.rollout["n_runs"] == 40
    assert event.rollout["candidate_error"] < event.rollout["production_error"]


def test_trigger_without_labels_waits_for_labels(loop: ContinuousTraining) -> None:
    X, _ = features_and_labels(make_data(300, shifted=True, seed=9))
    event = loop.observe(X)
    assert event.decision == "waiting-for-labels"
    assert event.triggers == ("drift:features",)
    assert loop.registry.get_version("clf", alias="production").version == 1


def test_schedule_trigger(tmp_path: Any) -> None:
    lp = make_loop(str(tmp_path), retrain_every=2, monitors=())
    lp.bootstrap(make_data(600, seed=1))
    first = observe(lp, make_data(300, seed=10))
    second = observe(lp, make_data(300, seed=11))
    assert first.decision == "no-change"
    assert second.triggers == ("schedule",)
    assert second.decision in ("promoted", "refused")


def test_failed_pipeline_leaves_production_untouched(loop: ContinuousTraining) -> None:
    loop.pipeline = pipeline(broken_model)
    X, y = features_and_labels(make_data(300, shifted=True, seed=12))
    event = loop.observe(X, labels=y)
    assert event.decision == "failed"
    assert "the training cluster is gone" in " ".join(event.reasons)
    assert loop.registry.get_version("clf", alias="production").version == 1


def test_crash_mid_retrain_leaves_production_and_the_next_observe_carries_on(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = str(tmp_path)
    lp = make_loop(url)
    lp.bootstrap(make_data(600, seed=1))
    observe(lp, make_data(100, seed=13))

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt  # as a kill would: nothing after this point runs

    monkeypatch.setattr(lp.registry, "register", killed)
    with pytest.raises(KeyboardInterrupt):
        observe(lp, make_data(300, shifted=True, seed=14))
    assert lp.registry.get_version("clf", alias="production").version == 1
    monkeypatch.undo()
    # The same object carries on from the store: the interrupted call left nothing.
    assert [e.seq for e in lp.events()] == [1, 2]
    assert len(lp._load_state().pending) == 1  # the clean batch only, not the lost one
    # A new process: a fresh loop object on the same storage.
    fresh = make_loop(url)
    assert [e.seq for e in fresh.events()] == [1, 2]
    event = observe(fresh, make_data(300, shifted=True, seed=15))
    assert event.seq == 3
    assert event.decision == "promoted"
    assert (
        fresh.registry.get_version("clf", alias="production").version
        == event.candidate_version
    )


def test_history_is_rebuilt_from_the_store_alone(
    loop: ContinuousTraining, tmp_path: Any
) -> None:
    observe(loop, make_data(200, seed=16))
    observe(loop, make_data(300, shifted=True, seed=17))
    history = loop.history()
    assert list(history["decision"]) == ["bootstrapped", "no-change", "promoted"]
    again = make_loop(str(tmp_path)).history()
    pd.testing.assert_frame_equal(history, again)
    assert list(again["production_version"]) == [1, 1, 2]


def test_bad_input_is_refused_clearly(tmp_path: Any, loop: ContinuousTraining) -> None:
    with pytest.raises(InvalidParameterError, match="holdout_fraction"):
        make_loop(str(tmp_path / "x"), holdout_fraction=1.5)
    with pytest.raises(LoopError, match="bootstrap"):
        make_loop(str(tmp_path / "empty")).observe(make_data(10)[FEATURES])
    with pytest.raises(InvalidParameterError, match="labels"):
        loop.observe(make_data(10)[FEATURES], labels=[0, 1])
    with pytest.raises(InvalidParameterError, match="DataFrame"):
        loop.observe(np.zeros((3, 4)))
    with pytest.raises(InvalidParameterError, match="label column"):
        make_loop(str(tmp_path / "y")).bootstrap(make_data(50)[FEATURES])


@pytest.mark.s3
@pytest.mark.slow
def test_loop_end_to_end_on_s3(s3_storage: dict[str, Any]) -> None:
    lp = make_loop(s3_storage["url"], s3_storage["storage_options"])
    assert lp.bootstrap(make_data(600, seed=1)).decision == "bootstrapped"
    bad = make_data(50, seed=18)[FEATURES].copy()
    bad.loc[0, "x0"] = np.nan
    assert lp.observe(bad).decision == "quarantined"
    event = observe(lp, make_data(300, shifted=True, seed=19))
    assert event.decision == "promoted"
    fresh = make_loop(s3_storage["url"], s3_storage["storage_options"])
    assert list(fresh.history()["decision"]) == [
        "bootstrapped",
        "quarantined",
        "promoted",
    ]
    assert fresh.registry.get_version("clf", alias="production").version == 2
