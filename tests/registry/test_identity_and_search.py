"""Model identity, safe loading, references, name rules, signatures and search."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn import datasets
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlopskit.errors import PickleTrustWarning, RegistryError, UntrustedFormatError
from mlopskit.registry import ModelRegistry
from mlopskit.registry._names import check_name, parse_reference
from mlopskit.schema import Schema
from mlopskit.versioning import fingerprint


def _forest(seed: int, data: str = "wine") -> RandomForestClassifier:
    x, y = getattr(datasets, f"load_{data}")(return_X_y=True)
    return RandomForestClassifier(n_estimators=4, random_state=seed).fit(x, y)


def test_the_same_fitted_model_is_one_object(registry: ModelRegistry) -> None:
    first = registry.register("m", _forest(0))
    refit = _forest(0)  # same seed, same data: the same fitted state
    assert fingerprint(refit) == first.digest
    again = registry.register("m", refit)
    assert (again.version, again.digest, again.same_as) == (2, first.digest, (1,))
    other = registry.register("m", _forest(1))
    assert other.digest != first.digest
    assert other.same_as == ()
    assert first.serializer == "skops"
    objects = registry.store.fs.find(f"{registry.store.root}/objects")
    assert len(objects) == 2


def test_refits_differ_by_seed_and_data() -> None:
    assert fingerprint(_forest(0)) == fingerprint(_forest(0))
    assert fingerprint(_forest(0)) != fingerprint(_forest(1))
    assert fingerprint(_forest(0, "iris")) != fingerprint(_forest(0, "wine"))


def test_an_edited_record_cannot_choose_pickle(tmp_path: Path) -> None:
    registry = ModelRegistry(str(tmp_path / "reg"))
    registry.register("m", _forest(0))
    path = tmp_path / "reg" / "models" / "m" / "versions" / "0000000001.json"
    record = json.loads(path.read_bytes())
    record["serializer"] = "joblib"
    path.write_text(json.dumps(record))
    model = registry.load("m")  # the artifact's codec decides: skops, no pickle
    assert isinstance(model, RandomForestClassifier)
    with pytest.raises(UntrustedFormatError, match="codec 'skops'"):
        registry.load("m", allow=("json",))


def test_models_only_pickle_can_store_need_trust(registry: ModelRegistry) -> None:
    import fractions

    model = {"ratio": fractions.Fraction(1, 3)}  # fingerprintable? no: pickle only
    with pytest.raises(UntrustedFormatError, match="trust_pickle=True"):
        registry.register("odd", model)
    assert registry.list_models() == ()
    with pytest.warns(PickleTrustWarning):
        registry.register("odd", model, trust_pickle=True)
    with pytest.raises(UntrustedFormatError):
        registry.load("odd")
    assert registry.load("odd", trust_pickle=True) == model


def test_references_everywhere(registry: ModelRegistry) -> None:
    registry.register("m", {"v": 1})
    registry.register("m", {"v": 2})
    registry.set_alias("m", "production", 1)
    assert registry.load("m@production") == {"v": 1}
    assert registry.load("m:2") == {"v": 2}
    assert registry.load("m@2") == {"v": 2}
    assert registry.load("m@latest") == {"v": 2}
    assert registry.get_version("m@production").version == 1
    assert registry.get_version("m:1").aliases == ("production",)
    with pytest.raises(RegistryError, match="already names"):
        registry.load("m:1", version=2)
    with pytest.raises(RegistryError, match="version number"):
        registry.load("m:prod")
    assert parse_reference("a.b-c@champion") == ("a.b-c", None, "champion")


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("model.", "not end with '.'"),
        ("Churn", "ignore case"),
        ("a..b", "climb out"),
        ("m@prod", "are references"),
        ("", "1 to 100"),
    ],
)
def test_name_errors_state_the_rules(name: str, why: str) -> None:
    with pytest.raises(RegistryError, match=why):
        check_name(name)


def test_the_trailing_dot_hint() -> None:
    with pytest.raises(RegistryError, match="Use 'model'"):
        check_name("Model.")


def test_signature_from_an_input_example(registry: ModelRegistry) -> None:
    frame = datasets.load_diabetes(as_frame=True).frame
    x, y = frame.drop(columns="target"), frame["target"]
    model = Ridge().fit(x, y)
    mv = registry.register("diabetes", model, input_example=x.head(20))
    assert mv.signature is not None
    assert mv.signature["outputs"] == {
        "type": "ndarray",
        "dtype": "float64",
        "shape": [None],
    }
    schema = mv.load_input_schema()
    assert isinstance(schema, Schema)
    assert list(schema.columns) == list(x.columns)
    assert schema.validate(x.head(20)).ok  # the inferred schema accepts its example
    again = registry.get_version("diabetes")
    assert again.signature == mv.signature
    with pytest.raises(RegistryError, match="predict failed"):
        registry.register("diabetes", model, input_example=x[["age"]])
    with pytest.raises(RegistryError, match="DataFrame"):
        registry.register("diabetes", model, input_example=x.to_numpy())


@pytest.fixture(scope="module")
def populated() -> ModelRegistry:
    """One registry for the read-only search tests (built once: they only read)."""
    registry = ModelRegistry("memory://search-tests")
    registry.register("churn", 1, metrics={"auc": 0.81}, tags={"team": "crm"})
    registry.register("churn", 2, metrics={"auc": 0.93}, tags={"team": "crm"})
    registry.register("fraud", 3, metrics={"auc": 0.95, "f1-score": 0.7})
    registry.register("fraud", 4, params={"depth": 6, "kind": "gbm"})
    registry.set_alias("fraud", "production", 1)
    return registry


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [("churn", 1), ("churn", 2), ("fraud", 1), ("fraud", 2)]),
        ("metrics.auc > 0.9", [("churn", 2), ("fraud", 1)]),
        ("metrics.auc >= 0.93 AND name = 'churn'", [("churn", 2)]),
        ("tags.team = 'crm' and version != 1", [("churn", 2)]),
        ("tags.team != 'crm'", []),  # versions without the tag never match
        ('metrics."f1-score" < 0.8', [("fraud", 1)]),
        ("params.depth >= 6", [("fraud", 2)]),
        ("params.kind LIKE 'g%'", [("fraud", 2)]),
        ("name ILIKE 'FR_UD'", [("fraud", 1), ("fraud", 2)]),
        ("alias = 'production'", [("fraud", 1)]),
        ("alias != 'production' and name = 'fraud'", [("fraud", 2)]),
        ("archived = false and version > 1", [("churn", 2), ("fraud", 2)]),
        (
            "serializer = 'json'",
            [("churn", 1), ("churn", 2), ("fraud", 1), ("fraud", 2)],
        ),
    ],
)
def test_search_versions(
    populated: ModelRegistry, query: str, expected: list[Any]
) -> None:
    found = populated.search_versions(query)
    assert list(zip(found["name"], found["version"], strict=True)) == expected


@pytest.mark.parametrize(
    ("query", "match"),
    [
        ("metrics.auc > 0.9 or name = 'x'", "OR"),
        ("metrics.auc >> 0.9", "Cannot parse"),
        ("colour = 'red'", "Unknown identifier"),
        ("metrics.auc LIKE 0.9", "cannot compare"),
        ("tags.team = 3", "quote"),
    ],
)
def test_bad_filters_say_what_is_wrong(
    populated: ModelRegistry, query: str, match: str
) -> None:
    with pytest.raises(RegistryError, match=match):
        populated.search_versions(query)


def test_list_versions_takes_a_filter(populated: ModelRegistry) -> None:
    found = populated.list_versions("churn", filter="metrics.auc < 0.9")
    assert found["version"].tolist() == [1]
    empty = populated.search_versions("metrics.auc > 2")
    assert empty.empty
    assert "name" in empty.columns


def test_logistic_regression_on_breast_cancer_loads_identically(
    registry: ModelRegistry,
) -> None:
    x, y = datasets.load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    registry.register("bc", model, input_example=x.head())
    back = registry.load("bc@latest", allow=("skops",))
    np.testing.assert_array_equal(back.predict_proba(x), model.predict_proba(x))
