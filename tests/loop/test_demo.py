"""The main job: the demo runs the loop end to end, twice (the second from the cache)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlopskit.cli import main
from mlopskit.loop._demo import demo_scenario, run_demo


def test_scenario_is_deterministic_and_tells_its_story() -> None:
    boot, batches = demo_scenario()
    again, batches2 = demo_scenario()
    assert boot.equals(again)
    assert [b.name for b in batches] == [
        "clean-1",
        "clean-2",
        "corrupt",
        "noise-1",
        "noise-2",
        "noise-3",
        "prior-1",
        "prior-2",
    ]
    assert all(
        b.features.equals(c.features) for b, c in zip(batches, batches2, strict=True)
    )
    assert set(batches[-1].labels) <= {0, 1, 2, 3}


@pytest.mark.slow
def test_demo_runs_the_loop_and_a_second_run_comes_from_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.html"
    store = str(tmp_path / "ml")
    assert (
        main(["demo", "--store", store, "--report", str(report), "--n-runs", "30"]) == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("summary:") for line in lines)
    assert any("quarantined" in line for line in lines)
    html = report.read_text(encoding="utf-8")
    assert "<img" in html
    assert "Model versions" in html

    second: list[str] = []
    loop = run_demo(store, report=None, out=second.append, n_runs=30)
    events = loop.events()
    first, session = events[: len(events) // 2], events[len(events) // 2 :]
    decisions = [e.decision for e in first]
    assert decisions[0] == "bootstrapped"
    assert decisions[1:3] == ["no-change", "no-change"]
    assert decisions[3] == "quarantined"  # the corrupt export
    assert "promoted" in decisions[4:6]  # covariate shift → retrain → promotion
    first_ran = sum(e.ran_steps for e in first)
    assert first_ran > 0
    assert [e.decision for e in session] == decisions  # same data, same decisions
    assert sum(e.ran_steps for e in session) == 0  # every step came from the cache
    assert sum(e.cached_steps for e in session) == first_ran
    assert "0 ran" in second[-1]
