"""run_benchmark and BenchmarkResult: determinism, detectors of every shape, reports."""

from __future__ import annotations

import numpy as np
import pytest

from mlopskit.drift import BBSE, KSDrift, LabelDrift, PageHinkley
from mlopskit.drift.benchmark import (
    BenchmarkResult,
    GaussianNoise,
    LabelKnockout,
    MeanShift,
    NoShift,
    OnModelOutput,
    RiverAdapter,
    make_synthetic,
    run_benchmark,
)
from mlopskit.errors import InvalidParameterError

DATA = make_synthetic(n_samples=900, n_features=6, n_informative=4, n_classes=3)
SHIFTS = [NoShift(), MeanShift(1.0, features=0.5), LabelKnockout(1.0)]


def _detectors():
    return {
        "KS": KSDrift(),
        "Labels": lambda ctx: OnModelOutput(LabelDrift(), ctx.model, output="label"),
        "BBSE": lambda ctx: OnModelOutput(
            BBSE(), ctx.model, output="label", needs_labels=True
        ),
    }


@pytest.fixture(scope="module")
def result() -> BenchmarkResult:
    return run_benchmark(
        _detectors(),
        datasets=[DATA],
        shifts=SHIFTS,
        sample_sizes=[50, 200],
        n_runs=6,
        progress=False,
    )


def test_same_result_with_one_and_two_workers(result) -> None:
    again = run_benchmark(
        _detectors(),
        datasets=[DATA],
        shifts=SHIFTS,
        sample_sizes=[50, 200],
        n_runs=6,
        n_jobs=2,
        progress=False,
    )
    cols = ["dataset", "shift", "sample_size", "detector", "run", "drift", "p_value"]
    assert again.runs[cols].equals(result.runs[cols])


def test_table_rates_and_intervals(result) -> None:
    tab = result.table()
    assert len(tab) == 3 * 2 * 3
    assert set(tab["metric"]) == {"power", "false_alarm"}
    assert (tab["ci_low"] <= tab["rate"]).all()
    assert (tab["rate"] <= tab["ci_high"]).all()
    big = tab[(tab["shift"] == "mean_shift_1_features0.5") & (tab["detector"] == "KS")]
    assert big["rate"].min() == 1.0  # a shift of one standard deviation: always seen
    # All of class 0 removed: the predicted-label test and BBSE see it at n = 200.
    knock = tab[(tab["shift"] == "label_knockout_1") & (tab["sample_size"] == 200)]
    assert knock.set_index("detector").loc[["Labels", "BBSE"], "rate"].min() == 1.0
    none = tab[tab["metric"] == "false_alarm"]
    assert none["detections"].sum() <= 4  # 36 null tests at alpha = 0.05: P(>4) < 0.05
    # Clopper–Pearson for 0 of 6 at 95 %: upper bound 1 − 0.025^(1/6) = 0.459.
    zero = tab[tab["detections"] == 0].iloc[0]
    assert zero["ci_high"] == pytest.approx(1 - 0.025 ** (1 / 6))


def test_reports(result) -> None:
    md = result.to_markdown()
    assert "| shift | detector | n=50 | n=200 |" in md
    assert md.count("\n| no_shift |") == 3
    html = result._repr_html_()
    assert "BenchmarkResult" in html
    assert "<table" in html
    rank = result.ranking()
    assert list(rank.columns) == [
        "dataset",
        "detector",
        "mean_power",
        "false_alarm_rate",
        "mean_time",
    ]
    assert rank["mean_power"].is_monotonic_decreasing
    assert 0 < result.detector_share() <= 1


def test_plot(result) -> None:
    fig = result.plot()
    assert len(fig.axes) == 3
    assert fig.axes[0].get_xscale() == "log"


def test_json_round_trip(result) -> None:
    back = BenchmarkResult.from_json(result.to_json())
    assert back == result
    assert back.table().equals(result.table())


def test_streaming_detectors_get_delay_and_false_alarms() -> None:
    river = pytest.importorskip("river.drift")
    res = run_benchmark(
        {"PH": PageHinkley(), "ADWIN": RiverAdapter(river.ADWIN())},
        datasets=[DATA],
        shifts=[NoShift(), GaussianNoise("large")],
        sample_sizes=[300],
        n_runs=3,
        stream_value="confidence",
        progress=False,
    )
    tab = res.table()
    assert set(tab["detector"]) == {"PH", "ADWIN"}
    assert tab["false_alarms_per_1000"].notna().all()
    assert (tab["false_alarms_per_1000"] >= 0).all()
    detected = res.runs[res.runs["drift"]]
    assert (detected["delay"] >= 0).all()
    assert res.runs.loc[~res.runs["drift"], "delay"].isna().all()


def test_error_stream_and_river_by_name() -> None:
    pytest.importorskip("river.drift")
    res = run_benchmark(
        {"DDM": RiverAdapter("binary.DDM")},
        datasets=[DATA],
        shifts=[NoShift()],
        sample_sizes=[100],
        n_runs=2,
        stream_value="error",
        progress=False,
    )
    assert len(res.runs) == 2


def test_bad_arguments() -> None:
    with pytest.raises(InvalidParameterError, match="at least one"):
        run_benchmark({}, datasets=[DATA])
    with pytest.raises(InvalidParameterError, match="n_runs"):
        run_benchmark({"KS": KSDrift()}, datasets=[DATA], n_runs=0)
    with pytest.raises(InvalidParameterError, match="Shift objects"):
        run_benchmark({"KS": KSDrift()}, datasets=[DATA], shifts=["noise"])
    with pytest.raises(InvalidParameterError, match="neither fit/detect"):
        run_benchmark(
            {"x": lambda ctx: object()}, datasets=[DATA], n_runs=1, progress=False
        )
    with pytest.raises(InvalidParameterError, match="stream_value"):
        run_benchmark(
            {"PH": PageHinkley()},
            datasets=[DATA],
            shifts=[NoShift()],
            sample_sizes=[10],
            n_runs=1,
            stream_value="loss",
            progress=False,
        )


def test_random_state_of_detectors_is_fixed_per_run() -> None:
    from mlopskit.drift import MMDDrift

    kwargs = {
        "datasets": [DATA],
        "shifts": [NoShift()],
        "sample_sizes": [40],
        "n_runs": 2,
        "progress": False,
    }
    a = run_benchmark({"MMD": MMDDrift(n_permutations=50)}, **kwargs)
    b = run_benchmark({"MMD": MMDDrift(n_permutations=50)}, **kwargs)
    np.testing.assert_array_equal(a.runs["p_value"], b.runs["p_value"])
