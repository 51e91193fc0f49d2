"""Schema.infer: tolerant ranges, allowed values, patterns, uniqueness, statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlopskit.errors import InvalidParameterError, SchemaError
from mlopskit.schema import Schema
from mlopskit.schema._infer import infer_pattern


def _sample(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "normal": rng.normal(50, 10, n),
            "expo": rng.exponential(2.0, n),  # heavy right tail
            "prob": rng.uniform(0, 1, n),
            "level": rng.choice([1, 2, 3, 4], n),
            "count": rng.integers(0, 500, n),
            "country": rng.choice(["DE", "FR", "US"], n),
            "sku": [f"SKU-{i:05d}" for i in rng.integers(0, 99999, n)],
            "user": [f"user_{i}" for i in rng.integers(0, 10**6, n)],
            "when": pd.to_datetime("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 365 * 86400, n), unit="s"),
            "flag": rng.random(n) < 0.3,
        }
    )


def test_inferred_schema_contents() -> None:
    schema = Schema.infer(_sample(20_000, 0))
    assert schema["normal"].dtype == "float"
    assert schema["normal"].ge is not None
    assert schema["expo"].ge == 0.0  # non-negative data is never widened below zero
    assert schema["prob"].ge == 0.0
    assert schema["prob"].le == 1.0
    assert (schema["level"].ge, schema["level"].le) == (1, 4)  # a run of integers
    assert schema["count"].isin is None
    assert schema["count"].ge == 0
    assert schema["country"].isin == ("DE", "FR", "US")
    assert schema["sku"].regex == r"SKU-\d{5}"
    assert schema["user"].regex == r"user_\d+"
    assert schema["when"].dtype == "datetime"
    assert schema["when"].tz is None
    assert schema["flag"].dtype == "boolean"
    assert not any(c.nullable for c in schema.columns.values())


def test_fresh_sample_from_same_distribution_passes() -> None:
    # Ranges widened by 10 % of the span and at least by the 0.1 % tail gap: for
    # these distributions a fresh 20k sample exceeding them has probability < 1e-3
    # (exponential: 20_000 · P(X > max + gap) ≈ 20_000 · e^-9.9 · e^-3.5 ≈ 3e-2 at
    # worst over seeds; this seed is fixed, so the test is deterministic).
    schema = Schema.infer(_sample(20_000, 0))
    report = schema.validate(_sample(20_000, 1))
    assert report.ok, str(report)


def test_planted_bad_values_are_caught() -> None:
    schema = Schema.infer(_sample(20_000, 0))
    df = _sample(1000, 2)
    planted = {
        "normal": 500.0,
        "expo": -1.0,
        "prob": 1.5,
        "level": 7,
        "count": -3,
        "country": "XX",
        "sku": "SKU-12",
        "user": "usr_5",
        "when": pd.Timestamp("2031-01-01"),
    }
    rows = {}
    for i, (col, value) in enumerate(planted.items()):
        label = df.index[10 * i + 3]
        df.loc[label, col] = value
        rows[col] = label
    report = schema.validate(df)
    got = set(zip(report.failures["column"], report.failures["index"], strict=True))
    assert got == set(rows.items())


def test_tolerance_zero_is_exact_min_max() -> None:
    df = pd.DataFrame({"x": [1.5, 2.0, 7.25]})
    schema = Schema.infer(df, tolerance=0)
    assert (schema["x"].ge, schema["x"].le) == (1.5, 7.25)


def test_unique_nullable_tz_and_empty_columns() -> None:
    df = pd.DataFrame(
        {
            "id": np.arange(100),
            "maybe": [1.0, np.nan] * 50,
            "t": pd.date_range("2024-01-01", periods=100, freq="D", tz="UTC"),
            "nothing": [None] * 100,
        }
    )
    schema = Schema.infer(df)
    assert schema["id"].unique
    assert schema["maybe"].nullable
    assert schema["t"].tz == "UTC"
    assert schema["nothing"].nullable
    assert schema.validate(df).ok
    assert not Schema.infer(df, unique=False)["id"].unique


def test_categorical_and_free_text() -> None:
    rng = np.random.default_rng(3)
    words = ["alpha", "beta gamma", "delta-epsilon!", "zeta"]
    df = pd.DataFrame(
        {
            "cat": pd.Categorical(
                rng.choice(["lo", "mid", "hi"], 300), categories=["lo", "mid", "hi"]
            ),
            "text": [
                " ".join(rng.choice(words, rng.integers(1, 4))) + str(i)
                for i in range(300)
            ],
        }
    )
    schema = Schema.infer(df)
    assert schema["cat"].isin == ("lo", "mid", "hi")
    assert schema["text"].regex is None
    assert schema["text"].min_length is not None
    assert schema["text"].max_length is not None
    assert schema.validate(df).ok


def test_infer_pattern_cases() -> None:
    assert infer_pattern([f"{c}{i}" for c in "ab" for i in range(20)]) == r"[a-z]\d+"
    assert infer_pattern(["x.y"] * 30) is None  # too few distinct values
    assert infer_pattern([f"v1.{i}" for i in range(30)]) == r"v1\.\d+"
    assert (
        infer_pattern([f"a{i}" for i in range(10)] + [f"{i}b" for i in range(20)])
        is None
    )


def test_infer_bad_input() -> None:
    with pytest.raises(SchemaError, match="Expected a pandas DataFrame"):
        Schema.infer([1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="tolerance"):
        Schema.infer(pd.DataFrame({"x": [1]}), tolerance=-1)
    with pytest.raises(TypeError):
        Schema.infer(pd.DataFrame({"x": [1]}), unknown_option=True)


def test_statistics_and_skew() -> None:
    rng = np.random.default_rng(4)
    ref = pd.DataFrame(
        {
            "x": rng.normal(0, 1, 5000),
            "c": rng.choice(["a", "b", "c"], 5000, p=[0.6, 0.3, 0.1]),
        }
    )
    schema = Schema.infer(ref, statistics=True)
    assert schema["x"].reference is not None
    assert schema["x"].reference.metric == "jensen_shannon"
    assert schema["c"].reference is not None
    assert schema["c"].reference.metric == "linf"
    # Same distribution, 2000 rows: JS divergence over 10 bins is ~ 9 / (8 ln2 · n)
    # ≈ 0.002 and L∞ of 3 frequencies ~ 0.01-0.02, far below the 0.1 thresholds.
    same = pd.DataFrame(
        {
            "x": rng.normal(0, 1, 2000),
            "c": rng.choice(["a", "b", "c"], 2000, p=[0.6, 0.3, 0.1]),
        }
    )
    report = schema.validate(same)
    assert report.ok, str(report)
    assert report.skew["skewed"].tolist() == [False, False]
    assert (report.skew["distance"] < 0.03).all()
    # A 1.5 σ mean shift (JS ≈ 0.4) and a flipped category mix (L∞ = 0.5) are skew.
    shifted = pd.DataFrame(
        {
            "x": rng.normal(1.5, 1, 2000),
            "c": rng.choice(["a", "b", "c"], 2000, p=[0.1, 0.3, 0.6]),
        }
    )
    report = schema.with_column("x", ge=None, le=None).validate(shifted)
    assert report.skew["skewed"].tolist() == [True, True]
    skew_rows = report.failures[report.failures["check"].str.startswith("skew")]
    assert set(skew_rows["column"]) == {"x", "c"}
    assert skew_rows["index"].isna().all()
    assert Schema.from_json(schema.to_json()) == schema


def test_pattern_learnt_from_a_sample_is_checked_against_all_values() -> None:
    values = [f"A-{i:04d}" for i in range(2500)] + [
        f"free text {i}" for i in range(100)
    ]
    df = pd.DataFrame({"s": values})
    schema = Schema.infer(df)
    assert schema["s"].regex is None
    assert schema["s"].max_length is not None
    assert schema.validate(df).ok


def test_infinite_and_mixed_object_columns() -> None:
    df = pd.DataFrame(
        {
            "f": [1.0, np.inf, -np.inf, 2.0],
            "mixed": [1, "a", (1, 2), None],
        }
    )
    schema = Schema.infer(df, statistics=True)
    assert schema["mixed"].dtype == "any"
    assert schema["mixed"].reference is None
    assert schema.validate(df).ok
    assert Schema.from_json(schema.to_json()) == schema
