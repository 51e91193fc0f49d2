"""Retention: a loop's records and roots stay bounded however many batches it sees.

A fast synthetic loop (a majority-class model, 10-row batches, a 60-row training
window, no monitors) runs 300 observes on ``memory://``; ``retain(collect=True)`` runs
every 100 batches (the store's garbage collection, with no lease and no grace so
that it collects at once). What is measured: the loop's records, the objects in the
store and the loop's roots after 100, 200 and 300 batches. They stop growing, which
is what bounds a loop of 10,000 batches; 10,000 real observes are not run here, and
this loop never retrains (a retrain adds a registry version and pipeline records
the loop does not delete).
"""

from __future__ import annotations

import uuid
from typing import Any

import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from tests.loop.test_loop import FEATURES, make_data

from mlopskit.errors import InvalidParameterError
from mlopskit.loop import ContinuousTraining, RetentionPolicy
from mlopskit.pipeline import Pipeline, step
from mlopskit.registry import ModelRegistry
from mlopskit.versioning import ContentStore


def majority(data: pd.DataFrame) -> Any:
    return DummyClassifier(strategy="most_frequent").fit(data[FEATURES], data["target"])


def _loop(url: str) -> ContinuousTraining:
    return ContinuousTraining(
        Pipeline([step(majority, name="model")]),
        registry=ModelRegistry(f"{url}/registry"),
        model_name="clf",
        monitors=(),
        gates=[],
        store=ContentStore(f"{url}/store", lease_seconds=0),
        performance_drop=1.0,
        training_window=60,
        checkpoint_every=50,
    )


def _records(lp: ContinuousTraining) -> int:
    return len(lp.store.fs.find(lp._events.path("loop", "clf")))


def _objects(lp: ContinuousTraining) -> int:
    return len(lp.store.fs.find(lp._events.path("objects")))


@pytest.mark.slow
def test_records_and_roots_stop_growing() -> None:
    url = f"memory://retention-{uuid.uuid4().hex[:8]}"
    lp = _loop(url)
    lp.bootstrap(make_data(200, seed=1))
    policy = RetentionPolicy(keep_events=100, keep_checkpoints=2)
    sizes = []
    released: set[str] = set()
    for n in range(1, 301):
        batch = make_data(10, seed=1000 + n)
        if n % 50 == 0:  # a corrupt export now and then
            batch.loc[0, "x0"] = float("nan")
        lp.observe(batch[FEATURES], labels=batch["target"].to_numpy())
        if n % 100 == 0:
            report = lp.retain(policy, collect=True, grace=0)
            released |= set(report.released)
            assert report.kept_events <= policy.keep_events + lp.checkpoint_every
            assert report.released_runs == ()  # the bootstrap's run is v1's lineage
            assert all(d in lp.store for d in report.roots)
            assert not any(d in lp.store for d in report.released)
            # A quarantined batch stays while its digest is among the last 1,000
            # decisions' (idempotency): at most 1000 / 50 = 20 of them here.
            quarantined = n // 50
            sizes.append(
                (
                    _records(lp),
                    _objects(lp) - quarantined,
                    len(report.roots),
                    len(lp._state.parts),
                )
            )
    # After the first retention the counts are flat: bounded, whatever the count.
    assert sizes[1] == sizes[2], sizes
    _, objects, roots, parts = sizes[-1]
    assert objects <= roots + 8  # + v1's artifact, the bootstrap run's outputs
    assert parts <= 60 // 7 + 2  # 10-row parts (7 rows each after the held-out share)
    assert roots <= 100 + 2  # the kept events' batches, the schema, the reference
    assert len(released) >= 200 - 100  # the older batches, collected
    # The state rebuilt after retention is the live state, and the loop carries on.
    fresh = _loop(url)
    assert fresh._rebuild().to_dict() == lp._state.to_dict()
    assert [e.seq for e in fresh.events()][-1] == 301
    assert list(fresh.history(start=300)["seq"]) == [300, 301]
    again = make_data(10, seed=1299)  # batch #300, within the kept events: one decision
    assert fresh.observe(again[FEATURES], labels=again["target"].to_numpy()).seq == 300


def test_dry_run_deletes_nothing_and_bad_policies_are_refused() -> None:
    url = f"memory://retention-{uuid.uuid4().hex[:8]}"
    lp = _loop(url)
    lp.bootstrap(make_data(200, seed=1))
    for n in range(60):
        batch = make_data(10, seed=2000 + n)
        lp.observe(batch[FEATURES], labels=batch["target"].to_numpy())
    before = _records(lp)
    report = lp.retain(RetentionPolicy(keep_events=10), dry_run=True)
    assert report.dry_run
    assert report.deleted_events == 49  # older than the checkpoint at #50
    assert _records(lp) == before
    assert lp.retain(RetentionPolicy(keep_events=10)).deleted_events == 49
    assert next(e.seq for e in lp.events()) == 50
    assert list(lp.history(start=1, limit=2)["seq"]) == [50, 51]  # from the oldest kept
    with pytest.raises(InvalidParameterError, match="keep_events"):
        RetentionPolicy(keep_events=0)
