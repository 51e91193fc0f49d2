"""The entry points: :func:`simulate`, :func:`compare`, :func:`power_curve`.

What does *not* belong here: strategy control logic or statistics.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from mlopskit._optional import import_optional
from mlopskit._results import Frame, Result
from mlopskit.rollout._base import as_generator, check_number, fail
from mlopskit.rollout._behavior import ModelBehavior
from mlopskit.rollout._engine import PROMOTED, ROLLED_BACK, Engine
from mlopskit.rollout._judge import Judge
from mlopskit.rollout._shadow import Shadow
from mlopskit.rollout._strategy import Strategy
from mlopskit.rollout._timeline import TIMELINE_COLUMNS, Timeline
from mlopskit.rollout._traffic import Traffic

Arr = NDArray[Any]

__all__ = [
    "SimulationResult",
    "compare",
    "is_worse",
    "power_curve",
    "simulate",
    "timeline",
]

_OUTCOMES = {
    0: "unfinished",
    PROMOTED: "promoted",
    ROLLED_BACK: "rolled_back",
    3: "no_decision",
}


class SimulationResult(Result):
    """What :func:`simulate` returns.

    Attributes
    ----------
    strategy, judge
        ``repr`` of the strategy and judge simulated.
    n_runs, tick_s
        Replications and the data-plane tick.
    runs
        One row per replication. Safety: ``rolled_back``, ``promoted``,
        ``time_to_detect_s``, ``time_to_recover_s``, ``bad_requests_served``,
        ``excess_errors``, ``users_exposed``, ``peak_share_on_candidate``.
        Availability: ``downtime_s``, ``capacity_deficit_s``, ``dropped_requests``,
        ``min_ready_pods``. Cost: ``extra_pod_seconds``, ``peak_pods_ratio``,
        ``shadow_pod_seconds``. Speed: ``time_to_full_rollout_s`` = ``delivery_lag_s``
        + ``startup_s`` + ``step_time_s`` + ``analysis_time_s`` + ``human_wait_s``.
        Strategy extras (A/B: ``decision``, ``effect_estimate``, ``effect_ci_low``,
        ``effect_ci_high``, ``regret``; Shadow: ``agreement``, latency and error
        deltas, ``shadow_requests``; Ramped: ``deadline_exceeded``) and judge
        extras (``SequentialTest``: ``always_valid_p``; ``MannWhitneyJudge``:
        ``kayenta_score`` of the last judgement).
    summary
        One row per numeric column: ``mean``, ``q05``, ``q50``, ``q95`` and ``n``
        (non-missing values; a boolean's mean is a probability).

    Examples
    --------
    >>> from mlopskit.rollout import BlueGreen, ModelBehavior, Traffic, simulate
    >>> res = simulate(BlueGreen(), baseline=ModelBehavior(), candidate=ModelBehavior(),
    ...                traffic=Traffic(rps=50), n_runs=5, random_state=0)
    >>> res.n_runs, res.p_rollback
    (5, 0.0)
    >>> float(res.summary.set_index("metric").loc["peak_pods_ratio", "mean"])
    2.0
    """

    strategy: str
    judge: str | None
    n_runs: int
    tick_s: float
    runs: Frame
    summary: Frame

    @property
    def p_rollback(self) -> float:
        """Fraction of replications that rolled back."""
        return float(self.runs["rolled_back"].mean())

    def plot(self, ax: Any = None) -> Any:
        """Histograms of the key per-run metrics (needs ``mlopskit-blocks[plot]``).

        Returns the matplotlib figure.
        """
        plt = import_optional(
            "matplotlib.pyplot", extra="plot", feature="SimulationResult.plot"
        )
        cols = [
            "time_to_detect_s",
            "bad_requests_served",
            "time_to_full_rollout_s",
            "extra_pod_seconds",
        ]
        if ax is None:
            fig, axes = plt.subplots(1, 4, figsize=(14, 3))
        else:
            axes = np.atleast_1d(ax)
            fig = axes[0].figure
        for a, col in zip(axes, cols, strict=False):
            data = self.runs[col].dropna()
            if len(data):
                a.hist(data, bins=30)
            a.set_title(col)
        fig.suptitle(
            f"{self.strategy.split('(')[0]}: P(rollback)={self.p_rollback:.2f}, "
            f"P(promote)={self.runs['promoted'].mean():.2f}"
        )
        return fig


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean, 5/50/95 % quantiles and count of every numeric or boolean column."""
    rows = []
    for col in runs.columns:
        s = runs[col]
        if (
            not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))
            or col == "run"
        ):
            continue
        v = s.astype(float).dropna()
        q = v.quantile([0.05, 0.5, 0.95]).to_numpy() if len(v) else np.full(3, np.nan)
        rows.append(
            {
                "metric": col,
                "mean": v.mean() if len(v) else np.nan,
                "q05": q[0],
                "q50": q[1],
                "q95": q[2],
                "n": len(v),
            }
        )
    return pd.DataFrame(
        rows, columns=["metric", "mean", "q05", "q50", "q95", "n"]
    ).astype({"mean": float, "q05": float, "q50": float, "q95": float, "n": np.int64})


def _validate(
    strategy: Any, baseline: Any, candidate: Any, traffic: Any, judge: Any, n_runs: Any
) -> None:
    if not isinstance(strategy, Strategy):
        raise fail(
            "strategy",
            strategy,
            "a strategy (Recreate, Ramped, BlueGreen, Canary, ABTest, Shadow)",
            "Pass e.g. Canary().",
        )
    for name, value in (("baseline", baseline), ("candidate", candidate)):
        if not isinstance(value, ModelBehavior):
            raise fail(
                name,
                value,
                "a ModelBehavior",
                f"Pass {name}=ModelBehavior(error_rate=...).",
            )
    if not isinstance(traffic, Traffic):
        raise fail("traffic", traffic, "a Traffic", "Pass traffic=Traffic(rps=...).")
    if judge is not None and not isinstance(judge, Judge):
        raise fail(
            "judge",
            judge,
            "None or a judge (ThresholdGate, MannWhitneyJudge, FixedHorizonTest, "
            "SequentialTest, BayesianLoss)",
            "Pass e.g. judge=SequentialTest().",
        )
    check_number("n_runs", n_runs, low=1, integer=True)


def simulate(
    strategy: Strategy,
    *,
    baseline: ModelBehavior,
    candidate: ModelBehavior,
    traffic: Traffic,
    judge: Judge | None = None,
    n_runs: int = 1000,
    random_state: int | np.random.Generator | None = None,
    tick_s: float | None = None,
    delivery: str | None = None,
) -> SimulationResult:
    """Monte-Carlo simulation of rolling ``candidate`` out over ``baseline``.

    Parameters
    ----------
    strategy
        ``Recreate``, ``Ramped``, ``BlueGreen``, ``Canary``, ``ABTest`` or ``Shadow``.
    baseline, candidate
        The running and the new version's :class:`ModelBehavior`.
    traffic
        The request rate.
    judge
        The automated analysis; ``None`` uses the strategy's default (Canary:
        Flagger's success-rate check; ABTest: built from its ``method``; the others:
        no analysis).
    n_runs
        Replications, simulated together (vectorised).
    random_state
        Seed or Generator; the same seed gives the same result.
    tick_s
        Data-plane tick (default: 1 s, coarser for week-long A/B and shadow tests).
    delivery
        ``"push"`` or ``"pull"`` adds a commit-to-apply lag drawn from
        :func:`simulate_delivery`'s defaults to ``time_to_full_rollout_s``.

    Returns
    -------
    SimulationResult

    Examples
    --------
    >>> from mlopskit.rollout import Canary, ModelBehavior, SequentialTest, Traffic
    >>> res = simulate(Canary(), baseline=ModelBehavior(error_rate=0.005),
    ...                candidate=ModelBehavior(error_rate=0.015), traffic=Traffic(rps=1000),
    ...                judge=SequentialTest(alpha=0.05), n_runs=100, random_state=0)
    >>> res.p_rollback
    1.0
    >>> bool(res.runs["time_to_detect_s"].median() < 600)
    True
    """
    if delivery is not None and delivery not in ("push", "pull"):
        raise fail(
            "delivery", delivery, "None, 'push' or 'pull'", "See simulate_delivery()."
        )
    eng, judge, dt = _prepare(
        strategy, baseline, candidate, traffic, judge, n_runs, random_state, tick_s
    )
    rng = eng.rng
    strategy._run(eng, judge)
    from mlopskit.rollout._delivery import draw_lag

    lag = draw_lag(delivery, n_runs, rng) if delivery else np.zeros(n_runs)
    runs = _table(eng, lag)
    return SimulationResult(
        strategy=repr(strategy),
        judge=None if judge is None else repr(judge),
        n_runs=n_runs,
        tick_s=dt,
        runs=runs,
        summary=summarize(runs),
    )


def timeline(
    strategy: Strategy,
    *,
    baseline: ModelBehavior,
    candidate: ModelBehavior,
    traffic: Traffic,
    judge: Judge | None = None,
    random_state: int | np.random.Generator | None = None,
    tick_s: float | None = None,
) -> Timeline:
    """Simulate one replication and return its per-tick :class:`Timeline`.

    The same controller as :func:`simulate` (same seed, same first run), with the
    controller's state recorded every tick: phase, step, desired and ready pods
    per side, the candidate's traffic share and the analysis — what
    ``kubectl argo rollouts get rollout --watch`` or Flagger's events show.

    Examples
    --------
    >>> from mlopskit.rollout import Canary, ModelBehavior, ThresholdGate, Traffic
    >>> tl = timeline(Canary(replicas=10, traffic_routing=False,
    ...                      steps=({"setWeight": 5}, {"pause": {"duration": 60}})),
    ...               baseline=ModelBehavior(), candidate=ModelBehavior(),
    ...               traffic=Traffic(rps=100), random_state=0)
    >>> row = tl.to_frame().query("step == 1").iloc[0]
    >>> int(row.ready_canary), int(row.ready_stable), round(float(row.canary_share), 3)
    (1, 10, 0.091)
    """
    eng, judge, dt = _prepare(
        strategy, baseline, candidate, traffic, judge, 1, random_state, tick_s
    )
    eng.record = True
    strategy._run(eng, judge)
    rows = pd.DataFrame(eng.rows, columns=list(TIMELINE_COLUMNS))
    return Timeline(
        strategy=repr(strategy),
        judge=None if judge is None else repr(judge),
        outcome=_OUTCOMES[int(eng.status[0])],
        tick_s=dt,
        rows=rows,
    )


def _prepare(
    strategy: Any,
    baseline: Any,
    candidate: Any,
    traffic: Any,
    judge: Any,
    n_runs: Any,
    random_state: Any,
    tick_s: Any,
) -> tuple[Engine, Judge | None, float]:
    _validate(strategy, baseline, candidate, traffic, judge, n_runs)
    rng = as_generator(random_state)
    if judge is None:
        judge = strategy.default_judge(baseline, candidate)
    if judge is not None:
        judge.check_scenario(baseline, candidate, shadow=isinstance(strategy, Shadow))
    dt = strategy.tick_s() if tick_s is None else tick_s
    check_number("tick_s", dt, low=0, low_open=True)
    eng = Engine(
        baseline=baseline,
        candidate=candidate,
        traffic=traffic,
        replicas=strategy.replicas,
        n_runs=n_runs,
        rng=rng,
        tick_s=float(dt),
    )
    return eng, judge, float(dt)


def _table(eng: Engine, lag: Arr) -> pd.DataFrame:
    promoted = eng.status == PROMOTED
    n_users = eng.traffic.n_users
    users = eng.columns.pop(
        "users_exposed", n_users * (1 - np.exp(-eng.cand_requests / n_users))
    )
    full = np.where(promoted, lag + eng.t_full, np.nan)
    cols: dict[str, Any] = {
        "run": np.arange(eng.n),
        "outcome": pd.array([_OUTCOMES[int(s)] for s in eng.status], dtype=object),
        "rolled_back": eng.status == ROLLED_BACK,
        "promoted": promoted,
        "time_to_detect_s": eng.t_detect - eng.t_first,
        "time_to_recover_s": eng.t_recover - eng.t_first,
        "bad_requests_served": eng.cand_requests,
        "excess_errors": eng.excess_errors,
        "users_exposed": users,
        "peak_share_on_candidate": eng.peak_share,
        "downtime_s": eng.downtime_s,
        "capacity_deficit_s": eng.deficit_s,
        "dropped_requests": eng.dropped,
        "min_ready_pods": np.where(np.isinf(eng.min_ready), np.nan, eng.min_ready),
        "extra_pod_seconds": eng.extra_pod_s,
        "peak_pods_ratio": eng.peak_pods / eng.replicas,
        "shadow_pod_seconds": eng.shadow_pod_s,
        "time_to_full_rollout_s": full,
        "delivery_lag_s": lag,
        "startup_s": eng.startup_s,
        "step_time_s": eng.step_s,
        "analysis_time_s": eng.analysis_s,
        "human_wait_s": eng.human_s,
    }
    for an in eng.analyses:
        eng.columns.update(an.judge._columns(an))
    for key, value in eng.columns.items():
        cols[key] = (
            pd.array(value, dtype=object)
            if np.asarray(value).dtype == object
            else value
        )
    return pd.DataFrame(cols)


def compare(
    strategies: Sequence[Strategy],
    *,
    baseline: ModelBehavior,
    candidate: ModelBehavior,
    traffic: Traffic,
    judge: Judge | None = None,
    n_runs: int = 1000,
    random_state: int | None = None,
    deadline_s: float | None = None,
    bad: bool | None = None,
) -> pd.DataFrame:
    """Simulate each strategy on the same scenario; one row per strategy.

    Columns: ``p_rollback`` and ``p_promote`` with 95 % Wilson intervals
    (``*_ci_low``, ``*_ci_high``); with ``deadline_s``, ``p_detect_by_deadline``
    (the candidate rolled back at most ``deadline_s`` after it first served) and
    its interval; the exposure of users to the candidate — named
    ``requests_exposed_to_bad_version`` and ``users_exposed_to_bad_version``
    when the candidate is worse than the baseline (``bad``; inferred from the
    behaviours when ``None``), ``requests_on_candidate`` / ``users_on_candidate``
    otherwise — each as the mean and the 5–95 % interval over runs (``_q05``,
    ``_q95``); the means of ``time_to_detect_s``, ``bad_requests_served``,
    ``excess_errors``, ``users_exposed``, ``downtime_s``, ``dropped_requests``,
    ``extra_pod_seconds``, ``peak_pods_ratio``; and the median and 5–95 %
    interval of ``time_to_full_rollout_s``. Every strategy gets the same seed.
    Time-varying scenarios come from the inputs: a step or a ramp in the
    candidate's error rate (``ModelBehavior(regression="step" | "ramp")``) and a
    diurnal load curve (``Traffic(pattern="diurnal")``, with
    ``regression="under_load"`` for errors that follow the load).

    Examples
    --------
    >>> from mlopskit.rollout import BlueGreen, Canary, ModelBehavior, Recreate, Traffic
    >>> table = compare([Recreate(), BlueGreen(), Canary()], baseline=ModelBehavior(),
    ...                 candidate=ModelBehavior(error_rate=0.05), traffic=Traffic(rps=100),
    ...                 n_runs=20, random_state=0, deadline_s=600)
    >>> list(table.index)
    ['Recreate', 'BlueGreen', 'Canary']
    >>> float(table.loc["Recreate", "downtime_s"]) > 0 == float(table.loc["Canary", "downtime_s"])
    True
    >>> float(table.loc["Canary", "p_detect_by_deadline"])
    1.0
    >>> "users_exposed_to_bad_version" in table.columns
    True
    """
    if not strategies:
        raise fail(
            "strategies",
            strategies,
            "a non-empty sequence of strategies",
            "Pass e.g. [Canary(), BlueGreen()].",
        )
    check_number("deadline_s", deadline_s, low=0, allow_none=True)
    if bad is None:
        bad = is_worse(baseline, candidate)
    rows: list[dict[str, float]] = []
    names: list[str] = []
    for s in strategies:
        res = simulate(
            s,
            baseline=baseline,
            candidate=candidate,
            traffic=traffic,
            judge=judge,
            n_runs=n_runs,
            random_state=random_state,
        )
        name = s.name if s.name not in names else f"{s.name}#{len(names)}"
        names.append(name)
        rows.append(_compare_row(res.runs, deadline_s, bool(bad)))
    return pd.DataFrame(rows, index=pd.Index(names, name="strategy")).astype(float)


def is_worse(baseline: ModelBehavior, candidate: ModelBehavior) -> bool:
    """Whether the candidate is a bad version: more errors, slower, or fewer
    conversions / correct predictions than the baseline.

    Examples
    --------
    >>> is_worse(ModelBehavior(error_rate=0.01), ModelBehavior(error_rate=0.02))
    True
    """
    if candidate.error_rate > baseline.error_rate:
        return True
    if candidate.latency_p99_ms > baseline.latency_p99_ms:
        return True
    for attr in ("conversion_rate", "accuracy"):
        c, b = getattr(candidate, attr), getattr(baseline, attr)
        if c is not None and b is not None and c < b:
            return True
    return False


def _spread(out: dict[str, float], name: str, values: pd.Series) -> None:
    v = values.astype(float).dropna()
    out[name] = float(v.mean()) if len(v) else np.nan
    out[f"{name}_q05"] = float(v.quantile(0.05)) if len(v) else np.nan
    out[f"{name}_q95"] = float(v.quantile(0.95)) if len(v) else np.nan


def _compare_row(
    r: pd.DataFrame, deadline_s: float | None, bad: bool
) -> dict[str, float]:
    n = len(r)
    out: dict[str, float] = {}
    for key, col in (("p_rollback", "rolled_back"), ("p_promote", "promoted")):
        k = int(r[col].sum())
        out[key] = k / n
        out[f"{key}_ci_low"], out[f"{key}_ci_high"] = _wilson(k, n)
    if deadline_s is not None:
        k = int((r["rolled_back"] & (r["time_to_detect_s"] <= deadline_s)).sum())
        out["p_detect_by_deadline"] = k / n
        lo, hi = _wilson(k, n)
        out["p_detect_by_deadline_ci_low"], out["p_detect_by_deadline_ci_high"] = lo, hi
    label = "exposed_to_bad_version" if bad else "on_candidate"
    _spread(out, f"requests_{label}", r["bad_requests_served"])
    _spread(out, f"users_{label}", r["users_exposed"])
    for col in (
        "time_to_detect_s",
        "bad_requests_served",
        "excess_errors",
        "users_exposed",
        "downtime_s",
        "dropped_requests",
        "extra_pod_seconds",
        "peak_pods_ratio",
    ):
        out[col] = float(r[col].mean())
    full = r["time_to_full_rollout_s"].dropna()
    out["time_to_full_rollout_s"] = float(full.median()) if len(full) else np.nan
    out["time_to_full_rollout_s_q05"] = (
        float(full.quantile(0.05)) if len(full) else np.nan
    )
    out["time_to_full_rollout_s_q95"] = (
        float(full.quantile(0.95)) if len(full) else np.nan
    )
    return out


def power_curve(
    strategy: Strategy,
    *,
    baseline: ModelBehavior,
    traffic: Traffic,
    judge: Judge | None = None,
    effects: Sequence[float] = (0.0, 0.25, 0.5, 1.0, 2.0),
    n_runs: int = 1000,
    random_state: int | None = None,
) -> pd.DataFrame:
    """P(rollback) against the size of an error-rate regression.

    For each relative ``effect`` the candidate is ``baseline`` with
    ``error_rate × (1 + effect)``. Returns one row per effect: ``effect``,
    ``candidate_error_rate``, ``p_rollback`` with a 95 % Wilson interval
    (``ci_low``, ``ci_high``), ``p_promote``, the median ``time_to_detect_s`` and
    the mean ``bad_requests_served``. At effect 0, ``p_rollback`` is the false-rollback
    rate.

    Examples
    --------
    >>> from mlopskit.rollout import Canary, ModelBehavior, SequentialTest, Traffic
    >>> curve = power_curve(Canary(), baseline=ModelBehavior(error_rate=0.005),
    ...                     traffic=Traffic(rps=1000), judge=SequentialTest(),
    ...                     effects=(0.0, 2.0), n_runs=50, random_state=0)
    >>> curve["p_rollback"].tolist()[1]
    1.0
    """
    rows = []
    for effect in effects:
        check_number("effects", effect, low=-1)
        rate = min(baseline.error_rate * (1 + effect), 1.0)
        cand = dataclasses.replace(baseline, error_rate=rate)
        res = simulate(
            strategy,
            baseline=baseline,
            candidate=cand,
            traffic=traffic,
            judge=judge,
            n_runs=n_runs,
            random_state=random_state,
        )
        k = int(res.runs["rolled_back"].sum())
        lo, hi = _wilson(k, n_runs)
        rows.append(
            {
                "effect": float(effect),
                "candidate_error_rate": rate,
                "p_rollback": k / n_runs,
                "ci_low": lo,
                "ci_high": hi,
                "p_promote": float(res.runs["promoted"].mean()),
                "time_to_detect_s": float(res.runs["time_to_detect_s"].median()),
                "bad_requests_served": float(res.runs["bad_requests_served"].mean()),
            }
        )
    return pd.DataFrame(rows)


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    den = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / den
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return float(low), float(high)
