"""Mirror live traffic to the candidate and discard its answers: :class:`Shadow`.

What does *not* belong here: anything that shows the candidate's responses to users.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlopskit.rollout._base import FAIL, check_number
from mlopskit.rollout._behavior import ModelBehavior
from mlopskit.rollout._engine import PROMOTED, ROLLED_BACK, Engine
from mlopskit.rollout._judge import Analysis, Judge
from mlopskit.rollout._strategy import Strategy

Arr = NDArray[Any]

__all__ = ["Shadow"]

_TICKS = (1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0)
_PHI0 = 1 / math.sqrt(2 * math.pi)


@dataclass(frozen=True, kw_only=True)
class Shadow(Strategy):
    """Copy a share of requests to the candidate for a while; users never see it.

    Mirrors Istio's ``mirror`` + ``mirrorPercentage`` (Flagger ``mirror: true`` /
    ``mirrorWeight``, Argo ``setMirrorRoute``, SageMaker shadow tests). The
    candidate fleet (``replicas × mirror_percentage``) serves mirrored copies for
    ``duration_s``; a judge can compare its errors, latency or label-delayed
    accuracy (not conversions: responses are discarded). A failed analysis drops the
    candidate with zero user exposure; otherwise it is promoted at the end
    (mirroring as a pre-stage). Extra columns: ``agreement`` (prediction agreement),
    ``latency_p50_delta_ms``, ``latency_p99_delta_ms``, ``error_delta`` and
    ``shadow_requests``.

    Parameters
    ----------
    mirror_percentage
        Share of requests copied, in percent (Istio's default 100).
    duration_s
        Length of the shadow test (SageMaker's default: 7 days).
    replicas, human_response_s
        See :class:`Strategy`.

    Examples
    --------
    >>> from mlopskit.rollout import ModelBehavior, Traffic, simulate
    >>> res = simulate(Shadow(duration_s=600), baseline=ModelBehavior(),
    ...                candidate=ModelBehavior(disagreement_rate=0.1),
    ...                traffic=Traffic(rps=100), n_runs=5, random_state=0)
    >>> int(res.runs["bad_requests_served"].sum()), round(float(res.runs["agreement"].mean()), 2)
    (0, 0.9)
    """

    mirror_percentage: float = 100.0
    duration_s: float = 7 * 86400.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number(
            "mirror_percentage", self.mirror_percentage, low=0, high=100, low_open=True
        )
        check_number("duration_s", self.duration_s, low=0, low_open=True)

    def tick_s(self) -> float:
        want = self.duration_s / 20_000
        return max([x for x in _TICKS if x <= max(want, 1.0)])

    def horizon_s(self) -> float:
        return self.duration_s + 3600.0

    def _run(self, eng: Engine, judge: Judge | None) -> None:
        n, dt, rng = eng.n, eng.dt, eng.rng
        m = self.mirror_percentage / 100.0
        fleet = max(1, math.ceil(self.replicas * m))
        t_ready = eng.candidate.startup_times(rng, (n, fleet)).max(axis=1)
        eng.startup_s[:] = t_ready
        an = Analysis(judge, eng) if judge is not None else None
        started = np.zeros(n, dtype=bool)
        t = 0.0
        while eng.live.any() and t < self.horizon_s():
            go = eng.live & ~started & (t >= t_ready - 1e-9)
            if go.any() and an is not None:
                an.start(go, t)
            started |= go
            counts = eng.step(
                t,
                w=np.zeros(n),
                ready=np.full(n, float(self.replicas)),
                pods=np.full(n, float(self.replicas + fleet)),
                cand_pods=np.zeros(n),
                mirror=np.where(started, m, 0.0),
                shadow_pods=float(fleet),
            )
            t += dt
            eng.analysis_s[eng.live & started] += dt
            if an is not None:
                an.add(counts, t)
                bad = eng.live & (an.state == FAIL)
                eng.rollback(bad, t)
                eng.finish(bad, t, ROLLED_BACK)
            done = eng.live & started & (t >= t_ready + self.duration_s - 1e-9)
            eng.t_full[done] = t
            eng.finish(done, t, PROMOTED)
        self._columns(eng)

    def _columns(self, eng: Engine) -> None:
        nm, nb = eng.mirrored.astype(float), eng.base_requests.astype(float)
        c, b, rng = eng.candidate, eng.baseline, eng.rng
        eng.columns["shadow_requests"] = eng.mirrored.copy()
        eng.columns["agreement"] = np.divide(
            nm - eng.disagreements, nm, out=np.full(eng.n, np.nan), where=nm > 0
        )
        rate_c = np.divide(
            eng.mirror_errors, nm, out=np.full(eng.n, np.nan), where=nm > 0
        )
        rate_b = np.divide(
            eng.base_errors, nb, out=np.full(eng.n, np.nan), where=nb > 0
        )
        eng.columns["error_delta"] = rate_c - rate_b
        z99, phi99 = (
            2.3263478740408408,
            math.exp(-(2.3263478740408408**2) / 2) / math.sqrt(2 * math.pi),
        )
        for name, z, phi, q in (
            ("latency_p50_delta_ms", 0.0, _PHI0, 0.5),
            ("latency_p99_delta_ms", z99, phi99, 0.99),
        ):

            def est(
                beh: ModelBehavior, k: Arr, z: float = z, phi: float = phi, q: float = q
            ) -> Arr:
                sig = float(beh.latency_sigma)
                med = float(beh.latency_median_ms)
                sd = sig * math.sqrt(q * (1 - q)) / phi / np.sqrt(np.maximum(k, 1))
                return med * np.exp(sig * z + sd * rng.standard_normal(eng.n))

            eng.columns[name] = np.where(nm > 0, est(c, nm) - est(b, nb), np.nan)
