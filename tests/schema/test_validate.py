"""Schema.validate: planted bad cells are reported at their index labels, exactly."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from mlopskit.errors import SchemaError, SchemaValidationError
from mlopskit.schema import Column, Schema, ValidationReport, register_check


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.uniform(0, 10, n),
            "k": rng.choice([1, 2, 3], n),
            "code": [f"AB-{i:04d}" for i in range(n)],
            "when": pd.date_range("2024-01-01", periods=n, freq="h"),
        },
        # Labels that are not positions, so a position/label mix-up is caught.
        index=pd.Index(np.arange(n) * 7 + 1000, name="row_id"),
    )


SCHEMA = Schema(
    columns={
        "x": Column(dtype="float", ge=0.0, lt=10.0),
        "k": Column(dtype="integer", isin=(1, 2, 3)),
        "code": Column(dtype="string", regex=r"[A-Z]{2}-\d{4}", unique=True),
        "when": Column(dtype="datetime", ge="2024-01-01", le="2024-12-31"),
    }
)


def _pairs(report: ValidationReport) -> set[tuple[str, str, object]]:
    f = report.failures
    return set(zip(f["column"], f["check"], f["index"], strict=True))


def test_clean_frame_passes() -> None:
    report = SCHEMA.validate(_frame())
    assert report.ok
    assert report.n_failures == 0
    assert report.summary["failures"].sum() == 0
    assert report.raise_for_errors() is report
    assert "ok" in str(report)


def test_planted_cells_are_reported_at_their_labels() -> None:
    df = _frame()
    labels = df.index
    df.loc[labels[3], "x"] = -1.0
    df.loc[labels[5], "x"] = 10.0  # lt is strict
    df.loc[labels[8], "k"] = 4
    df.loc[labels[13], "code"] = "ab-0001"
    df.loc[labels[21], "code"] = df.loc[labels[22], "code"]  # a duplicate pair
    df.loc[labels[34], "when"] = pd.Timestamp("2025-06-01")
    report = SCHEMA.validate(df)
    assert not report.ok
    assert _pairs(report) == {
        ("x", "ge(0.0)", labels[3]),
        ("x", "lt(10.0)", labels[5]),
        ("k", "isin", labels[8]),
        ("code", r"regex([A-Z]{2}-\d{4})", labels[13]),
        ("code", "unique", labels[21]),
        ("code", "unique", labels[22]),
        ("when", "le(2024-12-31)", labels[34]),
    }
    assert report.n_failures == 7
    assert sorted(report.failing_rows) == sorted(labels[[3, 5, 8, 13, 21, 22, 34]])
    values = dict(zip(report.failures["check"], report.failures["value"], strict=False))
    assert values["ge(0.0)"] == -1.0
    assert values["isin"] == 4
    assert values["le(2024-12-31)"] == pd.Timestamp("2025-06-01")
    counts = report.summary.set_index(["column", "check"])["failures"]
    assert counts[("code", "unique")] == 2
    assert counts[("k", "dtype(integer)")] == 0


def test_failing_row_count_is_exact_at_scale() -> None:
    rng = np.random.default_rng(1)
    df = _frame(5000)
    bad = rng.choice(len(df), 250, replace=False)
    df.iloc[bad, df.columns.get_loc("x")] = 50.0
    report = SCHEMA.validate(df)
    assert report.n_failures == 250
    assert set(report.failures["index"]) == set(df.index[bad])


def test_lazy_false_stops_at_first_failing_check() -> None:
    df = _frame()
    df.iloc[[1, 2], 0] = -5.0  # x: first column, ge fails twice
    df.iloc[4, 1] = 9  # k fails too, but is never reached
    eager = SCHEMA.validate(df, lazy=False)
    assert not eager.ok
    assert not eager.complete
    assert set(eager.failures["check"]) == {"ge(0.0)"}
    assert eager.n_failures == 2  # every failing row of that check
    assert "lazy=False" in str(eager)
    lazy = SCHEMA.validate(df)
    assert lazy.complete
    assert lazy.n_failures == 3


def test_nulls_reported_once_and_value_checks_skip_them() -> None:
    df = _frame()
    df.iloc[0, 0] = np.nan
    report = SCHEMA.validate(df)
    assert _pairs(report) == {("x", "not_null", df.index[0])}
    nullable = SCHEMA.with_column("x", nullable=True)
    assert nullable.validate(df).ok


@pytest.mark.parametrize(
    ("values", "column"),
    [
        (pd.array([1, None, 5], dtype="Int64"), Column(dtype="integer", le=4)),
        (pd.array([0.5, None, 5.0], dtype="Float64"), Column(dtype="float", le=4)),
        (
            pd.array([True, None, False], dtype="boolean"),
            Column(dtype="boolean", isin=(True,)),
        ),
        (
            pd.array(["a", None, "zz"], dtype="string"),
            Column(dtype="string", max_length=1),
        ),
        (pd.Categorical(["a", None, "c"]), Column(dtype="category", isin=("a", "b"))),
        (
            pd.to_datetime(["2024-01-01", None, "2030-01-01"]).tz_localize(
                "Europe/Berlin"
            ),
            Column(dtype="datetime", tz="Europe/Berlin", le="2025-01-01"),
        ),
        (pd.to_timedelta(["1h", None, "3D"]), Column(dtype="timedelta", le="1D")),
    ],
    ids=[
        "Int64",
        "Float64",
        "boolean",
        "string",
        "category",
        "tz-datetime",
        "timedelta",
    ],
)
def test_nullable_and_extension_dtypes(values: object, column: Column) -> None:
    df = pd.DataFrame({"c": values}, index=["r0", "r1", "r2"])
    strict = Schema(columns={"c": column})
    report = strict.validate(df)
    assert {
        (c, i)
        for c, i in zip(report.failures["check"], report.failures["index"], strict=True)
        if c != "not_null"
    } == {(report.failures["check"].iloc[-1], "r2")}
    assert ("not_null", "r1") in set(
        zip(report.failures["check"], report.failures["index"], strict=True)
    )
    loose = strict.with_column("c", nullable=True)
    assert list(loose.validate(df).failures["index"]) == ["r2"]


def test_pyarrow_strings_when_installed() -> None:
    pytest.importorskip("pyarrow")
    df = pd.DataFrame({"s": pd.array(["ab", None, "zzz"], dtype="string[pyarrow]")})
    schema = Schema(
        columns={"s": Column(dtype="string", nullable=True, regex="[a-z]{2}")}
    )
    assert list(schema.validate(df).failures["index"]) == [2]


def test_tz_aware_bounds_compare_in_the_column_time_zone() -> None:
    when = pd.Series(
        pd.to_datetime(["2024-01-01 00:30", "2023-12-31 23:30"]).tz_localize(
            "Europe/Berlin"
        )
    )
    schema = Schema(
        columns={"t": Column(dtype="datetime", tz="Europe/Berlin", ge="2024-01-01")}
    )
    assert list(schema.validate(pd.DataFrame({"t": when})).failures["index"]) == [1]
    naive = pd.DataFrame({"t": when.dt.tz_localize(None)})
    report = schema.validate(naive)
    assert report.failures["check"].tolist() == ["dtype(datetime, Europe/Berlin)"]


def test_dtype_mismatch_is_one_rule_failure() -> None:
    df = pd.DataFrame({"x": ["1", "2"]})
    report = Schema(columns={"x": Column(dtype="integer", ge=0)}).validate(df)
    rows = report.failures.to_dict("records")
    assert len(rows) == 1
    assert rows[0]["check"] == "dtype(integer)"
    assert rows[0]["index"] is None


def test_string_kinds_are_one_logical_dtype() -> None:
    schema = Schema(columns={"s": Column(dtype="string")})
    for values in (
        pd.Series(["a", "b"], dtype=object),
        pd.Series(["a", "b"], dtype="string"),
        pd.Series(["a", "b"]),  # pandas 3: the default str dtype
    ):
        assert schema.validate(values.to_frame("s")).ok
    assert not schema.validate(pd.DataFrame({"s": [1, "a"]})).ok


def test_table_rules() -> None:
    schema = Schema(
        columns={
            "a": Column(dtype="integer"),
            "b": Column(dtype="integer"),
            "c": Column(required=False),
        },
        strict=True,
        ordered=True,
        min_rows=3,
        max_rows=10,
        unique=(("a", "b"),),
    )
    df = pd.DataFrame({"b": [1, 1], "a": [2, 2], "extra": [0, 0]}, index=["p", "q"])
    report = schema.validate(df)
    got = set(
        zip(
            report.failures["column"],
            report.failures["check"],
            report.failures["index"],
            strict=True,
        )
    )
    assert ("extra", "allowed", None) in got
    assert (None, "column_order", None) in got
    assert (None, "min_rows(3)", None) in got
    assert {("a, b", "unique", "p"), ("a, b", "unique", "q")} <= got
    assert not any(
        check == "present" for check in report.failures["check"]
    )  # c is optional
    missing = schema.validate(pd.DataFrame({"a": [1, 2, 3]}))
    assert ("b", "present") in set(
        zip(missing.failures["column"], missing.failures["check"], strict=True)
    )


def test_empty_frame() -> None:
    empty = pd.DataFrame(
        {"x": pd.Series([], dtype="float64"), "k": pd.Series([], dtype="int64")}
    )
    schema = Schema(
        columns={
            "x": Column(dtype="float", ge=0.0),
            "k": Column(dtype="integer", isin=(1,)),
        }
    )
    assert schema.validate(empty).ok
    assert schema.validate(
        pd.DataFrame(columns=["x", "k"])
    ).ok  # object columns, no rows
    assert not schema.with_options(min_rows=1).validate(empty).ok


@pytest.mark.parametrize("bad", [[1, 2], pd.Series([1.0]), np.zeros((2, 2)), None])
def test_not_a_dataframe(bad: object) -> None:
    with pytest.raises(SchemaError, match="Expected a pandas DataFrame"):
        SCHEMA.validate(bad)  # type: ignore[arg-type]


def test_duplicate_column_names() -> None:
    df = pd.DataFrame([[1, 2]], columns=["x", "x"])
    with pytest.raises(SchemaError, match=r"duplicate column names: \['x'\]"):
        SCHEMA.validate(df)


def test_custom_checks_column_and_table() -> None:
    register_check("test_even", lambda s: s % 2 == 0, overwrite=True)
    register_check(
        "test_sum_small", lambda df: bool(df["n"].sum() < 100), overwrite=True
    )
    schema = Schema(
        columns={"n": Column(dtype="float", nullable=True, checks=("test_even",))},
        checks=("test_sum_small",),
    )
    df = pd.DataFrame({"n": [2.0, np.nan, 3.0, 500.0]}, index=list("abcd"))
    report = schema.validate(df)
    got = set(
        zip(
            report.failures["column"],
            report.failures["check"],
            report.failures["index"],
            strict=True,
        )
    )
    assert got == {("n", "check:test_even", "c"), (None, "check:test_sum_small", None)}
    with pytest.raises(SchemaError, match="already registered"):
        register_check("test_even", lambda s: s > 0)
    unknown = Schema(columns={"n": Column(checks=("nope_not_registered",))})
    with pytest.raises(
        SchemaError, match="No custom check is registered as 'nope_not_registered'"
    ):
        unknown.validate(df)
    register_check("test_bad_shape", lambda s: np.array([True]), overwrite=True)
    with pytest.raises(SchemaError, match="boolean mask of length 3"):
        Schema(columns={"n": Column(nullable=True, checks="test_bad_shape")}).validate(
            df
        )


def test_coerce_reports_uncoercible_cells_and_returns_the_frame() -> None:
    df = pd.DataFrame(
        {
            "n": ["1", "2.5", "x", None],
            "f": ["0.5", "1e3", "oops", "2"],
            "b": ["yes", "no", "maybe", "true"],
            "t": ["2024-01-01", "not a date", "2024-02-01", "2024-03-01"],
        },
        index=[10, 20, 30, 40],
    )
    schema = Schema(
        columns={
            "n": Column(dtype="integer", nullable=True),
            "f": Column(dtype="float", le=100.0),
            "b": Column(dtype="boolean"),
            "t": Column(dtype="datetime"),
        }
    )
    before = df.copy()
    report = schema.validate(df, coerce=True)
    got = set(
        zip(
            report.failures["column"],
            report.failures["check"],
            report.failures["index"],
            strict=True,
        )
    )
    assert got == {
        ("n", "coerce(integer)", 20),  # 2.5 is not an integer
        ("n", "coerce(integer)", 30),
        ("f", "coerce(float)", 30),
        ("f", "le(100.0)", 20),
        ("b", "coerce(boolean)", 30),
        ("t", "coerce(datetime)", 20),
    }
    assert report.data is not None
    assert str(report.data["n"].dtype) == "Int64"
    assert report.data["f"].dtype == np.float64
    assert report.data["b"].tolist()[:2] == [True, False]
    assert pd.api.types.is_datetime64_dtype(report.data["t"])
    pd.testing.assert_frame_equal(df, before)  # the input is untouched
    assert schema.validate(df).failures["check"].str.startswith("dtype").all()


def test_raise_for_errors_carries_report_and_bounded_message() -> None:
    df = _frame(3000)
    df["x"] = -1.0  # every row fails
    report = SCHEMA.validate(df)
    with pytest.raises(SchemaValidationError) as info:
        report.raise_for_errors()
    assert info.value.report is report
    assert len(str(info.value)) < 2000  # bounded, whatever the failure count
    assert "2990 more failures" in str(info.value)
    again = pickle.loads(pickle.dumps(info.value))
    assert again.report == report


def test_report_json_round_trip() -> None:
    df = _frame()
    df.iloc[0, 0] = -1.0
    df.iloc[1, 1] = 7
    report = SCHEMA.validate(df)
    back = ValidationReport.from_json(report.to_json())
    assert back == report
    assert back.failures["index"].tolist() == report.failures["index"].tolist()


def test_validate_does_not_mutate_input() -> None:
    df = _frame()
    before = df.copy()
    SCHEMA.validate(df, coerce=True)
    pd.testing.assert_frame_equal(df, before)


@pytest.mark.parametrize("distinct", [50, 60_000], ids=["repeating", "mostly-distinct"])
def test_regex_on_large_string_columns(distinct: int) -> None:
    # Both paths of the regex check: distinct values matched once (repeating
    # columns) and every row matched (mostly-distinct columns).
    rng = np.random.default_rng(5)
    n = 60_000
    codes = pd.Series(
        [f"C-{i:05d}" for i in rng.integers(0, distinct, n)], index=np.arange(n) + 5
    )
    codes.iloc[[10, 20_000]] = ["bad", "C-1"]
    codes.iloc[30_000] = None
    schema = Schema(
        columns={"c": Column(dtype="string", nullable=True, regex=r"C-\d{5}")}
    )
    report = schema.validate(codes.to_frame("c"))
    assert report.failures["index"].tolist() == [15, 20_005]
    assert report.failures["value"].tolist() == ["bad", "C-1"]
    strict = schema.with_column("c", nullable=False).validate(codes.to_frame("c"))
    assert strict.failures["index"].tolist() == [30_005, 15, 20_005]


def test_non_string_column_labels_match_by_text() -> None:
    df = pd.DataFrame({0: [1, 2], 1: ["a", "b"]})
    schema = Schema.infer(df)
    assert list(schema.columns) == ["0", "1"]
    assert schema.validate(df).ok
    report = schema.with_column("0", dtype="float").validate(df, coerce=True)
    assert report.data is not None
    assert list(report.data.columns) == [0, 1]
    assert report.data[0].dtype == np.float64
    assert df[0].dtype == np.int64
    with pytest.raises(SchemaError, match="duplicate column names"):
        schema.validate(pd.DataFrame([[1, 2]], columns=[1, "1"]))


def test_bounds_on_categorical_and_string_columns() -> None:
    df = pd.DataFrame({"c": pd.Categorical(["b", "a", "z"]), "s": ["b", "a", "z"]})
    schema = Schema(
        columns={
            "c": Column(dtype="category", ge="b"),
            "s": Column(dtype="string", le="y"),
        }
    )
    got = set(
        zip(
            schema.validate(df).failures["column"],
            schema.validate(df).failures["index"],
            strict=True,
        )
    )
    assert got == {("c", 1), ("s", 2)}


def test_multiindex_rows_and_tuple_values() -> None:
    index = pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1)], names=["g", "i"])
    df = pd.DataFrame({"x": [1, -1, 1], "y": [0, 0, 0]}, index=index)
    schema = Schema(
        columns={"x": Column(dtype="integer", ge=0), "y": Column(dtype="integer")},
        unique=(("x", "y"),),
        min_rows=5,
    )
    report = schema.validate(df)
    rows = list(
        zip(
            report.failures["check"],
            report.failures["index"],
            report.failures["value"],
            strict=True,
        )
    )
    assert rows == [
        ("min_rows(5)", None, 3),
        ("unique", ("a", 1), (1, 0)),
        ("unique", ("b", 1), (1, 0)),
        ("ge(0)", ("a", 2), -1),
    ]


def test_lazy_false_stops_at_a_table_rule() -> None:
    schema = Schema(columns={"a": Column(dtype="integer", ge=0)}, min_rows=5)
    report = schema.validate(pd.DataFrame({"a": [-1, -2]}), lazy=False)
    assert report.failures["check"].tolist() == ["min_rows(5)"]
    assert not report.complete
    assert report.to_frame().equals(report.failures)
