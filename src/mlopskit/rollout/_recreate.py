"""Stop everything, then start the new version: :class:`Recreate`.

What does *not* belong here: rolling updates (``_ramped``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlopskit.rollout._base import FAIL, check_number
from mlopskit.rollout._engine import PROMOTED, ROLLED_BACK, Engine
from mlopskit.rollout._judge import Analysis, Judge
from mlopskit.rollout._strategy import Strategy

__all__ = ["Recreate"]


@dataclass(frozen=True, kw_only=True)
class Recreate(Strategy):
    """Kubernetes ``strategy.type: Recreate``: kill all old pods, then create new ones.

    Old pods leave the Service at once and take ``termination_grace_period_s`` to
    terminate; only then are the new pods created, each ready after its start-up
    time (:class:`ModelBehavior` ``startup_*``). Downtime is therefore about
    termination + the fastest start-up, and the fleet is at full strength after the
    slowest. With a judge, the new version is watched for ``bake_s`` after it is
    fully up (a post-deploy alarm window); it has no concurrent baseline, so the
    judge compares against a historical baseline sample. A rollback recreates the
    old version — a second outage.

    Parameters
    ----------
    termination_grace_period_s
        ``terminationGracePeriodSeconds`` (default 30).
    bake_s
        Post-deploy watch window when a judge is given.
    replicas, human_response_s
        See :class:`Strategy`.

    Examples
    --------
    >>> from mlopskit.rollout import ModelBehavior, Traffic, simulate
    >>> res = simulate(Recreate(), baseline=ModelBehavior(), traffic=Traffic(rps=100),
    ...                candidate=ModelBehavior(schedule_s=0, image_pull_s=10, model_load_s=50,
    ...                                        startup_sigma=0, readiness_period_s=0),
    ...                n_runs=5, random_state=0)
    >>> float(res.runs["downtime_s"].mean())
    90.0
    """

    termination_grace_period_s: float = 30.0
    bake_s: float = 600.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number(
            "termination_grace_period_s", self.termination_grace_period_s, low=0
        )
        check_number("bake_s", self.bake_s, low=0)

    def _run(self, eng: Engine, judge: Judge | None) -> None:
        n, dt, rng, R = eng.n, eng.dt, eng.rng, self.replicas
        grace = self.termination_grace_period_s
        new_ready = grace + eng.candidate.startup_times(rng, (n, R))
        t_full = new_ready.max(axis=1)
        eng.startup_s[:] = t_full
        old_ready = np.full((n, R), np.inf)  # baseline pods after a rollback
        back = np.zeros(n, dtype=bool)
        an = Analysis(judge, eng) if judge is not None else None
        started = np.zeros(n, dtype=bool)
        t = 0.0
        while eng.live.any() and t < self.horizon_s():
            n_new = np.where(back, 0, (new_ready <= t).sum(axis=1)).astype(float)
            n_old = (old_ready <= t).sum(axis=1).astype(float)
            w = np.where(n_new > 0, 1.0, 0.0)
            if an is not None:
                go = eng.live & ~started & (n_new > 0)
                if go.any():
                    an.start(go, t)
                    started |= go
            counts = eng.step(
                t,
                w=w,
                ready=n_new + n_old,
                pods=np.full(n, float(R)),
                cand_pods=n_new,
                historical=True,
            )
            t += dt
            full = eng.live & ~back & (t >= t_full - 1e-9)
            eng.t_full[full & np.isnan(eng.t_full)] = t_full[
                full & np.isnan(eng.t_full)
            ]
            if an is None:
                eng.finish(full, t, PROMOTED)
                continue
            an.add(counts, t)
            bad = eng.live & ~back & (an.state == FAIL)
            if bad.any():
                # recreate again: terminate the candidate, start the baseline
                restart = (
                    t + grace + eng.baseline.startup_times(rng, (int(bad.sum()), R))
                )
                old_ready[bad] = restart
                eng.rollback(bad, t, recover_after=restart.min(axis=1) - t)
                back |= bad
                an.stop(bad)
            eng.finish(back & (old_ready.max(axis=1) <= t), t, ROLLED_BACK)
            eng.finish(full & ~back & (t >= t_full + self.bake_s - 1e-9), t, PROMOTED)
