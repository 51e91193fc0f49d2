"""``mlopskit loop observe|history|status|rollback`` with and without ``--json``."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from tests.loop.test_loop import make_data, make_loop

from mlopskit.cli import main


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module in the working directory whose ``loop()`` opens the test loop."""
    url = tmp_path / "ml"
    make_loop(str(url)).bootstrap(make_data(600, seed=1))
    name = f"loopdef_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(
        "from tests.loop.test_loop import make_loop\n\n\n"
        f"def loop():\n    return make_loop({str(url)!r})\n"
    )
    monkeypatch.chdir(tmp_path)
    return f"{name}:loop"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out) if "--json" in argv else out


def test_observe_history_status_rollback(
    spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = tmp_path / "batch.csv"
    make_data(200, seed=2).to_csv(batch, index=False)
    code, out = run(capsys, "loop", "observe", str(batch), "--loop", spec, "--json")
    assert code == 0
    assert out["ok"]
    assert out["event"]["decision"] == "no-change"
    assert out["event"]["performance"] is not None  # the target column was the labels
    shifted = tmp_path / "shifted.parquet"
    make_data(300, shifted=True, seed=5).to_parquet(shifted)
    code, out = run(capsys, "loop", "observe", str(shifted), "--loop", spec, "--json")
    assert out["event"]["decision"] == "promoted"
    code, out = run(capsys, "loop", "history", "--loop", spec, "--limit", "2", "--json")
    assert [e["seq"] for e in out["events"]] == [1, 2]
    assert out["next"] == 3
    code, text = run(capsys, "loop", "history", "--loop", spec, "--start", "3")
    assert text.startswith("#3 observe: promoted")
    code, out = run(capsys, "loop", "status", "--loop", spec, "--json")
    assert out["status"]["agrees"]
    assert out["status"]["production_version"] == 2
    code, out = run(
        capsys,
        "loop",
        "rollback",
        "--loop",
        spec,
        "--to",
        "1",
        "--reason",
        "pager",
        "--json",
    )
    assert code == 0
    assert out["event"]["decision"] == "rolled-back"
    code, text = run(capsys, "loop", "status", "--loop", spec)
    assert "production_version: 1" in text


def test_errors_are_json_with_json(
    spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(
        capsys,
        "loop",
        "rollback",
        "--loop",
        spec,
        "--to",
        "9",
        "--reason",
        "x",
        "--json",
    )
    assert code == 2
    assert out["ok"] is False
    assert out["error"]["type"] == "RegistryLookupError"
    code, out = run(capsys, "loop", "status", "--loop", "nomodule_x:loop", "--json")
    assert code == 2
    assert "Cannot load the loop" in out["error"]["message"]
    bad = tmp_path / "bad.csv"
    frame = make_data(50, seed=3)
    frame.loc[0, "x0"] = float("nan")
    frame.to_csv(bad, index=False)
    code, out = run(capsys, "loop", "observe", str(bad), "--loop", spec, "--json")
    assert code == 1
    assert out["event"]["decision"] == "quarantined"
