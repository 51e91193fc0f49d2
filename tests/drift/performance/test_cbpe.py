"""CBPE: estimates against the realised performance on shifted batches of real data
sets, NannyML's formulas, the drift rule, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.metrics import auc as sklearn_auc
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlopskit.drift import CBPE, PerformanceEstimate
from mlopskit.drift.performance._cbpe import _expected_auc
from mlopskit.errors import DriftInputError, InvalidParameterError, NotFittedError

LOADERS = {
    "breast_cancer": load_breast_cancer,
    "wine": load_wine,
    "digits": load_digits,
}


def _setup(name: str) -> tuple:
    """Model on a third, reference on a third, a pool to draw shifted batches from."""
    X, y = LOADERS[name](return_X_y=True)
    idx = np.random.default_rng(0).permutation(len(y))
    X, y = X[idx], y[idx]
    a, b = len(y) // 3, 2 * len(y) // 3
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(X[:a], y[:a])
    scaler = StandardScaler().fit(X[:a])
    pc1 = PCA(1).fit(scaler.transform(X[:a]))
    z = pc1.transform(scaler.transform(X[b:]))[:, 0]
    return model, X[a:b], y[a:b], X[b:], y[b:], z / z.std()


def _realised(metric: str, y: np.ndarray, proba: np.ndarray, k: int) -> float:
    if metric == "accuracy":
        return float(accuracy_score(y, proba.argmax(axis=1)))
    if k == 2:
        return float(roc_auc_score(y, proba[:, 1]))
    return float(roc_auc_score(y, proba, multi_class="ovr", labels=np.arange(k)))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(LOADERS))
@pytest.mark.parametrize("metric", ["accuracy", "roc_auc"])
def test_estimate_tracks_realised_performance_under_covariate_shift(
    name: str, metric: str
) -> None:
    # 20 batches (half the pool, without replacement) tilted along the first
    # principal component from one side to the other: covariate shift, labels
    # unchanged given x (CBPE's assumption). Measured coverage of the 95 %
    # interval: 16-20 of 20 per case; 15 allows one more miss (the interval is
    # conditional on calibration, which a 60-600-row reference only estimates).
    model, xr, yr, xp, yp, z = _setup(name)
    cbpe = CBPE(metric=metric, min_rows=30, random_state=0).fit(
        model.predict_proba(xr), yr
    )
    k = len(cbpe.classes_)
    covered, errors = 0, []
    for t in range(20):
        w = np.exp((t / 10 - 1) * 1.5 * z)
        rows = np.random.default_rng(t).choice(
            len(yp), len(yp) // 2, replace=False, p=w / w.sum()
        )
        proba = model.predict_proba(xp[rows])
        if metric == "roc_auc" and len(np.unique(yp[rows])) < k:
            continue
        result = cbpe.estimate(proba)
        real = _realised(metric, yp[rows], proba, k)
        covered += result.lower <= real <= result.upper
        errors.append(abs(result.estimate - real))
    assert covered >= 15
    # Measured mean |estimate - realised|: <= 0.017 (accuracy), <= 0.011 (AUC).
    assert np.mean(errors) <= (0.03 if metric == "accuracy" else 0.02)


def test_drift_when_the_batch_is_harder_and_not_on_random_batches() -> None:
    model, xr, yr, xp, yp, _ = _setup("digits")
    cbpe = CBPE(random_state=0, min_rows=20).fit(model.predict_proba(xr), yr)
    proba = model.predict_proba(xp)
    random_alarms = 0
    for t in range(10):
        rows = np.random.default_rng(t).choice(len(yp), 150, replace=False)
        random_alarms += cbpe.estimate(proba[rows]).drift
    assert random_alarms == 0  # the rule needs the whole interval below ref - 0.05
    hard = np.argsort(proba.max(axis=1))[:100]  # the model's least confident rows
    result = cbpe.estimate(proba[hard])
    realised = accuracy_score(yp[hard], proba[hard].argmax(axis=1))
    assert realised < cbpe.reference_ - 0.05  # performance really dropped (0.82)
    assert result.drift
    assert result.lower <= realised <= result.upper
    assert "is below" in result.reason
    assert PerformanceEstimate.from_json(result.to_json()) == result


def test_estimates_follow_nannymls_formulas() -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(size=400)
    y = rng.uniform(size=400) < p  # calibrated by construction
    cbpe = CBPE(calibration=None, random_state=0).fit(p, y.astype(int))
    # estimate_accuracy: mean of p where y_pred = 1 and of 1 - p where y_pred = 0.
    expected = np.where(p >= 0.5, p, 1 - p).mean()
    assert cbpe.estimate(p).estimate == pytest.approx(expected, abs=1e-12)
    # estimate_roc_auc: trapezoids under (cumsum(1 - p), cumsum(p)) sorted by score.
    order = np.argsort(p)[::-1]
    tps = np.r_[0, np.cumsum(p[order])]
    fps = np.r_[0, np.cumsum(1 - p[order])]
    auc = sklearn_auc(fps / fps[-1], tps / tps[-1])  # what NannyML calls
    assert _expected_auc(p, p) == pytest.approx(auc, abs=1e-12)
    roc = CBPE(metric="roc_auc", calibration=None, random_state=0).fit(p, y.astype(int))
    assert roc.estimate(p).estimate == pytest.approx(auc, abs=1e-12)
    again = CBPE(metric="roc_auc", calibration=None, random_state=0).fit(
        p, y.astype(int)
    )
    assert again.estimate(p) == roc.estimate(p)  # same seed, same interval


def test_auto_calibration_follows_nannymls_rule() -> None:
    rng = np.random.default_rng(2)
    p = rng.uniform(size=2000)
    y = (rng.uniform(size=2000) < p**3).astype(int)  # overconfident scores
    assert CBPE().fit(p, y).calibrators_[1] is not None
    separable = np.r_[np.zeros(50), np.ones(50)]
    scores = np.r_[rng.uniform(0, 0.4, 50), rng.uniform(0.6, 1, 50)]
    assert CBPE().fit(scores, separable).calibrators_[1] is None  # AUC > 0.999


def test_bad_input() -> None:
    rng = np.random.default_rng(3)
    p, y = rng.uniform(size=200), rng.integers(0, 2, 200)
    with pytest.raises(NotFittedError):
        CBPE().estimate(p)
    with pytest.raises(DriftInputError, match="one class"):
        CBPE().fit(p, np.ones(200))
    with pytest.raises(DriftInputError, match="constant"):
        CBPE().fit(np.full(200, 0.3), y)
    with pytest.raises(DriftInputError, match="NaN"):
        CBPE().fit(np.r_[p[:-1], np.nan], y)
    with pytest.raises(DriftInputError, match=r"\[0, 1\]"):
        CBPE().fit(p * 3 - 1, y)
    with pytest.raises(DriftInputError, match="labels"):
        CBPE().fit(p, y[:10])
    with pytest.raises(DriftInputError, match="mix types"):
        CBPE().fit(p[:4], np.array(["a", 1, "a", 1], dtype=object))
    cbpe = CBPE(random_state=0).fit(p, y)
    with pytest.raises(DriftInputError, match="at least 100"):
        cbpe.estimate(p[:50])
    with pytest.raises(DriftInputError, match="shape"):
        cbpe.estimate(np.ones((150, 3)) / 3)
    with pytest.raises(DriftInputError, match="empty"):
        CBPE(min_rows=2).fit(p, y).estimate(np.empty(0))
    with pytest.raises(DriftInputError, match="numbers"):
        cbpe.estimate(np.array(["a"] * 150))
    for bad in (
        {"metric": "f1"},
        {"tolerance": 2.0},
        {"n_simulations": 5},
        {"calibration": "x"},
    ):
        with pytest.raises(InvalidParameterError):
            CBPE(**bad).fit(p, y)
