"""Calibration (false alarms at the nominal alpha) and power of the batch tests.

Calibration: under no shift, the share of p-values <= alpha must be consistent with
the test's size. For the univariate tests one ``detect`` over many independent null
columns gives many independent p-values at once (``correction=None``). The check is
a two-sided exact binomial test of the observed count against the size, failing
only below 0.001: a correctly calibrated test fails it one run in a thousand, and
every test here is seeded, so a pass is reproducible. For discrete exact tests
(KS at small n) the size is the largest attainable level <= alpha, computed
exactly, not alpha itself.

Power: on the same shifted data, our decisions are at least as frequent as those of
the same test in scipy (for the univariate tests they are identical, the p-values
being equal), and MMD with the median-heuristic bandwidth beats per-feature KS on a
diffuse shift and sees what a fixed sigma = 1 (frouros' default) misses.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression

from mlopskit.drift import (
    AndersonDarlingDrift,
    ChiSquareDrift,
    ClassifierDrift,
    CramerVonMisesDrift,
    DummyDrift,
    KSDrift,
    MMDDrift,
    TabularDrift,
)
from mlopskit.drift.covariate._stats import ks_2samp_pvalue

ALPHA = 0.05


def _consistent(count: int, trials: int, size: float) -> bool:
    return bool(stats.binomtest(count, trials, size).pvalue > 0.001)


def _column_rejections(det: Any, ref: np.ndarray, smp: np.ndarray) -> tuple[int, int]:
    frame = det.fit(ref).detect(smp).features
    p = frame["p_value"].to_numpy()
    return int((p <= ALPHA).sum()), len(p)


def _ks_exact_size(n: int) -> float:
    """Largest attainable P(p <= alpha) of the exact KS test with n vs n rows."""
    p = ks_2samp_pvalue(np.arange(1, n + 1) / n, n, n, method="exact")
    return float(p[p <= ALPHA].max())


@pytest.mark.parametrize(
    ("name", "make", "n", "columns", "size"),
    [
        (
            "ks exact, n=30",
            lambda: KSDrift(method="exact"),
            30,
            1000,
            _ks_exact_size(30),
        ),
        ("ks asymp, n=20000", lambda: KSDrift(method="asymp"), 20_000, 100, ALPHA),
        ("cvm asymptotic, n=2000", lambda: CramerVonMisesDrift(), 2000, 400, ALPHA),
        ("ad, n=50", lambda: AndersonDarlingDrift(), 50, 1000, ALPHA),
        ("ad, n=5000", lambda: AndersonDarlingDrift(), 5000, 200, ALPHA),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_univariate_tests_are_calibrated(
    name: str, make: Any, n: int, columns: int, size: float
) -> None:
    rng = np.random.default_rng(n)
    det = make().set_params(correction=None)
    ref, smp = rng.normal(size=(n, columns)), rng.normal(size=(n, columns))
    count, trials = _column_rejections(det, ref, smp)
    assert _consistent(count, trials, size), (
        f"{name}: {count}/{trials} vs size {size:.4f}"
    )


def test_exact_cramer_von_mises_never_exceeds_alpha() -> None:
    # At n = 8 the exact test is discrete, so its size is below alpha: check the
    # one-sided bound (the asymptotic case above checks both sides).
    rng = np.random.default_rng(8)
    det = CramerVonMisesDrift(method="exact", correction=None)
    count, trials = _column_rejections(
        det, rng.normal(size=(8, 200)), rng.normal(size=(8, 200))
    )
    assert stats.binomtest(count, trials, ALPHA, alternative="greater").pvalue > 0.001


@pytest.mark.parametrize(("n", "k"), [(60, 5), (100_000, 20)])
def test_chi_square_is_calibrated(n: int, k: int) -> None:
    rng = np.random.default_rng(k)
    columns = 1000 if n < 1000 else 40
    ref = rng.integers(0, k, size=(n, columns))
    smp = rng.integers(0, k, size=(n, columns))
    count, trials = _column_rejections(ChiSquareDrift(correction=None), ref, smp)
    assert _consistent(count, trials, ALPHA), f"{count}/{trials}"


def test_goodness_of_fit_against_reference_counts_is_not_calibrated() -> None:
    # The peer mistake the contingency test avoids: treating reference counts as
    # exact expected frequencies doubles the statistic when n_ref == n_sample.
    rng = np.random.default_rng(5)
    ours = gof = 0
    for _ in range(200):
        ref, smp = rng.integers(0, 20, 1000), rng.integers(0, 20, 1000)
        ours += ChiSquareDrift().fit(ref[:, None]).detect(smp[:, None]).drift
        f_ref, f_smp = np.bincount(ref, minlength=20), np.bincount(smp, minlength=20)
        gof += stats.chisquare(f_smp, f_ref * len(smp) / len(ref)).pvalue <= ALPHA
    assert _consistent(ours, 200, ALPHA)
    assert gof > 100  # measured 72 % for evidently's default at this size


def test_bonferroni_keeps_the_dataset_false_alarm_rate_at_most_alpha() -> None:
    rng = np.random.default_rng(11)
    reps, alarms_ks, alarms_tab = 150, 0, 0
    for _ in range(reps):
        ref, smp = rng.normal(size=(100, 5)), rng.normal(size=(100, 5))
        alarms_ks += KSDrift().fit(ref).detect(smp).drift
        alarms_tab += TabularDrift().fit(ref).detect(smp).drift
    # Bonferroni is conservative: the rate must not exceed alpha (one-sided check).
    for alarms in (alarms_ks, alarms_tab):
        assert (
            stats.binomtest(alarms, reps, ALPHA, alternative="greater").pvalue > 0.001
        )


@pytest.mark.slow
@pytest.mark.parametrize(("n", "reps"), [(40, 100), (300, 60)])
def test_mmd_is_calibrated(n: int, reps: int) -> None:
    rng = np.random.default_rng(n)
    alarms = 0
    for i in range(reps):
        det = MMDDrift(n_permutations=99, random_state=i).fit(rng.normal(size=(n, 3)))
        alarms += det.detect(rng.normal(size=(n, 3))).drift
    # With 99 permutations and the +1 correction, P(p <= 0.05) = 5/100 exactly.
    assert _consistent(alarms, reps, 0.05), f"{alarms}/{reps}"


@pytest.mark.slow
def test_classifier_drift_is_calibrated() -> None:
    rng = np.random.default_rng(3)
    reps, alarms = 60, 0
    for i in range(reps):
        det = ClassifierDrift(estimator=LogisticRegression(), n_folds=3, random_state=i)
        alarms += (
            det.fit(rng.normal(size=(80, 3))).detect(rng.normal(size=(80, 3))).drift
        )
    assert _consistent(alarms, reps, ALPHA), f"{alarms}/{reps}"


def test_dummy_is_calibrated_and_powerless() -> None:
    rng = np.random.default_rng(4)
    det = DummyDrift(random_state=0).fit(rng.normal(size=(20, 2)))
    null = sum(det.detect(rng.normal(size=(20, 2))).drift for _ in range(1000))
    shifted = sum(det.detect(rng.normal(5.0, size=(20, 2))).drift for _ in range(1000))
    assert _consistent(null, 1000, ALPHA)
    assert _consistent(shifted, 1000, ALPHA)


def test_ks_power_equals_scipy_on_the_same_data() -> None:
    rng = np.random.default_rng(21)
    ours = theirs = 0
    for _ in range(100):
        ref, smp = rng.normal(size=(200, 5)), rng.normal(size=(200, 5))
        smp[:, 0] += 0.3
        ours += KSDrift(method="exact").fit(ref).detect(smp).drift
        p = [
            stats.ks_2samp(ref[:, j], smp[:, j], method="exact").pvalue
            for j in range(5)
        ]
        theirs += min(p) * 5 <= ALPHA
    assert ours >= theirs
    assert ours > 50  # the shift is real: most replicates see it


def test_mmd_beats_per_feature_ks_on_a_diffuse_shift() -> None:
    # 0.15 sigma on 10 of 20 features: every column barely moves, the joint does.
    rng = np.random.default_rng(8)
    mmd = ks = 0
    for i in range(30):
        ref, smp = rng.normal(size=(300, 20)), rng.normal(size=(300, 20))
        smp[:, :10] += 0.15
        mmd += MMDDrift(n_permutations=50, random_state=i).fit(ref).detect(smp).drift
        ks += KSDrift(method="asymp").fit(ref).detect(smp).drift
    assert mmd > ks
    assert mmd >= 20


def test_median_bandwidth_sees_what_a_fixed_unit_sigma_misses() -> None:
    rng = np.random.default_rng(9)
    ref, smp = rng.normal(size=(500, 20)), rng.normal(size=(500, 20))
    smp[:, :5] += 0.25
    median = MMDDrift(random_state=0).fit(ref).detect(smp)
    fixed = MMDDrift(bandwidth=1.0, random_state=0).fit(ref).detect(smp)
    assert median.drift
    assert median.p_value == pytest.approx(1 / 101)
    assert not fixed.drift


@pytest.mark.slow
def test_classifier_drift_has_power() -> None:
    # The default estimator (gradient boosting) on a change of correlation only.
    rng = np.random.default_rng(2)
    det = ClassifierDrift(n_folds=2, random_state=0).fit(rng.normal(size=(300, 4)))
    smp = rng.normal(size=(300, 4))
    smp[:, 1] = smp[:, 0] + 0.3 * smp[:, 1]  # same marginals on 0, new correlation
    result = det.detect(smp)
    assert result.drift
    assert result.statistic > 0.6
