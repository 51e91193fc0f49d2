"""Two full fleets and an instant switch: :class:`BlueGreen`.

What does *not* belong here: gradual traffic shifting (``_canary``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlopskit.rollout._base import FAIL, INCONCLUSIVE, NO_DIFFERENCE, PASS, check_number
from mlopskit.rollout._engine import PROMOTED, ROLLED_BACK, Engine
from mlopskit.rollout._judge import Analysis, Judge
from mlopskit.rollout._strategy import Strategy

Arr = NDArray[Any]

__all__ = ["BlueGreen"]

_START, _PRE, _WAIT, _POST, _BACK, _SCALE = 0, 1, 2, 3, 4, 5
_PHASE_NAMES = (
    "Progressing",
    "Progressing (prePromotionAnalysis)",
    "Paused",
    "Progressing (postPromotionAnalysis)",
    "Aborting (active back to blue)",
    "Progressing (scaling preview)",
)


@dataclass(frozen=True, kw_only=True)
class BlueGreen(Strategy):
    """Argo Rollouts' ``blueGreen``: start a full green fleet, then switch the Service.

    Sequence (Argo's): the green ReplicaSet starts (``preview_replica_count`` pods,
    or all); once fully available, ``prePromotionAnalysis`` runs against synthetic
    preview traffic (``preview_rps``, a load tester — no user sees green yet); the
    rollout pauses if ``auto_promotion_enabled`` is false (a human promotes) or for
    ``auto_promotion_seconds``; promotion moves the active Service to green, which
    nodes pick up over ``propagation_delay_s``; ``postPromotionAnalysis`` runs on
    live traffic, and a failure flips the Service back while blue is still up (fast
    rollback); blue is scaled down ``scale_down_delay_seconds`` after promotion (or
    after the post-promotion analysis, whichever is later). Requests still routed to
    blue after it is gone are dropped.

    Parameters
    ----------
    auto_promotion_enabled, auto_promotion_seconds
        ``autoPromotionEnabled`` (default true) and ``autoPromotionSeconds``.
    pre_promotion_analysis, post_promotion_analysis
        Where the judge runs (``prePromotionAnalysis`` / ``postPromotionAnalysis``).
    analysis_s
        Length of an analysis whose judge never completes on its own (a
        ``ThresholdGate`` without ``count``).
    scale_down_delay_seconds
        ``scaleDownDelaySeconds`` (default 30).
    preview_replica_count
        ``previewReplicaCount``; ``None`` starts the full fleet.
    preview_rps
        Synthetic load on the preview Service during pre-promotion analysis.
    propagation_delay_s
        Time for every node to route to the new active ReplicaSet.
    replicas, human_response_s
        See :class:`Strategy`.

    Examples
    --------
    >>> from mlopskit.rollout import ModelBehavior, Traffic, simulate
    >>> res = simulate(BlueGreen(), baseline=ModelBehavior(), candidate=ModelBehavior(),
    ...                traffic=Traffic(rps=100), n_runs=5, random_state=0)
    >>> float(res.runs["peak_pods_ratio"].max()), float(res.runs["downtime_s"].max())
    (2.0, 0.0)
    """

    auto_promotion_enabled: bool = True
    auto_promotion_seconds: float | None = None
    pre_promotion_analysis: bool = False
    post_promotion_analysis: bool = True
    analysis_s: float = 600.0
    scale_down_delay_seconds: float = 30.0
    preview_replica_count: int | None = None
    preview_rps: float = 10.0
    propagation_delay_s: float = 5.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number(
            "auto_promotion_seconds",
            self.auto_promotion_seconds,
            low=0,
            allow_none=True,
        )
        check_number("analysis_s", self.analysis_s, low=0, low_open=True)
        check_number("scale_down_delay_seconds", self.scale_down_delay_seconds, low=0)
        check_number(
            "preview_replica_count",
            self.preview_replica_count,
            low=1,
            high=self.replicas,
            integer=True,
            allow_none=True,
        )
        check_number("preview_rps", self.preview_rps, low=0)
        check_number("propagation_delay_s", self.propagation_delay_s, low=0)

    def _run(self, eng: Engine, judge: Judge | None) -> None:
        n, dt, rng, R = eng.n, eng.dt, eng.rng, self.replicas
        green = eng.candidate.startup_times(rng, (n, R))
        P = self.preview_replica_count or R
        t_green = green[:, :P].max(axis=1)
        # a reduced preview stack is scaled to full size at promotion, before the switch
        scale_dur = green[:, P:].max(axis=1) if P < R else np.zeros(n)
        t_scaled = np.full(n, np.inf)
        eng.startup_s[:] = t_green
        an = Analysis(judge, eng) if judge is not None else None
        phase = np.full(n, _START)
        eng.phase = phase  # the Timeline's phase column
        eng.phase_names = _PHASE_NAMES
        t_phase = np.zeros(n)  # when the current phase began
        t_switch = np.full(n, np.nan)
        t_blue_gone = np.full(n, np.inf)
        human_until = np.full(n, np.nan)
        t = 0.0
        prop = max(self.propagation_delay_s, 1e-9)
        while eng.live.any() and t < self.horizon_s():
            self._transitions(
                eng, an, phase, t_phase, t_green, (scale_dur, t_scaled), human_until, t
            )
            since = np.where(np.isnan(t_switch), 0.0, (t - t_switch) / prop)
            w = np.where(phase == _POST, np.clip(since, 0, 1), 0.0)
            w = np.where(phase == _BACK, np.clip(1 - since, 0, 1), w)
            lost = np.where(t >= t_blue_gone, 1.0 - w, 0.0)
            green_pods = np.where(phase <= _WAIT, P, R)
            pods = np.where(t >= t_blue_gone, R, R + green_pods)
            mirror = np.where(
                phase == _PRE, self.preview_rps / max(eng.traffic.rate_at(t), 1e-9), 0.0
            )
            counts = eng.step(
                t,
                w=w,
                ready=np.full(n, float(R)),
                pods=pods.astype(float),
                cand_pods=np.where(w > 0, float(R), 0.0),
                mirror=mirror,
                historical=phase == _POST,
                lost=lost,
            )
            t += dt
            eng.human_s[eng.live & (phase == _WAIT) & ~np.isnan(human_until)] += dt
            eng.step_s[eng.live & (phase == _WAIT) & np.isnan(human_until)] += dt
            eng.analysis_s[eng.live & (phase == _PRE)] += dt
            if an is not None:
                an.add(counts, t)
            # promotion: switch at the end of _WAIT (handled in _transitions)
            newly = eng.live & (phase == _POST) & np.isnan(t_switch)
            t_switch[newly] = t_phase[newly]
            eng.step_s[newly] += self.propagation_delay_s  # nodes pick up the switch
            eng.t_full[newly] = t_phase[newly] + self.propagation_delay_s
            self._post(eng, an, phase, t_phase, t_switch, t_blue_gone, t)

    def _transitions(
        self,
        eng: Engine,
        an: Analysis | None,
        phase: Arr,
        t_phase: Arr,
        t_green: Arr,
        scaling: tuple[Arr, Arr],
        human_until: Arr,
        t: float,
    ) -> None:
        live = eng.live
        scale_dur, t_scaled = scaling
        ready = live & (phase == _START) & (t >= t_green - 1e-9)
        if ready.any():
            pre = ready & (an is not None) & self.pre_promotion_analysis
            phase[pre] = _PRE
            phase[ready & ~pre] = _WAIT
            t_phase[ready] = t
            if an is not None and pre.any():
                an.start(pre, t)
            self._enter_wait(eng, ready & ~pre, human_until, t)
        if an is not None:
            pre = live & (phase == _PRE)
            st = an.state
            bad = pre & (st == FAIL)
            eng.rollback(bad, t)
            eng.finish(bad, t, ROLLED_BACK)
            timed_out = (
                self.auto_promotion_seconds is not None
                and t - t_phase >= self.auto_promotion_seconds
            )
            ok = (
                pre
                & ~bad
                & (
                    np.isin(st, (PASS, NO_DIFFERENCE, INCONCLUSIVE))
                    | (t - t_phase >= self.analysis_s - 1e-9)
                    | timed_out
                )
            )
            if ok.any():
                an.stop(ok)
                phase[ok] = _WAIT
                t_phase[ok] = t
                self._enter_wait(eng, ok, human_until, t)
                # Argo: an Inconclusive pre-promotion analysis pauses the rollout
                paused = ok & (st == INCONCLUSIVE) & np.isnan(human_until)
                if paused.any():
                    human_until[paused] = t + self._human(eng.rng, int(paused.sum()))
        wait = live & (phase == _WAIT)
        auto = self.auto_promotion_seconds or 0.0
        promote = wait & np.where(
            np.isnan(human_until), t - t_phase >= auto - 1e-9, t >= human_until - 1e-9
        )
        if promote.any():
            human_until[promote] = np.nan
            phase[promote] = _SCALE
            t_scaled[promote] = t + scale_dur[promote]
            eng.startup_s[promote] += scale_dur[promote]
        switch = live & (phase == _SCALE) & (t >= t_scaled - 1e-9)
        if switch.any():
            phase[switch] = _POST
            t_phase[switch] = t
            if an is not None and self.post_promotion_analysis:
                an.start(switch, t)

    def _enter_wait(self, eng: Engine, mask: Arr, human_until: Arr, t: float) -> None:
        if not self.auto_promotion_enabled and mask.any():
            human_until[mask] = t + self._human(eng.rng, int(mask.sum()))

    def _post(
        self,
        eng: Engine,
        an: Analysis | None,
        phase: Arr,
        t_phase: Arr,
        t_switch: Arr,
        t_blue_gone: Arr,
        t: float,
    ) -> None:
        live = eng.live
        post = live & (phase == _POST)
        analysing = an is not None and self.post_promotion_analysis
        if analysing and an is not None:
            bad = post & an.active & (an.state == FAIL) & (t < t_blue_gone)
            if bad.any():  # flip the Service back while blue is still up
                eng.rollback(bad, t, recover_after=self.propagation_delay_s)
                phase[bad] = _BACK
                t_switch[bad] = t
                an.stop(bad)
            fin = (
                post
                & ~bad
                & an.active
                & ((an.state != 0) | (t - t_phase >= self.analysis_s - 1e-9))
            )
            an.stop(fin)
            done_analysis = post & ~bad & ~an.active
        else:
            done_analysis = post
        sd = (
            done_analysis
            & (t - t_phase >= self.scale_down_delay_seconds - 1e-9)
            & np.isinf(t_blue_gone)
        )
        t_blue_gone[sd] = np.maximum(t, t_phase[sd] + self.scale_down_delay_seconds)
        eng.finish(
            post & (t >= t_blue_gone) & (t - t_phase >= self.propagation_delay_s),
            t,
            PROMOTED,
        )
        eng.finish(
            live & (phase == _BACK) & (t - t_switch >= self.propagation_delay_s),
            t,
            ROLLED_BACK,
        )
