"""Calibrated ``Schema.infer`` (issue 13): clean data passes at the stated rate,
planted errors are caught.

- On ten random halves of breast_cancer, wine, diabetes and adult-like census data,
  a schema inferred on one half fails the clean other half at most once;
- the planted-error suite of ``benchmarks/bench_schema_infer.py`` (unit errors,
  sentinels, text in numbers, numbers in text, new levels, nulls, renamed columns)
  is caught at >= 99 % (a new level of an open-ended column counts when warned);
- for tails no heavier than exponential, a one-column schema fails fresh batches
  from the same distribution at no more than ``false_failure_rate`` (hypothesis
  over families, parameters and sizes);
- the rules' pieces: Good-Turing open categories, the ``unseen`` policy, batch size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from benchmarks.bench_schema_infer import (
    adult_like,
    datasets,
    evaluate,
    halves,
    mlopskit_tool,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from mlopskit.errors import InvalidParameterError
from mlopskit.schema import Column, Schema
from mlopskit.schema._calibrate import looks_open, upper_bound


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return datasets()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["breast_cancer", "wine", "diabetes", "adult_like"])
def test_at_most_one_false_failure_in_ten_clean_halves(
    data: dict[str, pd.DataFrame], name: str
) -> None:
    # Issue 13's acceptance bar, on fixed splits (seeds 0-9, as in RESULTS.md). The
    # stated rate is 1 % a schema; at 1 %, P(>= 2 of 10) = 0.4 %.
    df = data[name]
    failed = []
    for seed in range(10):
        train, held_out = halves(df, seed)
        report = Schema.infer(train).validate(held_out)
        if not report.ok:
            failed.append((seed, report.summary[report.summary["failures"] > 0]))
    assert len(failed) <= 1, failed


@pytest.mark.slow
@pytest.mark.parametrize("name", ["breast_cancer", "wine", "diabetes", "adult_like"])
def test_planted_errors_are_caught(data: dict[str, pd.DataFrame], name: str) -> None:
    # Two of the benchmark's ten splits (the whole suite runs in the benchmark); a
    # planted error counts when the report fails naming its column, or — a new
    # level of a column whose levels look open-ended — warns about it.
    tally, beyond = evaluate(data[name], mlopskit_tool(), splits=2, seed=0)
    detected = tally.caught + tally.flagged
    assert detected >= 0.99 * tally.planted, tally.missed
    assert tally.caught >= 0.97 * tally.planted, tally.missed
    assert beyond[5.0][0] == beyond[5.0][1]  # five spans past the max: always caught


def test_adult_like_open_levels_warn_and_closed_levels_fail() -> None:
    train, held_out = halves(adult_like(), 0)
    schema = Schema.infer(train)
    assert schema["native_country"].unseen == "warn"  # a long tail of rare levels
    assert schema["sex"].unseen == "fail"
    bad = held_out.copy()
    bad.loc[bad.index[0], "native_country"] = "Atlantis"
    bad.loc[bad.index[1], "sex"] = "male"
    report = schema.validate(bad)
    assert report.failures[["column", "check"]].values.tolist() == [["sex", "isin"]]
    warned = report.warnings[report.warnings["index"] == bad.index[0]]
    assert warned[["column", "check", "value"]].values.tolist() == [
        ["native_country", "isin", "Atlantis"]
    ]
    assert set(report.warnings["column"]) == {"native_country"}
    assert Schema.infer(train, unseen="allow")["native_country"].isin is None
    strict = Schema.infer(train, unseen="fail")
    assert "native_country" in set(strict.validate(bad).failures["column"])


# --- the stated rate, by hypothesis -----------------------------------------------

#: Families whose tails are exponential or lighter (the rule's assumption); those
#: with support on [0, ∞) or [0, 1] keep it (the non-negative / fraction caps).
_FAMILIES = {
    "normal": lambda p: stats.norm(0, 1 + 9 * p),
    "laplace": lambda p: stats.laplace(0, 1 + p),
    "logistic": lambda p: stats.logistic(0, 1 + p),
    "uniform": lambda p: stats.uniform(10 * p, 1 + p),
    "exponential": lambda p: stats.expon(0, 1 + 99 * p),
    "gamma": lambda p: stats.gamma(1 + 4 * p),
    "beta": lambda p: stats.beta(0.5 + 3 * p, 0.5 + 3 * (1 - p)),
    "poisson": lambda p: stats.poisson(1 + 30 * p),
}
_REPEATS = 50
_RATE = 0.05


@pytest.mark.slow
@settings(max_examples=8, deadline=None, derandomize=True)
@given(
    family=st.sampled_from(sorted(_FAMILIES)),
    p=st.floats(0, 1),
    n=st.integers(30, 1500),
    seed=st.integers(0, 2**32 - 1),
)
def test_fresh_batches_fail_at_most_at_the_stated_rate(
    family: str, p: float, n: int, seed: int
) -> None:
    # A one-column schema inferred on n values, then a fresh batch of n values, 50
    # times. With false_failure_rate=5 %, the failures X ~ Binomial(50, q <= 0.05);
    # P(X >= 12 | q = 0.05) = 2.4e-4, so over 8 examples a false alarm of this test
    # has chance < 0.2 %. (Exponential tails are the exact case; lighter ones fail
    # less often.)
    dist = _FAMILIES[family](p)
    rng = np.random.default_rng(seed)
    failures = 0
    for _ in range(_REPEATS):
        train = pd.DataFrame({"x": dist.rvs(n, random_state=rng)})
        fresh = pd.DataFrame({"x": dist.rvs(n, random_state=rng)})
        schema = Schema.infer(train, false_failure_rate=_RATE)
        failures += not schema.validate(fresh).ok
    assert failures < 12, (family, p, n, failures)


def test_exponential_tail_is_exact() -> None:
    # The bound's per-value exceedance for an exact exponential tail is the
    # requested rate: averaged over 2000 samples of 200 values, E[P(X > bound)]
    # must match rate = 1e-3 within Monte Carlo error (its sd, measured over
    # seeds, is about 3 % of the mean; 15 % is five of those).
    rng = np.random.default_rng(7)
    rate = 1e-3
    exceed = [
        float(np.exp(-upper_bound(rng.exponential(1.0, 200), rate)))
        for _ in range(2000)
    ]
    assert np.mean(exceed) == pytest.approx(rate, rel=0.15)


# --- the rules' pieces ------------------------------------------------------------


def test_good_turing_open_categories() -> None:
    assert not looks_open(np.array([50, 30, 20]), 100, 0.01)
    assert looks_open(np.array([50, 30, 19, 1]), 100, 0.01)
    # one singleton in 10,000 values: a batch of 10 holds a new level with ~0.1 %
    assert not looks_open(np.array([9_000, 999, 1]), 10, 0.01)


def test_open_integer_levels_get_a_range() -> None:
    counts = pd.Series([0] * 50 + [1] * 30 + [2] * 15 + [3] * 4 + [7])  # 7: once
    column = Schema.infer(counts.to_frame("n"))["n"]
    assert column.isin is None
    assert column.ge == 0
    assert column.le is not None
    assert column.le >= 8
    # A run of integers seen often at both ends: a range with no margin.
    label = Schema.infer(pd.Series([0] * 50 + [1] * 30 + [2] * 20).to_frame("y"))["y"]
    assert (label.isin, label.ge, label.le) == (None, 0, 2)
    # Codes with gaps, each seen often: a closed set.
    codes = pd.Series([10] * 50 + [20] * 30 + [40] * 20).to_frame("c")
    assert Schema.infer(codes)["c"].isin == (10, 20, 40)


def test_larger_batches_and_lower_rates_widen_ranges() -> None:
    train = pd.DataFrame({"x": np.random.default_rng(1).normal(0, 1, 1000)})
    base = Schema.infer(train)["x"].le
    assert Schema.infer(train, batch_size=100_000)["x"].le > base
    assert Schema.infer(train, false_failure_rate=1e-6)["x"].le > base
    assert Schema.infer(train, false_failure_rate=0.5)["x"].le <= base


def test_tolerance_override_keeps_the_span_rule() -> None:
    train = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    assert Schema.infer(train, tolerance=0)["x"].le == 5.0
    assert Schema.infer(train, tolerance=0.1)["x"].le == 5.4


def test_few_values_give_no_range_but_keep_the_dtype() -> None:
    column = Schema.infer(pd.DataFrame({"x": [1.5, 2.5]}))["x"]
    assert column == Column(dtype="float")


def test_nulls_rule() -> None:
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [1.0, None, 3.0, 4.0]})
    schema = Schema.infer(df)
    assert not schema["a"].nullable
    assert schema["b"].nullable


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("false_failure_rate", 0.0),
        ("false_failure_rate", 1.0),
        ("batch_size", 0),
        ("unseen", "ignore"),
        ("tolerance", -1.0),
    ],
)
def test_bad_options_are_refused(option: str, value: object) -> None:
    with pytest.raises(InvalidParameterError, match=option):
        Schema.infer(pd.DataFrame({"x": [1.0]}), **{option: value})  # type: ignore[arg-type]
