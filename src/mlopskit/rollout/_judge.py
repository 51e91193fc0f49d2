"""The judge protocol and its vectorised runtime, :class:`Analysis`.

A judge (``ThresholdGate``, ``MannWhitneyJudge``, ``FixedHorizonTest``,
``SequentialTest``, ``BayesianLoss``) is an immutable description of an automated
analysis. At simulation time the controller wraps it in an :class:`Analysis`, which
keeps per-replication accumulators (cumulative and since-last-evaluation counts),
evaluates the judge every ``interval_s`` and keeps each replication's state
(``RUNNING``, ``PASS``, ``FAIL``, ``INCONCLUSIVE``, ``NO_DIFFERENCE``).

What does *not* belong here: any particular statistic (one module per judge).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlopskit.rollout._base import (
    METRICS,
    PROPORTION_METRICS,
    RUNNING,
    fail,
)
from mlopskit.rollout._behavior import ModelBehavior
from mlopskit.rollout._engine import COUNT_KEYS, Engine

__all__: list[str] = []

F64 = NDArray[np.float64]
Codes = NDArray[np.int8]
Idx = NDArray[np.intp]

_Z99 = 2.3263478740408408
_PHI_Z99 = math.exp(-(_Z99**2) / 2) / math.sqrt(2 * math.pi)
_PREFIX = {"error_rate": "", "conversion_rate": "cv_", "accuracy": "ac_"}
_KEYS = {
    "error_rate": ("nc", "ec", "nb", "eb"),
    "latency_p99_ms": ("nc", "nb"),
    "conversion_rate": ("cv_nc", "cv_xc", "cv_nb", "cv_xb"),
    "accuracy": ("ac_nc", "ac_xc", "ac_nb", "ac_xb"),
}


@dataclass(frozen=True, kw_only=True)
class Judge:
    """Base of every judge: subclasses set ``metric`` and ``interval_s``.

    A judge is an immutable description; :func:`~mlopskit.rollout.simulate` runs it
    for every replication at once and maps its outcome to the strategy's action
    (Failed → roll back, Inconclusive → pause, Successful → continue).

    Examples
    --------
    >>> from mlopskit.rollout import Judge, ModelBehavior, SequentialTest
    >>> isinstance(SequentialTest(), Judge)
    True
    >>> SequentialTest().check_scenario(ModelBehavior(), ModelBehavior())  # no error
    """

    def _metrics(self) -> tuple[str, ...]:
        return (str(getattr(self, "metric", "error_rate")),)

    def _interval(self) -> float:
        return float(getattr(self, "interval_s", 60.0))

    def _initial_delay(self) -> float:
        return float(getattr(self, "initial_delay_s", 0.0))

    def _proportion_only(self) -> bool:
        return True

    def _uses_window(self) -> bool:
        """Whether the judge reads the lookback window (``window=True``)."""
        return False

    def _measure_at_start(self) -> bool:
        """Whether the first measurement is taken when the analysis starts (Argo's
        ``generateMetricTasks`` runs the initial measurement at once, after
        ``initialDelay``) rather than one ``interval`` later."""
        return False

    def check_scenario(
        self, baseline: ModelBehavior, candidate: ModelBehavior, *, shadow: bool = False
    ) -> None:
        """Raise :class:`~mlopskit.errors.RolloutError` if the metric is unobservable."""
        name = type(self).__name__
        for metric in self._metrics():
            if metric not in METRICS:
                raise fail(
                    "metric", metric, f"one of {', '.join(METRICS)}", "Pick a metric."
                )
            if self._proportion_only() and metric not in PROPORTION_METRICS:
                raise fail(
                    "metric",
                    metric,
                    f"a proportion metric for {name} ({', '.join(PROPORTION_METRICS)})",
                    "Use ThresholdGate or MannWhitneyJudge for latency.",
                )
            if metric in ("conversion_rate", "accuracy") and (
                getattr(baseline, metric) is None or getattr(candidate, metric) is None
            ):
                raise fail(
                    "metric",
                    metric,
                    f"a metric both ModelBehavior objects define (set {metric}=...)",
                    f"Give baseline and candidate a {metric}, or watch error_rate.",
                )
            if shadow and metric == "conversion_rate":
                raise fail(
                    "metric",
                    metric,
                    "a metric observable without user feedback in a Shadow rollout",
                    "Shadow responses never reach users, so conversions cannot be "
                    "measured; watch error_rate, latency_p99_ms or accuracy.",
                )

    # hooks for subclasses
    def _setup(self, an: Analysis) -> None:
        """Allocate judge-specific per-run arrays in ``an.extra``."""

    def _columns(self, an: Analysis) -> dict[str, NDArray[Any]]:
        """Judge-specific per-run columns for the result table."""
        return {}

    def _reset(self, an: Analysis, mask: NDArray[np.bool_]) -> None:
        """Reset judge-specific state of the runs in ``mask``."""

    def _evaluate(self, an: Analysis, idx: Idx, t: float) -> Codes:
        raise NotImplementedError


class Analysis:
    """Per-replication runtime of one judge (Argo's AnalysisRun, vectorised).

    Two accumulators per count key: ``cum`` (since the analysis started, for
    statistical judges) and ``win``, the *lookback window* of the last
    ``interval`` seconds — what a Prometheus query with a ``[interval]`` range
    returns at measurement time, including traffic from before the analysis
    started (a ring buffer of per-tick counts).
    """

    def __init__(
        self,
        judge: Judge,
        engine: Engine,
        *,
        interval_s: float | None = None,
        checks_only: bool = False,
    ):
        self.judge = judge
        #: Flagger mode: the controller triggers measurements and counts failures
        self.checks_only = checks_only
        self.engine = engine
        self.interval = float(
            interval_s if interval_s is not None else judge._interval()
        )
        self.interval = max(self.interval, engine.dt)
        n = engine.n
        #: the count keys this judge's metrics need (others are not accumulated)
        self.keys = sorted(
            {k for m in judge._metrics() for k in _KEYS.get(m, COUNT_KEYS)}
        )
        self.cum: dict[str, F64] = {k: np.zeros(n) for k in COUNT_KEYS}
        self.win: dict[str, F64] = {k: np.zeros(n) for k in COUNT_KEYS}
        self._slots = max(1, round(self.interval / engine.dt))
        self._windowed = judge._uses_window()
        self._ring = {
            k: np.zeros((self._slots if self._windowed else 0, n)) for k in self.keys
        }
        self._tick = 0
        self.state: Codes = np.zeros(n, dtype=np.int8)
        self.measure: Codes = np.zeros(n, dtype=np.int8)  # last measurement
        self.active = np.zeros(n, dtype=bool)
        self.next_eval: F64 = np.full(n, np.inf)
        #: measurements taken in the current run (for the Timeline)
        self.taken = np.zeros(n, dtype=np.int64)
        self.extra: dict[str, Any] = {}
        judge._setup(self)
        engine.analyses.append(self)

    def start(self, mask: NDArray[np.bool_], t: float) -> None:
        """(Re)start the analysis for the runs in ``mask`` at time ``t``."""
        for arr in self.cum.values():
            arr[mask] = 0.0
        self.state[mask] = RUNNING
        self.measure[mask] = RUNNING
        self.active[mask] = True
        self.taken[mask] = 0
        first = self.judge._initial_delay()
        if not self.judge._measure_at_start():
            first += self.interval
        self.next_eval[mask] = np.inf if self.checks_only else t + first
        self.judge._reset(self, mask)
        if not self.checks_only and first <= 0:
            self._evaluate_due(t)

    def stop(self, mask: NDArray[np.bool_]) -> None:
        """Stop measuring the runs in ``mask``."""
        self.active[mask] = False

    def add(self, counts: dict[str, NDArray[np.int64]], t_end: float) -> Idx:
        """Accumulate one tick's counts; evaluate the runs that are due at ``t_end``.

        Returns the indices of the runs evaluated in this call.
        """
        a = self.active
        slot = self._tick % self._slots
        self._tick += 1
        live = self.engine.live
        for key in self.keys:
            c = counts[key]
            self.cum[key] += c * a
            if self._windowed:
                ring = self._ring[key]
                v = c * live
                self.win[key] += v - ring[slot]
                ring[slot] = v
        return self._evaluate_due(t_end)

    def _evaluate_due(self, t: float) -> Idx:
        due = self.active & (t >= self.next_eval - 1e-9) & (self.state == RUNNING)
        idx = np.flatnonzero(due)
        if idx.size:
            self.state[idx] = self.judge._evaluate(self, idx, t)
            self.taken[idx] += 1
            self.next_eval[idx] += self.interval
        return idx

    def evaluate(self, mask: NDArray[np.bool_], t: float) -> None:
        """Measure the runs in ``mask`` now (Flagger's controller-driven checks)."""
        idx = np.flatnonzero(mask & self.active)
        if idx.size:
            self.state[idx] = self.judge._evaluate(self, idx, t)
            self.taken[idx] += 1

    # -- metric helpers used by the judges -------------------------------------------

    def counts(self, metric: str, idx: Idx, *, window: bool = False) -> tuple[F64, ...]:
        """``(x_c, n_c, x_b, n_b)`` of a proportion metric for the runs ``idx``."""
        acc = self.win if window else self.cum
        p = _PREFIX[metric]
        if p:
            return (
                acc[p + "xc"][idx],
                acc[p + "nc"][idx],
                acc[p + "xb"][idx],
                acc[p + "nb"][idx],
            )
        return acc["ec"][idx], acc["nc"][idx], acc["eb"][idx], acc["nb"][idx]

    def value(self, metric: str, idx: Idx, *, version: str, window: bool) -> F64:
        """Observed metric of ``version`` ("c" or "b"); NaN where there is no data."""
        if metric == "latency_p99_ms":
            acc = self.win if window else self.cum
            n = acc["n" + version][idx]
            beh = self.engine.candidate if version == "c" else self.engine.baseline
            # sampling error of an empirical quantile (asymptotic normal on log scale)
            sd = (
                beh.latency_sigma
                * math.sqrt(0.99 * 0.01)
                / _PHI_Z99
                / np.sqrt(np.maximum(n, 1))
            )
            noise = self.engine.rng.standard_normal(idx.size) * sd
            out = beh.latency_p99_ms * np.exp(noise)
            return np.where(n > 0, out, np.nan)
        xc, nc, xb, nb = self.counts(metric, idx, window=window)
        x, n = (xc, nc) if version == "c" else (xb, nb)
        rate: F64 = np.divide(x, n, out=np.full(idx.size, np.nan), where=n > 0)
        return rate

    def baseline_rate(self, metric: str) -> float:
        """The baseline's true value of a proportion metric (for planning)."""
        b = self.engine.baseline
        if metric == "error_rate":
            return float(b.error_rate)
        return float(getattr(b, metric))


def worse_sign(metric: str) -> float:
    """+1 when a larger value is worse (errors, latency), -1 otherwise."""
    return -1.0 if METRICS[metric] else 1.0
