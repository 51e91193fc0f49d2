"""Operating the loop: idempotent observe, claims and leases, the stored definition,
rollback, manual approval, hooks, status, checkpoints, pagination, a Dask executor."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from tests.loop.test_loop import make_data, make_loop, observe, pipeline

from mlopskit.drift import KSDrift, TabularDrift
from mlopskit.errors import (
    InvalidParameterError,
    LoopBusyError,
    LoopConfigError,
    LoopError,
    RegistryLookupError,
)
from mlopskit.loop import ContinuousTraining, HoldoutGate, ManualApproval, Monitor
from mlopskit.loop._journal import Claim
from mlopskit.loop._loop import _State

SHIFTED = {"n": 300, "shifted": True, "seed": 5}


@pytest.fixture
def loop(tmp_path: Path) -> ContinuousTraining:
    lp = make_loop(str(tmp_path))
    lp.bootstrap(make_data(600, seed=1))
    return lp


def _claim(lp: ContinuousTraining, seq: int, **kw: Any) -> None:
    """Write a claim as another worker would have (host, pid, lease given)."""
    fields = {
        "seq": seq,
        "attempt": 1,
        "token": "0123456789abcdef",
        "kind": "observe",
        "key": None,
        "host": "another-host",
        "pid": 4242,
        "who": "ana@another-host",
        "started_at": "2026-01-01T00:00:00+00:00",
        "expires_at": time.time() + 3600,
        **kw,
    }
    lp._events.create(
        Claim(**fields).to_bytes(),
        "loop",
        "clf",
        "claims",
        f"{seq:08d}",
        f"{fields['attempt']:02d}.json",
    )


# -- idempotency and claims -----------------------------------------------------------


def test_the_same_batch_twice_records_one_decision(loop: ContinuousTraining) -> None:
    first = observe(loop, make_data(200, seed=2))
    again = observe(
        make_loop(str(loop.store.url).rsplit("/", 1)[0]), make_data(200, seed=2)
    )
    assert again == first
    assert [e.seq for e in loop.events()] == [1, 2]
    other = observe(loop, make_data(200, seed=3))
    assert other.seq == 3
    # A new bootstrap starts a new scope: the batch is news again.
    loop.bootstrap(make_data(600, seed=1))
    assert observe(loop, make_data(200, seed=2)).seq == 5


def test_a_live_claim_of_another_worker_is_busy(loop: ContinuousTraining) -> None:
    _claim(loop, 2)
    with pytest.raises(LoopBusyError, match="ana@another-host") as info:
        observe(loop, make_data(100, seed=4))
    assert info.value.seq == 2
    assert loop.registry.get_version("clf", alias="production").version == 1
    assert loop.status().in_flight is not None


def test_an_expired_claim_is_taken_over(loop: ContinuousTraining) -> None:
    _claim(loop, 2, expires_at=time.time() - 1.0)
    event = observe(loop, make_data(100, seed=4))
    assert event.seq == 2
    attempts = loop._journal.attempts(2)
    assert [a.attempt for a in attempts] == [1, 2]


def test_a_dead_process_on_this_host_is_taken_over_at_once(
    loop: ContinuousTraining,
) -> None:
    import socket
    import subprocess
    import sys

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    _claim(loop, 2, host=socket.gethostname(), pid=int(dead.stdout))
    assert observe(loop, make_data(100, seed=4)).seq == 2


# -- the stored definition ----------------------------------------------------------------


def test_reopening_with_another_definition_names_the_difference(tmp_path: Path) -> None:
    url = str(tmp_path)
    make_loop(url).bootstrap(make_data(600, seed=1))
    other = make_loop(url, monitors=[Monitor(KSDrift(alpha=0.01), on="features")])
    with pytest.raises(LoopConfigError, match="monitors") as info:
        observe(other, make_data(100, seed=2))
    assert any("KSDrift" in d for d in info.value.differences)
    window = make_loop(url, holdout_fraction=0.2)
    with pytest.raises(LoopConfigError, match="holdout_fraction"):
        observe(window, make_data(100, seed=2))
    code = make_loop(url)
    code.pipeline = pipeline(lambda train: None)
    with pytest.raises(LoopConfigError, match="step 'model'"):
        observe(code, make_data(100, seed=2))
    assert [e.seq for e in make_loop(url).events()] == [1]  # nothing was mixed in


def test_a_new_epoch_is_recorded_and_then_binding(tmp_path: Path) -> None:
    url = str(tmp_path)
    make_loop(url).bootstrap(make_data(600, seed=1))
    monitors = [Monitor(TabularDrift(alpha=0.05), on="features")]
    new = make_loop(url, monitors=monitors, new_epoch=True)
    event = observe(new, make_data(100, seed=2))
    epoch = new.events()[1]
    assert (epoch.kind, epoch.decision) == ("epoch", "new-epoch")
    assert any("monitors" in r for r in epoch.reasons)
    assert event.seq == 3
    with pytest.raises(LoopConfigError):  # the old definition is the stranger now
        observe(make_loop(url), make_data(100, seed=3))
    assert observe(make_loop(url, monitors=monitors), make_data(100, seed=3)).seq == 4


# -- rollback, approval, hooks, status ------------------------------------------------


def test_rollback_moves_the_alias_back_with_a_reason(loop: ContinuousTraining) -> None:
    promoted = observe(loop, make_data(**SHIFTED))
    assert promoted.decision == "promoted"
    event = loop.rollback(to=1, reason="complaints from the call centre")
    assert (event.kind, event.decision, event.production_version) == (
        "rollback",
        "rolled-back",
        1,
    )
    assert loop.registry.get_version("clf", alias="production").version == 1
    moves = loop.registry.history("clf").events
    assert "complaints from the call centre" in (moves[-1].reason or "")
    fresh = make_loop(str(loop.store.url).rsplit("/", 1)[0])
    state = fresh._load_state()
    assert state.production == 1
    assert state.reference == loop.events()[0].dataset_digest
    assert fresh.status().agrees
    with pytest.raises(InvalidParameterError, match="reason"):
        loop.rollback(to=2, reason="")
    with pytest.raises(RegistryLookupError):
        loop.rollback(to=9, reason="typo")


def test_manual_approval_waits_for_a_person(tmp_path: Path) -> None:
    lp = make_loop(str(tmp_path), gates=[HoldoutGate(), ManualApproval()])
    lp.bootstrap(make_data(600, seed=1))
    event = observe(lp, make_data(**SHIFTED))
    assert event.decision == "pending_approval"
    assert lp.registry.get_version("clf", alias="production").version == 1
    assert lp.status().awaiting_approval == (event.seq,)
    approved = lp.approve(event.seq, reason="checked the plots")
    assert (approved.kind, approved.decision) == ("approval", "promoted")
    assert lp.registry.get_version("clf", alias="production").version == (
        event.candidate_version
    )
    with pytest.raises(LoopError, match="not awaiting approval"):
        lp.approve(event.seq)
    assert (
        make_loop(str(tmp_path), gates=[HoldoutGate(), ManualApproval()])
        .status()
        .agrees
    )


def test_a_candidate_failing_another_gate_is_refused_not_pending(
    tmp_path: Path,
) -> None:
    lp = make_loop(str(tmp_path), gates=[HoldoutGate(min_gain=2.0), ManualApproval()])
    lp.bootstrap(make_data(600, seed=1))
    assert observe(lp, make_data(**SHIFTED)).decision == "refused"


seen: list[int] = []


def remember(event: Any) -> None:
    seen.append(event.seq)


def test_hooks_see_every_event_and_a_failing_hook_breaks_nothing(
    tmp_path: Path,
) -> None:
    def broken(event: Any) -> None:
        raise RuntimeError("the pager is down")

    seen.clear()
    lp = make_loop(str(tmp_path), hooks=[broken, "tests.loop.test_operations:remember"])
    lp.bootstrap(make_data(600, seed=1))
    observe(lp, make_data(100, seed=2))
    assert seen == [1, 2]
    assert [(s, e) for s, _, e in lp.hook_errors] == [
        (1, "RuntimeError: the pager is down"),
        (2, "RuntimeError: the pager is down"),
    ]
    assert [e.seq for e in make_loop(str(tmp_path)).events()] == [1, 2]
    with pytest.raises(InvalidParameterError, match="module:function"):
        make_loop(str(tmp_path), hooks=["no-colon"])


def test_status_sees_an_alias_moved_outside_the_loop(loop: ContinuousTraining) -> None:
    assert loop.status().agrees
    mv = loop.registry.register("clf", {"not": "a model"})
    loop.registry.set_alias("clf", "production", mv.version, reason="by hand")
    status = loop.status()
    assert not status.agrees
    assert (status.production_version, status.registry_version) == (1, mv.version)
    assert json.loads(status.to_json())["agrees"] is False


# -- scale: checkpoints, pages, executor ------------------------------------------------


def test_state_from_a_checkpoint_equals_the_full_fold(tmp_path: Path) -> None:
    lp = make_loop(str(tmp_path), checkpoint_every=3)
    lp.bootstrap(make_data(600, seed=1))
    for seed in range(20, 23):
        observe(lp, make_data(80, seed=seed))
    assert observe(lp, make_data(**SHIFTED)).decision == "promoted"
    for seed in range(23, 25):
        observe(lp, make_data(80, seed=seed))
    assert lp._journal.checkpoint_numbers() == [3, 6]
    full = _State()
    for event in lp._journal.all_events():
        full.fold(event, lp)
    assert lp._state is not None
    assert lp._state.to_dict() == full.to_dict()  # the live state is the fold
    fresh = make_loop(str(tmp_path), checkpoint_every=3)

    def no_listing() -> Any:
        raise AssertionError("the rebuild listed every event")

    fresh._journal.all_events = no_listing  # type: ignore[method-assign]
    assert fresh._rebuild().to_dict() == full.to_dict()


def test_history_pages(loop: ContinuousTraining) -> None:
    for seed in range(30, 34):
        observe(loop, make_data(80, seed=seed))
    page = loop.history(start=2, limit=2)
    assert list(page["seq"]) == [2, 3]
    assert list(loop.history(start=4)["seq"]) == [4, 5]
    assert list(loop.history(limit=1)["seq"]) == [1]
    assert len(loop.history(start=99)) == 0


@pytest.mark.slow
def test_retraining_runs_on_a_dask_cluster(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        lp = make_loop(str(tmp_path), executor=client)
        assert lp.bootstrap(make_data(600, seed=1)).ran_steps > 0
        event = observe(lp, make_data(**SHIFTED))
        assert event.decision == "promoted"
        run = lp.store.get  # the run record names the executor it ran on
        from mlopskit.pipeline import load_run

        assert load_run(lp.store, event.run_id).executor == "dask"
        del run
