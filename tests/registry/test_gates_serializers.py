"""Built-in gates (metric, input schema), skops serialisation, lineage from git."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

from mlopskit.errors import PromotionRefusedError, RegistryError, UntrustedFormatError
from mlopskit.registry import ModelRegistry, metric_not_worse, schema_compatible
from mlopskit.registry._lineage import git_state
from mlopskit.schema import Column, Schema


def test_schema_gate_uses_schema_diff(registry: ModelRegistry) -> None:
    base = Schema(columns={"x": Column(dtype="float")})
    registry.register("m", 1, input_schema=base)
    registry.register("m", 2, input_schema=base.with_column("x", ge=1.0))  # tighter
    registry.register("m", 3, input_schema=base)
    registry.register("m", 4)  # no schema at all
    assert registry.get_version("m", 1).load_input_schema() == base
    registry.promote("m", 1, gates=[schema_compatible()])
    with pytest.raises(PromotionRefusedError, match="lower bound tightened") as info:
        registry.promote("m", 2, gates=[schema_compatible()])
    assert info.value.failures[0].gate == "input_schema_compatible"
    with pytest.raises(PromotionRefusedError, match="has none"):
        registry.promote("m", 4, gates=[schema_compatible()])
    assert registry.promote("m", 3, gates=[schema_compatible()]).previous == 1


def test_metric_gate_for_losses_and_tolerance(registry: ModelRegistry) -> None:
    registry.register("m", 1, metrics={"rmse": 1.00})
    registry.register("m", 2, metrics={"rmse": 1.04})
    registry.register("m", 3)
    registry.promote("m", 1)
    loss = metric_not_worse("rmse", higher_is_better=False)
    with pytest.raises(PromotionRefusedError, match="is above the current holder's 1"):
        registry.promote("m", 2, gates=[loss])
    lenient = metric_not_worse("rmse", higher_is_better=False, tolerance=0.05)
    assert registry.promote("m", 2, gates=[lenient]).previous == 1
    with pytest.raises(PromotionRefusedError, match="has no 'rmse' metric"):
        registry.promote("m", 3, gates=[loss])
    with pytest.raises(RegistryError, match="tolerance"):
        metric_not_worse("rmse", tolerance=-1.0)


class CustomScaler(BaseEstimator):
    """A user's estimator: not scikit-learn's, so skops does not trust it."""

    def fit(self, x: Any, y: Any = None) -> CustomScaler:
        self.shift_ = float(np.mean(x))
        return self


def _model() -> LogisticRegression:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(30, 2))
    return LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))


def test_skops_round_trip_and_untrusted_types(registry: ModelRegistry) -> None:
    pytest.importorskip("skops", reason="skops is the optional 'skops' extra")
    model = _model()
    mv = registry.register("m", model, serializer="skops")
    assert mv.serializer == "skops"
    x = np.random.default_rng(4).normal(size=(4, 2))
    np.testing.assert_array_equal(registry.load("m", 1).predict(x), model.predict(x))

    odd = CustomScaler().fit(x)  # a type skops and mlopskit do not trust by default
    registry.register("odd", odd, serializer="skops")
    with pytest.raises(UntrustedFormatError, match="not trusted") as info:
        registry.load("odd")
    assert info.value.untrusted == (f"{__name__}.CustomScaler",)
    back = registry.load("odd", trusted=[f"{__name__}.CustomScaler"])
    assert back.shift_ == pytest.approx(odd.shift_)


def test_git_lineage_inside_and_outside_a_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert git_state(str(tmp_path)) == (None, None)
    run = {"cwd": tmp_path, "check": True, "capture_output": True}
    subprocess.run(["git", "init", "-q"], **run)
    (tmp_path / "train.py").write_text("print(1)\n")
    subprocess.run(["git", "add", "train.py"], **run)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c"],
        **run,
    )
    head = subprocess.run(["git", "rev-parse", "HEAD"], text=True, **run).stdout.strip()
    assert git_state(str(tmp_path)) == (head, False)
    (tmp_path / "train.py").write_text("print(2)\n")
    assert git_state(str(tmp_path)) == (head, True)
    monkeypatch.chdir(tmp_path)
    mv = ModelRegistry("memory://git-lineage").register("m", 1)
    assert (mv.lineage.git_commit, mv.lineage.git_dirty) == (head, True)
