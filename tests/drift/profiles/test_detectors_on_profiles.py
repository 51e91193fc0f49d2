"""Detectors on profiles: identical to the exact test while the profile is exact,
within the stated bounds when it is a sketch, calibrated, and loud on bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

from mlopskit.drift import (
    AndersonDarlingDrift,
    ChiSquareDrift,
    ClassifierDrift,
    CramerVonMisesDrift,
    DriftResult,
    HellingerDrift,
    JensenShannonDrift,
    KSDrift,
    MMDDrift,
    PSIDrift,
    TabularDrift,
    WassersteinDrift,
    profile,
)
from mlopskit.errors import DriftInputError

LOADERS = {
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "diabetes": load_diabetes,
}


def _halves(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A data set split in two, the second half shifted on its first column."""
    df = LOADERS[name](as_frame=True).data.iloc[:, :6]
    rng = np.random.default_rng(0)
    df = df.iloc[rng.permutation(len(df))].reset_index(drop=True)
    ref, cur = df.iloc[: len(df) // 2], df.iloc[len(df) // 2 :].copy()
    cur.iloc[:, 0] += 0.5 * df.iloc[:, 0].std()
    return ref, cur


def _same(a: DriftResult, b: DriftResult) -> None:
    assert a.drift == b.drift
    assert a.features is not None
    assert b.features is not None
    np.testing.assert_allclose(
        b.features["statistic"], a.features["statistic"], rtol=1e-9
    )
    np.testing.assert_allclose(b.features["p_value"], a.features["p_value"], rtol=1e-9)


EXACT_DETECTORS = [
    lambda: KSDrift(),
    lambda: KSDrift(method="asymp"),
    lambda: AndersonDarlingDrift(),
    lambda: WassersteinDrift(random_state=0),
    lambda: WassersteinDrift(threshold=0.1),
]


@pytest.mark.parametrize("name", list(LOADERS))
@pytest.mark.parametrize("make", EXACT_DETECTORS)
def test_exact_profile_gives_the_exact_test(name: str, make: object) -> None:
    # The data sets have < 600 rows, far below k = 2048: the profile keeps every
    # value, so the test on it must be the test on the rows, in all four pairings.
    ref, cur = _halves(name)
    raw = make().fit(ref).detect(cur)  # type: ignore[operator]
    _same(raw, make().fit(profile(ref)).detect(cur))  # type: ignore[operator]
    _same(raw, make().fit(profile(ref)).detect(profile(cur)))  # type: ignore[operator]
    _same(raw, make().fit(ref).detect(profile(cur)))  # type: ignore[operator]


def test_cvm_exact_profile_equals_scipy_without_ties() -> None:
    rng = np.random.default_rng(1)
    ref, cur = rng.normal(size=(1500, 3)), rng.normal(0.1, 1.0, size=(600, 3))
    raw = CramerVonMisesDrift().fit(ref).detect(cur)
    _same(raw, CramerVonMisesDrift().fit(profile(ref)).detect(profile(cur)))


def test_cvm_on_tied_integers_has_no_false_alarm() -> None:
    # scipy's midrank formula inflates T on heavy ties (p ~ 1e-8 with no shift at
    # 100,000 vs 2,000 rows); the profile path uses the CDF form of T.
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 50, (100_000, 1)).astype(float)
    cur = rng.integers(0, 50, (2_000, 1)).astype(float)
    result = CramerVonMisesDrift().fit(profile(ref, k=4096)).detect(cur)
    assert not result.drift
    assert result.p_value > 0.05


def test_categorical_tests_are_exact_on_profiles() -> None:
    rng = np.random.default_rng(2)
    cats = np.array(["a", "b", "c", "d"])
    ref = pd.DataFrame({"c": rng.choice(cats, 30_000), "d": rng.integers(0, 5, 30_000)})
    cur = pd.DataFrame(
        {
            "c": rng.choice(cats, 3_000, p=[0.3, 0.3, 0.2, 0.2]),
            "d": rng.integers(0, 5, 3_000),
        }
    )
    cur.loc[:9, "c"] = "new"
    raw = ChiSquareDrift().fit(ref).detect(cur)
    ref_p, cur_p = profile(ref.astype({"d": str})), profile(cur.astype({"d": str}))
    raw_str = (
        ChiSquareDrift().fit(ref.astype({"d": str})).detect(cur.astype({"d": str}))
    )
    _same(raw, raw_str)
    for res in (
        ChiSquareDrift().fit(ref_p).detect(cur_p),
        ChiSquareDrift().fit(ref_p).detect(cur.astype({"d": str})),
        ChiSquareDrift().fit(ref.astype({"d": str})).detect(cur_p),
    ):
        _same(raw, res)
        assert res.details["unseen_categories"]["c"] == 1
    for make in (JensenShannonDrift, HellingerDrift, PSIDrift):
        a = make(random_state=0).fit(ref[["c"]]).detect(cur[["c"]])
        _same(
            a, make(random_state=0).fit(profile(ref[["c"]])).detect(profile(cur[["c"]]))
        )


def test_tabular_drift_on_profiles() -> None:
    rng = np.random.default_rng(3)

    def frame(n: int, shift: float) -> pd.DataFrame:
        return pd.DataFrame(
            {"age": rng.normal(40 + shift, 10, n), "city": rng.choice(["x", "y"], n)}
        )

    ref, cur = frame(1500, 0.0), frame(800, 3.0)
    raw = TabularDrift().fit(ref).detect(cur)
    _same(raw, TabularDrift().fit(profile(ref)).detect(cur))
    _same(raw, TabularDrift().fit(profile(ref)).detect(profile(cur)))
    det = TabularDrift().fit(profile(ref))
    assert det.numeric_features_ == ("age",)
    assert det.categorical_features_ == ("city",)
    with pytest.raises(DriftInputError, match="'age'"):
        TabularDrift(categorical_features=["age"]).fit(profile(ref))


def _sketched(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n, m = 100_000, 3_000
    ref = np.c_[rng.normal(size=n), rng.lognormal(size=n), rng.integers(0, 40, n)]
    cur = np.c_[
        rng.normal(0.04, size=m), rng.lognormal(size=m) * 1.04, rng.integers(0, 40, m)
    ]
    return ref, cur


def test_ks_exact_pvalue_lies_within_the_reported_bounds() -> None:
    # k = 256 makes the rank error (~0.01) matter at 3,000 sample rows. Each
    # sketch's bound holds with probability >= 0.99; 15 columns here.
    for seed in range(5):
        ref, cur = _sketched(seed)
        exact = KSDrift(method="asymp").fit(ref).detect(cur).features
        result = KSDrift().fit(profile(ref, k=256, random_state=seed)).detect(cur)
        assert exact is not None
        assert result.features is not None
        bounds = result.details["p_value_bounds"]
        eps = result.details["rank_error"]
        for j, name in enumerate(result.features["feature"]):
            lo, hi = bounds[name]
            assert lo <= exact["p_value"][j] <= hi
            assert (
                abs(result.features["statistic"][j] - exact["statistic"][j])
                <= eps[name]
            )
        assert isinstance(result.details["decision_certain"], bool)


@pytest.mark.parametrize("make", [CramerVonMisesDrift, AndersonDarlingDrift])
def test_sketched_cvm_and_ad_agree_with_the_exact_test(make: type) -> None:
    # No proven bound for these two: measured at k = 1024, 100,000 reference rows and
    # 3,000 sample rows, the largest |p_sketch - p_exact| over these 15 columns is
    # about 0.02 (KS's proven interval is ~0.06 wide at this size); 0.05 allows it.
    for seed in range(5):
        ref, cur = _sketched(seed)
        exact = make().fit(ref[:, :2]).detect(cur[:, :2]).features
        approx = (
            make()
            .fit(profile(ref[:, :2], k=1024, random_state=seed))
            .detect(cur[:, :2])
        )
        assert exact is not None
        assert approx.features is not None
        np.testing.assert_allclose(
            approx.features["p_value"], exact["p_value"], atol=0.05
        )


def test_wasserstein_distance_within_its_bound() -> None:
    ref, cur = _sketched(0)
    exact = WassersteinDrift(threshold=1.0, normalize=False).fit(ref).detect(cur)
    det = WassersteinDrift(threshold=1.0, normalize=False).fit(profile(ref, k=128))
    approx = det.detect(cur)
    bound = approx.details["distance_error_bound"]
    for j, name in enumerate(approx.features["feature"]):
        diff = abs(approx.features["statistic"][j] - exact.features["statistic"][j])
        assert diff <= bound[name]


def test_ks_on_a_sketched_reference_keeps_its_false_alarm_rate() -> None:
    # 300 null batches of 300 rows against a 200,000-row reference profile; the
    # binomial 99 % band of 0.05 over 300 draws is [0.021, 0.087].
    rng = np.random.default_rng(4)
    det = KSDrift().fit(profile(rng.normal(size=(200_000, 2)), k=2048))
    alarms = [det.detect(rng.normal(size=(300, 2))).drift for _ in range(300)]
    assert 0.021 <= np.mean(alarms) <= 0.087


def test_binned_distances_on_sketched_numeric_columns() -> None:
    ref, cur = _sketched(1)
    for make in (JensenShannonDrift, HellingerDrift, PSIDrift):
        a = make(random_state=0).fit(ref[:, :2]).detect(cur[:, :2])
        b = make(random_state=0).fit(profile(ref[:, :2])).detect(cur[:, :2])
        # Same bins up to the sketch's rank error (0.0015 of the mass per edge).
        np.testing.assert_allclose(
            b.features["statistic"], a.features["statistic"], rtol=0.1
        )
        assert a.drift == b.drift


def test_missing_values_follow_nan_policy() -> None:
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"x": rng.normal(size=500)})
    ref.loc[:20, "x"] = np.nan
    cur = pd.DataFrame({"x": rng.normal(size=300)})
    with pytest.raises(DriftInputError, match="nan_policy='omit'"):
        KSDrift().fit(profile(ref))
    raw = KSDrift(nan_policy="omit").fit(ref).detect(cur)
    prof = KSDrift(nan_policy="omit").fit(profile(ref)).detect(cur)
    _same(raw, prof)
    assert prof.details["n_omitted_reference"] == {"x": 21}


def test_detectors_that_need_rows_refuse_a_profile() -> None:
    p = profile(np.random.default_rng(6).normal(size=(200, 2)))
    for det in (MMDDrift(), ClassifierDrift()):
        with pytest.raises(DriftInputError, match="needs the rows"):
            det.fit(p)
    with pytest.raises(DriftInputError, match="needs the rows of the sample"):
        MMDDrift().fit(np.zeros((50, 2)) + np.arange(50)[:, None]).detect(p)
    from sklearn.decomposition import PCA

    with pytest.raises(DriftInputError, match="preprocessor"):
        KSDrift(preprocessor=PCA(1)).fit(p)


def test_bad_profile_input() -> None:
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    det = KSDrift().fit(profile(ref))
    with pytest.raises(DriftInputError, match="do not match"):
        det.detect(profile(ref[["b", "a"]]))
    with pytest.raises(DriftInputError, match="do not match"):
        det.detect(ref[["a"]])
    with pytest.raises(DriftInputError, match="column 'c'"):
        KSDrift().fit(profile(ref.assign(c=["s"] * 300)))
    ids = pd.DataFrame({"id": [f"u{i}" for i in range(300)]})
    with pytest.raises(DriftInputError, match="max_categories"):
        ChiSquareDrift().fit(profile(ids, max_categories=100))
    with pytest.raises(DriftInputError, match="needs categorical columns"):
        ChiSquareDrift().fit(profile(ref[["a"]]))
    with pytest.raises(DriftInputError, match="at least 10"):
        WassersteinDrift().fit(profile(ref)).detect(profile(ref.iloc[:5]))


def test_refit_on_rows_forgets_the_profile() -> None:
    rng = np.random.default_rng(8)
    ref = rng.normal(size=(400, 1))
    det = KSDrift().fit(profile(ref))
    det.fit(ref + 5.0)
    assert not hasattr(det, "reference_profile_")
    assert det.detect(ref + 5.0).p_value == 1.0


def test_profile_results_round_trip_json() -> None:
    rng = np.random.default_rng(9)
    result = (
        KSDrift()
        .fit(profile(rng.normal(size=(50_000, 2)), k=64))
        .detect(rng.normal(size=(500, 2)))
    )
    again = DriftResult.from_json(result.to_json())
    assert again.p_value == result.p_value
    assert again.details["decision_certain"] == result.details["decision_certain"]


def test_datetime_columns_are_tested_as_timestamps() -> None:
    # A profile sketches datetimes as nanoseconds; a raw batch is converted the same
    # way, so a 30-day shift is seen (chi-square on raw datetimes had no power).
    rng = np.random.default_rng(10)

    def frame(n: int, days: int) -> pd.DataFrame:
        seconds = rng.integers(0, 86_400 * 60, n) + days * 86_400
        start = pd.Timestamp("2024-01-01", tz="UTC")
        return pd.DataFrame({"t": start + pd.to_timedelta(seconds, unit="s")})

    det = TabularDrift().fit(profile(frame(5_000, 0)))
    assert not det.detect(frame(500, 0)).drift
    shifted = det.detect(frame(500, 30))
    assert shifted.drift
    assert shifted.features["test"].tolist() == ["ks"]
    assert KSDrift().fit(profile(frame(5_000, 0))).detect(profile(frame(500, 30))).drift


def test_datetime_profile_matches_rows_in_any_pairing() -> None:
    rng = np.random.default_rng(11)
    start = pd.Timestamp("2024-01-01", tz="Europe/Paris")
    seconds = rng.integers(0, 86_400 * 60, 1_500)
    ref = pd.DataFrame({"t": start + pd.to_timedelta(seconds, unit="s")})
    cur = pd.DataFrame({"t": start + pd.to_timedelta(seconds[:700] + 86_400, unit="s")})
    raw = KSDrift().fit(ref).detect(cur)
    _same(raw, KSDrift().fit(profile(ref)).detect(cur))
    _same(raw, KSDrift().fit(ref).detect(profile(cur)))
