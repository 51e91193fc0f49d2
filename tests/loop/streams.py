"""A 30-batch production stream with two real changes and three corrupt batches.

Shared by ``test_stream.py`` and ``benchmarks/bench_loop.py``.

- The label rule is fixed (no concept drift): ``P(y=1 | x)`` is a logistic function
  of ``x1 - g(x0)`` with ``g(x0) = 0`` for ``x0 < 2.5`` and ``1.5`` above. Training
  data has ``x0 ~ N(0, 1)`` (0.6 % of rows above 2.5), so a model fitted on it
  learns ``x1 > 0``.
- Batches 1–10 are clean. Batches 11–20 are a sustained **covariate shift**
  (``x0 ~ N(3.5, 1)``): where the boundary is ``x1 > 1.5`` the old model is wrong on
  many rows, and a model retrained on shifted rows is right. Batches 21–30 add a
  **prior shift**: 85 % positives, drawn from the shifted distribution.
- Batches 5, 15 and 25 are corrupt (NaN and impossible values; a missing column; a
  column exported as text) and must be quarantined.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

FEATURES = ["x0", "x1", "x2", "x3", "x4"]
CORRUPT = (5, 15, 25)


@dataclass(frozen=True)
class Batch:
    number: int
    phase: str  # "clean", "covariate", "prior"
    corrupt: bool
    features: pd.DataFrame
    labels: np.ndarray


def draw(rng: np.random.Generator, n: int, *, shifted: bool) -> pd.DataFrame:
    X = rng.normal(size=(n, len(FEATURES)))
    if shifted:
        X[:, 0] += 3.5
    boundary = np.where(X[:, 0] > 2.5, 1.5, 0.0)
    p = 1.0 / (1.0 + np.exp(-6.0 * (X[:, 1] - boundary)))
    frame = pd.DataFrame(X, columns=FEATURES)
    frame["target"] = (rng.random(n) < p).astype(int)
    return frame


def draw_prior(rng: np.random.Generator, n: int, *, positives: float) -> pd.DataFrame:
    pool = draw(rng, 8 * n, shifted=True)
    k = round(n * positives)
    pos = pool[pool["target"] == 1].iloc[:k]
    neg = pool[pool["target"] == 0].iloc[: n - k]
    return pd.concat([pos, neg]).sample(frac=1.0, random_state=0).reset_index(drop=True)


def corrupt(frame: pd.DataFrame, kind: int) -> pd.DataFrame:
    X = frame.copy()
    if kind == 0:
        X.loc[X.index[:4], "x2"] = np.nan
        X.loc[X.index[4:8], "x3"] = 1e6
    elif kind == 1:
        X = X.drop(columns="x4")
    else:
        X["x1"] = X["x1"].map(lambda v: f"{v:.3f}")
    return X


def stream(
    random_state: int = 0, *, batch_rows: int = 150, boot_rows: int = 600
) -> tuple[pd.DataFrame, tuple[Batch, ...]]:
    """The bootstrap data and the 30 batches."""
    rng = np.random.default_rng(random_state)
    boot = draw(rng, boot_rows, shifted=False)
    batches = []
    for number in range(1, 31):
        phase = "clean" if number <= 10 else "covariate" if number <= 20 else "prior"
        if phase == "prior":
            frame = draw_prior(rng, batch_rows, positives=0.85)
        else:
            frame = draw(rng, batch_rows, shifted=phase == "covariate")
        X, y = frame[FEATURES], frame["target"].to_numpy()
        bad = number in CORRUPT
        if bad:
            X = corrupt(X, CORRUPT.index(number))
        batches.append(Batch(number, phase, bad, X, y))
    return boot, tuple(batches)


def fit(data: pd.DataFrame) -> Any:
    """The stream's training pipeline: one plain function."""
    X, y = data[FEATURES], data["target"]
    return DecisionTreeClassifier(max_depth=6, min_samples_leaf=5, random_state=0).fit(
        X, y
    )


def summarise(events: Any, batches: tuple[Batch, ...]) -> dict[str, Any]:
    """Decision counts per phase (events after the bootstrap, one per batch)."""
    observed = [e for e in events if e.kind == "observe"]
    rows: dict[str, Any] = {
        "retrains": {"clean": 0, "covariate": 0, "prior": 0},
        "promotions": {"clean": 0, "covariate": 0, "prior": 0},
        "quarantined_corrupt": 0,
        "quarantined_clean": 0,
    }
    for batch, event in zip(batches, observed, strict=True):
        if event.decision in ("promoted", "refused", "failed"):
            rows["retrains"][batch.phase] += 1
        if event.decision == "promoted":
            rows["promotions"][batch.phase] += 1
        if event.decision == "quarantined":
            key = "quarantined_corrupt" if batch.corrupt else "quarantined_clean"
            rows[key] += 1
    return rows
