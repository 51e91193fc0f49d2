"""``mlopskit drift``: exit codes a CI job can gate on, text and JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlopskit.cli import main
from mlopskit.drift import DriftResult


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"a": rng.normal(size=400), "b": rng.choice(["x", "y"], 400)})
    same = pd.DataFrame({"a": rng.normal(size=400), "b": rng.choice(["x", "y"], 400)})
    moved = same.assign(a=same["a"] + 1.0)
    paths = {
        "ref": tmp_path / "ref.csv",
        "same": tmp_path / "same.csv",
        "moved": tmp_path / "moved.csv",
    }
    ref.to_csv(paths["ref"], index=False)
    same.to_csv(paths["same"], index=False)
    moved.to_csv(paths["moved"], index=False)
    return paths


def test_no_drift_exits_0(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["drift", str(files["ref"]), str(files["same"])]) == 0
    assert capsys.readouterr().out.startswith("no drift")


def test_drift_exits_1_and_names_the_feature(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["drift", str(files["ref"]), str(files["moved"]), "--json"]) == 1
    result = DriftResult.from_json(capsys.readouterr().out)
    assert result.drift
    assert result.features is not None
    flagged = result.features.set_index("feature")["drift"]
    assert bool(flagged["a"])
    assert not bool(flagged["b"])


def test_columns_and_detector_choice(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "drift",
            str(files["ref"]),
            str(files["moved"]),
            "--detector",
            "ks",
            "--columns",
            "a",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert out["method"] == "ks"
    assert out["n_sample"] == 400


def test_bad_input_exits_2_with_a_message(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["drift", str(files["ref"]), str(tmp_path / "missing.csv")]) == 2
    assert "No data file" in capsys.readouterr().err
    assert (
        main(["drift", str(files["ref"]), str(files["same"]), "--columns", "zz"]) == 2
    )
    assert "zz" in capsys.readouterr().err
