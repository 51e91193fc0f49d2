"""Argo Rollouts' canary controller, vectorised: :class:`ArgoController`.

Works from an :class:`ArgoPlan` (desired pod counts and weights per step, built by
``Canary``): ReplicaSet scaling within ``maxSurge`` / ``maxUnavailable``, pod
start-up, router weights, pauses, inline and background analysis, Inconclusive
pauses and ``promote``.

What does *not* belong here: the ``Canary`` parameters and Flagger's loop
(``_canary``), the data plane (``_engine``), the judges.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlopskit.rollout._base import FAIL, INCONCLUSIVE, NO_DIFFERENCE, PASS
from mlopskit.rollout._engine import PROMOTED, ROLLED_BACK, Engine
from mlopskit.rollout._judge import Analysis, Judge

Arr = NDArray[Any]

__all__: list[str] = []

WEIGHT, PAUSE, ANALYSIS = 0, 1, 2
_A_PROGRESSING, _A_PAUSED, _A_INCONCLUSIVE = 0, 1, 2
_ARGO_PHASES = ("Progressing", "Paused", "Paused (Inconclusive)")


@dataclass(frozen=True)
class ArgoPlan:
    """What the controller works to: per step index (one past the last = fully
    promoted) the weight in force and the desired canary / stable pods."""

    replicas: int
    steps: tuple[tuple[int, float | None], ...]
    weight_at: Arr
    want_c: Arr
    want_s: Arr
    max_total: float
    min_avail: int
    traffic_routing: bool
    starting_step: int
    horizon_s: float
    human: Callable[[np.random.Generator, int], Arr]


def argo_basic_counts(replicas: int, weight: float, max_surge: int) -> tuple[int, int]:
    """Argo's ``approximateWeightedCanaryStableReplicaCounts`` (see
    ``Canary.replica_counts``): ``(canary, stable)`` for a weight in percent."""
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


class ArgoController:
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

    def __init__(self, plan: ArgoPlan, eng: Engine, judge: Judge | None) -> None:
        self.c, self.eng = plan, eng
        n, R = eng.n, plan.replicas
        self.steps = list(plan.steps)
        self.inline = any(k == ANALYSIS for k, _ in self.steps)
        self.an = Analysis(judge, eng) if judge is not None else None
        self.background = self.an is not None and not self.inline
        self.weight_at, self.want_c, self.want_s = (
            plan.weight_at,
            plan.want_c,
            plan.want_s,
        )
        self.kinds = np.array([k for k, _ in self.steps] + [-1])
        self.durs = np.array(
            [np.nan if v is None or k != PAUSE else v for k, v in self.steps] + [np.nan]
        )
        self.max_total = plan.max_total
        self.min_avail = plan.min_avail
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
        while eng.live.any() and t < self.c.horizon_s:
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
                    self.kinds[np.minimum(self.idx, len(self.steps))] == ANALYSIS
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
                    ended & (self.kinds[np.minimum(self.idx - 1, n_steps)] == ANALYSIS)
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
            moved = act & (kind == WEIGHT) & at_counts
            pause = act & (kind == PAUSE)
            if pause.any():
                durs = self.durs[idx[pause]]
                pidx = np.flatnonzero(pause)
                indefinite = np.isnan(durs)
                self.wait_until[pidx[~indefinite]] = t + durs[~indefinite]
                self.wait_until[pidx[indefinite]] = t + self.c.human(
                    eng.rng, int(indefinite.sum())
                )
                self.human[pidx[indefinite]] = True
            inl = act & (kind == ANALYSIS)
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
        go = self.eng.live & ~self.bg_started & (self.idx >= self.c.starting_step)
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
            self.wait_until[inc] = t + self.c.human(eng.rng, int(inc.sum()))
            self.human[inc] = True
            self.inc_pause[inc] = True
            self._dirty = True
        ok = an.active & ((st == PASS) | (st == NO_DIFFERENCE))
        if not self.background:
            step_done = (
                ok
                & eng.live
                & (self.kinds[np.minimum(self.idx, len(self.steps))] == ANALYSIS)
            )
            an.stop(ok)
            if step_done.any():
                self.idx[step_done] += 1
                self._dirty = True
        else:
            an.stop(ok)
