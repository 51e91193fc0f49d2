"""``mlopskit validate DATA --schema FILE``."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

from mlopskit.cli import main
from mlopskit.schema import Column, Schema, ValidationReport

SCHEMA = Schema(
    columns={
        "age": Column(dtype="integer", ge=0),
        "when": Column(dtype="datetime"),
    }
)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    schema = tmp_path / "schema.json"
    schema.write_text(SCHEMA.to_json())
    good = tmp_path / "good.csv"
    pd.DataFrame({"age": [1, 2], "when": ["2024-01-01", "2024-01-02"]}).to_csv(
        good, index=False
    )
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"age": [1, -2], "when": ["2024-01-01", "oops"]}).to_csv(
        bad, index=False
    )
    return {"schema": schema, "good": good, "bad": bad}


def test_valid_csv_exits_0(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["validate", str(files["good"]), "--schema", str(files["schema"]), "--coerce"]
    )
    assert code == 0
    assert "ValidationReport: ok" in capsys.readouterr().out


def test_failures_exit_1_with_report(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["validate", str(files["bad"]), "--schema", str(files["schema"]), "--coerce"]
    )
    assert code == 1
    out = capsys.readouterr().out
    assert "FAILED, 2 failures" in out
    code = main(
        [
            "validate",
            str(files["bad"]),
            "--schema",
            str(files["schema"]),
            "--coerce",
            "--json",
        ]
    )
    assert code == 1
    report = ValidationReport.from_json(capsys.readouterr().out)
    assert set(
        zip(report.failures["check"], report.failures["index"], strict=True)
    ) == {
        ("ge(0)", 1),
        ("coerce(datetime)", 1),
    }
    assert json.loads(report.to_json())["ok"] is False


def test_without_coerce_csv_dates_are_text(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(files["good"]), "--schema", str(files["schema"])]) == 1
    assert "dtype(datetime)" in capsys.readouterr().out


def test_bad_input_exits_2(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    assert main(["validate", str(files["good"]), "--schema", str(broken)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert (
        main(
            [
                "validate",
                str(tmp_path / "missing.csv"),
                "--schema",
                str(files["schema"]),
            ]
        )
        == 2
    )
    assert "No data file" in capsys.readouterr().err
    other = tmp_path / "data.txt"
    other.write_text("x")
    assert main(["validate", str(other), "--schema", str(files["schema"])]) == 2
    assert "expected a .csv or .parquet" in capsys.readouterr().err
    assert (
        main(["validate", str(files["good"]), "--schema", str(tmp_path / "none.json")])
        == 2
    )
    assert "Cannot read the schema file" in capsys.readouterr().err


def test_parquet(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "data.parquet"
    if importlib.util.find_spec("pyarrow") is None:
        path.write_bytes(b"PAR1")
        assert main(["validate", str(path), "--schema", str(files["schema"])]) == 2
        assert "needs pyarrow" in capsys.readouterr().err
    else:
        frame = pd.DataFrame({"age": [3], "when": pd.to_datetime(["2024-01-01"])})
        frame.to_parquet(path)
        assert main(["validate", str(path), "--schema", str(files["schema"])]) == 0
