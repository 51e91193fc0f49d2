"""Benchmark datasets: bundled, synthetic, user frames, and never downloading."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlopskit.drift.benchmark import (
    available_datasets,
    from_frame,
    load_dataset,
    make_synthetic,
    run_benchmark,
)
from mlopskit.drift.benchmark._adapters import OnModelOutput
from mlopskit.errors import (
    DatasetUnavailableError,
    DriftInputError,
    InvalidParameterError,
)


@pytest.mark.parametrize(
    ("name", "shape", "classes"),
    [
        ("digits", (1797, 64), 10),
        ("breast_cancer", (569, 30), 2),
        ("wine", (178, 13), 3),
        ("iris", (150, 4), 3),
    ],
)
def test_bundled_datasets(name, shape, classes) -> None:
    ds = load_dataset(name)
    assert ds.X.shape == shape
    assert ds.n_classes == classes
    assert ds.y.min() == 0
    assert ds.y.max() == classes - 1
    assert len(ds.feature_names) == shape[1]


def test_synthetic_and_unknown() -> None:
    ds = make_synthetic(n_samples=300, n_features=5, n_informative=3, n_classes=2)
    assert ds.X.shape == (300, 5)
    assert load_dataset("synthetic").X.shape == (5000, 20)
    with pytest.raises(InvalidParameterError, match="Unknown dataset"):
        load_dataset("mnist")
    assert "california" in available_datasets(include_unavailable=True)


def _missing(*args, **kwargs):
    raise OSError("Data not found and `download_if_missing` is False")


def test_california_is_never_downloaded(monkeypatch) -> None:
    import sklearn.datasets

    calls = []

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return _missing()

    monkeypatch.setattr(sklearn.datasets, "fetch_california_housing", spy)
    with pytest.raises(DatasetUnavailableError, match="never downloads"):
        load_dataset("california")
    assert calls == [{"download_if_missing": False}]
    assert "california" not in available_datasets()


def test_run_benchmark_skips_an_unavailable_dataset_with_a_message(
    monkeypatch, capsys
) -> None:
    import sklearn.datasets

    from mlopskit.drift import LabelDrift
    from mlopskit.drift.benchmark import NoShift

    monkeypatch.setattr(sklearn.datasets, "fetch_california_housing", _missing)
    res = run_benchmark(
        {"l": lambda ctx: OnModelOutput(LabelDrift(), ctx.model, output="label")},
        datasets=["california", "iris"],
        shifts=[NoShift()],
        sample_sizes=[20],
        n_runs=1,
    )
    assert res.datasets == ("iris",)
    assert res.skipped[0].startswith("california:")
    assert "skipping california" in capsys.readouterr().err
    assert "Skipped: california" in res.to_markdown()


def test_from_frame() -> None:
    df = pd.DataFrame(
        {
            "a": [1.0, 2.0, 3.0, 4.0],
            "c": ["x", "y", "x", "y"],
            "t": ["n", "y", "n", "y"],
        }
    )
    ds = from_frame(df, "t", name="toy")
    assert ds.X.shape == (4, 3)
    np.testing.assert_array_equal(ds.y, [0, 1, 0, 1])
    with pytest.raises(DriftInputError, match="not in the frame"):
        from_frame(df, "missing")
    with pytest.raises(DriftInputError, match="missing values"):
        from_frame(df.assign(t=[None, "y", "n", "y"]), "t")
    with pytest.raises(DriftInputError, match="NaN"):
        from_frame(df.assign(a=[np.nan, 1, 2, 3]), "t")
    with pytest.raises(DriftInputError, match="DataFrame"):
        from_frame(df.to_numpy(), "t")
