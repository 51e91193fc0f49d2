"""No retrain storms: 30 batches (clean, a sustained covariate shift, a prior shift,
three corrupt batches) and the loop retrains and promotes once per real change."""

from __future__ import annotations

from typing import Any

from tests.loop.streams import FEATURES, fit, stream, summarise

from mlopskit.drift import LabelDrift, TabularDrift
from mlopskit.loop import ContinuousTraining, HoldoutGate, Monitor
from mlopskit.pipeline import Pipeline
from mlopskit.schema import Schema


def reviewed_schema(boot: Any) -> Schema:
    """Inferred, then edited as a person would: the features are unbounded measurements
    (a covariate shift moves them outside the bootstrap's range; that is not an error),
    so each range is widened to a physical limit of ±50."""
    schema = Schema.infer(boot[FEATURES])
    for column in FEATURES:
        schema = schema.with_column(column, ge=-50.0, le=50.0)
    return schema


def run(url: str, random_state: int) -> tuple[ContinuousTraining, Any]:
    boot, batches = stream(random_state)
    loop = ContinuousTraining(
        Pipeline([fit], name="stream"),
        registry=f"{url}/registry",
        model_name="stream",
        monitors=[
            Monitor(TabularDrift(alpha=0.01), on="features"),
            Monitor(LabelDrift(alpha=0.01), on="predictions"),
        ],
        gates=[HoldoutGate()],
        store=f"{url}/store",
        model_step="fit",
        schema=reviewed_schema(boot),
        holdout_fraction=0.4,
    )
    loop.bootstrap(boot)
    for batch in batches:
        loop.observe(batch.features, labels=batch.labels)
    return loop, batches


def test_thirty_batches_one_promotion_per_real_change(tmp_path: Any) -> None:
    loop, batches = run(str(tmp_path), random_state=0)
    counts = summarise(loop.events(), batches)
    assert counts["quarantined_corrupt"] == 3  # every corrupt batch
    assert counts["quarantined_clean"] == 0
    assert counts["retrains"]["clean"] <= 1
    assert counts["promotions"]["clean"] == 0  # no real change, no promotion
    assert counts["promotions"]["covariate"] == 1  # adapted, once
    assert counts["promotions"]["prior"] <= 1
    assert sum(counts["promotions"].values()) <= 5
    # The loop's state rebuilt from the store alone gives the same decisions' state.
    again = ContinuousTraining(
        loop.pipeline,
        registry=loop.registry,
        model_name="stream",
        monitors=loop.monitors,
        gates=loop.gates,
        store=loop.store,
        model_step="fit",
    )
    live, rebuilt = loop._load_state().triggers, again._load_state().triggers
    assert rebuilt == live


def test_after_a_promotion_the_baseline_is_the_new_models_fresh_score(
    tmp_path: Any,
) -> None:
    loop, _ = run(str(tmp_path), random_state=1)
    events = loop.events()
    for i, event in enumerate(events):
        if event.decision != "promoted":
            continue
        assert event.comparison is not None
        # Measured on fresh held-out rows, where it beat production: never lowered
        # below what production scored on the same rows.
        assert event.candidate_score == event.comparison.candidate
        assert event.candidate_score > event.production_score
        later = [e for e in events[i + 1 :] if e.decision != "quarantined"]
        if later:
            assert later[0].baseline == event.candidate_score
    # The monitors' reference is the production model's own training window.
    last = [e for e in events if e.decision == "promoted"][-1]
    state = loop._load_state()
    assert state.reference == last.dataset_digest
    training = loop.store.get(str(last.dataset_digest))
    fitted = state.monitors.fitted["features"]
    assert fitted.n_reference_ == len(training)
