"""Adapters: peers' detectors in the harness (fakes with the peers' documented shapes
where the peer is not installed; river for real when it is)."""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from mlopskit.drift.benchmark import (
    AlibiDetectAdapter,
    FrourosAdapter,
    MeanShift,
    NoShift,
    RiverAdapter,
    make_synthetic,
    run_benchmark,
)
from mlopskit.errors import NotFittedError, OptionalDependencyError


class FakeAlibiKS:
    """alibi_detect.cd.KSDrift's shape: reference in the constructor, dict answers."""

    def __init__(self, x_ref, p_val=0.05):
        self.x_ref, self.p_val = x_ref, p_val

    def predict(self, x):
        p = np.array(
            [
                stats.ks_2samp(self.x_ref[:, j], x[:, j]).pvalue
                for j in range(x.shape[1])
            ]
        )
        threshold = self.p_val / x.shape[1]
        return {
            "data": {
                "is_drift": int(p.min() < threshold),
                "p_val": p,
                "threshold": threshold,
            }
        }


class FakeFrourosKS:
    """frouros' KSTest shape: fit(X=1-D), compare(X=1-D) -> (result, logs)."""

    def fit(self, X):
        self.ref = X

    def compare(self, X):
        res = stats.ks_2samp(self.ref, X)
        return SimpleNamespace(statistic=res.statistic, p_value=res.pvalue), {}


DATA = make_synthetic(n_samples=600, n_features=6, n_informative=3, n_classes=2)


def test_peer_adapters_run_in_the_harness_and_agree() -> None:
    res = run_benchmark(
        {
            "alibi": AlibiDetectAdapter(FakeAlibiKS),
            "frouros": FrourosAdapter(FakeFrourosKS),
        },
        datasets=[DATA],
        shifts=[NoShift(), MeanShift(1.0, features=0.5)],
        sample_sizes=[100],
        n_runs=4,
        progress=False,
    )
    runs = res.runs.pivot_table(
        index=["shift", "run"], columns="detector", values="drift"
    )
    assert (runs["alibi"] == runs["frouros"]).all()  # same KS, same Bonferroni
    assert runs.loc["mean_shift_1_features0.5"].all().all()


def test_adapters_before_fit_and_missing_peers() -> None:
    with pytest.raises(NotFittedError):
        AlibiDetectAdapter(FakeAlibiKS).detect(np.zeros((3, 2)))
    with pytest.raises(NotFittedError):
        FrourosAdapter(FakeFrourosKS).detect(np.zeros((3, 2)))
    if importlib.util.find_spec("alibi_detect") is None:
        with pytest.raises(OptionalDependencyError, match="bench"):
            AlibiDetectAdapter("KSDrift").fit(np.zeros((3, 2)))


def test_river_adapter_with_river() -> None:
    drift = pytest.importorskip("river.drift")
    det = RiverAdapter(drift.ADWIN())
    values = np.r_[np.zeros(500), np.ones(500)]
    alarms = [i for i, v in enumerate(values) if det.update(float(v)).drift_detected]
    assert alarms
    assert alarms[0] >= 500
    assert RiverAdapter("ADWIN", delta=0.01)._detector.delta == 0.01
