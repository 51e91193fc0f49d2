"""Names and aliases that could escape the root are refused before any write."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlopskit.errors import RegistryError
from mlopskit.registry import ModelRegistry
from mlopskit.registry._names import (
    ALIAS_PATTERN,
    MODEL_NAME_PATTERN,
    check_alias,
    check_name,
    check_version,
)

BAD_NAMES = [
    "",
    "..",
    "../x",
    "a/b",
    "/abs",
    "a\\b",
    "a..b",
    "x\n",
    "\x00",
    "Churn",
    "a" * 101,
    ".hidden",
    "-dash",
    " space",
    "é",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_write_nothing(tmp_path: Path, name: str) -> None:
    reg = ModelRegistry(str(tmp_path / "reg"))
    with pytest.raises(RegistryError, match="model name must match"):
        reg.register(name, 1)
    assert not (tmp_path / "reg").exists()


@pytest.mark.parametrize(
    "alias", ["", "latest", "Prod", "1st", "a/b", "../x", "p" * 65, None]
)
def test_bad_aliases_are_refused(tmp_path: Path, alias: object) -> None:
    reg = ModelRegistry(str(tmp_path / "reg"))
    reg.register("m", 1)
    with pytest.raises(RegistryError, match=r"alias|reserved"):
        reg.set_alias("m", alias, 1)  # type: ignore[arg-type]
    assert not (tmp_path / "reg" / "models" / "m" / "aliases").exists()


@pytest.mark.parametrize("version", [0, -1, True, 1.0, "1", None])
def test_bad_versions(version: object) -> None:
    with pytest.raises(RegistryError, match="positive integer"):
        check_version(version)


def test_the_lower_case_hint() -> None:
    with pytest.raises(RegistryError, match="Use 'churn'"):
        check_name("Churn")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_any_accepted_name_is_one_plain_path_component(text: str) -> None:
    try:
        name = check_name(text)
    except RegistryError:
        assert re.fullmatch(MODEL_NAME_PATTERN, text) is None or ".." in text
        return
    assert os.path.basename(name) == name
    assert name not in (".", "..")
    assert "/" not in name
    assert "\\" not in name
    assert ".." not in name
    assert name.isascii()
    assert name.isprintable()
    assert len(name) <= 100


@settings(max_examples=200, deadline=None)
@given(st.from_regex(ALIAS_PATTERN, fullmatch=True))
def test_every_alias_of_the_pattern_is_accepted(alias: str) -> None:
    if alias == "latest":
        return
    assert check_alias(alias) == alias
    assert not alias[0].isdigit()
