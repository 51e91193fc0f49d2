"""Statistics and p-values equal scipy's on the same data (absolute 1e-10).

Each test fixes scipy's ``method`` explicitly, as the detector does, across sizes
(equal and unequal), ties (rounded data) and the exact and asymptotic regimes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from mlopskit.drift import (
    AndersonDarlingDrift,
    ChiSquareDrift,
    CramerVonMisesDrift,
    JensenShannonDrift,
    KSDrift,
    MMDDrift,
    WassersteinDrift,
)
from mlopskit.drift._base import adjust_pvalues
from mlopskit.drift.covariate._mmd import mmd_permutation_test
from mlopskit.drift.covariate._stats import ks_2samp_pvalue, ks_2samp_statistic

SIZES = [(5, 5), (8, 13), (50, 50), (120, 75), (400, 333)]


def _data(n1: int, n2: int, ties: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n1, 4))
    b = rng.normal(0.2, 1.1, size=(n2, 4))
    if ties:
        a, b = np.round(a), np.round(b)
    return a, b


def _features(result: object) -> pd.DataFrame:
    frame = result.features  # type: ignore[attr-defined]
    assert frame is not None
    return frame


@pytest.mark.parametrize(("n1", "n2"), SIZES)
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("method", ["exact", "asymp"])
def test_ks_matches_scipy(n1: int, n2: int, ties: bool, method: str) -> None:
    a, b = _data(n1, n2, ties, seed=n1 + n2)
    result = KSDrift(method=method).fit(a).detect(b)  # type: ignore[arg-type]
    frame = _features(result)
    for j in range(a.shape[1]):
        with warnings.catch_warnings(record=True) as caught:
            # With heavy ties scipy's exact routine can fail and fall back to
            # "asymp" with a RuntimeWarning; the detector must report the same.
            warnings.simplefilter("always", RuntimeWarning)
            ref = stats.ks_2samp(a[:, j], b[:, j], method=method)
        fell_back = any("Switching to" in str(w.message) for w in caught)
        assert frame["statistic"][j] == pytest.approx(ref.statistic, abs=1e-14)
        assert frame["p_value"][j] == pytest.approx(ref.pvalue, abs=1e-10, rel=1e-10)
        used = result.details["ks_method"][f"x{j}"]
        assert used == ("asymp (exact failed)" if fell_back else method)


@pytest.mark.parametrize(("n1", "n2"), [(20_000, 15_000), (30_000, 30_000)])
def test_ks_matches_scipy_on_large_samples(n1: int, n2: int) -> None:
    a, b = _data(n1, n2, ties=False, seed=1)
    b[:, 0] += 0.03
    frame = _features(KSDrift(method="asymp", n_jobs=2).fit(a).detect(b))
    for j in range(a.shape[1]):
        ref = stats.ks_2samp(a[:, j], b[:, j], method="asymp")
        assert frame["statistic"][j] == pytest.approx(ref.statistic, abs=1e-14)
        assert frame["p_value"][j] == pytest.approx(ref.pvalue, abs=1e-10, rel=1e-10)


@pytest.mark.parametrize(("n1", "n2"), [(5, 5), (10, 10), (7, 12), (30, 30), (40, 55)])
def test_ks_pvalue_exact_matches_scipy(n1: int, n2: int) -> None:
    a, b = _data(n1, n2, ties=False, seed=3)
    for j in range(a.shape[1]):
        ref = stats.ks_2samp(a[:, j], b[:, j], method="exact")
        ours = ks_2samp_pvalue(ref.statistic, n1, n2, method="exact")[0]
        assert ours == pytest.approx(ref.pvalue, abs=1e-10, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-3, 3), min_size=1, max_size=25),
    st.lists(st.integers(-3, 3), min_size=1, max_size=25),
)
def test_ks_statistic_with_heavy_ties(x: list[int], y: list[int]) -> None:
    a = np.asarray(x, dtype=float).reshape(-1, 1)
    b = np.asarray(y, dtype=float).reshape(-1, 1)
    ours = ks_2samp_statistic(a, b)[0]
    with warnings.catch_warnings():
        # Only the statistic is compared; scipy's exact p-value can fail on tiny
        # tied samples and warn that it switches to "asymp".
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = stats.ks_2samp(x, y, method="exact").statistic
    assert ours == pytest.approx(expected, abs=1e-14)


@pytest.mark.parametrize(
    ("n1", "n2"), [(5, 5), (9, 14), (20, 20), (60, 45), (300, 250)]
)
@pytest.mark.parametrize("ties", [False, True])
def test_cramer_von_mises_matches_scipy(n1: int, n2: int, ties: bool) -> None:
    a, b = _data(n1, n2, ties, seed=7)
    method = "exact" if max(n1, n2) <= 20 else "asymptotic"
    frame = _features(CramerVonMisesDrift(method=method).fit(a).detect(b))  # type: ignore[arg-type]
    for j in range(a.shape[1]):
        ref = stats.cramervonmises_2samp(a[:, j], b[:, j], method=method)
        assert frame["statistic"][j] == pytest.approx(ref.statistic, abs=1e-10)
        assert frame["p_value"][j] == pytest.approx(ref.pvalue, abs=1e-10)


@pytest.mark.parametrize(("n1", "n2"), [(5, 6), (20, 20), (60, 45), (300, 250)])
@pytest.mark.parametrize("ties", [False, True])
def test_anderson_darling_matches_scipy(n1: int, n2: int, ties: bool) -> None:
    a, b = _data(n1, n2, ties, seed=11)
    frame = _features(AndersonDarlingDrift().fit(a).detect(b))
    for j in range(a.shape[1]):
        with warnings.catch_warnings():
            # scipy warns when it caps the interpolated p-value; we compare anyway.
            warnings.simplefilter("ignore", UserWarning)
            ref = stats.anderson_ksamp([a[:, j], b[:, j]], variant="midrank")
        assert frame["statistic"][j] == pytest.approx(ref.statistic, abs=1e-10)
        assert frame["p_value"][j] == pytest.approx(ref.pvalue, abs=1e-10)


@pytest.mark.parametrize("n_categories", [2, 3, 20])
@pytest.mark.parametrize("as_strings", [False, True])
def test_chi_square_matches_scipy_contingency(
    n_categories: int, as_strings: bool
) -> None:
    rng = np.random.default_rng(n_categories)
    ref = rng.integers(0, n_categories, size=(3000, 2))
    smp = rng.integers(0, n_categories + 1, size=(2000, 2))  # one unseen category
    if as_strings:
        ref, smp = ref.astype(str).astype(object), smp.astype(str).astype(object)
    result = ChiSquareDrift().fit(ref).detect(smp)
    frame = _features(result)
    for j in range(2):
        table = pd.crosstab(
            np.r_[np.zeros(len(ref)), np.ones(len(smp))], np.r_[ref[:, j], smp[:, j]]
        ).to_numpy()
        expected = stats.chi2_contingency(table, correction=True)
        assert frame["statistic"][j] == pytest.approx(expected.statistic, abs=1e-10)
        assert frame["p_value"][j] == pytest.approx(expected.pvalue, abs=1e-10)
    assert result.details["unseen_categories"] == {"x0": 1, "x1": 1}


def test_wasserstein_raw_distance_matches_scipy() -> None:
    a, b = _data(500, 321, ties=True, seed=5)
    frame = _features(WassersteinDrift(normalize=False).fit(a).detect(b))
    for j in range(a.shape[1]):
        expected = stats.wasserstein_distance(a[:, j], b[:, j])
        assert frame["statistic"][j] == pytest.approx(expected, abs=1e-12)


def test_wasserstein_is_normalised_by_the_reference_std() -> None:
    a, b = _data(500, 321, ties=False, seed=5)
    frame = _features(WassersteinDrift().fit(a * 10).detect(b * 10))
    for j in range(a.shape[1]):
        expected = stats.wasserstein_distance(a[:, j], b[:, j]) / a[:, j].std()
        assert frame["statistic"][j] == pytest.approx(expected, rel=1e-12)


def test_jensen_shannon_bins_at_reference_deciles() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(1000, 1))
    smp = rng.normal(0.5, size=(800, 1))
    det = JensenShannonDrift(smoothing=0.5).fit(ref)
    assert det.reference_counts_[0].tolist() == [100] * 10
    edges = np.quantile(ref[:, 0], np.linspace(0, 1, 11)[1:-1])
    counts = np.bincount(np.searchsorted(edges, smp[:, 0], side="left"), minlength=10)
    p = (100 + 0.5) / (1000 + 5.0) * np.ones(10)
    q = (counts + 0.5) / (800 + 5.0)
    expected = distance.jensenshannon(p, q, base=2)
    assert det.detect(smp).statistic == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("correction", ["bonferroni", "fdr_bh"])
def test_corrections_match_scipy(correction: str) -> None:
    p = np.random.default_rng(0).random(30) ** 3
    ours = adjust_pvalues(p, correction)  # type: ignore[arg-type]
    if correction == "bonferroni":
        expected = np.minimum(p * 30, 1.0)
    else:
        expected = stats.false_discovery_control(p, method="bh")
    np.testing.assert_allclose(ours, expected, rtol=1e-14)


def _brute_force_mmd2(x: np.ndarray, y: np.ndarray, sigma: float) -> float:
    z = np.concatenate([x, y])
    k = np.exp(-distance.cdist(z, z, "sqeuclidean") / (2 * sigma**2))
    m, n = len(x), len(y)
    kxx, kyy, kxy = k[:m, :m], k[m:, m:], k[:m, m:]
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
        + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
        - 2 * kxy.mean()
    )


@pytest.mark.parametrize("block_size", [7, 64, 10_000])
def test_mmd_statistic_matches_brute_force_for_any_block_size(block_size: int) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(150, 4)), rng.normal(0.2, size=(110, 4))
    mmd2, p = mmd_permutation_test(
        x, y, bandwidth=1.7, n_permutations=50, random_state=3, block_size=block_size
    )
    assert mmd2 == pytest.approx(_brute_force_mmd2(x, y, 1.7), rel=1e-10, abs=1e-13)
    reference = mmd_permutation_test(
        x, y, bandwidth=1.7, n_permutations=50, random_state=3
    )
    assert p == reference[1]  # same permutations whatever the blocking


def test_mmd_permutation_pvalue_against_a_direct_loop() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 3)), rng.normal(0.3, size=(35, 3))
    mmd2, p = mmd_permutation_test(
        x, y, bandwidth=1.5, n_permutations=99, random_state=9
    )
    # The same permutations, each statistic recomputed from scratch.
    perm_rng = np.random.default_rng(9)
    z = np.concatenate([x, y])
    count = 0
    for _ in range(99):
        idx = perm_rng.permutation(len(z))[: len(x)]
        mask = np.zeros(len(z), bool)
        mask[idx] = True
        count += _brute_force_mmd2(z[mask], z[~mask], 1.5) >= mmd2 - 1e-12
    assert p == pytest.approx((1 + count) / 100)


def test_mmd_pvalue_is_never_zero_and_is_seeded() -> None:
    rng = np.random.default_rng(2)
    ref, smp = rng.normal(size=(200, 3)), rng.normal(3.0, size=(200, 3))
    det = MMDDrift(n_permutations=50, random_state=0).fit(ref)
    first = det.detect(smp)
    assert first.p_value == pytest.approx(1 / 51)
    assert MMDDrift(n_permutations=50, random_state=0).fit(ref).detect(smp) == first


def test_ks_matches_scipy_on_large_tied_samples() -> None:
    # Large samples take the chunked search path; rounding makes ties straddle chunks.
    a, b = _data(40_000, 25_000, ties=False, seed=4)
    a, b = np.round(a, 1), np.round(b, 1)
    frame = _features(KSDrift(method="asymp").fit(a).detect(b))
    for j in range(a.shape[1]):
        ref = stats.ks_2samp(a[:, j], b[:, j], method="asymp")
        assert frame["statistic"][j] == pytest.approx(ref.statistic, abs=1e-14)
        assert frame["p_value"][j] == pytest.approx(ref.pvalue, abs=1e-10, rel=1e-10)
