from __future__ import annotations

import math

import pandas as pd
import pytest
from pydantic import ValidationError

from mlopskit._results import Frame, Result, frame_from_json, frame_to_json


class Example(Result):
    name: str
    score: float
    tags: tuple[str, ...] = ()
    table: Frame | None = None


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "i": [1, 2, 3],
            "f": [0.5, float("nan"), -1.0],
            "s": ["a", "b", "c"],
            "b": [True, False, True],
            "t": pd.to_datetime(["2024-01-01", "2024-06-01", "2025-01-01"]).tz_localize(
                "Europe/Paris"
            ),
            "n": pd.array([1, None, 3], dtype="Int64"),
        }
    )


def test_result_is_frozen() -> None:
    r = Example(name="x", score=1.0)
    with pytest.raises(ValidationError):
        r.name = "y"  # type: ignore[misc]


def test_unknown_field_is_refused() -> None:
    with pytest.raises(ValidationError):
        Example(name="x", score=1.0, typo=3)  # type: ignore[call-arg]


def test_json_round_trip_with_frame() -> None:
    r = Example(name="x", score=float("nan"), tags=("a", "b"), table=_frame())
    back = Example.from_json(r.to_json())
    assert back == r
    assert back.table is not None
    assert list(back.table.dtypes.astype(str)) == list(_frame().dtypes.astype(str))
    assert math.isnan(back.score)


def test_frame_codec_keeps_values_and_index() -> None:
    df = _frame().set_index(pd.Index([10, 20, 30], name="row"))
    back = frame_from_json(frame_to_json(df))
    pd.testing.assert_frame_equal(back, df, check_names=False)
    assert list(back.index) == [10, 20, 30]


def test_equality_sees_frame_content() -> None:
    a = Example(name="x", score=1.0, table=pd.DataFrame({"v": [1, 2]}))
    b = Example(name="x", score=1.0, table=pd.DataFrame({"v": [1, 3]}))
    assert a != b
    assert a == Example(name="x", score=1.0, table=pd.DataFrame({"v": [1, 2]}))


def test_repr_and_html_are_bounded() -> None:
    big = pd.DataFrame({"v": range(10_000)})
    r = Example(name="x", score=1.0, table=big)
    assert "<DataFrame 10000×1>" in repr(r)
    html = r._repr_html_()
    assert "9990 more rows" in html
    assert len(html) < 5_000


def test_bad_frame_payload_is_refused() -> None:
    with pytest.raises(ValidationError, match="Expected a pandas DataFrame"):
        Example(name="x", score=1.0, table=[1, 2, 3])  # type: ignore[arg-type]


def test_floats_round_trip_bit_for_bit() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    values = rng.normal(size=200) * 10.0 ** np.arange(-100, 100)
    small = rng.normal(size=200).astype("float32")
    frame = pd.DataFrame({"x": values, "y": small})
    back = Example.from_json(Example(name="x", score=0.1, table=frame).to_json()).table
    assert back is not None
    assert back["x"].to_numpy().tobytes() == values.tobytes()
    assert back["y"].dtype == "float32"
    assert back["y"].to_numpy().tobytes() == small.tobytes()
