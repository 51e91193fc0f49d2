"""With ``--json``, every error is one JSON object on stdout with a stable shape."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mlopskit.cli import EXIT_USAGE, main

_KEYS = {"ok", "error"}
_ERROR_KEYS = {"type", "message", "command", "exit_code"}


def _error(capsys: pytest.CaptureFixture[str], code: int) -> dict[str, object]:
    captured = capsys.readouterr()
    assert captured.err == ""  # nothing on stderr: scripts parse stdout only
    payload = json.loads(captured.out)
    assert set(payload) == _KEYS
    assert payload["ok"] is False
    error = payload["error"]
    assert set(error) == _ERROR_KEYS
    assert error["exit_code"] == code
    return error


def test_library_error_is_json_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data.csv"
    pd.DataFrame({"a": [1, 2]}).to_csv(data, index=False)
    code = main(
        ["validate", str(data), "--schema", str(tmp_path / "nope.json"), "--json"]
    )
    assert code == EXIT_USAGE
    error = _error(capsys, code)
    assert error["command"] == "validate"
    assert "nope.json" in str(error["message"])


def test_registry_error_is_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["registry", "show", "missing", "--registry", str(tmp_path / "reg"), "--json"]
    )
    assert code != 0
    error = _error(capsys, code)
    assert error["command"] == "registry"
    assert str(error["type"]).endswith("Error")


def test_usage_error_is_json_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["drift", "--json"])  # the two data files are missing
    assert code == EXIT_USAGE
    error = _error(capsys, code)
    assert error["type"] == "UsageError"
    assert "required" in str(error["message"])


def test_usage_error_without_json_stays_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["drift"])
    assert info.value.code == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "required" in captured.err


def test_text_errors_go_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data.csv"
    pd.DataFrame({"a": [1, 2]}).to_csv(data, index=False)
    code = main(["validate", str(data), "--schema", str(tmp_path / "nope.json")])
    assert code == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("mlopskit validate: error:")
