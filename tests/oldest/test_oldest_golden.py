"""Golden vectors: pinned digests of ~35 objects (tests/versioning/golden.json).

A silent change of the digest scheme, or of how a numpy or pandas release lays out
the same values, fails here. CI also runs this file under the oldest supported
numpy and pandas (``.ci/run``). Regenerate the file only on purpose, with a new
scheme version: ``python tests/oldest/test_oldest_golden.py --regenerate``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlopskit.versioning import fingerprint

GOLDEN = Path(__file__).resolve().parents[1] / "versioning" / "golden.json"


def golden_objects() -> dict[str, Any]:
    """Objects built the same way under every supported numpy and pandas."""
    tz_times = pd.to_datetime(["2024-03-31 00:30", "2024-03-31 03:30", None])
    frame = pd.DataFrame(
        {
            "f64": [1.5, np.nan, -0.0],
            "f32": np.array([0.1, 2.0, np.inf], dtype=np.float32),
            "i64": [1, -2, 3],
            "i8": np.array([1, 2, 3], dtype=np.int8),
            "s": ["a", None, "ü"],
            "cat": pd.Categorical(["x", "y", "x"], categories=["y", "x"]),
            "t": tz_times.tz_localize("Europe/Paris"),
            "naive": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
            "n": pd.array([1, None, 3], dtype="Int64"),
            "b": [True, False, True],
        }
    )
    return {
        "none": None,
        "true": True,
        "int": 0,
        "big_negative_int": -(2**70),
        "float": 1.5,
        "negative_zero": -0.0,
        "nan": float("nan"),
        "str": "héllo wörld",
        "bytes": b"\x00\xff\x10",
        "tuple": (1, "a", None),
        "nested_list": [1.0, [2, 3], "x"],
        "dict": {"b": 1, "a": [1, 2]},
        "set": {3, 1, 2},
        "frozenset": frozenset({"a", "b"}),
        "complex": 1 + 2j,
        "decimal": decimal.Decimal("3.14"),
        "uuid": uuid.UUID(int=12345),
        "datetime_utc": dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc),
        "date": dt.date(2024, 2, 29),
        "timedelta": dt.timedelta(days=1, microseconds=5),
        "int32_matrix": np.arange(6, dtype=np.int32).reshape(2, 3),
        "float64_specials": np.array([1.5, np.nan, -np.inf, -0.0]),
        "float16": np.array([0.5, 65504.0], dtype=np.float16),
        "complex128": np.array([1 + 1j, np.nan]),
        "bool_array": np.array([True, False, False]),
        "datetime64_s": np.array(["2024-01-01T00:00:01", "NaT"], dtype="datetime64[s]"),
        "timedelta64_ns": np.array([1, 2, -3], dtype="timedelta64[ns]"),
        "unicode_array": np.array(["a", "bc", "é"]),
        "object_strings": np.array(["a", None, "c"], dtype=object),
        "structured": np.array([(1, 2.5)], dtype=[("a", "<i4"), ("b", "<f8")]),
        "numpy_scalar": np.float32(2.5),
        "series": pd.Series([1, 2, 3], name="counts", index=["a", "b", "c"]),
        "string_index": pd.Index(["x", "y"], name="key"),
        "multiindex": pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["k", "n"]),
        "ordered_categorical": pd.Categorical(
            ["lo", "hi"], categories=["lo", "hi"], ordered=True
        ),
        "period_index": pd.period_range("2024-01", periods=3, freq="M"),
        "frame": frame,
        "frame_of_strings": pd.DataFrame({"name": ["ann", "bob"], "city": ["x", None]}),
        "numeric_frame": pd.DataFrame(
            {"x": np.arange(1000) * 0.25, "y": np.arange(1000) % 7}
        ),
    }


def compute() -> dict[str, str]:
    return {name: fingerprint(obj) for name, obj in golden_objects().items()}


def test_golden_vectors_are_unchanged():
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert set(expected) == set(golden_objects())
    mismatched = {name: d for name, d in compute().items() if d != expected[name]}
    assert mismatched == {}, (
        f"numpy {np.__version__}, pandas {pd.__version__}: the digests of "
        f"{sorted(mismatched)} changed. If the scheme changed on purpose, bump its "
        "version and regenerate golden.json."
    )


@pytest.mark.parametrize("name", sorted(golden_objects()))
def test_every_golden_digest_is_distinct_and_tagged(name):
    digests = compute()
    assert digests[name].startswith("obj-v1:blake3:")
    assert list(digests.values()).count(digests[name]) == 1


if __name__ == "__main__" and "--regenerate" in sys.argv:
    GOLDEN.write_text(
        json.dumps(compute(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"wrote {GOLDEN}")
