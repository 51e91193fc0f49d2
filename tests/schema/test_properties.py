"""Property tests: inference accepts its own data, catches moved values, and the
JSON round-trip is lossless."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mlopskit.schema import Column, Schema

_SETTINGS = settings(max_examples=40, deadline=None)

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)
ints = st.integers(min_value=-(10**12), max_value=10**12)
words = st.sampled_from(["red", "green", "blue", "cyan"])
stamps = st.integers(min_value=0, max_value=2 * 10**9).map(
    lambda s: pd.Timestamp(s, unit="s")
)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(min_value=1, max_value=40))
    columns: dict[str, object] = {
        "f": draw(st.lists(finite, min_size=n, max_size=n)),
        "i": draw(st.lists(ints, min_size=n, max_size=n)),
        "s": draw(st.lists(words, min_size=n, max_size=n)),
        "t": draw(st.lists(stamps, min_size=n, max_size=n)),
        "b": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
    }
    df = pd.DataFrame(columns)
    df["t"] = pd.to_datetime(df["t"])
    if draw(st.booleans()):  # some nulls in the float column
        nulls = draw(st.lists(st.integers(0, n - 1), max_size=n))
        df.loc[nulls, "f"] = np.nan
    if draw(st.booleans()):
        df["t"] = df["t"].dt.tz_localize("UTC")
    labels = draw(st.sampled_from(["range", "shuffled", "strings"]))
    if labels == "shuffled":
        df.index = pd.Index(draw(st.permutations(list(range(100, 100 + n)))))
    elif labels == "strings":
        df.index = pd.Index([f"r{i}" for i in range(n)])
    return df


@_SETTINGS
@given(frames(), st.floats(min_value=0, max_value=1))
def test_inferred_schema_accepts_its_frame(df: pd.DataFrame, tolerance: float) -> None:
    schema = Schema.infer(df, tolerance=tolerance, statistics=True)
    report = schema.validate(df)
    assert report.ok, str(report)


@_SETTINGS
@given(frames(), st.data())
def test_moved_value_is_reported_at_its_row(
    df: pd.DataFrame, data: st.DataObject
) -> None:
    # The span-fraction rule (``tolerance=``) and failing unseen levels: ranges and
    # sets from as few as one row. The calibrated default is tested in
    # test_calibration.py (it infers no range from fewer than 3 values).
    schema = Schema.infer(df, tolerance=0.1, unseen="fail")
    row = data.draw(st.integers(0, len(df) - 1))
    column = data.draw(st.sampled_from(["f", "i", "s", "t"]))
    bad = df.copy()
    if column == "f":
        finite_values = df["f"].dropna()
        assume(len(finite_values) > 0)  # an all-null column has no range to leave
        top = float(finite_values.max()) if len(finite_values) else 0.0
        bad.iloc[row, bad.columns.get_loc("f")] = max(top, 0.0) * 10 + 1e12
    elif column == "i":
        bad.iloc[row, bad.columns.get_loc("i")] = int(df["i"].max()) + 10**13
    elif column == "s":
        bad.iloc[row, bad.columns.get_loc("s")] = "magenta"  # outside any inferred set
    else:
        later = df["t"].max() + pd.Timedelta(days=365 * 100)
        bad.iloc[row, bad.columns.get_loc("t")] = later
    report = schema.validate(bad)
    hits = report.failures[report.failures["column"] == column]
    assert list(hits["index"]) == [df.index[row]], str(report)


@_SETTINGS
@given(frames())
def test_json_round_trip_is_lossless(df: pd.DataFrame) -> None:
    schema = Schema.infer(df, statistics=True)
    back = Schema.from_json(schema.to_json())
    assert back == schema
    assert back.to_json() == schema.to_json()


bounds = st.one_of(st.none(), ints, finite)


@_SETTINGS
@given(
    ge=bounds,
    le=bounds,
    isin=st.one_of(
        st.none(),
        st.lists(
            st.one_of(ints, finite, words, st.booleans()), min_size=1, max_size=5
        ).map(tuple),
    ),
    nullable=st.booleans(),
    min_length=st.one_of(st.none(), st.integers(0, 5)),
)
def test_column_json_round_trip(
    ge: object,
    le: object,
    isin: tuple[object, ...] | None,
    nullable: bool,
    min_length: int | None,
) -> None:
    # Contradictory bounds are refused at construction (tests/schema/test_edge_cases)
    assume(ge is None or le is None or ge <= le)  # type: ignore[operator]
    schema = Schema(
        columns={
            "n": Column(dtype="float", ge=ge, le=le, nullable=nullable),
            "s": Column(dtype="any", isin=isin, min_length=min_length),
        }
    )
    back = Schema.from_json(schema.to_json())
    assert back == schema
    for name in ("n", "s"):
        for field in ("ge", "le", "isin"):
            original, restored = (
                getattr(schema[name], field),
                getattr(back[name], field),
            )
            assert type(original) is type(restored)
