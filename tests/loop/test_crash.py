"""Crash consistency and two workers, with real processes.

A worker process (``tests/loop/crash_child.py``) SIGKILLs itself right after its k-th
write to the store or the registry, during an ``observe`` that retrains and promotes.
After each kill a fresh loop object must find the alias, the registry and the events in
agreement, every registered version named by an event, the events numbered 1, 2, 3 …
with no gap or duplicate, and the next ``observe`` must work. The parent only waits for
the child to end: no sleeps, no timing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.loop.test_loop import make_data, make_loop, observe

from mlopskit.loop import ContinuousTraining

ROOT = Path(__file__).resolve().parents[2]


def _child(url: str, kill_at: int, options: dict[str, Any], what: str) -> Any:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.loop.crash_child",
            url,
            str(kill_at),
            json.dumps(options),
            what,
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _writes(url: str, options: dict[str, Any]) -> list[str]:
    done = _child(url, -1, options, "observe")
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.splitlines()[-1])["writes"])


def _kill_points(writes: list[str]) -> list[int]:
    """Before the first write, after every record write, after one object put."""
    records = [i + 1 for i, w in enumerate(writes) if w.endswith(".json")]
    objects = [i + 1 for i, w in enumerate(writes) if not w.endswith(".json")]
    return sorted({0, *records, objects[len(objects) // 2]})


def check_consistent(lp: ContinuousTraining) -> str:
    """The invariants after a crash; returns how decision #2 was recorded."""
    status = lp.status()
    assert status.agrees, status
    assert status.in_flight is None  # the dead worker's claim is not live
    events = lp.events()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    registered = set(lp.registry.list_versions("clf")["version"])
    named = {e.candidate_version for e in events}
    assert registered <= named, (registered, [e.summary() for e in events])
    alias = lp.registry.get_version("clf", alias="production").version
    assert alias == events[-1].production_version
    if len(events) == 1:
        return "not recorded (number reused)"
    recovered = any("recorded by" in r for r in events[1].reasons)
    return f"{events[1].decision}{' (recovered)' if recovered else ''}"


def _crash_and_recover(url: str, options: dict[str, Any], k: int) -> str:
    done = _child(url, k, options, "observe")
    assert done.returncode == -9, (k, done.returncode, done.stderr[-2000:])
    fresh = make_loop(url, options)
    outcome = check_consistent(fresh)
    event = observe(fresh, make_data(300, shifted=True, seed=5))
    assert event.decision == "promoted", event.summary()
    again = make_loop(url, options)
    check_consistent(again)
    assert again.registry.get_version("clf", alias="production").version == (
        event.candidate_version
    )
    # The same batch again is the same decision, not a second retrain.
    assert observe(again, make_data(300, shifted=True, seed=5)).seq == event.seq
    return outcome


@pytest.mark.slow
def test_sigkill_at_every_record_write_leaves_a_consistent_loop(tmp_path: Path) -> None:
    template = tmp_path / "template"
    make_loop(str(template)).bootstrap(make_data(600, seed=1))
    probe = tmp_path / "probe"
    shutil.copytree(template, probe)
    writes = _writes(str(probe), {})
    assert any("/aliases/" in w for w in writes)
    points = _kill_points(writes)
    assert 10 <= len(points) <= 20
    outcomes: dict[str, int] = {}
    for k in points:
        trial = tmp_path / f"kill-{k}"
        shutil.copytree(template, trial)
        outcome = _crash_and_recover(str(trial), {}, k)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    # A kill after the alias moved is recovered as the promotion it was.
    move = next(i + 1 for i, w in enumerate(writes) if "/aliases/" in w)
    assert move in points
    assert (
        outcomes.get("promoted (recovered)", 0) >= 2
    )  # after the move, before the event
    assert outcomes.get("interrupted", 0) >= 1  # registered, never promoted


@pytest.mark.slow
@pytest.mark.s3
def test_sigkill_on_s3_around_the_alias_move(s3_storage: dict[str, Any]) -> None:
    options = s3_storage["storage_options"]
    base = s3_storage["url"]
    probe = f"{base}/probe"
    make_loop(probe, options).bootstrap(make_data(600, seed=1))
    writes = _writes(probe, options)
    move = next(i + 1 for i, w in enumerate(writes) if "/aliases/" in w)
    register = next(i + 1 for i, w in enumerate(writes) if "/versions/" in w)
    seen = set()
    for k in (register, move):  # registered only; the alias moved
        url = f"{base}/kill-{k}"
        make_loop(url, options).bootstrap(make_data(600, seed=1))
        seen.add(_crash_and_recover(url, options, k))
    assert "promoted (recovered)" in seen
    assert "interrupted" in seen


@pytest.mark.slow
def test_two_worker_processes_never_share_a_number(tmp_path: Path) -> None:
    url = str(tmp_path / "shared")
    make_loop(url).bootstrap(make_data(600, seed=1))
    seeds = {"a": list(range(100, 112)), "b": list(range(200, 212))}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.loop.crash_child",
                url,
                "-1",
                "{}",
                "worker:" + ",".join(map(str, s)),
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for s in seeds.values()
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        results.append(json.loads(out.splitlines()[-1]))
    got = [s for r in results for s in r["seqs"]]
    assert len(got) == len(set(got)) == 24  # every batch decided once, no shared number
    lp = make_loop(url)
    events = lp.events()
    assert [e.seq for e in events] == list(range(1, 26))
    digests = [e.batch_digest for e in events[1:]]
    assert len(set(digests)) == 24
    assert lp.status().agrees
