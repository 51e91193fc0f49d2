"""Contract of the prior-shift estimators: conformance, results, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from mlopskit.drift import (
    BBSD,
    BBSE,
    MLLS,
    RLLS,
    LabelDrift,
    PriorShiftResult,
    adjust_priors,
)
from mlopskit.errors import DriftInputError, InvalidParameterError, NotFittedError
from mlopskit.testing import check_detector

from ._sim import UNIFORM, labels, posteriors, predict

SKEWED = np.array([0.8, 0.1, 0.1])


def _labels_data(rng):
    ys, yt, yk = (
        labels(600, UNIFORM, rng),
        labels(300, UNIFORM, rng),
        labels(300, SKEWED, rng),
    )
    return ys, yt, yk


def test_label_drift_conforms() -> None:
    check_detector(LabelDrift(), data=_labels_data(np.random.default_rng(0)))


@pytest.mark.parametrize("est", [BBSE(), RLLS(n_bootstrap=20, random_state=0)])
def test_bbse_family_conforms(est) -> None:
    rng = np.random.default_rng(1)
    ys, yt, yk = _labels_data(rng)
    check_detector(
        est, data=((predict(ys, rng), ys), predict(yt, rng), predict(yk, rng))
    )


def test_mlls_conforms() -> None:
    rng = np.random.default_rng(2)
    ys, yt, yk = _labels_data(rng)
    data = ((posteriors(ys, rng), ys), posteriors(yt, rng), posteriors(yk, rng))
    check_detector(MLLS(), data=data)


def test_bbsd_conforms_on_probabilities_and_with_a_model() -> None:
    check_detector(BBSD())
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 3))
    model = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    check_detector(
        BBSD(model=model), data=(X[:300], X[300:], X[300:] + np.array([1.0, 0, 0]))
    )
    assert clone(BBSD(model=model)).model is model  # the trained model is kept


def test_bbsd_is_ks_with_bonferroni_on_the_probabilities() -> None:
    from mlopskit.drift import KSDrift

    rng = np.random.default_rng(4)
    ref, smp = rng.dirichlet([2, 2, 2], 200), rng.dirichlet([3, 2, 2], 200)
    a, b = BBSD().fit(ref).detect(smp), KSDrift().fit(ref).detect(smp)
    assert a.p_value == b.p_value
    assert a.correction == "bonferroni"


def test_result_fields_and_json_round_trip() -> None:
    rng = np.random.default_rng(5)
    ys, _, yk = _labels_data(rng)
    res = BBSE().fit(predict(ys, rng), ys).detect(predict(yk, rng))
    assert isinstance(res, PriorShiftResult)
    assert res.classes == (0, 1, 2)
    assert abs(sum(res.target_priors) - 1) < 1e-12
    assert all(
        lo <= q <= hi
        for lo, q, hi in zip(
            res.target_priors_low,
            res.target_priors,
            res.target_priors_high,
            strict=True,
        )
    )
    assert res.weights == pytest.approx(
        np.array(res.target_priors) / np.array(res.source_priors)
    )
    assert PriorShiftResult.from_json(res.to_json()) == res
    assert list(res.priors_frame()["class"]) == [0, 1, 2]


def test_string_labels_and_unseen_sample_labels() -> None:
    det = LabelDrift(test="g").fit(["a", "b"] * 50)
    res = det.detect(["a", "b", "c"] * 10)
    assert res.classes == ("a", "b", "c")
    assert res.source_priors[2] == 0
    assert np.isnan(res.weights[2])
    assert res.method == "label-g"
    res = BBSE().fit(["x", "y", "x", "y", "x", "y"], ["x", "y", "x", "y", "y", "x"])
    with pytest.raises(DriftInputError, match="not classes of the source"):
        res.detect(["x", "z"])


def test_bbse_refuses_a_singular_confusion_matrix_and_rlls_accepts_it() -> None:
    y = np.array([0, 1, 2] * 20)
    pred = np.where(y == 2, 1, y)  # class 2 is never predicted
    with pytest.raises(DriftInputError, match="RLLS"):
        BBSE().fit(pred, y)
    res = RLLS(n_bootstrap=20, random_state=0).fit(pred, y).detect(pred[:30])
    assert abs(sum(res.target_priors) - 1) < 1e-12


@pytest.mark.parametrize(
    ("est", "args", "match"),
    [
        (BBSE(), ([0, 1, 1], [0, 1]), "one entry per row"),
        (BBSE(), ([0, 0, 0], [0, 0, 0]), "at least 2 classes"),
        (BBSE(), ([0, 1, np.nan], [0, 1, 1]), "NaN"),
        (MLLS(), ([[0.5, 0.5], [0.2, 0.8]], [0, 1, 1]), "one row per example"),
        (MLLS(), ([[0.5, 0.6], [0.2, 0.8]], [0, 1]), "sum to 1"),
        (MLLS(), ([0.5, 0.5], [0, 1]), "2-D"),
        (
            MLLS(classes=[0, 1]),
            ([[0.5, 0.5], [0.2, 0.8]], [0, 2]),
            "not among the classes",
        ),
        (LabelDrift(), (np.zeros((3, 2)),), "1-D"),
    ],
)
def test_bad_input_raises_a_clear_error(est, args, match) -> None:
    with pytest.raises(DriftInputError, match=match):
        est.fit(*args)


@pytest.mark.parametrize(
    "est",
    [
        BBSE(alpha=1.5),
        BBSE(interval="wald"),
        RLLS(interval="delta"),
        RLLS(regularization=-1),
        MLLS(calibration="platt"),
        MLLS(n_bootstrap=5),
        LabelDrift(test="fisher"),
    ],
)
def test_bad_parameters_raise_at_fit(est) -> None:
    y = np.array([0, 1] * 10)
    data = (
        (np.eye(2)[y], y)
        if isinstance(est, MLLS)
        else (y,)
        if isinstance(est, LabelDrift)
        else (y, y)
    )
    with pytest.raises(InvalidParameterError):
        est.fit(*data)


@pytest.mark.parametrize("est", [BBSE(), MLLS(), LabelDrift()])
def test_detect_before_fit(est) -> None:
    with pytest.raises(NotFittedError):
        est.detect([0, 1])


def test_mlls_bootstrap_and_calibration_variants_agree() -> None:
    rng = np.random.default_rng(6)
    ys, yt = labels(3000, UNIFORM, rng), labels(2000, SKEWED, rng)
    ps, pt = posteriors(ys, rng), posteriors(yt, rng)
    estimates = [
        MLLS(calibration=cal, interval=interval, random_state=0).fit(ps, ys).detect(pt)
        for cal, interval in [
            ("bcts", "bootstrap"),
            ("ts", "observed-information"),
            ("none", "observed-information"),
        ]
    ]
    # Calibrated inputs: every variant is near the truth. With overlapping classes
    # MLLS's standard error at n = 2,000 is ≈ 0.013 (from its own intervals), so
    # 0.05 is about 4 standard errors.
    for res in estimates:
        assert np.abs(np.array(res.target_priors) - SKEWED).max() < 0.05
        assert (
            res.target_priors_low[0] < res.target_priors[0] < res.target_priors_high[0]
        )
    bcts = MLLS().fit(ps, ys)
    assert bcts.temperature_ == pytest.approx(1.0, abs=0.1)  # already calibrated


def test_mlls_classes_parameter_for_a_class_missing_from_held_out_labels() -> None:
    rng = np.random.default_rng(7)
    y = labels(300, np.array([0.5, 0.5, 0.0]), rng)
    proba = posteriors(y, rng)
    with pytest.raises(DriftInputError, match=r"classes=model\.classes_"):
        MLLS().fit(proba, y)
    res = MLLS(classes=[0, 1, 2]).fit(proba, y).detect(proba)
    assert res.classes == (0, 1, 2)


def test_adjust_priors_formula_and_weights() -> None:
    proba = np.array([[0.5, 0.5], [0.9, 0.1], [0.0, 1.0]])
    adj = adjust_priors(proba, [0.5, 0.5], [0.2, 0.8], y=np.array([0, 1, 1]))
    expected = proba * [0.4, 1.6]
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(adj.proba, expected)
    np.testing.assert_allclose(adj.class_weights, [0.4, 1.6])
    np.testing.assert_allclose(adj.sample_weight, [0.4, 1.6, 1.6])
    same = adjust_priors(proba, [0.5, 0.5], [0.5, 0.5])
    np.testing.assert_allclose(same.proba, proba)
    assert same.sample_weight is None


def test_adjust_priors_sample_weights_reproduce_the_target_balance() -> None:
    rng = np.random.default_rng(8)
    y = labels(20000, UNIFORM, rng)
    adj = adjust_priors(np.eye(3)[y], UNIFORM, SKEWED, y=y)
    weighted = np.bincount(y, weights=adj.sample_weight) / adj.sample_weight.sum()
    np.testing.assert_allclose(weighted, SKEWED, atol=0.01)  # 3 SE of a proportion


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([[0.5, 0.5]], [0.5, 0.5, 0.0], [0.5, 0.5]), "one prior per class"),
        (([[0.5, 0.5]], [0.6, 0.6], [0.5, 0.5]), "sum to 1"),
        (([[0.5, 0.5]], [1.0, 0.0], [0.5, 0.5]), "source prior 0"),
        (([[np.nan, 0.5]], [0.5, 0.5], [0.5, 0.5]), "finite"),
    ],
)
def test_adjust_priors_bad_input(args, match) -> None:
    with pytest.raises(DriftInputError, match=match):
        adjust_priors(*args)


def test_adjust_priors_bad_labels() -> None:
    with pytest.raises(DriftInputError, match="class indices"):
        adjust_priors([[0.5, 0.5]], [0.5, 0.5], [0.5, 0.5], y=np.array([2]))
    with pytest.raises(DriftInputError, match="class indices"):
        adjust_priors([[0.5, 0.5]], [0.5, 0.5], [0.5, 0.5], y=np.array(["a"]))
