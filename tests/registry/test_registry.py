"""Behaviour of ModelRegistry on every backend (local folder, memory, S3 on moto)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from mlopskit.errors import (
    IntegrityError,
    PickleTrustWarning,
    PromotionRefusedError,
    RegistryError,
    RegistryLookupError,
    UntrustedFormatError,
)
from mlopskit.registry import (
    AuditLog,
    GateOutcome,
    ModelRegistry,
    ModelVersion,
    metric_not_worse,
)


def _model(seed: int = 0) -> LogisticRegression:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(40, 3))
    y = (x[:, 0] + rng.normal(scale=0.5, size=40) > 0).astype(int)
    return LogisticRegression().fit(x, y)


def test_register_load_roundtrip(any_registry: ModelRegistry) -> None:
    registry = any_registry
    model = _model()
    mv = registry.register(
        "churn",
        model,
        metrics={"auc": np.float64(0.9)},
        params={"C": 1.0},
        tags={"team": "crm"},
        description="first",
    )
    assert (mv.name, mv.version, mv.metrics, mv.params) == (
        "churn",
        1,
        {"auc": 0.9},
        {"C": 1.0},
    )
    assert mv.size > 0
    assert len(mv.digest) >= 32
    assert mv.serializer == "skops"  # the safe default for scikit-learn models
    assert mv.created_at.tzinfo is not None
    assert "@" in mv.registered_by
    loaded = registry.load("churn", 1)
    x = np.random.default_rng(1).normal(size=(5, 3))
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
    again = registry.get_version("churn", 1)
    assert again == mv
    assert ModelVersion.from_json(again.to_json()) == again


def test_versions_are_sequential_and_latest(registry: ModelRegistry) -> None:
    for i in range(3):
        assert registry.register("m", {"i": i}).version == i + 1
    assert registry.get_version("m").version == 3
    assert registry.get_version("m", alias="latest").version == 3
    assert registry.load("m") == {"i": 2}
    assert registry.load("m", 1) == {"i": 0}
    assert registry.list_models() == ("m",)


def test_aliases_move_and_are_audited(
    any_registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = any_registry
    monkeypatch.setenv("MLOPSKIT_USER", "ana")
    for i in range(3):
        registry.register("m", i)
    assert registry.set_alias("m", "production", 1, reason="first").aliases == (
        "production",
    )
    registry.set_alias("m", "staging", 2)
    registry.set_alias("m", "production", 2, reason="better")
    assert registry.get_version("m", 2).aliases == ("production", "staging")
    assert registry.get_version("m", 1).aliases == ()
    assert registry.load("m", alias="production") == 1
    registry.delete_alias("m", "staging", reason="done")
    assert registry.get_version("m", 2).aliases == ("production",)
    log = registry.history("m")
    assert isinstance(log, AuditLog)
    assert len(log) == 7
    moves = [
        (e.kind, e.alias, e.from_version, e.to_version, e.reason)
        for e in log.events
        if e.kind != "register"
    ]
    assert moves == [
        ("set_alias", "production", None, 1, "first"),
        ("set_alias", "staging", None, 2, None),
        ("set_alias", "production", 1, 2, "better"),
        ("delete_alias", "staging", 2, None, "done"),
    ]
    assert all(e.who.startswith("ana@") for e in log.events)
    frame = log.to_frame()
    assert list(frame["kind"]) == [e.kind for e in log.events]
    assert AuditLog.from_json(log.to_json()) == log


def test_setting_the_same_alias_twice_writes_one_event(registry: ModelRegistry) -> None:
    registry.register("m", 1)
    registry.set_alias("m", "production", 1)
    registry.set_alias("m", "production", 1)
    assert [e.kind for e in registry.history("m").events] == ["register", "set_alias"]


def test_promote_with_gates(registry: ModelRegistry) -> None:
    registry.register("m", "a", metrics={"auc": 0.90, "rmse": 2.0})
    registry.register("m", "b", metrics={"auc": 0.85, "rmse": 1.0})
    registry.register("m", "c", metrics={"auc": 0.95, "rmse": 3.0})
    first = registry.promote("m", 1, gates=[metric_not_worse("auc")])
    assert (first.version, first.previous, first.gates[0].passed) == (1, None, True)

    def always_fails(cand: ModelVersion, cur: ModelVersion | None) -> tuple[bool, str]:
        return False, "manual hold"

    with pytest.raises(PromotionRefusedError) as info:
        registry.promote(
            "m",
            2,
            gates=[
                metric_not_worse("auc"),
                metric_not_worse("rmse", higher_is_better=False),
                always_fails,
            ],
        )
    failures = info.value.failures
    assert [f.gate for f in failures] == ["auc_not_worse", "always_fails"]
    assert "0.85" in failures[0].reason
    assert "manual hold" in str(info.value)
    assert registry.get_version("m", alias="production").version == 1  # did not move
    done = registry.promote("m", 3, gates=[metric_not_worse("auc")], reason="Q3 model")
    assert (done.version, done.previous) == (3, 1)
    last = registry.history("m").events[-1]
    assert (last.from_version, last.to_version, last.reason) == (1, 3, "Q3 model")


def test_a_crashing_gate_refuses(registry: ModelRegistry) -> None:
    registry.register("m", 1)

    def broken(cand: ModelVersion, cur: ModelVersion | None) -> bool:
        raise ZeroDivisionError("oops")

    with pytest.raises(PromotionRefusedError, match="raised ZeroDivisionError: oops"):
        registry.promote("m", 1, gates=[broken])
    with pytest.raises(RegistryLookupError):
        registry.get_version("m", alias="production")


def test_archive(registry: ModelRegistry) -> None:
    registry.register("m", 1)
    registry.register("m", 2)
    registry.set_alias("m", "production", 2)
    with pytest.raises(
        RegistryError, match=r"alias\(es\) \['production'\] point at it"
    ):
        registry.archive("m", 2)
    registry.set_alias("m", "production", 1)
    assert registry.archive("m", 2, reason="leaky feature").archived
    assert registry.archive("m", 2).archived  # idempotent
    assert registry.get_version("m").version == 1
    assert registry.load("m", 2) == 2  # still loadable by number
    with pytest.raises(RegistryError, match="archived"):
        registry.set_alias("m", "staging", 2)
    assert registry.register("m", 3).version == 3  # numbers are never reused
    assert registry.list_versions("m", include_archived=False)["version"].tolist() == [
        1,
        3,
    ]
    kinds = [e.kind for e in registry.history("m").events]
    assert kinds.count("archive") == 1


def test_list_versions_frame(registry: ModelRegistry) -> None:
    registry.register(
        "m", 1, metrics={"auc": 0.8}, tags={"data": "jan"}, params={"k": 3}
    )
    registry.register("m", 2, metrics={"auc": 0.9, "f1": 0.5}, tags={"data": "feb"})
    registry.set_alias("m", "production", 2)
    df = registry.list_versions("m")
    assert isinstance(df, pd.DataFrame)
    assert df["version"].tolist() == [1, 2]
    assert df["metrics.auc"].tolist() == [0.8, 0.9]
    assert df["aliases"].tolist() == ["", "production"]
    assert df["tags.data"].tolist() == ["jan", "feb"]
    assert registry.list_versions("m", tags={"data": "jan"})["version"].tolist() == [1]
    assert registry.list_versions("m", tags={"data": "mar"}).empty


def test_lookup_errors_list_what_exists(any_registry: ModelRegistry) -> None:
    registry = any_registry
    with pytest.raises(RegistryLookupError, match="has no models yet"):
        registry.get_version("nope")
    registry.register("alpha", 1)
    registry.register("alpha", 2)
    registry.register("beta", 1)
    with pytest.raises(RegistryLookupError, match="Known models: alpha, beta") as info:
        registry.load("gamma")
    assert isinstance(info.value, LookupError)
    assert info.value.available == (
        "alpha",
        "beta",
    )
    with pytest.raises(RegistryLookupError, match="Its versions: 1-2"):
        registry.get_version("alpha", 5)
    registry.set_alias("alpha", "staging", 1)
    with pytest.raises(RegistryLookupError, match="Its aliases: staging → v1"):
        registry.load("alpha", alias="production")
    with pytest.raises(RegistryLookupError, match="aliases: staging"):
        registry.delete_alias("alpha", "production")
    with pytest.raises(RegistryError, match="not both"):
        registry.get_version("alpha", 1, alias="staging")


def test_tampered_artifact_is_never_unpickled(any_registry: ModelRegistry) -> None:
    registry = any_registry
    mv = registry.register("m", {"secret": 1})
    store = registry.store
    path = _object_path(store, mv.digest)
    original = store.fs.cat_file(path)
    store.fs.pipe_file(path, original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(IntegrityError):
        registry.load("m", 1)


def _object_path(store: Any, digest: str) -> str:
    """The one file of the store holding ``digest`` (objects/<2 hex>/<rest of hex>)."""
    hex_ = digest.rsplit(":", 1)[-1]
    hits = [
        p
        for p in store.fs.find(f"{store.root}/objects")
        if p.endswith(f"{hex_[:2]}/{hex_[2:]}")
    ]
    assert len(hits) == 1, hits
    return str(hits[0])


def test_lineage_from_a_run_and_git(
    registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Run:
        run_id = "run-42"
        inputs: ClassVar[dict[str, str]] = {"train": "d" * 64}

    mv = registry.register("m", 1, lineage=Run())
    assert mv.lineage.run_id == "run-42"
    assert mv.lineage.datasets == {"train": "d" * 64}
    mv2 = registry.register(
        "m",
        2,
        lineage={
            "datasets": ["a" * 64],
            "owner": "ana",
            "git_commit": "c0ffee",
            "git_dirty": True,
        },
    )
    assert mv2.lineage.datasets == {"dataset_0": "a" * 64}
    assert mv2.lineage.extra == {"owner": "ana"}
    assert (mv2.lineage.git_commit, mv2.lineage.git_dirty) == ("c0ffee", True)
    assert registry.get_version("m", 2).lineage == mv2.lineage


def test_input_schema_is_stored_as_json(registry: ModelRegistry) -> None:
    class FakeSchema:
        def to_json(self) -> str:
            return json.dumps({"columns": {"x": "float64"}})

    mv = registry.register("m", 1, input_schema=FakeSchema())
    assert json.loads(registry.get_version("m", 1).input_schema or "") == {
        "columns": {"x": "float64"}
    }
    assert mv.input_schema is not None


def test_rejects_an_unstorable_model_before_claiming(registry: ModelRegistry) -> None:
    registry.register("m", 1)
    with pytest.raises(UntrustedFormatError, match="Only pickle can store"):
        registry.register("m", lambda x: x)
    with (
        pytest.warns(PickleTrustWarning, match="function"),
        pytest.raises(RegistryError, match="Cannot pickle this function"),
    ):
        registry.register("m", lambda x: x, trust_pickle=True)
    assert registry.register("m", 2).version == 2  # no number was consumed


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metrics": {"auc": "high"}}, "metrics"),
        ({"metrics": {"auc": True}}, "metrics"),
        ({"tags": {"team": 1}}, "tags"),
        ({"params": {"f": object()}}, "params"),
        ({"description": 3}, "description"),
        ({"serializer": "pickle"}, "serializer"),
        ({"input_schema": 3}, "input_schema"),
        ({"input_schema": "{not json"}, "input_schema"),
        ({"lineage": 3}, "lineage"),
    ],
)
def test_bad_arguments_write_nothing(
    tmp_path: Any, kwargs: dict[str, Any], match: str
) -> None:
    registry = ModelRegistry(str(tmp_path / "reg"))
    with pytest.raises(RegistryError, match=match):
        registry.register("m", 1, **kwargs)
    assert not (tmp_path / "reg").exists()


def test_gate_outcomes_in_promotion(registry: ModelRegistry) -> None:
    registry.register("m", 1)

    def explicit(cand: ModelVersion, cur: ModelVersion | None) -> GateOutcome:
        return GateOutcome(gate="explicit", passed=True, reason="ok")

    promotion = registry.promote(
        "m", 1, alias="champion", gates=[explicit, lambda c, p: True]
    )
    assert [g.gate for g in promotion.gates] == ["explicit", "<lambda>"]
    with pytest.raises(RegistryError, match="must return a GateOutcome"):
        registry.promote("m", 1, gates=[lambda c, p: "yes"])


def test_an_object_rewritten_with_a_valid_header_is_refused(tmp_path: Any) -> None:
    """The store checks its header; the registry also checks the record's digest."""
    registry = ModelRegistry(str(tmp_path / "reg"))
    mv = registry.register("m", {"trusted": True})
    store = registry.store
    forged_digest = store.put_bytes(b"not the model")
    forged = store.fs.cat_file(_object_path(store, forged_digest))
    field = b'"digest": "%s"'  # only the header's own name, not its payload digest
    forged = forged.replace(field % forged_digest.encode(), field % mv.digest.encode())
    store.fs.pipe_file(_object_path(store, mv.digest), forged)
    assert store.get_bytes(mv.digest) == b"not the model"  # the store alone accepts it
    with pytest.raises(IntegrityError, match="modified in the store"):
        registry.load("m", 1)


def test_a_shared_content_store_deduplicates(tmp_path: Any) -> None:
    from mlopskit.versioning import ContentStore

    store = ContentStore(str(tmp_path / "store"))
    a = ModelRegistry(str(tmp_path / "a"), store=store)
    b = ModelRegistry(str(tmp_path / "b"), store=store)
    model = _model()
    assert a.register("m", model).digest == b.register("m", model).digest
    assert (
        len(list((tmp_path / "store" / "objects").rglob("*"))) == 2
    )  # 1 folder, 1 file
    assert not (tmp_path / "a" / "objects").exists()
    np.testing.assert_array_equal(b.load("m").coef_, model.coef_)


def test_lineage_from_a_real_pipeline_run(registry: ModelRegistry) -> None:
    from mlopskit.pipeline import Pipeline

    def rows() -> list[int]:
        return [1, 2, 3]

    def total(rows: list[int]) -> int:
        return sum(rows)

    run = Pipeline([rows, total], name="train").run()
    mv = registry.register("m", run.outputs["total"], lineage=run)
    assert mv.lineage.run_id == run.run_id
    assert mv.lineage.datasets == dict(run.inputs)
    assert mv.lineage.extra == {"pipeline": "train"}
