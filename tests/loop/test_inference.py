"""The model is fed what the pipeline fed it: raw columns → featurise → model.

Issue 13's first finding: with a featurise step, every ``observe`` raised
scikit-learn's "feature names should match" ValueError, because the loop called the
model on the raw columns. These tests use breast_cancer and wine, not the demo's
digits, and hypothesis batches that pass the schema.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlopskit.drift import LabelDrift, TabularDrift
from mlopskit.errors import InferencePathError, InvalidParameterError
from mlopskit.loop import ContinuousTraining, HoldoutGate, Monitor, RolloutCheck
from mlopskit.pipeline import Pipeline, step
from mlopskit.registry import ModelRegistry
from mlopskit.schema import Schema


def featurise(data: pd.DataFrame) -> pd.DataFrame:
    """Raw cancer measurements → a few engineered columns (the label passes through)."""
    out = pd.DataFrame(
        {
            "log_area": np.log1p(data["mean area"]),
            "compact_x_concave": data["mean compactness"] * data["mean concavity"],
            "texture": data["mean texture"],
            "worst_radius": data["worst radius"],
            "smooth_ratio": data["mean smoothness"] / (data["worst smoothness"] + 1e-9),
        },
        index=data.index,
    )
    if "target" in data.columns:
        out["target"] = data["target"]
    return out


def train_rows(featurise: pd.DataFrame) -> pd.DataFrame:
    return train_test_split(featurise, test_size=0.25, random_state=0)[0]


def fit(train_rows: pd.DataFrame) -> Any:
    X, y = train_rows.drop(columns="target"), train_rows["target"]
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)


def fit_on_featurised(featurise: pd.DataFrame) -> Any:
    X, y = featurise.drop(columns="target"), featurise["target"]
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)


def cancer() -> pd.DataFrame:
    frame = load_breast_cancer(as_frame=True).frame
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)


def make(url: str, pipeline: Pipeline, **kw: Any) -> ContinuousTraining:
    params: dict[str, Any] = {
        "registry": ModelRegistry(f"{url}/registry"),
        "model_name": "cancer",
        "monitors": [
            Monitor(TabularDrift(alpha=0.01), on="features"),
            Monitor(LabelDrift(alpha=0.01), on="predictions"),
        ],
        "gates": [HoldoutGate(min_rows=40)],
        "store": f"{url}/store",
        "min_holdout": 40,
        "holdout_fraction": 0.5,
        # No schema: the loop's default (Schema.infer, calibrated) must pass the
        # clean held-out rows of breast_cancer.
    }
    params.update(kw)
    return ContinuousTraining(pipeline, **params)


def test_raw_columns_cannot_feed_a_featurised_model_and_bootstrap_says_so(
    tmp_path: Any,
) -> None:
    # The old behaviour, reproduced: the raw columns are not what the model was fitted
    # on, and scikit-learn says "feature names should match". Now the bootstrap finds
    # this out on a slice of the training data and refuses, registering nothing.
    data = cancer()
    pipe = Pipeline([featurise, fit_on_featurised], name="cancer")
    model = pipe.run({"data": data}).outputs["fit_on_featurised"]
    with pytest.raises(ValueError, match="feature names should match"):
        model.predict(data.drop(columns="target"))
    lp = make(str(tmp_path), pipe, model_step="fit_on_featurised", features_step=None)
    with pytest.raises(InferencePathError, match="feature names") as info:
        lp.bootstrap(data.iloc[:300])
    assert "features_step=" in str(info.value)
    assert lp.registry.list_models() == ()


@pytest.mark.parametrize("explicit", [False, True])
def test_featurise_split_fit_pipeline_is_scored_through_its_features(
    tmp_path: Any, explicit: bool
) -> None:
    data = cancer()
    pipe = Pipeline([featurise, train_rows, fit], name="cancer")
    kw = {"features_step": "featurise"} if explicit else {}
    lp = make(str(tmp_path), pipe, model_step="fit", **kw)
    boot = lp.bootstrap(data.iloc[:300])
    assert boot.features_step == "featurise"  # derived: train_rows selects rows
    assert "raw columns → featurise → model" in " ".join(boot.reasons)
    for start in (300, 400):
        batch = data.iloc[start : start + 100]
        event = lp.observe(batch.drop(columns="target"), labels=batch["target"])
        assert event.decision != "quarantined", event.reasons
        assert event.performance is not None
        assert event.performance > 0.8
        assert {m.name for m in event.monitors} == {"features", "predictions"}


def test_a_retrain_gates_and_rolls_out_through_the_features(tmp_path: Any) -> None:
    data = cancer()
    pipe = Pipeline([featurise, fit_on_featurised], name="cancer")
    lp = make(
        str(tmp_path),
        pipe,
        model_step="fit_on_featurised",
        retrain_every=1,
        monitors=(),
        rollout=RolloutCheck(n_runs=20, random_state=0),
    )
    assert lp.bootstrap(data.iloc[:300]).features_step == "featurise"
    batch = data.iloc[300:400]
    event = lp.observe(batch.drop(columns="target"), labels=batch["target"])
    assert event.decision in ("promoted", "refused")
    assert event.comparison is not None
    assert event.comparison.n == 50
    assert "rollout" in {g.gate for g in event.gates}


def test_an_unknown_features_step_is_refused(tmp_path: Any) -> None:
    pipe = Pipeline([featurise, fit_on_featurised], name="cancer")
    lp = make(str(tmp_path), pipe, model_step="fit_on_featurised", features_step="nope")
    with pytest.raises(InvalidParameterError, match="nope"):
        lp.bootstrap(cancer().iloc[:200])


# -- observe never raises on a batch that passes the schema ---------------------------

_WINE = load_wine(as_frame=True).frame.sample(frac=1.0, random_state=1)
_WINE_FEATURES = [c for c in _WINE.columns if c != "target"]


def wine_features(data: pd.DataFrame) -> pd.DataFrame:
    """Ratios and logs of the raw wine measurements."""
    out = pd.DataFrame(index=data.index)
    out["log_proline"] = np.log1p(data["proline"].clip(lower=0))
    out["phenol_ratio"] = data["flavanoids"] / (data["total_phenols"].abs() + 1.0)
    out["alcohol"] = data["alcohol"]
    out["color"] = data["color_intensity"]
    if "target" in data.columns:
        out["target"] = data["target"]
    return out


def wine_model(wine_features: pd.DataFrame) -> Any:
    X, y = wine_features.drop(columns="target"), wine_features["target"]
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)


@pytest.fixture(scope="module")
def wine_loop(tmp_path_factory: Any) -> tuple[ContinuousTraining, Schema]:
    url = str(tmp_path_factory.mktemp("wine"))
    lp = ContinuousTraining(
        Pipeline([wine_features, wine_model], name="wine"),
        registry=ModelRegistry(f"{url}/registry"),
        model_name="wine",
        monitors=[
            Monitor(TabularDrift(alpha=0.01), on="features"),
            Monitor(LabelDrift(alpha=0.01), on="predictions"),
            Monitor(TabularDrift(alpha=0.01), on="probabilities"),
        ],
        gates=[HoldoutGate()],
        store=f"{url}/store",
        model_step="wine_model",
    )
    lp.bootstrap(_WINE.iloc[:120])
    return lp, lp._load_state().schema


@st.composite
def valid_batches(draw: Any, schema: Schema) -> pd.DataFrame:
    """Batches of 1–40 rows whose every value lies inside the schema's ranges."""
    n = draw(st.integers(min_value=1, max_value=40))
    columns = {}
    for name in _WINE_FEATURES:
        col = schema.columns[name]
        lo, hi = float(col.ge), float(col.le)
        values = draw(
            st.lists(
                st.floats(lo, hi, allow_nan=False, allow_infinity=False),
                min_size=n,
                max_size=n,
            )
        )
        columns[name] = values
    return pd.DataFrame(columns)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_observe_never_raises_on_a_batch_that_passes_the_schema(
    wine_loop: tuple[ContinuousTraining, Schema], data: Any
) -> None:
    lp, schema = wine_loop
    batch = data.draw(valid_batches(schema))
    assert schema.validate(batch).ok
    labelled = data.draw(st.booleans())
    labels = (
        np.asarray(
            data.draw(
                st.lists(
                    st.sampled_from([0, 1, 2]), min_size=len(batch), max_size=len(batch)
                )
            )
        )
        if labelled
        else None
    )
    event = lp.observe(batch, labels=labels)
    assert event.decision != "quarantined", event.reasons
    assert event.decision in (
        "no-change",
        "waiting-for-labels",
        "promoted",
        "refused",
        "failed",
    )


def sparse_features(data: pd.DataFrame) -> Any:
    """A features step that returns a scipy sparse matrix (no label column)."""
    from scipy import sparse

    cols = ["mean radius", "mean texture", "worst radius", "mean smoothness"]
    return sparse.csr_matrix(data[cols].to_numpy())


def sparse_model(sparse_features: Any, data: pd.DataFrame) -> Any:
    return LogisticRegression(max_iter=2000).fit(sparse_features, data["target"])


def test_a_sparse_features_step_with_labels_from_the_data(tmp_path: Any) -> None:
    data = cancer()
    # fingerprint has no handler for scipy.sparse: the step opts out of the cache.
    pipe = Pipeline([step(sparse_features, cache=False), sparse_model], name="sparse")
    lp = make(str(tmp_path), pipe, model_step="sparse_model")
    assert lp.bootstrap(data.iloc[:300]).features_step == "sparse_features"
    batch = data.iloc[300:400]
    event = lp.observe(batch.drop(columns="target"), labels=batch["target"])
    assert event.decision == "no-change", event.reasons
    assert event.performance is not None
    assert event.performance > 0.8
