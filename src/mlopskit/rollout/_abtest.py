"""A controlled experiment on a sticky user segment: :class:`ABTest`.

What does *not* belong here: progressive weights (``_canary``); the tests themselves
(the judges).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from mlopskit.rollout._base import (
    FAIL,
    INCONCLUSIVE,
    NO_DIFFERENCE,
    PASS,
    check_choice,
    check_number,
)
from mlopskit.rollout._behavior import ModelBehavior
from mlopskit.rollout._engine import ENDED, PROMOTED, ROLLED_BACK, Engine
from mlopskit.rollout._judge import Analysis, Judge
from mlopskit.rollout._strategy import Strategy
from mlopskit.rollout._threshold import MEASURE_OK, ThresholdGate

Arr = NDArray[Any]

__all__ = ["ABTest"]

_METHODS = ("fixed_horizon", "sequential", "bayesian", "flagger")
_TICKS = (1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0)


@dataclass(frozen=True, kw_only=True)
class ABTest(Strategy):
    """Route a fixed ``share`` of users to the candidate and decide with a test.

    The decision method is the judge: ``simulate(judge=...)`` if given, otherwise
    one built from ``method``, ``alpha``, ``power`` and
    ``minimum_detectable_effect`` (``"fixed_horizon"`` → :class:`FixedHorizonTest`,
    ``"sequential"`` → :class:`SequentialTest`, ``"bayesian"`` →
    :class:`BayesianLoss`). A significantly better candidate is shipped
    (``decision="candidate"``, promoted), a significantly worse one is dropped
    (``"baseline"``, rolled back), and no decision by the horizon or
    ``max_duration_s`` keeps the baseline (``"none"``). ``method="flagger"`` follows
    Flagger's A/B testing instead (fluxcd/flagger v1.44.0 ``scheduler.go``
    ``runAB``): ``iterations`` checks every ``interval_s`` (``ThresholdGate`` by
    default), then one interval Promoting and one Finalising with all traffic on
    the promoted primary (100 % at ``interval × (iterations + 1)``); rollback at the
    tick after ``threshold`` failed checks.

    Parameters
    ----------
    share
        Fraction of users in the candidate segment (a header / cookie match).
    sticky
        Session affinity (Flagger's ``sessionAffinity``): a user stays on one
        version, so fewer users are exposed.
    method, alpha, power, minimum_detectable_effect
        The decision method and its plan.
    metric
        Metric of the built-in judge; ``None`` uses ``conversion_rate`` when both
        versions define it, else ``error_rate``.
    max_duration_s
        Longest the experiment may run (7 days).
    interval_s, iterations, threshold
        Flagger's ``analysis.interval``, ``iterations`` and ``threshold``.
    replicas, human_response_s
        See :class:`Strategy`.

    Examples
    --------
    >>> from mlopskit.rollout import ModelBehavior, Traffic, simulate
    >>> ab = ABTest(method="flagger", interval_s=60, iterations=10)
    >>> res = simulate(ab, baseline=ModelBehavior(), candidate=ModelBehavior(),
    ...                traffic=Traffic(rps=100), n_runs=5, random_state=0)
    >>> float(res.runs["step_time_s"].max())  # 10 iterations + Promoting
    660.0
    """

    share: float = 0.5
    sticky: bool = True
    method: str = "fixed_horizon"
    alpha: float = 0.05
    power: float = 0.8
    minimum_detectable_effect: float = 0.1
    metric: str | None = None
    max_duration_s: float = 7 * 86400.0
    interval_s: float = 60.0
    iterations: int = 10
    threshold: int = 5

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number("share", self.share, low=0, high=1, low_open=True, high_open=True)
        check_choice("method", self.method, _METHODS)
        check_number("alpha", self.alpha, low=0, high=1, low_open=True, high_open=True)
        check_number("power", self.power, low=0, high=1, low_open=True, high_open=True)
        check_number(
            "minimum_detectable_effect",
            self.minimum_detectable_effect,
            low=0,
            low_open=True,
        )
        check_number("max_duration_s", self.max_duration_s, low=0, low_open=True)
        check_number("interval_s", self.interval_s, low=1)
        check_number("iterations", self.iterations, low=1, integer=True)
        check_number("threshold", self.threshold, low=1, integer=True)

    def tick_s(self) -> float:
        if self.method == "flagger":
            return 1.0
        want = self.max_duration_s / 20_000
        return max([x for x in _TICKS if x <= max(want, 1.0)])

    def horizon_s(self) -> float:
        if self.method == "flagger":
            return 6 * 3600.0 + self.interval_s * (self.iterations + self.threshold)
        return self.max_duration_s

    def judge_for(self, metric: str) -> Judge:
        """The judge ``method`` builds for ``metric``."""
        from mlopskit.rollout._bayes import BayesianLoss
        from mlopskit.rollout._fixed import FixedHorizonTest
        from mlopskit.rollout._sequential import SequentialTest

        if self.method == "fixed_horizon":
            return FixedHorizonTest(
                alpha=self.alpha,
                power=self.power,
                minimum_detectable_effect=self.minimum_detectable_effect,
                metric=metric,
            )
        if self.method == "sequential":
            return SequentialTest(
                alpha=self.alpha, metric=metric, tau=self.minimum_detectable_effect
            )
        if self.method == "bayesian":
            return BayesianLoss(
                metric=metric, threshold_of_caring=self.minimum_detectable_effect / 10
            )
        return ThresholdGate(interval_s=self.interval_s)

    def default_judge(
        self, baseline: ModelBehavior, candidate: ModelBehavior
    ) -> Judge | None:
        """The judge ``method`` builds for ``metric`` (see :meth:`judge_for`)."""
        return self.judge_for(self._metric(baseline, candidate))

    def _metric(self, baseline: ModelBehavior, candidate: ModelBehavior) -> str:
        if self.metric is not None:
            return self.metric
        both = (
            baseline.conversion_rate is not None
            and candidate.conversion_rate is not None
        )
        return "conversion_rate" if both else "error_rate"

    def _run(self, eng: Engine, judge: Judge | None) -> None:
        n, dt, rng = eng.n, eng.dt, eng.rng
        if judge is None:
            judge = self.judge_for(self._metric(eng.baseline, eng.candidate))
        metric = str(
            getattr(judge, "metric", None) or self._metric(eng.baseline, eng.candidate)
        )
        t_ready = eng.candidate.startup_times(
            rng, (n, max(1, math.ceil(self.replicas * self.share)))
        ).max(axis=1)
        eng.startup_s[:] = t_ready
        flagger = self.method == "flagger"
        gate = flagger and isinstance(judge, ThresholdGate)
        an = Analysis(
            judge, eng, interval_s=self.interval_s if gate else None, checks_only=gate
        )
        started = np.zeros(n, dtype=bool)
        next_check = np.ceil(t_ready / dt) * dt + self.interval_s
        checks = np.zeros(n, dtype=np.int64)
        failed = np.zeros(n, dtype=np.int64)
        decision = np.full(n, "none", dtype=object)
        # Flagger's phases after the last iteration: Promoting (the primary gets
        # the candidate's spec), Finalising (all traffic on the primary), Succeeded
        stage = eng.phase
        eng.phase_names = ("Progressing", "Promoting", "Finalising")
        eng.final_names = {PROMOTED: "Succeeded", ROLLED_BACK: "Failed", ENDED: "Ended"}
        t = 0.0
        while eng.live.any() and t < self.horizon_s():
            go = eng.live & ~started & (t >= t_ready - 1e-9)
            if go.any():
                an.start(go, t)
                started |= go
            w = np.where(started, self.share, 0.0)
            w = np.where(stage == 2, 1.0, w)
            pods = self.replicas + np.ceil(self.replicas * self.share)
            counts = eng.step(
                t, w=w, ready=np.full(n, float(self.replicas)), pods=np.full(n, pods)
            )
            t += dt
            an.add(counts, t)
            if flagger:  # Flagger's own clock: a check every interval
                due = eng.live & started & (t >= next_check - 1e-9)
                if due.any():
                    self._flagger_checks(
                        eng, an, due, (checks, failed, stage), decision, t
                    )
                    next_check[due] += self.interval_s
                continue
            eng.analysis_s[eng.live & started] += dt
            st = an.state
            win = eng.live & (st == PASS)
            lose = eng.live & (st == FAIL)
            flat = eng.live & ((st == NO_DIFFERENCE) | (st == INCONCLUSIVE))
            decision[win], decision[lose] = "candidate", "baseline"
            eng.t_full[win] = t
            eng.finish(win, t, PROMOTED)
            eng.rollback(lose, t)
            eng.finish(lose, t, ROLLED_BACK)
            eng.finish(flat, t, ENDED)
        eng.columns["decision"] = decision
        self._effect(eng, metric)
        eng.columns["regret"] = (
            eng.regret.copy()
            if metric != "error_rate"
            else (
                eng.cand_requests
                * max(eng.candidate.error_rate - eng.baseline.error_rate, 0.0)
                + eng.base_requests
                * max(eng.baseline.error_rate - eng.candidate.error_rate, 0.0)
            )
        )
        pool = eng.traffic.n_users * (self.share if self.sticky else 1.0)
        eng.columns["users_exposed"] = pool * (1 - np.exp(-eng.cand_requests / pool))

    def _flagger_checks(
        self,
        eng: Engine,
        an: Analysis,
        due: Arr,
        state: tuple[Arr, Arr, Arr],
        decision: Arr,
        t: float,
    ) -> None:
        # Flagger's scheduler (advanceCanary, fluxcd/flagger v1.44.0
        # pkg/controller/scheduler.go): the threshold is checked at the start of a
        # tick, before that tick's analysis, so the rollback comes one interval
        # after the failed check that reached it
        checks, failed, stage = state
        eng.finish(due & (stage == 2), t, PROMOTED)  # Finalising → Succeeded
        fin = due & eng.live & (stage == 1)  # Promoting → Finalising (primary ready
        stage[fin] = 2  # within the interval: not modelled for A/B)
        eng.t_full[fin] = t
        eng.step_s[fin] += self.interval_s
        due = due & (stage == 0)
        lose = due & eng.live & (failed >= self.threshold)
        decision[lose] = "baseline"
        eng.rollback(lose, t)
        eng.finish(lose, t, ROLLED_BACK)
        mask = due & eng.live
        if an.checks_only:
            an.evaluate(mask, t)
        ok = (an.measure == MEASURE_OK) if an.checks_only else (an.state != FAIL)
        good, bad = mask & ok, mask & ~ok
        eng.step_s[good] += self.interval_s
        eng.analysis_s[bad] += self.interval_s
        checks[good] += 1
        failed[bad] += 1
        win = good & (checks >= self.iterations)
        decision[win] = "candidate"
        stage[win] = 1

    def _effect(self, eng: Engine, metric: str) -> None:
        if metric == "error_rate" or eng.q_nc.sum() == 0:
            xc, nc, xb, nb = (
                eng.cand_errors,
                eng.cand_requests,
                eng.base_errors,
                eng.base_requests,
            )
        else:
            xc, nc, xb, nb = eng.q_c, eng.q_nc, eng.q_b, eng.q_nb
        pc = np.divide(xc, nc, out=np.full(eng.n, np.nan), where=nc > 0)
        pb = np.divide(xb, nb, out=np.full(eng.n, np.nan), where=nb > 0)
        se = np.sqrt(
            np.divide(pc * (1 - pc), nc, out=np.full(eng.n, np.nan), where=nc > 0)
            + np.divide(pb * (1 - pb), nb, out=np.full(eng.n, np.nan), where=nb > 0)
        )
        z = stats.norm.ppf(1 - self.alpha / 2)
        eng.columns["effect_estimate"] = pc - pb
        eng.columns["effect_ci_low"] = pc - pb - z * se
        eng.columns["effect_ci_high"] = pc - pb + z * se
