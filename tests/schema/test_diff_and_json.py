"""Schema.diff classification, JSON serialisation and editing helpers."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mlopskit.errors import SchemaError
from mlopskit.schema import Column, Schema, SchemaDiff

BASE = Schema(
    columns={
        "age": Column(dtype="integer", ge=0, le=120),
        "plan": Column(dtype="string", isin=("free", "pro")),
        "code": Column(dtype="string", regex=r"[A-Z]{3}"),
        "t": Column(dtype="datetime", tz="UTC", ge="2020-01-01"),
        "note": Column(dtype="string", nullable=True, required=False),
    },
    min_rows=1,
)


def _effects(diff: SchemaDiff) -> dict[tuple[object, str], str]:
    c = diff.changes
    return {
        (col, attr): eff
        for col, attr, eff in zip(c["column"], c["attribute"], c["effect"], strict=True)
    }


def test_identical_schemas() -> None:
    diff = BASE.diff(BASE)
    assert diff.backward_compatible
    assert diff.added == ()
    assert diff.removed == ()
    assert len(diff.changes) == 0


@pytest.mark.parametrize(
    ("edit", "key", "effect"),
    [
        ({"age": {"ge": 18}}, ("age", "lower bound"), "tightened"),
        ({"age": {"ge": -5}}, ("age", "lower bound"), "loosened"),
        ({"age": {"ge": None, "gt": 0}}, ("age", "lower bound"), "tightened"),
        ({"age": {"le": None}}, ("age", "upper bound"), "loosened"),
        ({"age": {"dtype": "float"}}, ("age", "dtype"), "changed"),
        ({"age": {"nullable": True}}, ("age", "nullable"), "loosened"),
        ({"age": {"unique": True}}, ("age", "unique"), "tightened"),
        ({"plan": {"isin": ("free", "pro", "team")}}, ("plan", "isin"), "loosened"),
        ({"plan": {"isin": ("free",)}}, ("plan", "isin"), "tightened"),
        ({"plan": {"isin": ("free", "team")}}, ("plan", "isin"), "changed"),
        ({"code": {"regex": "[A-Z]{4}"}}, ("code", "regex"), "changed"),
        ({"code": {"regex": None}}, ("code", "regex"), "loosened"),
        ({"code": {"max_length": 3}}, ("code", "max_length"), "tightened"),
        ({"t": {"ge": "2021-01-01"}}, ("t", "lower bound"), "tightened"),
        ({"t": {"tz": "Europe/Berlin"}}, ("t", "tz"), "changed"),
        ({"note": {"required": True}}, ("note", "required"), "tightened"),
    ],
)
def test_column_changes(
    edit: dict[str, dict[str, object]], key: tuple[str, str], effect: str
) -> None:
    ((name, changes),) = edit.items()
    new = BASE.with_column(name, **changes)
    diff = BASE.diff(new)
    assert _effects(diff)[key] == effect
    assert diff.backward_compatible is (effect == "loosened")
    assert SchemaDiff.from_json(diff.to_json()) == diff


def test_added_removed_and_table_changes() -> None:
    optional = BASE.with_options(strict=True).with_column(
        "extra", Column(dtype="float", required=False)
    )
    diff = BASE.with_options(strict=True).diff(optional)
    assert diff.added == ("extra",)
    assert diff.backward_compatible
    required = BASE.with_column("extra", Column(dtype="float"))
    assert not BASE.diff(required).backward_compatible
    assert "required" in BASE.diff(required).breaking[0]
    dropped = BASE.without_column("note")
    assert BASE.diff(dropped).removed == ("note",)
    assert BASE.diff(dropped).backward_compatible
    assert not BASE.diff(dropped.with_options(strict=True)).backward_compatible
    tighter = BASE.with_options(min_rows=10, unique=(("age", "plan"),), ordered=True)
    effects = _effects(BASE.diff(tighter))
    assert effects[(None, "min_rows")] == "tightened"
    assert effects[(None, "unique")] == "tightened"
    assert effects[(None, "ordered")] == "tightened"
    assert _effects(tighter.diff(BASE))[(None, "min_rows")] == "loosened"
    assert tighter.diff(BASE).backward_compatible
    implied = BASE.with_column("age", unique=True)
    assert implied.diff(
        implied.with_options(unique=(("age", "plan"),))
    ).backward_compatible
    assert "BREAKING" in str(BASE.diff(tighter))


def test_json_is_short_readable_and_lossless() -> None:
    text = BASE.to_json()
    body = json.loads(text)
    assert body["format"] == 1
    assert body["columns"]["age"] == {"dtype": "integer", "ge": 0, "le": 120}
    assert "nullable" not in body["columns"]["age"]  # defaults are left out
    back = Schema.from_json(text)
    assert back == BASE
    assert list(back.columns) == list(BASE.columns)
    assert Schema.from_json(text.encode()) == BASE


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "A schema is a JSON object"),
        ('{"format": 99}', "Unsupported schema format 99"),
        ('{"columns": {"x": {"dtype": "decimal"}}}', r"columns\.x\.dtype"),
        ('{"columns": {"x": {"regex": "("}}}', "does not compile"),
        (
            '{"columns": {"x": {"dtype": "datetime", "ge": "yesterday-ish"}}}',
            "cannot be read as a datetime",
        ),
        ('{"columns": {"x": {"dtype": "float", "ge": "abc"}}}', "is not a number"),
        ('{"columns": {}, "unique": [["x"]]}', "does not declare"),
        ('{"colums": {}}', "colums"),
    ],
)
def test_from_json_errors(text: str, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        Schema.from_json(text)


def test_editing_helpers() -> None:
    edited = BASE.with_column("age", ge=18).with_column("score", Column(dtype="float"))
    assert edited["age"].ge == 18
    assert edited["age"].le == 120
    assert BASE["age"].ge == 0  # the original is unchanged
    assert list(edited.columns)[-1] == "score"
    with pytest.raises(SchemaError, match="no column 'nope' to edit"):
        BASE.with_column("nope", ge=1)
    with pytest.raises(SchemaError, match="Invalid column 'age'"):
        BASE.with_column("age", ge="not a number")
    with pytest.raises(SchemaError, match="no columns"):
        BASE.without_column("nope")
    with pytest.raises(KeyError, match="no column 'nope'"):
        BASE["nope"]
    with pytest.raises(SchemaError, match="min_rows"):
        BASE.with_options(min_rows=5, max_rows=2)
    with pytest.raises(Exception, match="frozen"):
        BASE.strict = True  # type: ignore[misc]
    stamp = Column(dtype="datetime", ge=pd.Timestamp("2024-05-01 12:00"))
    assert stamp.ge == "2024-05-01T12:00:00"
