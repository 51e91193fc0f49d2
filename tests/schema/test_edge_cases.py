"""Issue 18 (schema edge cases) and issue 13 (bad input): each case named by column.

- ``unique=True, nullable=True`` validates under pandas copy-on-write;
- contradictory constraints are refused when the column is built;
- a polars DataFrame is refused with a message that says how to convert;
- a non-strict schema lists undeclared columns as warnings, not failures;
- ``Schema`` and ``ValidationReport`` render as (escaped) HTML;
- missing/extra columns, wrong dtypes, all-null columns and zero rows give a report
  that names the column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlopskit.errors import MlopsKitError, SchemaError
from mlopskit.schema import Column, Schema, ValidationReport

# --- unique + nullable -----------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        [1.0, 2.0, np.nan, 2.0, np.nan],  # numpy float: the null mask comes from isnan
        pd.array([1, 2, None, 2, None], dtype="Int64"),  # masked ints
        ["a", "b", None, "b", None],  # strings
    ],
)
def test_unique_and_nullable_reports_duplicates_not_nulls(values: object) -> None:
    # Under copy-on-write, ``series.duplicated().to_numpy()`` is read-only; an
    # in-place ``&=`` on it raised "output array is read-only".
    dtype = "string" if isinstance(values, list) and "a" in values else "any"
    schema = Schema(columns={"x": Column(dtype=dtype, unique=True, nullable=True)})
    df = pd.DataFrame({"x": values}, index=[10, 11, 12, 13, 14])
    report = schema.validate(df)
    unique = report.failures[report.failures["check"] == "unique"]
    assert unique["index"].tolist() == [11, 13]  # the two 2s / "b"s, not the nulls
    assert not report.ok


def test_unique_and_nullable_all_distinct_passes() -> None:
    schema = Schema(columns={"x": Column(dtype="float", unique=True, nullable=True)})
    assert schema.validate(pd.DataFrame({"x": [1.0, np.nan, 3.0, np.nan]})).ok


# --- contradictory constraints -------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"dtype": "float", "ge": 5.0, "le": 1.0}, r"ge=5.0 > le=1.0"),
        ({"dtype": "integer", "gt": 3, "lt": 3}, r"gt=3 >= lt=3"),
        ({"dtype": "integer", "gt": 3, "le": 3}, r"gt=3 >= le=3"),
        ({"dtype": "integer", "ge": 3, "lt": 3}, r"ge=3 >= lt=3"),
        (
            {"dtype": "datetime", "ge": "2025-01-01", "le": "2024-01-01"},
            r"ge='2025-01-01' > le='2024-01-01'",
        ),
        ({"dtype": "string", "isin": ()}, r"`isin` is empty"),
        ({"dtype": "integer", "isin": (1, 2), "ge": 5}, r"no value of `isin`"),
        ({"dtype": "string", "min_length": 4, "max_length": 2}, r"min_length"),
    ],
)
def test_contradictory_constraints_are_refused(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(SchemaError, match=message) as info:
        Column(**fields)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)  # SchemaError refines ValueError


def test_contradictory_edit_and_json_are_refused() -> None:
    schema = Schema(columns={"x": Column(dtype="float", ge=0.0)})
    with pytest.raises(SchemaError, match=r"ge=0.0 > le=-1.0"):
        schema.with_column("x", le=-1.0)
    with pytest.raises(SchemaError, match=r"`isin` is empty"):
        Schema.from_json('{"columns": {"x": {"dtype": "string", "isin": []}}}')


def test_consistent_edge_bounds_are_accepted() -> None:
    assert Column(dtype="integer", ge=3, le=3).le == 3  # a single allowed value
    assert Column(dtype="float", gt=0.0, lt=1.0).lt == 1.0


# --- polars -------------------------------------------------------------------------


def test_polars_frame_is_refused_with_conversion_hint() -> None:
    pl = pytest.importorskip("polars")
    schema = Schema(columns={"x": Column(dtype="integer")})
    frame = pl.DataFrame({"x": [1, 2, 3]})
    with pytest.raises(SchemaError, match=r"polars DataFrame.*df\.to_pandas\(\)"):
        schema.validate(frame)
    with pytest.raises(SchemaError, match=r"df\.to_pandas\(\)"):
        Schema.infer(frame)
    # After the conversion the hint suggests, it validates.
    converted = frame.to_pandas()
    assert schema.validate(converted).ok


# --- extra columns under strict=False ----------------------------------------------


def test_non_strict_schema_lists_extra_columns_as_warnings() -> None:
    schema = Schema.infer(pd.DataFrame({"a": np.arange(50)}), strict=False)
    report = schema.validate(pd.DataFrame({"a": np.arange(50), "extra": 1.0}))
    assert report.ok  # informational: an undeclared column is not an error
    assert report.warnings[["column", "check"]].values.tolist() == [
        ["extra", "undeclared"]
    ]
    assert "1 warning" in str(report)
    again = ValidationReport.from_json(report.to_json())
    assert again.warnings.equals(report.warnings)


def test_strict_schema_fails_extra_columns() -> None:
    schema = Schema.infer(pd.DataFrame({"a": np.arange(50)}), strict=True)
    report = schema.validate(pd.DataFrame({"a": np.arange(50), "extra": 1.0}))
    assert not report.ok
    assert report.failures[["column", "check"]].values.tolist() == [
        ["extra", "allowed"]
    ]
    assert len(report.warnings) == 0


# --- HTML --------------------------------------------------------------------------


def test_schema_html_is_readable_and_escaped() -> None:
    schema = Schema(
        columns={
            "<b>x</b>": Column(dtype="string", isin=("<script>", "ok")),
            "y": Column(dtype="float", ge=0.0, le=1.0, nullable=True),
        },
        strict=True,
        description="a & b",
    )
    page = schema._repr_html_()
    assert "<script>" not in page
    assert "<b>x</b>" not in page
    assert "&lt;script&gt;" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page
    assert "a &amp; b" in page
    assert page.count("<tr") == 1 + len(schema.columns)  # header + one row a column
    assert "ge 0.0" in page
    assert "le 1.0" in page
    assert "strict" in page


def test_report_html_shows_verdict_and_escapes() -> None:
    schema = Schema(columns={"x": Column(dtype="string", isin=("a",))})
    report = schema.validate(pd.DataFrame({"x": ["a", "<img src=x>"]}))
    page = report._repr_html_()
    assert "FAILED" in page
    assert "<img" not in page
    assert "&lt;img src=x&gt;" in page
    assert "ok" in schema.validate(pd.DataFrame({"x": ["a"]}))._repr_html_()


# --- bad input (issue 13) ----------------------------------------------------------


def _schema() -> Schema:
    train = pd.DataFrame(
        {
            "n": np.arange(100),
            "x": np.linspace(0.0, 1.0, 100),
            "plan": ["free", "pro"] * 50,
        }
    )
    return Schema.infer(train, strict=True)


def _named(report: ValidationReport) -> set[tuple[object, str]]:
    return set(zip(report.failures["column"], report.failures["check"], strict=True))


def test_missing_column_is_named() -> None:
    report = _schema().validate(pd.DataFrame({"n": [1], "plan": ["pro"]}))
    assert ("x", "present") in _named(report)


def test_extra_column_is_named() -> None:
    df = pd.DataFrame({"n": [1], "x": [0.5], "plan": ["pro"], "bogus": [0]})
    assert _named(_schema().validate(df)) == {("bogus", "allowed")}


def test_wrong_dtype_is_named() -> None:
    df = pd.DataFrame({"n": ["1"], "x": [0.5], "plan": [3]})
    named = _named(_schema().validate(df))
    assert {("n", "dtype(integer)"), ("plan", "dtype(string)")} <= named


def test_all_null_column_is_named() -> None:
    df = pd.DataFrame({"n": [1, 2], "x": [np.nan, np.nan], "plan": ["pro", "free"]})
    report = _schema().validate(df)
    assert _named(report) == {("x", "not_null")}
    assert report.failures["index"].tolist() == [0, 1]


def test_all_null_object_column_is_named() -> None:
    df = pd.DataFrame({"n": [1, 2], "x": [0.1, 0.2], "plan": [None, None]})
    assert ("plan", "not_null") in _named(_schema().validate(df))


def test_zero_rows_with_right_columns_pass_and_wrong_ones_are_named() -> None:
    schema = _schema()
    empty = pd.DataFrame(
        {
            "n": pd.Series([], dtype="int64"),
            "x": pd.Series([], dtype="float64"),
            "plan": pd.Series([], dtype="str"),
        }
    )
    assert schema.validate(empty).ok
    assert ("x", "present") in _named(schema.validate(empty.drop(columns="x")))
    schema = schema.with_options(min_rows=1)
    assert _named(schema.validate(empty)) == {(None, "min_rows(1)")}


def test_not_a_frame_is_a_specific_error() -> None:
    with pytest.raises(SchemaError, match="Expected a pandas DataFrame") as info:
        _schema().validate({"n": [1]})  # type: ignore[arg-type]
    assert isinstance(info.value, MlopsKitError)
