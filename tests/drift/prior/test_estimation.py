"""Statistical behaviour of BBSE, RLLS and MLLS on label shift with a known truth."""

from __future__ import annotations

import numpy as np
import pytest

from mlopskit.drift import BBSE, MLLS, RLLS, LabelDrift, adjust_priors

from ._sim import UNIFORM, labels, posteriors, predict

SHIFTS = {
    "dirichlet": np.random.default_rng(11).dirichlet(np.ones(3)),
    "knockout": np.array([0.5 / 2.5, 1 / 2.5, 1 / 2.5]),  # half of class 0 removed
}


def _fit_and_detect(kind: str, est, n_source: int, n_target: int, q, rng):
    y_src = labels(n_source, UNIFORM, rng)
    y_tgt = labels(n_target, q, rng)
    if kind == "labels":
        return est.fit(predict(y_src, rng), y_src).detect(predict(y_tgt, rng))
    return est.fit(posteriors(y_src, rng), y_src).detect(posteriors(y_tgt, rng))


ESTIMATORS = {
    "bbse": ("labels", lambda: BBSE()),
    "rlls": ("labels", lambda: RLLS(n_bootstrap=20, random_state=0)),
    "mlls": ("proba", lambda: MLLS()),
}


@pytest.mark.slow
@pytest.mark.parametrize("shift", sorted(SHIFTS))
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_estimates_converge_as_n_grows(name: str, shift: str) -> None:
    kind, make = ESTIMATORS[name]
    q = SHIFTS[shift]
    rng = np.random.default_rng(0)
    errors = []
    for n in (100, 1000, 10000):
        err = [
            np.abs(
                np.array(_fit_and_detect(kind, make(), n, n, q, rng).target_priors) - q
            ).max()
            for _ in range(10)
        ]
        errors.append(float(np.mean(err)))
    # The error is O(1/sqrt(n)): a tenfold n divides it by ~3.2. Demand a factor 2
    # per step (10 repetitions keep the mean's noise well below that), and an
    # absolute bound at n = 10,000 of 3 standard errors of a proportion (≈ 0.015).
    assert errors[0] > 2 * errors[1] > 4 * errors[2]
    assert errors[2] < 0.03


def _coverage(est, kind: str, q, reps: int, n_source: int, n_target: int, seed: int):
    rng = np.random.default_rng(seed)
    hits = np.zeros(q.size)
    for _ in range(reps):
        res = _fit_and_detect(kind, est, n_source, n_target, q, rng)
        hits += (np.array(res.target_priors_low) <= q) & (
            q <= np.array(res.target_priors_high)
        )
    return hits / reps


# Coverage over R repetitions is Binomial(R, 0.95)/R: with R = 300 its standard error
# is 0.0126, so [0.91, 0.985] is about ±3 SE around the nominal 0.95.
LOW, HIGH = 0.91, 0.985


def test_bbse_delta_intervals_cover_at_the_nominal_rate() -> None:
    q = np.array([0.5, 0.3, 0.2])
    cov = _coverage(BBSE(), "labels", q, 300, 3000, 1000, seed=1)
    assert np.all((cov >= LOW) & (cov <= HIGH)), cov


@pytest.mark.slow
def test_bbse_bootstrap_intervals_cover_at_the_nominal_rate() -> None:
    q = np.array([0.5, 0.3, 0.2])
    est = BBSE(interval="bootstrap", n_bootstrap=200, random_state=0)
    cov = _coverage(est, "labels", q, 200, 3000, 1000, seed=2)
    # R = 200: standard error 0.0154, so ±3 SE is [0.904, 0.996].
    assert np.all((cov >= 0.9) & (cov <= 0.996)), cov


def test_mlls_information_intervals_cover_at_the_nominal_rate() -> None:
    # The observed-information interval treats the calibration as known, so the
    # source side is fitted once, large; the target samples vary.
    q = np.array([0.5, 0.3, 0.2])
    rng = np.random.default_rng(3)
    y_src = labels(50000, UNIFORM, rng)
    mlls = MLLS(calibration="none").fit(posteriors(y_src, rng), y_src)
    hits = np.zeros(3)
    reps = 300
    for _ in range(reps):
        res = mlls.detect(posteriors(labels(1000, q, rng), rng))
        hits += (np.array(res.target_priors_low) <= q) & (
            q <= np.array(res.target_priors_high)
        )
    cov = hits / reps
    assert np.all((cov >= LOW) & (cov <= HIGH)), cov


# False alarms over R = 400 null repetitions: Binomial(400, 0.05) has standard error
# 0.011, so [0.02, 0.085] is about ±3 SE around alpha.
@pytest.mark.parametrize("name", ["bbse", "mlls", "labels"])
def test_no_shift_test_holds_alpha(name: str) -> None:
    rng = np.random.default_rng(5)
    y_src = labels(5000, UNIFORM, rng)
    if name == "bbse":
        det = BBSE().fit(predict(y_src, rng), y_src)
    elif name == "mlls":  # BCTS fitted once on 5,000 rows; the targets vary
        det = MLLS().fit(posteriors(y_src, rng), y_src)
    reps = 400
    alarms = 0
    for _ in range(reps):
        y = labels(300, UNIFORM, rng)
        if name == "labels":  # the reference is a sample too: refit every time
            res = LabelDrift().fit(labels(500, UNIFORM, rng)).detect(y)
        elif name == "bbse":
            res = det.detect(predict(y, rng))
        else:
            res = det.detect(posteriors(y, rng))
        alarms += res.drift
    assert 0.02 <= alarms / reps <= 0.085


@pytest.mark.parametrize("name", ["bbse", "mlls"])
def test_shift_is_detected(name: str) -> None:
    kind, make = ESTIMATORS[name]
    rng = np.random.default_rng(6)
    res = _fit_and_detect(kind, make(), 2000, 2000, SHIFTS["knockout"], rng)
    assert res.drift
    assert res.p_value < 1e-3


def _log_loss(proba: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(proba[np.arange(y.size), y]).mean())


def test_adjusted_posteriors_improve_log_loss_on_shifted_data() -> None:
    rng = np.random.default_rng(7)
    q = np.array([0.7, 0.2, 0.1])
    y_src, y_tgt = labels(3000, UNIFORM, rng), labels(3000, q, rng)
    p_src, p_tgt = posteriors(y_src, rng), posteriors(y_tgt, rng)
    res = MLLS().fit(p_src, y_src).detect(p_tgt)
    adjusted = adjust_priors(p_tgt, res.source_priors, res.target_priors).proba
    oracle = adjust_priors(p_tgt, UNIFORM, q).proba
    before, after, best = (_log_loss(p, y_tgt) for p in (p_tgt, adjusted, oracle))
    # A clear gain (the oracle's is ≈ 0.1 nats here), and within 0.01 of the oracle.
    assert after < before - 0.05
    assert after < best + 0.01


def test_mlls_beats_bbse_with_calibrated_probabilities() -> None:
    # Alexandari et al. 2020: MLLS with calibrated posteriors has a lower error than
    # BBSE; on 40 seeded repetitions the mean error differs by far more than noise.
    rng = np.random.default_rng(8)
    q = SHIFTS["dirichlet"]
    err = {"bbse": [], "mlls": []}
    for _ in range(40):
        y_src, y_tgt = labels(2000, UNIFORM, rng), labels(500, q, rng)
        x_rng = np.random.default_rng(rng.integers(1 << 31))
        p_src, p_tgt = posteriors(y_src, x_rng), posteriors(y_tgt, x_rng)
        mlls = MLLS().fit(p_src, y_src).detect(p_tgt)
        bbse = BBSE().fit(p_src.argmax(axis=1), y_src).detect(p_tgt.argmax(axis=1))
        err["mlls"].append(np.abs(np.array(mlls.target_priors) - q).sum())
        err["bbse"].append(np.abs(np.array(bbse.target_priors) - q).sum())
    assert np.mean(err["mlls"]) < 0.85 * np.mean(err["bbse"])


def test_rlls_is_more_accurate_than_bbse_with_an_ill_conditioned_confusion() -> None:
    # Classes 0 and 1 are nearly indistinguishable (condition number ≈ 20): BBSE's
    # inverse amplifies noise, RLLS shrinks towards "no shift". Over 40 repetitions
    # at n = 200, RLLS's mean absolute error is clearly lower.
    confusion = np.array([[0.5, 0.45, 0.1], [0.45, 0.5, 0.1], [0.05, 0.05, 0.8]])
    rng = np.random.default_rng(9)
    q = np.array([0.45, 0.3, 0.25])
    err = {"bbse": [], "rlls": []}
    for _ in range(40):
        y_src, y_tgt = labels(600, UNIFORM, rng), labels(200, q, rng)
        ps, pt = predict(y_src, rng, confusion), predict(y_tgt, rng, confusion)
        for name, est in (
            ("bbse", BBSE()),
            ("rlls", RLLS(n_bootstrap=20, random_state=0)),
        ):
            res = est.fit(ps, y_src).detect(pt)
            err[name].append(np.abs(np.array(res.target_priors) - q).sum())
    assert np.mean(err["rlls"]) < 0.8 * np.mean(err["bbse"])
