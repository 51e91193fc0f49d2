"""Windowed training data, and bad batches refused or quarantined with nothing lost."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.loop.streams import FEATURES, draw, fit

from mlopskit.errors import BatchError, InvalidParameterError
from mlopskit.loop import ContinuousTraining, HoldoutGate
from mlopskit.loop import _loop as loop_module
from mlopskit.loop._window import DEFAULT_WINDOW
from mlopskit.pipeline import Pipeline


def make(url: str, **kw: Any) -> ContinuousTraining:
    params: dict[str, Any] = {
        "registry": f"{url}/registry",
        "model_name": "w",
        "monitors": (),
        "gates": [HoldoutGate(min_rows=40)],
        "store": f"{url}/store",
        "model_step": "fit",
        "min_holdout": 40,
        "holdout_fraction": 0.5,
        "retrain_every": 1,
        "cooldown": 0,
    }
    params.update(kw)
    return ContinuousTraining(Pipeline([fit], name="w"), **params)


def batch(seed: int, n: int = 100) -> tuple[pd.DataFrame, np.ndarray]:
    frame = draw(np.random.default_rng(seed), n, shifted=False)
    return frame[FEATURES], frame["target"].to_numpy()


def trained_rows(lp: ContinuousTraining) -> pd.DataFrame:
    event = lp.events()[-1]
    assert event.decision in ("promoted", "refused"), event.reasons
    return lp.store.get(str(event.dataset_digest))


def test_the_default_window_is_bounded(tmp_path: Path) -> None:
    assert make(str(tmp_path)).training_window == DEFAULT_WINDOW == 10_000


def test_last_n_rows(tmp_path: Path) -> None:
    lp = make(str(tmp_path), training_window=250)
    lp.bootstrap(draw(np.random.default_rng(0), 300, shifted=False))
    X, y = batch(1)
    lp.observe(X, labels=y)
    rows = trained_rows(lp)
    assert len(rows) == 250
    # The newest rows: the batch's 50 training rows come last, after 200 boot rows.
    pd.testing.assert_frame_equal(
        rows.iloc[-50:][FEATURES].reset_index(drop=True),
        X.iloc[:50].reset_index(drop=True),
    )


def test_last_t_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)]
    monkeypatch.setattr(loop_module, "_now", lambda: clock[0])
    lp = make(str(tmp_path), training_window=dt.timedelta(days=2))
    lp.bootstrap(draw(np.random.default_rng(0), 300, shifted=False))
    clock[0] += dt.timedelta(days=1)
    X1, y1 = batch(1)
    lp.observe(X1, labels=y1)
    assert len(trained_rows(lp)) == 300 + 50  # the bootstrap rows are 1 day old
    clock[0] += dt.timedelta(days=2)
    X2, y2 = batch(2)
    lp.observe(X2, labels=y2)
    # Now the bootstrap data is 3 days old; batch 1 (2 days) is still in.
    assert len(trained_rows(lp)) == 100 + 50


def test_a_user_function_picks_the_rows(tmp_path: Path) -> None:
    def positives_and_recent(rows: pd.DataFrame) -> pd.DataFrame:
        return rows.iloc[-120:]

    lp = make(str(tmp_path), training_window=positives_and_recent)
    lp.bootstrap(draw(np.random.default_rng(0), 300, shifted=False))
    X, y = batch(3)
    lp.observe(X, labels=y)
    assert len(trained_rows(lp)) == 120


def test_all_rows(tmp_path: Path) -> None:
    lp = make(str(tmp_path), training_window="all")
    lp.bootstrap(draw(np.random.default_rng(0), 300, shifted=False))
    X, y = batch(4)
    lp.observe(X, labels=y)
    assert len(trained_rows(lp)) == 350


def test_a_holdout_smaller_than_the_gate_needs_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="min_holdout"):
        make(str(tmp_path), gates=[HoldoutGate()], min_holdout=40)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "last", dt.timedelta(0)])
def test_a_bad_window_is_refused(tmp_path: Path, bad: Any) -> None:
    with pytest.raises(InvalidParameterError, match="training_window"):
        make(str(tmp_path), training_window=bad)


# -- bad batches -------------------------------------------------------------------


def snapshot_files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


@pytest.fixture
def loop(tmp_path: Path) -> ContinuousTraining:
    lp = make(str(tmp_path), retrain_every=None)
    lp.bootstrap(draw(np.random.default_rng(0), 300, shifted=False))
    return lp


def _missing(X: pd.DataFrame) -> pd.DataFrame:
    return X.drop(columns="x3")


def _extra(X: pd.DataFrame) -> pd.DataFrame:
    return X.assign(x9=1.0)


def _text(X: pd.DataFrame) -> pd.DataFrame:
    return X.assign(x2=X["x2"].map(str))


def _all_null(X: pd.DataFrame) -> pd.DataFrame:
    return X.assign(x1=np.nan)


@pytest.mark.parametrize(
    ("spoil", "column"),
    [(_missing, "x3"), (_extra, "x9"), (_text, "x2"), (_all_null, "x1")],
)
def test_a_bad_batch_is_quarantined_naming_the_column_and_nothing_stored_changes(
    loop: ContinuousTraining, tmp_path: Path, spoil: Any, column: str
) -> None:
    X, y = batch(5)
    before = snapshot_files(tmp_path)
    event = loop.observe(spoil(X), labels=y)
    assert event.decision == "quarantined"
    assert any(r.startswith(f"{column}:") or f" {column}:" in r for r in event.reasons)
    after = snapshot_files(tmp_path)
    assert {k: after[k] for k in before} == before  # nothing already stored changed
    assert loop.registry.get_version("w", alias="production").version == 1
    assert event.labelled_digest is None
    # The next clean batch is judged as if the bad one never came.
    assert loop.observe(X, labels=y).decision == "no-change"


def test_zero_rows_and_wrong_labels_are_refused_and_nothing_is_written(
    loop: ContinuousTraining, tmp_path: Path
) -> None:
    X, y = batch(6)
    before = snapshot_files(tmp_path)
    with pytest.raises(BatchError, match="no rows"):
        loop.observe(X.iloc[:0])
    with pytest.raises(BatchError, match="labels") as info:
        loop.observe(X, labels=y[:-1])
    assert info.value.column == "labels"
    assert snapshot_files(tmp_path) == before
    assert len(loop.events()) == 1


@pytest.mark.slow  # 200 scorer calls on the held-out rows
def test_a_scorer_other_than_accuracy_is_compared_by_a_paired_bootstrap(
    tmp_path: Path,
) -> None:
    lp = make(
        str(tmp_path),
        metric="roc_auc",
        gates=[HoldoutGate(n_boot=100)],
        min_holdout=100,
        holdout_fraction=0.4,
    )
    lp.bootstrap(draw(np.random.default_rng(0), 300, shifted=False))
    X, y = batch(7, n=300)
    event = lp.observe(X, labels=y)
    assert event.decision in ("promoted", "refused")
    assert event.comparison is not None
    assert event.comparison.metric == "roc_auc"
    assert event.comparison.n == 120
    assert event.comparison.method.startswith("paired bootstrap")
    assert event.comparison.low <= event.comparison.difference <= event.comparison.high


def test_an_empty_or_failing_window_is_a_failed_retrain_not_an_exception(
    tmp_path: Path,
) -> None:
    def broken(rows: pd.DataFrame) -> pd.DataFrame:
        raise RuntimeError("no access to the archive")

    for window, message in (
        (broken, "no access"),
        (lambda rows: rows.iloc[:0], "no rows"),
    ):
        lp = make(str(tmp_path / message.replace(" ", "-")), training_window=window)
        lp.bootstrap(draw(np.random.default_rng(0), 300, shifted=False))
        X, y = batch(8)
        event = lp.observe(X, labels=y)
        assert event.decision == "failed"
        assert message in " ".join(event.reasons)
        assert lp.registry.get_version("w", alias="production").version == 1


def test_a_schedule_only_retrain_is_judged_for_non_inferiority(tmp_path: Path) -> None:
    lp = make(
        str(tmp_path),
        gates=[HoldoutGate(min_rows=40, schedule_margin=0.03)],
        training_window="all",
    )
    lp.bootstrap(draw(np.random.default_rng(0), 300, shifted=False))
    X, y = batch(9)
    event = lp.observe(X, labels=y)
    assert event.triggers == ("schedule",)
    holdout = next(g for g in event.gates if g.gate == "holdout")
    assert "rule: non-inferiority, lower bound > -0.03" in holdout.reason


def test_a_batch_the_model_cannot_take_is_quarantined_with_the_error(
    tmp_path: Path,
) -> None:
    def fragile(data: pd.DataFrame) -> pd.DataFrame:
        if (data["x0"] > 3.0).any():  # a featurise step with a bug on big values
            raise ValueError("x0 too large for the lookup table")
        return data

    def fit_fragile(fragile: pd.DataFrame) -> Any:
        return fit(fragile)

    lp = ContinuousTraining(
        Pipeline([fragile, fit_fragile], name="fragile"),
        registry=f"{tmp_path}/registry",
        model_name="f",
        monitors=(),
        gates=[HoldoutGate()],
        store=f"{tmp_path}/store",
        model_step="fit_fragile",
    )
    boot = draw(np.random.default_rng(0), 300, shifted=False)
    boot = boot[boot["x0"] <= 3.0]
    assert lp.bootstrap(boot).features_step == "fragile"
    X, y = batch(10)
    X = X.assign(x0=X["x0"].clip(upper=2.9))
    X.loc[0, "x0"] = 3.5  # inside the inferred range, but the step fails on it
    assert lp._load_state().schema.validate(X).ok
    event = lp.observe(X, labels=y)
    assert event.decision == "quarantined"
    assert "x0 too large for the lookup table" in event.reasons[0]
