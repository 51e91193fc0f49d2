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

_WEIGHT, _PAUSE, _ANALYSIS = 0, 1, 2


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

    def _run(self, eng: Engine, judge: Judge | None) -> None:
        if self.steps is None:
            self._flagger(eng, judge)
        else:
            _ArgoCanary(self, eng, judge).run()

    # -- Flagger ---------------------------------------------------------------------

    def _rollovers(self, eng: Engine, k: int) -> Arr:
        """``k`` primary rollover durations: exact event simulations, resampled
        from a pool of 128 when more are needed (the duration only decides at
        which ``interval`` tick Finalising starts)."""
        if k <= _POOL:
            return _rollover_pool(self, eng, k)
        return eng.rng.choice(_rollover_pool(self, eng, _POOL), size=k)

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
        rollover = np.full(n, np.nan)  # drawn when a run starts Promoting
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
            share = np.where(on_primary, 1.0, w)
            canary_up = (
                (phase >= _PROGRESSING) & (t >= t_ready - 1e-9) & (phase < _FINALISING)
            )
            if eng.record:
                eng.note(
                    set_weight=100 * share,
                    desired_stable=np.where(on_primary, 0.0, R),
                    desired_canary=np.where(phase == _INITIALIZING, 0.0, R),
                    ready_stable=np.where(on_primary, 0.0, R),
                    ready_canary=np.where(canary_up | on_primary, R, 0.0),
                )
            counts = eng.step(
                t,
                w=share,
                ready=np.full(n, float(R)),
                pods=np.where(canary_up | (phase >= _PROMOTING), 2.0 * R, R),
                cand_pods=np.where(share > 0, float(R), 0.0),
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
        promotion: tuple[Arr, Arr],
    ) -> None:
        w, phase, failed, k = state
        t_promote, rollover = promotion
        live = eng.live
        fin = live & (phase == _FINALISING)
        eng.finish(fin, t, PROMOTED)
        prom = live & (phase == _PROMOTING)
        prom &= t >= t_promote + np.nan_to_num(rollover, nan=np.inf) - 1e-9
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
            rollover[promote] = self._rollovers(eng, int(promote.sum()))
        if an is not None and not an.checks_only and first.any():
            an.start(first, t)  # a statistical judge watches from the first weight
        advance = first | (good & ~promote)
        w[advance] = schedule[np.minimum(k[advance], len(schedule) - 1)]
        k[advance] += 1
        phase[live & (phase == _INITIALIZING)] = _PROGRESSING


def _rollover_pool(canary: Canary, eng: Engine, k: int) -> Arr:
    """Durations of ``k`` rolling updates of the primary, each event-simulated
    with :meth:`Ramped.timeline` on fresh start-up draws."""
    roll = Ramped(replicas=canary.replicas)
    return np.array(
        [
            roll.timeline(eng.candidate.startup_times(eng.rng, (canary.replicas,)))[
                -1, 0
            ]
            for _ in range(k)
        ]
    )


def argo_basic_counts(replicas: int, weight: float, max_surge: int) -> tuple[int, int]:
    """Argo's ``approximateWeightedCanaryStableReplicaCounts`` (see
    :meth:`Canary.replica_counts`): ``(canary, stable)`` for a weight in percent."""
    R = replicas
    exact = R * weight / 100.0
    ceil_c, floor_c = math.ceil(exact - 1e-9), math.floor(exact + 1e-9)

    def tied(total: int) -> bool:
        frac = total * weight / 100.0 % 1.0
        return abs(frac - 0.5) < 1e-9

    zero_ok = weight in (0.0, 100.0) or (R == 1 and max_surge == 0)
    options: list[tuple[int, int]] = []
    if ceil_c < R or zero_ok:
        options.append((ceil_c, R))
    if not tied(R) and (floor_c != 0 or zero_ok):
        options.append((floor_c, R))
    if max_surge > 0:
        options.append((ceil_c, R + 1))
        if not tied(R + 1) and (floor_c != 0 or zero_ok):
            options.append((floor_c, R + 1))
    if not options:  # pragma: no cover - Argo: "should not get here"
        return 0, R
    best = min(options, key=lambda o: abs(100.0 * o[0] / o[1] - weight))
    return best[0], best[1] - best[0]


class _ArgoCanary:
    """Argo Rollouts' canary controller for ``Canary(steps=...)``, vectorised.

    Sources (argoproj/argo-rollouts 9f8d111, v1.8 line): steps and pods
    ``rollout/canary.go`` with ``utils/replicaset/canary.go``; traffic weights
    ``rollout/trafficrouting.go`` (the previous ``setWeight`` is kept until the
    canary is at its desired replica counts); analysis timing
    ``analysis/analysis.go`` ``generateMetricTasks``; background analysis
    ``rollout/analysis.go`` ``reconcileBackgroundAnalysisRun`` (created when the
    update starts, or at ``startingStep``; a new run after an Inconclusive pause);
    promote ``pkg/kubectl-argo-rollouts/cmd/promote/promote.go`` (after an
    Inconclusive pause the step index moves on).
    """

    def __init__(self, canary: Canary, eng: Engine, judge: Judge | None) -> None:
        self.c, self.eng = canary, eng
        n, R = eng.n, canary.replicas
        self.steps = canary.parsed_steps()
        self.inline = any(k == _ANALYSIS for k, _ in self.steps)
        self.an = Analysis(judge, eng) if judge is not None else None
        self.background = self.an is not None and not self.inline
        # desired (canary, stable) and the weight in force at each step index
        weights, cur = [], 0.0
        for kind, v in self.steps:
            if kind == _WEIGHT and v is not None:
                cur = v
            weights.append(cur)
        weights.append(1.0)  # all steps done: promote to 100 %
        self.weight_at = np.array(weights)
        pairs = [
            (R, 0) if i == len(self.steps) else canary.replica_counts(100 * v)
            for i, v in enumerate(weights)
        ]
        self.want_c = np.array([p[0] for p in pairs], dtype=float)
        self.want_s = np.array([p[1] for p in pairs], dtype=float)
        self.kinds = np.array([k for k, _ in self.steps] + [-1])
        self.durs = np.array(
            [np.nan if v is None or k != _PAUSE else v for k, v in self.steps]
            + [np.nan]
        )
        surge, unavailable = canary._fenceposts()
        # a traffic-routed canary adds its pods beside a full stable ReplicaSet
        # (CalculateReplicaCountsForTrafficRoutedCanary): no surge limit
        self.max_total = np.inf if canary.traffic_routing else R + surge
        self.min_avail = R - unavailable
        self.inc_pause = np.zeros(n, dtype=bool)
        slots = R + 1
        self.startup = eng.candidate.startup_times(eng.rng, (n, slots))
        self.created = np.full((n, slots), np.inf)
        self.spec_c = np.zeros(n)  # canary pods created (ReplicaSet spec)
        self.spec_s = np.full(n, float(R))
        self.idx = np.zeros(n, dtype=np.int64)
        self.wait_until = np.full(n, np.nan)
        self.human = np.zeros(n, dtype=bool)
        self.applied_w = np.zeros(n)  # traffic router weight
        self.bg_started = np.zeros(n, dtype=bool)
        self._dirty = True
        self._quiet_until = 0.0
        self._last_ready = np.full(n, -1.0)
        eng.phase_names = _ARGO_PHASES

    def run(self) -> None:
        eng, dt = self.eng, self.eng.dt
        t = 0.0
        cache: tuple[Arr, Arr, Arr] | None = None
        while eng.live.any() and t < self.c.horizon_s():
            # the controller only acts when something can have changed: a pod
            # became ready, a pause ended, a step moved or an analysis decided
            if cache is None or self._dirty or t >= self._quiet_until - 1e-9:
                self._dirty = False
                ready_c = self._scale(t)
                self._advance(t, ready_c)
                self._start_background(t)
                w, cand = self._traffic(ready_c)
                paused = ~np.isnan(self.wait_until)
                eng.phase[:] = np.where(
                    paused,
                    np.where(self.inc_pause, _A_INCONCLUSIVE, _A_PAUSED),
                    _A_PROGRESSING,
                )
                self._quiet_until = self._next_event(t)
                cache = (ready_c, w.copy(), cand)
            ready_c, w, cand = cache
            if eng.record:
                at = np.minimum(self.idx, len(self.steps))
                eng.note(
                    step=self.idx,
                    set_weight=100 * self.weight_at[at],
                    desired_canary=self.want_c[at],
                    desired_stable=self.want_s[at],
                    ready_canary=ready_c,
                    ready_stable=self.spec_s,
                )
            counts = eng.step(
                t,
                w=w,
                ready=cand + self.spec_s
                if not self.c.traffic_routing
                else np.full(eng.n, float(self.c.replicas)),
                pods=self.spec_c + self.spec_s,
                cand_pods=cand,
            )
            paused = ~np.isnan(self.wait_until)
            eng.human_s[eng.live & paused & self.human] += dt
            if self.inline and self.an is not None:
                analysing = (
                    self.kinds[np.minimum(self.idx, len(self.steps))] == _ANALYSIS
                )
                eng.analysis_s[eng.live & analysing & ~paused] += dt
            t += dt
            if self.an is not None:
                self.an.add(counts, t)
                self._verdicts(t)
        first = np.min(self.created + self.startup, axis=1)
        end = np.where(np.isnan(eng.t_end), t, eng.t_end)
        eng.startup_s[:] = np.minimum(np.nan_to_num(first, posinf=0.0), end)
        eng.step_s[:] = np.maximum(
            end - eng.startup_s - eng.analysis_s - eng.human_s, 0.0
        )

    def _next_event(self, t: float) -> float:
        """The earliest time a pod becomes ready or a pause ends, after ``t``."""
        ready_at = self.created + self.startup
        pending = ready_at[ready_at > t + 1e-9]
        waits = self.wait_until[~np.isnan(self.wait_until)]
        waits = waits[waits > t + 1e-9]
        nxt = min(
            float(pending.min()) if pending.size else np.inf,
            float(waits.min()) if waits.size else np.inf,
        )
        return nxt

    # -- pods ------------------------------------------------------------------------

    def _scale(self, t: float) -> Arr:
        """One reconcile of the ReplicaSets toward the step's desired counts,
        within ``maxSurge`` (scale up) and ``maxUnavailable`` (scale down)."""
        idx = np.minimum(self.idx, len(self.steps))
        want_c, want_s = self.want_c[idx], self.want_s[idx]
        live = self.eng.live
        room = np.maximum(self.max_total - self.spec_c - self.spec_s, 0.0)
        up_s = np.minimum(np.maximum(want_s - self.spec_s, 0.0), room)
        self.spec_s += up_s * live  # stable pods re-created start at once (simplified)
        room -= up_s
        up_c = np.minimum(np.maximum(want_c - self.spec_c, 0.0), room) * live
        if up_c.any():
            slots = np.arange(self.created.shape[1])
            new = (slots >= self.spec_c[:, None]) & (
                slots < (self.spec_c + up_c)[:, None]
            )
            self.created[new] = t
            self.spec_c += up_c
        up = ((self.created + self.startup) <= t + 1e-9).sum(axis=1)
        ready_c: Arr = np.minimum(up.astype(float), self.spec_c)
        spare = np.maximum(ready_c + self.spec_s - self.min_avail, 0.0)
        down_s = np.minimum(np.maximum(self.spec_s - want_s, 0.0), spare) * live
        self.spec_s -= down_s
        if (
            up_s.any()
            or up_c.any()
            or down_s.any()
            or (ready_c != self._last_ready).any()
        ):
            self._dirty = True
        self._last_ready = ready_c
        return ready_c

    def _traffic(self, ready_c: Arr) -> tuple[Arr, Arr]:
        if self.c.traffic_routing:
            return self.applied_w, np.where(self.applied_w > 0, ready_c, 0.0)
        total = ready_c + self.spec_s
        return np.divide(
            ready_c, total, out=np.zeros(self.eng.n), where=total > 0
        ), ready_c

    # -- steps -----------------------------------------------------------------------

    def _advance(self, t: float, ready_c: Arr) -> None:
        eng, n_steps = self.eng, len(self.steps)
        ended = ~np.isnan(self.wait_until) & (t >= self.wait_until - 1e-9)
        if ended.any():  # a timed pause elapsed, or a human promoted
            self._dirty = True
            self.idx[ended] += 1
            np.minimum(self.idx, n_steps, out=self.idx)
            self.wait_until[ended] = np.nan
            self.human[ended] = False
            self.inc_pause[ended] = False
            if self.an is not None:
                self.an.stop(
                    ended & (self.kinds[np.minimum(self.idx - 1, n_steps)] == _ANALYSIS)
                )
                back = ended & self.bg_started & self.background
                self.bg_started[back & (self.an.state == INCONCLUSIVE)] = False
        for _ in range(n_steps + 2):
            idx = np.minimum(self.idx, n_steps)
            act = eng.live & np.isnan(self.wait_until)
            at_counts = (ready_c >= self.want_c[idx]) & (
                self.spec_c >= self.want_c[idx]
            )
            at_counts &= self.spec_s <= self.want_s[idx]
            kind = self.kinds[idx]
            # the router moves to the step's weight once its pods are available
            routed = act & at_counts
            self.applied_w[routed] = self.weight_at[idx[routed]]
            done = act & (idx >= n_steps) & at_counts
            eng.t_full[done] = t
            eng.finish(done, t, PROMOTED)
            moved = act & (kind == _WEIGHT) & at_counts
            pause = act & (kind == _PAUSE)
            if pause.any():
                durs = self.durs[idx[pause]]
                pidx = np.flatnonzero(pause)
                indefinite = np.isnan(durs)
                self.wait_until[pidx[~indefinite]] = t + durs[~indefinite]
                self.wait_until[pidx[indefinite]] = t + self.c._human(
                    eng.rng, int(indefinite.sum())
                )
                self.human[pidx[indefinite]] = True
            inl = act & (kind == _ANALYSIS)
            if inl.any():
                if self.an is None:
                    moved |= inl  # no judge: an inline analysis passes at once
                else:
                    fresh = inl & ~self.an.active
                    if fresh.any():
                        self.an.start(fresh, t)
            self.idx[moved] += 1
            if pause.any() or inl.any() or done.any():
                self._dirty = True
            if not moved.any():
                return
            self._dirty = True

    def _start_background(self, t: float) -> None:
        if not self.background or self.an is None:
            return
        go = (
            self.eng.live
            & ~self.bg_started
            & (self.idx >= self.c.analysis_starting_step)
        )
        go &= np.isnan(self.wait_until) | ~self.human
        if go.any():
            self.an.start(go, t)
            self.bg_started |= go
            self._dirty = True

    def _verdicts(self, t: float) -> None:
        an, eng = self.an, self.eng
        assert an is not None
        st = an.state
        bad = eng.live & an.active & (st == FAIL)
        if bad.any():
            eng.rollback(bad, t)
            eng.finish(bad, t, ROLLED_BACK)
        # Argo adds the InconclusiveAnalysis pause condition at once, also during a
        # timed pause; `promote` then moves past the current step
        inc = eng.live & an.active & (st == INCONCLUSIVE) & ~self.inc_pause
        if inc.any():  # Argo: an Inconclusive run pauses the rollout for a human
            self.wait_until[inc] = t + self.c._human(eng.rng, int(inc.sum()))
            self.human[inc] = True
            self.inc_pause[inc] = True
            self._dirty = True
        ok = an.active & ((st == PASS) | (st == NO_DIFFERENCE))
        if not self.background:
            step_done = (
                ok
                & eng.live
                & (self.kinds[np.minimum(self.idx, len(self.steps))] == _ANALYSIS)
            )
            an.stop(ok)
            if step_done.any():
                self.idx[step_done] += 1
                self._dirty = True
        else:
            an.stop(ok)


_INITIALIZING, _PROGRESSING, _PROMOTING, _FINALISING = 0, 1, 2, 3
_POOL = 128
_FLAGGER_PHASES = ("Progressing", "Progressing", "Promoting", "Finalising")
_A_PROGRESSING, _A_PAUSED, _A_INCONCLUSIVE = 0, 1, 2
_ARGO_PHASES = ("Progressing", "Paused", "Paused (Inconclusive)")
