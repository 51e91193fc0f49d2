"""Shift generators: kinds, determinism, composition, and what each one changes."""

from __future__ import annotations

import numpy as np
import pytest

from mlopskit.drift.benchmark import (
    CovariateResample,
    DirichletLabelShift,
    FeatureKnockout,
    GaussianNoise,
    LabelKnockout,
    MeanShift,
    Mix,
    NoShift,
    ShiftContext,
    failing_loudly_shifts,
)
from mlopskit.errors import InvalidParameterError

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4000, 6))
Y = RNG.integers(0, 3, size=4000)

ALL = [
    NoShift(),
    GaussianNoise("small"),
    GaussianNoise(0.5, fraction=0.5, features=0.5),
    MeanShift(1.0, features=0.5),
    FeatureKnockout(0.5),
    CovariateResample(1.0),
    LabelKnockout(0.5),
    DirichletLabelShift(1.0),
    Mix((LabelKnockout(0.5), GaussianNoise("medium"))),
]


@pytest.mark.parametrize("shift", ALL, ids=lambda s: s.name)
def test_same_seed_same_sample_and_shapes(shift) -> None:
    a = shift.sample(X, Y, 300, random_state=1)
    b = shift.sample(X, Y, 300, random_state=1)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[0].shape == (300, 6)
    assert a[1].shape == (300,)
    assert shift.kind in {"none", "covariate", "prior", "mixed"}


def test_kinds() -> None:
    kinds = {s.name: s.kind for s in ALL}
    assert kinds["no_shift"] == "none"
    assert kinds["gaussian_noise_small"] == "covariate"
    assert kinds["label_knockout_0.5"] == "prior"
    assert kinds["dirichlet_1"] == "prior"
    assert kinds["label_knockout_0.5+gaussian_noise_medium"] == "mixed"
    assert Mix((NoShift(), MeanShift())).kind == "covariate"


def test_no_shift_draws_distinct_rows_from_the_pool() -> None:
    Xs, _ = NoShift().sample(X, Y, 1000, random_state=2)
    assert len({tuple(r) for r in Xs}) == 1000  # without replacement


def test_gaussian_noise_scales_and_clips() -> None:
    ctx = ShiftContext.from_data(X, Y)
    Xs, _ = GaussianNoise("large", clip=False).sample(
        X, Y, 4000, random_state=3, context=ctx
    )
    # Noise sd = 1 feature sd, so the total sd is sqrt(2) ≈ 1.41 (±0.05 at n = 4,000).
    assert abs(Xs.std() - np.sqrt(2)) < 0.05
    Xc, _ = GaussianNoise("large").sample(X, Y, 4000, random_state=3, context=ctx)
    assert Xc.min() >= ctx.low.min()
    assert Xc.max() <= ctx.high.max()
    Xh, _ = GaussianNoise("large", fraction=0.5, clip=False).sample(
        X, Y, 4000, random_state=3
    )
    changed = np.mean(np.any(Xh != X[np.isin(X[:, 0], Xh[:, 0])][:1], axis=1))
    assert changed > 0


def test_gaussian_noise_touches_only_the_chosen_rows_and_features() -> None:
    base = np.zeros((100, 10))
    ctx = ShiftContext(np.ones(10), -np.full(10, 9.0), np.full(10, 9.0), 1)
    Xs, _ = GaussianNoise(1.0, fraction=0.3, features=0.2).sample(
        base, np.zeros(100, dtype=int), 100, random_state=4, context=ctx
    )
    assert (np.abs(Xs).sum(axis=1) > 0).sum() == 30
    assert (np.abs(Xs).sum(axis=0) > 0).sum() == 2


def test_mean_shift_and_knockout() -> None:
    ctx = ShiftContext.from_data(X, Y)
    Xs, _ = MeanShift(1.0, features=0.5).sample(X, Y, 4000, random_state=5, context=ctx)
    diff = Xs.mean(axis=0) - X.mean(axis=0)
    np.testing.assert_allclose(diff[:3], ctx.std[:3], atol=0.1)  # 4 SE at n = 4,000
    np.testing.assert_allclose(diff[3:], 0, atol=0.1)
    Xk, _ = FeatureKnockout(0.5).sample(X, Y, 500, random_state=5)
    assert (np.ptp(Xk, axis=0) == 0).sum() == 3


def test_covariate_resample_biases_the_feature_not_the_labels_given_x() -> None:
    Xs, _ = CovariateResample(1.0, feature=2).sample(X, Y, 500, random_state=6)
    # exp(z) tilting of a standard normal shifts its mean by 1 when drawn with
    # replacement; without replacement (1/8 of the pool) somewhat less (≈ 0.8).
    assert 0.6 < Xs[:, 2].mean() < 1.1
    assert abs(Xs[:, 0].mean()) < 0.15  # 3.3 SE at n = 500


def test_label_knockout_matches_its_target_priors() -> None:
    shift = LabelKnockout(0.5, label=1)
    _, ys = shift.sample(X, Y, 20000, random_state=7)
    expected = shift.target_priors(np.bincount(Y) / Y.size)
    # Multinomial with n = 20,000: 3 SE of a proportion is ≤ 0.011.
    np.testing.assert_allclose(
        np.bincount(ys, minlength=3) / ys.size, expected, atol=0.011
    )
    _, yall = LabelKnockout(1.0, label=0).sample(X, Y, 500, random_state=7)
    assert 0 not in yall


def test_dirichlet_draws_new_priors_per_sample() -> None:
    shift = DirichletLabelShift(0.5)
    props = [
        np.bincount(shift.sample(X, Y, 2000, random_state=s)[1], minlength=3) / 2000
        for s in range(5)
    ]
    assert np.std([p[0] for p in props]) > 0.05  # priors vary from sample to sample


@pytest.mark.parametrize(
    "make",
    [
        lambda: GaussianNoise("huge"),
        lambda: GaussianNoise(-1.0),
        lambda: GaussianNoise(fraction=0),
        lambda: MeanShift(features=1.5),
        lambda: FeatureKnockout(value="median"),
        lambda: LabelKnockout(fraction=2),
        lambda: DirichletLabelShift(0),
        lambda: Mix(()),
    ],
)
def test_bad_parameters(make) -> None:
    with pytest.raises(InvalidParameterError):
        make()


def test_failing_loudly_shifts() -> None:
    shifts = failing_loudly_shifts()
    assert [s.kind for s in shifts.values()] == [
        "none",
        "covariate",
        "covariate",
        "covariate",
        "prior",
    ]
