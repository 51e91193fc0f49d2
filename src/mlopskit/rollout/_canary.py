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

from mlopskit.rollout._argo import (
    ANALYSIS,
    PAUSE,
    WEIGHT,
    ArgoController,
    ArgoPlan,
    argo_basic_counts,
)
from mlopskit.rollout._base import (
    FAIL,
    check_number,
    fail,
    parse_count,
    parse_duration,
    resolve_fenceposts,
)
from mlopskit.rollout._behavior import ModelBehavior
from mlopskit.rollout._engine import PROMOTED, ROLLED_BACK, Engine
from mlopskit.rollout._judge import Analysis, Judge
from mlopskit.rollout._ramped import Ramped
from mlopskit.rollout._strategy import Strategy
from mlopskit.rollout._threshold import MEASURE_OK, ThresholdGate

Arr = NDArray[Any]

__all__ = ["Canary"]


@dataclass(frozen=True, kw_only=True)
class Canary(Strategy):
    """Shift a growing share of traffic to the candidate while a judge watches.

    **Flagger mode** (``steps=None``, the default) follows Flagger's scheduler
    (fluxcd/flagger v1.44.0, ``pkg/controller/scheduler.go``, ``advanceCanary``),
    one tick per ``interval_s``: the tick after the canary pods are ready sets the
    first weight; each later tick first rolls back if the failed checks have
    reached ``threshold``, then runs the checks — a failure increments the failed
    checks and halts, a pass adds ``step_weight`` (capped at the total 100, not at
    ``max_weight``: 20 / 50 steps 20, 40, 60) or, at ``max_weight``, promotes. Then
    one interval (or more, while the primary rolls over) **Promoting** at the last
    weight, one **Finalising** with all traffic on the promoted primary, then
    Succeeded. So failing checks roll back ``interval × (threshold + 1)`` after the
    first weight (360 s at threshold 5), and a good candidate is Promoting
    ``interval × len(schedule())`` after it. The canary Deployment runs at full
    size beside the primary (2× pods).

    **Argo mode** (``steps`` given) follows Argo Rollouts' canary
    (argoproj/argo-rollouts 9f8d111, ``rollout/canary.go``,
    ``utils/replicaset/canary.go``, ``rollout/trafficrouting.go``,
    ``analysis/analysis.go``): steps as dicts, e.g. ``({"setWeight": 20},
    {"pause": {"duration": "10m"}}, {"setWeight": 50}, {"pause": {}},
    {"analysis": {}})``. A ``setWeight`` step completes when the ReplicaSets are
    at their desired counts (new pods start up within ``max_surge`` /
    ``max_unavailable``); ``pause: {}`` waits for a human (``human_response_s``);
    ``analysis`` runs the judge inline until it completes. Without inline analysis
    the judge runs in the background from the start of the update (or step
    ``analysis_starting_step``): Failed aborts (weight back to 0), Inconclusive
    pauses until a human runs ``promote``, which moves to the next step (and a new
    background run). With ``traffic_routing=False`` the weight is realised by pod
    counts (:meth:`replica_counts`: the nearest share, with a surge pod); with a
    router the new weight is applied once the canary pods are available.

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
    max_surge, max_unavailable
        Argo's canary ``maxSurge`` / ``maxUnavailable`` (defaults ``"25%"``).
    replicas, human_response_s
        See :class:`Strategy`.

    Examples
    --------
    >>> from mlopskit.rollout import ModelBehavior, Traffic, simulate
    >>> Canary(replicas=10, traffic_routing=False).replica_counts(5)
    (1, 10)
    >>> Canary(step_weight=20, max_weight=50).schedule()
    [0.2, 0.4, 0.6]
    >>> res = simulate(Canary(threshold=5), baseline=ModelBehavior(),
    ...                candidate=ModelBehavior(error_rate=0.5), traffic=Traffic(rps=100),
    ...                n_runs=10, random_state=0)
    >>> float(res.runs["time_to_detect_s"].median())
    360.0
    """

    steps: tuple[dict[str, Any], ...] | None = None
    interval_s: float = 60.0
    threshold: int = 5
    step_weight: float = 10.0
    max_weight: float = 50.0
    step_weights: tuple[float, ...] | None = None
    traffic_routing: bool = True
    analysis_starting_step: int = 0
    max_surge: int | str = "25%"
    max_unavailable: int | str = "25%"

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
        for name in ("max_surge", "max_unavailable"):
            parse_count(
                name,
                getattr(self, name),
                self.replicas,
                round_up=name == "max_surge",
                max_percent=100 if name == "max_unavailable" else None,
            )
        if self.steps is not None:
            given: Any = self.steps  # users pass lists, dicts by mistake …
            if isinstance(given, dict | str) or not hasattr(given, "__iter__"):
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
        """Flagger mode's weights, as fractions, in the order Flagger sets them.

        Flagger's ``nextStepWeight`` adds ``stepWeight`` while the canary weight is
        below ``maxWeight``, and caps the sum at the *total* weight (100), not at
        ``maxWeight``: ``stepWeight: 20, maxWeight: 50`` steps 20, 40, 60
        (``runCanary``, fluxcd/flagger v1.44.0 ``pkg/controller/scheduler.go``).
        ``stepWeights`` are walked in order up to their last value.

        Examples
        --------
        >>> Canary(step_weight=20, max_weight=50).schedule()
        [0.2, 0.4, 0.6]
        >>> Canary(step_weights=(1, 10, 80)).schedule()
        [0.01, 0.1, 0.8]
        """
        if self.step_weights is not None:
            return [min(v, 100.0) / 100.0 for v in self.step_weights]
        out, w = [], 0.0
        while w < self.max_weight - 1e-9:
            w = min(w + self.step_weight, 100.0)
            out.append(w / 100.0)
        return out

    def _fenceposts(self) -> tuple[int, int]:
        return resolve_fenceposts(self.max_surge, self.max_unavailable, self.replicas)

    def replica_counts(self, weight: float) -> tuple[int, int]:
        """``(canary, stable)`` pods for a ``setWeight`` in percent (Argo Rollouts).

        Without a traffic router: Argo's ``approximateWeightedCanaryStableReplicaCounts``
        (argoproj/argo-rollouts 9f8d111, ``utils/replicaset/canary.go``, called by
        ``CalculateReplicaCountsForBasicCanary``) — among the candidate counts
        ``ceil`` and ``floor`` of ``replicas × weight / 100`` over ``replicas``
        pods, and, when ``maxSurge > 0``, over ``replicas + 1`` pods, the one whose
        canary share is closest to the weight (the first on a tie; a floor/ceiling
        tie keeps the ceiling); a weight strictly between 0 and 100 never gets 0
        canary pods unless ``replicas == 1`` and ``maxSurge`` is 0. With a traffic
        router: ``ceil(replicas × weight / 100)`` canary pods beside a full stable
        ReplicaSet (``trafficWeightToReplicas``; no ``dynamicStableScale``).

        Examples
        --------
        >>> basic = Canary(replicas=10, traffic_routing=False)
        >>> basic.replica_counts(5), basic.replica_counts(4), basic.replica_counts(41)
        ((1, 10), (1, 10), (4, 6))
        >>> Canary(replicas=3, traffic_routing=False).replica_counts(50)
        (2, 2)
        >>> Canary(replicas=10).replica_counts(5)
        (1, 10)
        """
        check_number("weight", weight, low=0, high=100)
        R = self.replicas
        if self.traffic_routing:
            return math.ceil(weight * R / 100.0 - 1e-9), R
        surge, _ = self._fenceposts()
        return argo_basic_counts(R, float(weight), surge)

    def canary_replicas(self, weight: float) -> int:
        """Canary pods for a weight in percent (see :meth:`replica_counts`).

        Examples
        --------
        >>> Canary(replicas=10, traffic_routing=False).canary_replicas(41)
        4
        """
        return self.replica_counts(weight)[0]

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
                out.append((WEIGHT, float(value) / 100.0))
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
                        PAUSE,
                        None
                        if dur is None
                        else parse_duration(f"steps[{i}].pause.duration", dur),
                    )
                )
            elif key == "analysis":
                out.append((ANALYSIS, None))
            else:
                raise fail(
                    f"steps[{i}]",
                    key,
                    "setWeight, pause or analysis",
                    "Other Argo steps (experiment, setCanaryScale …) are not simulated.",
                )
        return out

    def _run(self, eng: Engine, judge: Judge | None) -> None:
        if self.steps is None:
            self._flagger(eng, judge)
        else:
            ArgoController(self._argo_plan(eng), eng, judge).run()

    def _argo_plan(self, eng: Engine) -> ArgoPlan:
        """The per-step desired pod counts and weights Argo's controller works to."""
        steps = self.parsed_steps()
        weights, cur = [], 0.0
        for kind, v in steps:
            if kind == WEIGHT and v is not None:
                cur = v
            weights.append(cur)
        weights.append(1.0)  # all steps done: promote to 100 %
        pairs = [
            (self.replicas, 0) if i == len(steps) else self.replica_counts(100 * v)
            for i, v in enumerate(weights)
        ]
        surge, unavailable = self._fenceposts()
        return ArgoPlan(
            replicas=self.replicas,
            steps=tuple(steps),
            weight_at=np.array(weights),
            want_c=np.array([p[0] for p in pairs], dtype=float),
            want_s=np.array([p[1] for p in pairs], dtype=float),
            # a traffic-routed canary adds its pods beside a full stable ReplicaSet
            # (CalculateReplicaCountsForTrafficRoutedCanary): no surge limit
            max_total=np.inf if self.traffic_routing else self.replicas + surge,
            min_avail=self.replicas - unavailable,
            traffic_routing=self.traffic_routing,
            starting_step=self.analysis_starting_step,
            horizon_s=self.horizon_s(),
            human=self._human,
        )

    # -- Flagger ---------------------------------------------------------------------

    def _flagger(self, eng: Engine, judge: Judge | None) -> None:
        """Flagger's ``advanceCanary``, one call per ``interval`` (fluxcd/flagger
        v1.44.0, ``pkg/controller/scheduler.go``).

        Tick 0 detects the new revision and scales the canary Deployment up
        (``checkCanaryStatus``). Each later tick, in Flagger's order: Promoting →
        once the primary (now running the candidate's spec) is ready, all traffic
        to the primary, Finalising; Finalising → canary scaled to zero, Succeeded;
        Progressing → roll back if ``FailedChecks >= threshold``; otherwise wait
        while the canary is not ready, then run the checks (none before the first
        weight is set) — a failure increments ``FailedChecks`` and halts, a pass
        advances the weight (``runCanary``) or, at ``maxWeight``, promotes.
        """
        n, dt, rng, R = eng.n, eng.dt, eng.rng, self.replicas
        eng.phase_names = _FLAGGER_PHASES
        eng.final_names = {PROMOTED: "Succeeded", ROLLED_BACK: "Failed"}
        t_ready = eng.candidate.startup_times(rng, (n, R)).max(axis=1)
        # after Promote the primary rolls over to the candidate's spec (a
        # Kubernetes rolling update with the 25 %/25 % defaults)
        rollover = _Rollover(R, eng)
        an = None
        if judge is not None:
            gate = isinstance(judge, ThresholdGate)
            an = Analysis(
                judge,
                eng,
                interval_s=self.interval_s if gate else None,
                checks_only=gate,
            )
            if gate:
                an.start(np.ones(n, dtype=bool), 0.0)
        schedule = np.array(self.schedule())
        top = (
            float(schedule[-1])
            if self.step_weights is not None
            else self.max_weight / 100
        )
        w = np.zeros(n)  # canary weight (fraction)
        phase = eng.phase  # 0 Initializing, 1 Progressing, 2 Promoting, 3 Finalising
        failed = np.zeros(n, dtype=np.int64)
        k = np.zeros(n, dtype=np.int64)  # next position in the schedule
        t_promote = np.full(n, np.inf)
        every = max(1, round(self.interval_s / dt))
        tick, t = 0, 0.0
        while eng.live.any() and t < self.horizon_s():
            if tick % every == 0:
                self._flagger_tick(
                    eng,
                    an,
                    t,
                    (w, phase, failed, k),
                    schedule,
                    top,
                    t_ready,
                    (t_promote, rollover),
                )
            on_primary = eng.live & (phase == _FINALISING)
            canary_up = (
                (phase >= _PROGRESSING) & (t >= t_ready - 1e-9) & (phase < _FINALISING)
            )
            # while Promoting the primary rolls over: its new pods serve the
            # candidate's version too (kube-proxy spreads the primary's share)
            old, new = rollover.pods(t)
            new = np.where(phase == _PROMOTING, new, 0.0)
            old = np.where(phase == _PROMOTING, old, float(R))
            mixed = np.divide(new, old + new, out=np.zeros(n), where=old + new > 0)
            share = np.where(on_primary, 1.0, w + (1.0 - w) * mixed)
            if eng.record:
                eng.note(
                    set_weight=100 * np.where(on_primary, 1.0, w),
                    desired_stable=np.where(phase >= _PROMOTING, 0.0, R),
                    desired_canary=np.where(phase >= _PROMOTING, 2 * R, R),
                    ready_stable=np.where(on_primary, 0.0, old),
                    ready_canary=np.where(
                        on_primary, R, np.where(canary_up, R, 0.0) + new
                    ),
                )
            counts = eng.step(
                t,
                w=share,
                ready=np.full(n, float(R)),
                pods=np.where(canary_up | (phase >= _PROMOTING), 2.0 * R, R),
                cand_pods=np.where(share > 0, R + new, 0.0),
            )
            t += dt
            tick += 1
            if an is not None:
                an.add(counts, t)
        eng.startup_s[:] = (
            np.ceil(t_ready / self.interval_s - 1e-9).clip(1) * self.interval_s
        )
        end = np.where(np.isnan(eng.t_end), t, eng.t_end)
        end = np.where(np.isnan(eng.t_full), end, eng.t_full)  # all traffic on it
        eng.step_s[:] = np.maximum(end - eng.startup_s - eng.analysis_s, 0.0)

    def _flagger_tick(
        self,
        eng: Engine,
        an: Analysis | None,
        t: float,
        state: tuple[Arr, Arr, Arr, Arr],
        schedule: Arr,
        top: float,
        t_ready: Arr,
        promotion: tuple[Arr, _Rollover],
    ) -> None:
        w, phase, failed, k = state
        t_promote, rollover = promotion
        live = eng.live
        fin = live & (phase == _FINALISING)
        eng.finish(fin, t, PROMOTED)
        prom = live & (phase == _PROMOTING) & rollover.done(t)
        phase[prom] = _FINALISING
        eng.t_full[prom] = t
        w[prom] = 0.0
        prog = live & (phase == _PROGRESSING)
        back = prog & (failed >= self.threshold)
        eng.rollback(back, t)
        eng.finish(back, t, ROLLED_BACK)
        ready = prog & ~back & (t >= t_ready - 1e-9)
        first = ready & (w == 0)  # no check before traffic reaches the canary
        checked = ready & ~first
        ok = np.ones(eng.n, dtype=bool)
        if an is not None and checked.any():
            if an.checks_only:
                an.evaluate(checked, t)
                ok = an.measure == MEASURE_OK
            else:
                ok = an.state != FAIL
        bad = checked & ~ok
        failed[bad] += 1
        eng.analysis_s[bad] += self.interval_s
        good = checked & ok
        promote = good & (w >= top - 1e-9)
        phase[promote] = _PROMOTING
        t_promote[promote] = t
        if promote.any():  # the primary rolls over (Kubernetes 25 %/25 % defaults)
            rollover.start(promote, t)
        if an is not None and not an.checks_only and first.any():
            an.start(first, t)  # a statistical judge watches from the first weight
        advance = first | (good & ~promote)
        w[advance] = schedule[np.minimum(k[advance], len(schedule) - 1)]
        k[advance] += 1
        phase[live & (phase == _INITIALIZING)] = _PROGRESSING


class _Rollover:
    """The primary's rolling update after Flagger's Promote, per run.

    Each promoted run follows one event timeline of :meth:`Ramped.timeline` (the
    primary Deployment's 25 % / 25 % defaults, the candidate's start-up times):
    one exact simulation per run for up to 128 runs, resampled from 128 beyond.
    """

    def __init__(self, replicas: int, eng: Engine) -> None:
        self.R, self.eng = replicas, eng
        n = eng.n
        self.member = np.full(n, -1, dtype=np.int64)
        self.t0 = np.full(n, np.inf)
        self.times: Arr | None = None
        self.old: Arr = np.zeros((0, 0))
        self.new: Arr = np.zeros((0, 0))
        self.duration: Arr = np.zeros(0)
        self.used = 0

    def _pool(self) -> None:
        size = min(self.eng.n, _POOL)
        roll = Ramped(replicas=self.R)
        lines = [
            roll.timeline(self.eng.candidate.startup_times(self.eng.rng, (self.R,)))
            for _ in range(size)
        ]
        width = max(len(e) for e in lines)
        self.times = np.full((size, width), np.inf)
        self.old = np.zeros((size, width))
        self.new = np.zeros((size, width))
        for i, e in enumerate(lines):
            m = len(e)
            self.times[i, :m] = e[:, 0]
            self.old[i, :m], self.old[i, m:] = e[:, 1], e[-1, 1]
            self.new[i, :m], self.new[i, m:] = e[:, 2], e[-1, 2]
        self.duration = np.array([e[-1, 0] for e in lines])

    def start(self, mask: Arr, t: float) -> None:
        if self.times is None:
            self._pool()
        idx = np.flatnonzero(mask)
        size = self.duration.size
        if self.eng.n <= _POOL:  # one exact simulation each
            self.member[idx] = np.arange(self.used, self.used + idx.size)
            self.used += idx.size
        else:
            self.member[idx] = self.eng.rng.integers(0, size, idx.size)
        self.t0[idx] = t

    def done(self, t: float) -> Arr:
        """Runs whose primary has finished rolling over by ``t``."""
        out = np.zeros(self.eng.n, dtype=bool)
        on = self.member >= 0
        out[on] = t >= self.t0[on] + self.duration[self.member[on]] - 1e-9
        return out

    def pods(self, t: float) -> tuple[Arr, Arr]:
        """(old, new) available primary pods at ``t`` (R old before Promote)."""
        old = np.full(self.eng.n, float(self.R))
        new = np.zeros(self.eng.n)
        on = np.flatnonzero(self.member >= 0)
        if on.size and self.times is not None:
            m = self.member[on]
            k = (self.times[m] <= (t - self.t0[on])[:, None] + 1e-9).sum(axis=1) - 1
            k = np.maximum(k, 0)
            old[on], new[on] = self.old[m, k], self.new[m, k]
        return old, new


_INITIALIZING, _PROGRESSING, _PROMOTING, _FINALISING = 0, 1, 2, 3
_POOL = 128
_FLAGGER_PHASES = ("Progressing", "Progressing", "Promoting", "Finalising")
