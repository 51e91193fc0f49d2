"""``mlopskit registry …`` sub-commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlopskit.cli import main
from mlopskit.registry import ModelRegistry


@pytest.fixture
def url(tmp_path: Path) -> str:
    reg = ModelRegistry(str(tmp_path / "reg"))
    reg.register("churn", {"w": 1}, metrics={"auc": 0.90}, tags={"team": "crm"})
    reg.register("churn", {"w": 2}, metrics={"auc": 0.95})
    reg.set_alias("churn", "staging", 2, reason="candidate")
    return str(tmp_path / "reg")


def test_list_and_versions(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["registry", "list", "--registry", url]) == 0
    out = capsys.readouterr().out
    assert "churn" in out
    assert "staging=v2" in out
    assert main(["registry", "versions", "churn", "--registry", url, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["version"] for r in rows] == [1, 2]
    assert rows[0]["metrics.auc"] == 0.90
    assert main(["registry", "versions", "churn", "--registry", url]) == 0
    assert "metrics.auc" in capsys.readouterr().out


def test_show_by_version_alias_and_latest(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for ref, version in [("churn@1", 1), ("churn@staging", 2), ("churn", 2)]:
        assert main(["registry", "show", ref, "--registry", url, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["version"] == version
    assert main(["registry", "show", "churn@1", "--registry", url]) == 0
    assert "digest" in capsys.readouterr().out


def test_promote_and_history(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "registry",
                "promote",
                "churn",
                "1",
                "--alias",
                "production",
                "--reason",
                "rollback",
                "--registry",
                url,
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == "churn production: unset -> v1"
    assert ModelRegistry(url).get_version("churn", alias="production").version == 1
    assert main(["registry", "history", "churn", "--registry", url, "--json"]) == 0
    events = json.loads(capsys.readouterr().out)["events"]
    assert [e["kind"] for e in events] == [
        "register",
        "register",
        "set_alias",
        "set_alias",
    ]
    assert events[-1]["reason"] == "rollback"
    assert main(["registry", "history", "churn", "--registry", url]) == 0
    assert "rollback" in capsys.readouterr().out


def test_unknown_names_exit_2_and_list_what_exists(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "show", "churn@9", "--registry", url]) == 2
    assert "Its versions: 1-2" in capsys.readouterr().err
    assert main(["registry", "versions", "nope", "--registry", url]) == 2
    assert "Known models: churn" in capsys.readouterr().err
    assert (
        main(
            [
                "registry",
                "promote",
                "churn",
                "1",
                "--alias",
                "Bad/Alias",
                "--registry",
                url,
            ]
        )
        == 2
    )
