"""Progressive traffic shifting under analysis: :class:`Canary`.

Two controllers in one class, as in the real systems: Argo Rollouts' ``steps``
(``setWeight`` / ``pause`` / inline ``analysis``, background analysis, replica-count
weights without a traffic router) and Flagger's ``interval`` / ``threshold`` /
``stepWeight`` / ``maxWeight`` loop.

What does *not* belong here: the data plane (``_engine``) and the judges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlopskit.rollout._base import (
    FAIL,
    INCONCLUSIVE,
    NO_DIFFERENCE,
    PASS,
    check_number,
    fail,
    parse_duration,
)
from mlopskit.rollout._behavior import ModelBehavior
from mlopskit.rollout._engine import PROMOTED, ROLLED_BACK, Engine
from mlopskit.rollout._judge import Analysis, Judge
from mlopskit.rollout._strategy import Strategy
from mlopskit.rollout._threshold import MEASURE_OK, ThresholdGate

Arr = NDArray[Any]

__all__ = ["Canary"]

_WEIGHT, _PAUSE, _ANALYSIS = 0, 1, 2


@dataclass(frozen=True, kw_only=True)
class Canary(Strategy):
    """Shift a growing share of traffic to the candidate while a judge watches.

    **Flagger mode** (``steps=None``, the default): once the canary pods are ready,
    the weight starts at ``step_weight``; every ``interval_s`` a check runs — a pass
    raises the weight by ``step_weight`` (capped at ``max_weight``) and a pass at
    ``max_weight`` promotes; a failure halts advancement and increments the failed
    checks, and ``threshold`` failed checks (cumulative) roll back. Hence Flagger's
    formulas: promotion takes ``interval × ceil(maxWeight / stepWeight)``, a rollback
    under failing checks ``interval × threshold``. The canary Deployment runs at full
    size beside the primary (2× pods).

    **Argo mode** (``steps`` given): Argo Rollouts' steps as dicts, e.g.
    ``({"setWeight": 20}, {"pause": {"duration": "10m"}}, {"setWeight": 50},
    {"pause": {}}, {"analysis": {}})``. ``pause: {}`` waits for a human
    (``human_response_s``); ``analysis`` runs the judge inline until it completes.
    Without inline analysis the judge runs in the background from step
    ``analysis_starting_step``: Failed aborts (weight back to 0), Inconclusive pauses
    until a human resumes. With ``traffic_routing=False`` the weight is realised by
    pod counts (Argo's rounding: the nearest whole replica, ties rounded up).

    Parameters
    ----------
    steps
        Argo ``spec.strategy.canary.steps``; ``None`` selects Flagger mode.
    interval_s, threshold, step_weight, max_weight
        Flagger's ``analysis.interval`` (1m), ``threshold``, ``stepWeight`` and
        ``maxWeight`` (defaults: the values of Flagger's tutorial, 5 / 10 / 50).
    step_weights
        Flagger's ``stepWeights``: a non-linear schedule in percent, e.g.
        ``(1, 2, 10, 80)``; replaces ``step_weight`` / ``max_weight``.
    traffic_routing
        ``True``: an exact traffic router (Istio, SMI …); ``False``: weights by
        replica count (Argo's basic canary).
    analysis_starting_step
        Argo's ``analysis.startingStep`` for background analysis.
    replicas, human_response_s
        See :class:`Strategy`.

    Examples
    --------
    >>> from mlopskit.rollout import ModelBehavior, Traffic, simulate
    >>> Canary(replicas=10, traffic_routing=False).canary_replicas(41)
    4
    >>> res = simulate(Canary(), baseline=ModelBehavior(), candidate=ModelBehavior(),
    ...                traffic=Traffic(rps=100), n_runs=10, random_state=0)
    >>> float(res.runs["step_time_s"].median())
    300.0
    """

    steps: tuple[dict[str, Any], ...] | None = None
    interval_s: float = 60.0
    threshold: int = 5
    step_weight: float = 10.0
    max_weight: float = 50.0
    step_weights: tuple[float, ...] | None = None
    traffic_routing: bool = True
    analysis_starting_step: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number("interval_s", self.interval_s, low=1, low_open=False)
        check_number("threshold", self.threshold, low=1, integer=True)
        check_number("step_weight", self.step_weight, low=0, high=100, low_open=True)
        check_number("max_weight", self.max_weight, low=self.step_weight, high=100)
        if self.step_weights is not None:
            object.__setattr__(self, "step_weights", tuple(self.step_weights))
            if not self.step_weights:
                raise fail(
                    "step_weights",
                    (),
                    "a non-empty tuple of percentages",
                    "E.g. step_weights=(1, 2, 10, 80), or leave it None.",
                )
            for v in self.step_weights:
                check_number("step_weights", v, low=0, high=100, low_open=True)
            if list(self.step_weights) != sorted(self.step_weights):
                raise fail(
                    "step_weights",
                    self.step_weights,
                    "increasing",
                    "Flagger walks the list in order; sort it.",
                )
        check_number(
            "analysis_starting_step", self.analysis_starting_step, low=0, integer=True
        )
        if self.steps is not None:
            if isinstance(self.steps, dict | str) or not hasattr(
                self.steps, "__iter__"
            ):
                raise fail(
                    "steps",
                    self.steps,
                    "a sequence of one-key dicts (Argo's canary.steps)",
                    'E.g. steps=({"setWeight": 20}, {"pause": {"duration": "10m"}}).',
                )
            object.__setattr__(self, "steps", tuple(self.steps))
            if not self.steps:
                raise fail(
                    "steps",
                    [],
                    "a non-empty sequence of steps, or None for Flagger mode",
                    "An Argo canary without steps behaves as a rolling update: use "
                    "Ramped() for that, or give steps such as "
                    '({"setWeight": 20}, {"pause": {}}).',
                )
            self.parsed_steps()

    def default_judge(
        self, baseline: ModelBehavior, candidate: ModelBehavior
    ) -> Judge | None:
        """Flagger mode: its built-in check, request success rate ≥ 99 % every
        ``interval``. Argo mode: none (a Rollout has no analysis unless given one)."""
        return ThresholdGate(interval_s=self.interval_s) if self.steps is None else None

    def schedule(self) -> list[float]:
        """Flagger mode's weights, as fractions: ``stepWeights`` or
        ``stepWeight, 2·stepWeight, …`` capped at ``maxWeight``.

        Examples
        --------
        >>> Canary(step_weight=20, max_weight=50).schedule()
        [0.2, 0.4, 0.5]
        >>> Canary(step_weights=(1, 10, 80)).schedule()
        [0.01, 0.1, 0.8]
        """
        if self.step_weights is not None:
            return [v / 100.0 for v in self.step_weights]
        n = math.ceil(self.max_weight / self.step_weight - 1e-9)
        return [
            min(self.step_weight * (i + 1), self.max_weight) / 100.0 for i in range(n)
        ]

    def canary_replicas(self, weight: float) -> int:
        """Canary pods for a weight in percent without a traffic router (Argo's rule).

        The whole number of replicas whose share is nearest ``weight``; ties round up.
        """
        exact = self.replicas * weight / 100.0
        low = math.floor(exact + 1e-9)
        return int(low + 1) if exact - low >= 0.5 - 1e-9 else int(low)

    def parsed_steps(self) -> list[tuple[int, float | None]]:
        """Steps as ``(kind, value)``: weight in [0, 1], pause seconds or ``None``."""
        out: list[tuple[int, float | None]] = []
        for i, step in enumerate(self.steps or ()):
            if not isinstance(step, dict) or len(step) != 1:
                raise fail(
                    f"steps[{i}]",
                    step,
                    "a one-key dict: setWeight, pause or analysis",
                    'E.g. {"setWeight": 20} or {"pause": {"duration": "10m"}}.',
                )
            ((key, value),) = step.items()
            if key == "setWeight":
                check_number(f"steps[{i}].setWeight", value, low=0, high=100)
                out.append((_WEIGHT, float(value) / 100.0))
            elif key == "pause":
                if not isinstance(value, dict) or set(value) - {"duration"}:
                    raise fail(
                        f"steps[{i}].pause",
                        value,
                        'a dict, {} or {"duration": ...}',
                        "An empty pause waits for a human to promote.",
                    )
                dur = value.get("duration")
                out.append(
                    (
                        _PAUSE,
                        None
                        if dur is None
                        else parse_duration(f"steps[{i}].pause.duration", dur),
                    )
                )
            elif key == "analysis":
                out.append((_ANALYSIS, None))
            else:
                raise fail(
                    f"steps[{i}]",
                    key,
                    "setWeight, pause or analysis",
                    "Other Argo steps (experiment, setCanaryScale …) are not simulated.",
                )
        return out

    def _effective(self, w: Arr) -> Arr:
        if self.traffic_routing:
            return w
        pods = np.floor(self.replicas * w + 0.5 + 1e-9)
        return pods / self.replicas

    def _canary_pods(self, w: Arr) -> Arr:
        if self.traffic_routing:  # Argo's setCanaryScale default: match the weight
            return np.ceil(self.replicas * w - 1e-9)
        return np.floor(self.replicas * w + 0.5 + 1e-9)

    def _pods(self, w: Arr) -> Arr:
        if self.steps is None:
            return np.full(w.shape, 2.0 * self.replicas)
        if self.traffic_routing:
            return self.replicas + np.ceil(self.replicas * w - 1e-9)
        return np.full(w.shape, float(self.replicas))

    def _run(self, eng: Engine, judge: Judge | None) -> None:
        n, rng = eng.n, eng.rng
        first_w = self.schedule()[0]
        if self.steps is not None:
            ws = [v for k, v in self.parsed_steps() if k == _WEIGHT and v]
            first_w = ws[0] if ws else 1.0
        n_pods = (
            self.replicas
            if self.steps is None
            else max(1, math.ceil(self.replicas * first_w))
        )
        t_ready = eng.candidate.startup_times(rng, (n, n_pods)).max(axis=1)
        eng.startup_s[:] = t_ready
        if self.steps is None:
            self._flagger(eng, judge, t_ready)
        else:
            self._argo(eng, judge, t_ready)

    # -- Flagger ---------------------------------------------------------------------

    def _flagger(self, eng: Engine, judge: Judge | None, t_ready: Arr) -> None:
        n, dt = eng.n, eng.dt
        an = None
        if judge is not None:
            gate = isinstance(judge, ThresholdGate)
            an = Analysis(
                judge,
                eng,
                interval_s=self.interval_s if gate else None,
                checks_only=gate,
            )
        w = np.zeros(n)
        started = np.zeros(n, dtype=bool)
        failed = np.zeros(n, dtype=np.int64)
        next_check = np.ceil(t_ready / dt - 1e-9) * dt + self.interval_s
        schedule = np.array(self.schedule())
        k = np.zeros(n, dtype=np.int64)  # position in the weight schedule
        t = 0.0
        while eng.live.any() and t < self.horizon_s():
            start = eng.live & ~started & (t >= t_ready - 1e-9)
            if start.any():
                started |= start
                w[start] = schedule[0]
                if an is not None:
                    an.start(start, float(t))
            counts = eng.step(
                t,
                w=np.where(started, w, 0.0),
                ready=np.full(n, float(self.replicas)),
                pods=self._pods(w),
                # Flagger's canary Deployment runs at full size during the analysis
                cand_pods=np.where(started, float(self.replicas), 0.0),
            )
            t += dt
            if an is not None:
                an.add(counts, t)
            due = eng.live & started & (t >= next_check - 1e-9)
            if not due.any():
                continue
            ok = np.ones(n, dtype=bool)
            if an is not None:
                ok = (
                    (an.measure == MEASURE_OK) if an.checks_only else (an.state != FAIL)
                )
            good, bad = due & ok, due & ~ok
            eng.step_s[good] += self.interval_s
            eng.analysis_s[bad] += self.interval_s
            failed[bad] += 1
            done = good & (k >= len(schedule) - 1)
            eng.t_full[done] = t
            eng.finish(done, t, PROMOTED)
            k[good & ~done] += 1
            w[good & ~done] = schedule[k[good & ~done]]
            back = bad & (failed >= self.threshold)
            eng.rollback(back, t)
            eng.finish(back, t, ROLLED_BACK)
            next_check[due] += self.interval_s

    # -- Argo Rollouts -------------------------------------------------------------------

    def _argo(self, eng: Engine, judge: Judge | None, t_ready: Arr) -> None:
        n, dt, rng = eng.n, eng.dt, eng.rng
        steps = self.parsed_steps()
        inline = any(k == _ANALYSIS for k, _ in steps)
        an = Analysis(judge, eng) if judge is not None else None
        background = an is not None and not inline
        w = np.zeros(n)
        idx = np.zeros(n, dtype=np.int64)
        started = np.zeros(n, dtype=bool)
        wait_until = np.full(n, np.nan)  # end of a timed or human pause
        human = np.zeros(n, dtype=bool)  # current wait is a human's
        bg_started = np.zeros(n, dtype=bool)
        t = 0.0
        while eng.live.any() and t < self.horizon_s():
            start = eng.live & ~started & (t >= t_ready - 1e-9)
            started |= start
            self._advance(eng, an, steps, idx, w, wait_until, human, started, t)
            if background and an is not None:
                go = (
                    eng.live
                    & started
                    & ~bg_started
                    & (idx >= self.analysis_starting_step)
                )
                if go.any():
                    an.start(go, t)
                    bg_started |= go
            counts = eng.step(
                t,
                w=self._effective(np.where(started, w, 0.0)),
                ready=np.full(n, float(self.replicas)),
                pods=self._pods(w),
                cand_pods=self._canary_pods(np.where(started, w, 0.0)),
            )
            paused = ~np.isnan(wait_until)
            eng.human_s[eng.live & paused & human] += dt
            eng.step_s[eng.live & started & paused & ~human] += dt
            t += dt
            if an is None:
                continue
            analysing = eng.live & an.active & (an.state == 0)
            if inline:
                eng.analysis_s[analysing & started & ~paused] += dt
            an.add(counts, t)
            st = an.state
            bad = eng.live & an.active & (st == FAIL)
            eng.rollback(bad, t)
            eng.finish(bad, t, ROLLED_BACK)
            inc = eng.live & an.active & (st == INCONCLUSIVE)
            if inc.any():  # Argo: Inconclusive pauses the rollout for a human
                wait_until[inc] = t + self._human(rng, int(inc.sum()))
                human[inc] = True
                an.start(inc, t)  # resumed rollouts start a fresh AnalysisRun
                an.stop(inc)
                an.extra.setdefault("resume", np.zeros(n, dtype=bool))[inc] = True
            ok = an.active & ((st == PASS) | (st == NO_DIFFERENCE))
            an.stop(ok)
            if background:
                continue
            # inline analysis completed → next step
            idx[ok & eng.live] += 1

    def _advance(
        self,
        eng: Engine,
        an: Analysis | None,
        steps: list[tuple[int, float | None]],
        idx: Arr,
        w: Arr,
        wait_until: Arr,
        human: Arr,
        started: Arr,
        t: float,
    ) -> None:
        # a pause (timed, human or after Inconclusive) that has ended
        ended = ~np.isnan(wait_until) & (t >= wait_until - 1e-9)
        if ended.any():
            resumed = ended & human & ~self._at_pause(steps, idx)
            if an is not None and "resume" in an.extra:
                back = resumed & an.extra["resume"]
                an.start(back, t)
                an.extra["resume"][back] = False
            idx[ended & ~resumed] += 1
            wait_until[ended] = np.nan
            human[ended] = False
        for _ in range(len(steps) + 1):
            act = eng.live & started & np.isnan(wait_until)
            done = act & (idx >= len(steps))
            if done.any():
                eng.t_full[done] = t
                eng.finish(done, t, PROMOTED)
                act &= ~done
            if not act.any():
                return
            kind = np.array([k for k, _ in steps] + [-1])[np.minimum(idx, len(steps))]
            moved = False
            setw = act & (kind == _WEIGHT)
            if setw.any():
                vals = np.array([v or 0.0 for _, v in steps] + [0.0])
                w[setw] = vals[idx[setw]]
                idx[setw] += 1
                moved = True
            pause = act & (kind == _PAUSE)
            if pause.any():
                durs = np.array(
                    [np.nan if v is None else v for _, v in steps] + [np.nan]
                )[idx[pause]]
                indefinite = np.isnan(durs)
                pidx = np.flatnonzero(pause)
                human_wait = self._human(eng.rng, int(indefinite.sum()))
                wait_until[pidx[~indefinite]] = t + durs[~indefinite]
                wait_until[pidx[indefinite]] = t + human_wait
                human[pidx[indefinite]] = True
            inl = act & (kind == _ANALYSIS)
            if inl.any() and an is not None:
                fresh = inl & ~an.active
                if fresh.any():
                    an.start(fresh, t)
            elif inl.any():
                idx[inl] += 1  # no judge: an inline analysis passes at once
                moved = True
            if not moved:
                return

    @staticmethod
    def _at_pause(steps: list[tuple[int, float | None]], idx: Arr) -> Arr:
        kinds = np.array([k for k, _ in steps] + [-1])
        at: Arr = kinds[np.minimum(idx, len(steps))] == _PAUSE
        return at
