"""The main job: the demo runs the loop end to end, twice (the second from the cache)."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    report = tmp_path / "report.html"
    loop = run_demo(
        str(tmp_path / "ml"), report=str(report), out=lines.append, n_runs=30
    )
    decisions = list(loop.history()["decision"])
    assert decisions[0] == "bootstrapped"
    assert decisions[3] == "quarantined"  # the corrupt export
    assert "promoted" in decisions[4:6]  # covariate shift → retrain → promotion
    assert decisions[1:3] == ["no-change", "no-change"]
    assert any(line.startswith("summary:") for line in lines)
    html = report.read_text(encoding="utf-8")
    assert "<img" in html
    assert "Model versions" in html
    first_ran = sum(e.ran_steps for e in loop.events())

    second: list[str] = []
    loop = run_demo(str(tmp_path / "ml"), report=None, out=second.append, n_runs=30)
    session = loop.events()[len(decisions) :]
    assert [e.decision for e in session] == decisions  # same data, same decisions
    assert sum(e.ran_steps for e in session) == 0  # every step came from the cache
    assert sum(e.cached_steps for e in session) == first_ran
