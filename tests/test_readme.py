"""The README's quickstart runs as written (in a scratch folder)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_quickstart_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"## Quickstart\n\n```python\n(.*?)```", text, re.S)
    assert match is not None, "README.md lost its Quickstart code block"
    monkeypatch.chdir(tmp_path)
    exec(compile(match.group(1), "README.md", "exec"), {})
    assert capsys.readouterr().out.strip() == "True"
    assert (tmp_path / ".mlopskit" / "registry").is_dir()


def test_readme_names_the_two_setup_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert 'pip install -e ".[plot]" && mlopskit demo' in text
    assert 'pip install -e ".[dev]" -c constraints.txt && pytest' in text
