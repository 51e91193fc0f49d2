"""``mlopskit demo``: the whole loop on scikit-learn's digits, with no services.

The scenario: a classifier of handwritten digits is bootstrapped on 700 images; then
production batches arrive — clean ones, a corrupt one (quarantined), batches with
sensor noise on half the pixels (covariate shift), and batches in which only a few
digits occur (prior shift). Labels come with each batch, as they would after a short
delay. The loop detects, retrains, gates, simulates a canary and promotes.

The training pipeline is four plain functions. Defined at module level, so their code
fingerprints are stable and a second run of the demo finds every step in the cache.

What does *not* belong here: the loop itself (``_loop.py``) and the report
(``_report.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DemoBatch", "demo_pipeline", "demo_scenario", "demo_schema", "run_demo"]


# -- the training pipeline (plain functions) ------------------------------------------


def fit_rows(data: pd.DataFrame, test_size: float = 0.25) -> pd.DataFrame:
    """The rows the model is fitted on: a stratified, seeded split of ``data``."""
    from sklearn.model_selection import train_test_split

    rows, _ = train_test_split(
        data, test_size=test_size, random_state=0, stratify=data["target"]
    )
    return rows


def eval_rows(data: pd.DataFrame, test_size: float = 0.25) -> pd.DataFrame:
    """The evaluation rows: the complement of :func:`fit_rows`."""
    from sklearn.model_selection import train_test_split

    _, rows = train_test_split(
        data, test_size=test_size, random_state=0, stratify=data["target"]
    )
    return rows


def model(fit_rows: pd.DataFrame, C: float = 0.1) -> Any:
    """A scaled logistic regression on every pixel."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = fit_rows.drop(columns="target"), fit_rows["target"]
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000)).fit(
        X, y
    )


def metrics(model: Any, eval_rows: pd.DataFrame) -> dict[str, float]:
    """Accuracy on the evaluation rows."""
    X, y = eval_rows.drop(columns="target"), eval_rows["target"]
    return {"accuracy": float(np.mean(model.predict(X) == y.to_numpy()))}


def demo_pipeline() -> Any:
    """The demo's training pipeline: a split of the rows → model → metrics."""
    from mlopskit.pipeline import Pipeline

    return Pipeline([fit_rows, eval_rows, model, metrics], name="digits-training")


# -- the scenario -----------------------------------------------------------------------


@dataclass(frozen=True)
class DemoBatch:
    """One production batch of the demo: what it is, its features and labels."""

    name: str
    story: str
    features: pd.DataFrame
    labels: np.ndarray


def demo_schema(boot: pd.DataFrame) -> Any:
    """Infer the schema from the bootstrap data, then edit it as a person would.

    Inference proposes each pixel's observed range; the sensor's real range is
    0–16 for every pixel, so the edit widens each range to it.
    """
    from mlopskit.schema import Schema

    features = boot.drop(columns="target")
    schema = Schema.infer(features)
    for column in features.columns:
        schema = schema.with_column(column, ge=0.0, le=16.0)
    return schema


def _digits(random_state: int) -> pd.DataFrame:
    from sklearn.datasets import load_digits

    frame = load_digits(as_frame=True).frame
    return frame.sample(frac=1.0, random_state=random_state).reset_index(drop=True)


def demo_scenario(
    *, random_state: int = 0, batch_size: int = 120
) -> tuple[pd.DataFrame, tuple[DemoBatch, ...]]:
    """The bootstrap data and the stream of production batches.

    Examples
    --------
    >>> boot, batches = demo_scenario()
    >>> len(boot), [b.name for b in batches][:4]
    (700, ['clean-1', 'clean-2', 'corrupt', 'noise-1'])
    """
    rng = np.random.default_rng(random_state)
    frame = _digits(random_state)
    boot, rest = frame.iloc[:700].reset_index(drop=True), frame.iloc[700:]
    features = [c for c in frame.columns if c != "target"]
    live = boot[features].max() > boot[features].min()
    noisy = [c for c in features if live[c]][::2]  # half the pixels that vary

    def take(rows: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        return rows[features].reset_index(drop=True), rows["target"].to_numpy()

    chunks = [rest.iloc[i : i + batch_size] for i in range(0, len(rest), batch_size)]
    batches: list[DemoBatch] = []
    for i, name in enumerate(("clean-1", "clean-2")):
        X, y = take(chunks[i])
        batches.append(DemoBatch(name, "clean production data", X, y))
    X, y = take(chunks[2])
    X = X.astype(float)
    X.loc[X.index[:3], features[10]] = 99.0  # a pixel far outside its 0..16 range
    X.loc[X.index[3:6], features[20]] = np.nan
    batches.append(
        DemoBatch("corrupt", "a corrupt export: impossible values and NaN", X, y)
    )
    for i in range(3):
        X, y = take(chunks[3 + i])
        X = X.astype(float)
        noise = rng.normal(0.0, 4.0, size=(len(X), len(noisy)))
        X[noisy] = np.clip(X[noisy].to_numpy() + noise, 0.0, 16.0).round()
        batches.append(
            DemoBatch(f"noise-{i + 1}", "sensor noise on half the pixels", X, y)
        )
    few = rest.iloc[6 * batch_size :]
    few = few[few["target"].isin([0, 1, 2, 3])]
    for i in range(2):
        X, y = take(few.iloc[i * batch_size // 2 : (i + 1) * batch_size // 2])
        batches.append(DemoBatch(f"prior-{i + 1}", "only the digits 0-3 occur", X, y))
    return boot, tuple(batches)


# -- the run ------------------------------------------------------------------------------


def run_demo(
    url: str = ".mlopskit",
    *,
    report: str | None = None,
    out: Callable[[str], None] = print,
    storage_options: dict[str, Any] | None = None,
    n_runs: int = 200,
) -> Any:
    """Run the loop on the demo scenario; print an account; write an HTML report.

    Parameters
    ----------
    url
        Where everything lives: a local folder (default ``.mlopskit``) or any
        fsspec URL; the registry is ``<url>/registry``, the store ``<url>/store``.
    report
        Where to write the HTML report (``None``: no report).
    out
        Where each line of the account goes.
    storage_options
        fsspec options for ``url`` (credentials, endpoint …).
    n_runs
        Replications of the canary simulation before each promotion.

    Returns
    -------
    ContinuousTraining
        The loop, for further inspection (``loop.history()`` …).
    """
    from mlopskit.drift import LabelDrift, TabularDrift
    from mlopskit.loop._gates import HoldoutGate, RolloutCheck
    from mlopskit.loop._loop import ContinuousTraining
    from mlopskit.loop._monitors import Monitor
    from mlopskit.registry import ModelRegistry, metric_not_worse
    from mlopskit.rollout import Canary, Traffic
    from mlopskit.versioning import ContentStore

    options = storage_options or {}
    base = url.rstrip("/")
    started = time.perf_counter()
    loop = ContinuousTraining(
        demo_pipeline(),
        registry=ModelRegistry(f"{base}/registry", **options),
        model_name="digits",
        monitors=[
            Monitor(TabularDrift(alpha=0.01), on="features"),
            Monitor(LabelDrift(alpha=0.01), on="predictions"),
        ],
        gates=[HoldoutGate(), metric_not_worse("accuracy", tolerance=0.05)],
        rollout=RolloutCheck(
            strategy=Canary(), traffic=Traffic(rps=50.0), n_runs=n_runs, random_state=0
        ),
        store=ContentStore(f"{base}/store", **options),
        performance_drop=0.05,
        # Half of each 120-row batch is held out, so two batches give the 100
        # held-out rows a promotion decision needs.
        holdout_fraction=0.5,
    )
    boot, batches = demo_scenario()
    loop.schema = demo_schema(boot)
    out(f"mlopskit demo — continuous training of a digits classifier in {url}")
    out("schema: inferred from the bootstrap data, pixel ranges edited to 0–16")
    out("")
    event = loop.bootstrap(boot)
    out(f"bootstrap   {_steps(event)}; {'; '.join(event.reasons)}")
    for batch in batches:
        event = loop.observe(batch.features, labels=batch.labels)
        out(f"{batch.name:<11} ({batch.story})")
        out(f"            → {event.decision}: {'; '.join(event.reasons)}")
        if event.run_id is not None:
            out(f"            pipeline run {event.run_id}: {_steps(event)}")
    events = loop.events()
    session = events[_last_bootstrap(events) :]
    out("")
    out(_summary(loop, session, time.perf_counter() - started))
    if report is not None:
        from mlopskit.loop._report import write_report

        write_report(loop, report, session)
        out(f"HTML report written to {report}")
    return loop


def _steps(event: Any) -> str:
    return f"{event.ran_steps} step(s) ran, {event.cached_steps} from the cache"


def _last_bootstrap(events: Any) -> int:
    return max(i for i, e in enumerate(events) if e.kind == "bootstrap")


def _summary(loop: Any, session: Any, seconds: float) -> str:
    counts = pd.Series([e.decision for e in session]).value_counts()
    production = loop.registry.get_version(loop.model_name, alias=loop.alias)
    cached = sum(e.cached_steps for e in session)
    ran = sum(e.ran_steps for e in session)
    parts = ", ".join(f"{n} {d}" for d, n in counts.items())
    return (
        f"summary: {len(session)} events ({parts}); production is "
        f"{loop.model_name} v{production.version} "
        f"(holdout accuracy {production.metrics.get('holdout_accuracy', float('nan')):.3f}); "
        f"pipeline steps: {ran} ran, {cached} cached; {seconds:.1f} s"
    )
