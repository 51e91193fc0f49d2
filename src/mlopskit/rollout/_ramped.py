"""Kubernetes' rolling update: :class:`Ramped`.

The control plane is event-driven per replication (pods become ready at random
times; the Deployment controller reacts), the data plane is vectorised per tick.

What does *not* belong here: traffic-weighted canaries (``_canary``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlopskit.rollout._base import (
    FAIL,
    check_number,
    fail,
    parse_count,
    percent_value,
    resolve_fenceposts,
)
from mlopskit.rollout._engine import PROMOTED, ROLLED_BACK, Engine
from mlopskit.rollout._judge import Analysis, Judge
from mlopskit.rollout._strategy import Strategy

Arr = NDArray[Any]

__all__ = ["Ramped"]


@dataclass(frozen=True, kw_only=True)
class Ramped(Strategy):
    """Kubernetes ``RollingUpdate``: replace pods a few at a time.

    ``max_surge`` (default ``"25%"``, rounded **up**) extra pods may exist, and
    ``max_unavailable`` (``"25%"``, rounded **down**) pods may be missing: with 10
    replicas, between 8 available and 13 total pods. When both resolve to 0
    (``"0%"`` and ``"10%"`` of 5 replicas) ``max_unavailable`` becomes 1, as in
    Kubernetes' ``ResolveFenceposts`` (kubernetes
    ``pkg/controller/deployment/util/deployment_util.go``, commit 277391ee);
    only the literal pair 0 / 0 and a ``max_unavailable`` above 100 % are refused
    (``ValidateRollingUpdateDeployment``, ``pkg/apis/apps/validation``). A new pod counts as available
    ``min_ready_seconds`` after it is ready. Traffic follows the ready pods (a
    Service balances across endpoints), so the candidate's share grows with the
    ramp. With a judge (tooling around a Deployment — plain Deployments have no
    analysis), it watches from the first new pod until ``bake_s`` after the ramp; a
    failure triggers ``kubectl rollout undo``, a rolling update back.

    Parameters
    ----------
    max_surge, max_unavailable
        Integers or percentage strings (Kubernetes' intOrString).
    min_ready_seconds
        ``minReadySeconds`` (default 0).
    progress_deadline_seconds
        ``progressDeadlineSeconds`` (600): a ramp slower than this is flagged in
        the ``deadline_exceeded`` column (Deployments do not roll back on it).
    bake_s
        Post-ramp watch window when a judge is given.
    replicas, human_response_s
        See :class:`Strategy`.

    Examples
    --------
    >>> Ramped(replicas=10).bounds()
    (8, 13)
    >>> Ramped(replicas=1).bounds()
    (1, 2)
    """

    max_surge: int | str = "25%"
    max_unavailable: int | str = "25%"
    min_ready_seconds: float = 0.0
    progress_deadline_seconds: float = 600.0
    bake_s: float = 600.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number("min_ready_seconds", self.min_ready_seconds, low=0)
        check_number(
            "progress_deadline_seconds",
            self.progress_deadline_seconds,
            low=0,
            low_open=True,
        )
        check_number("bake_s", self.bake_s, low=0)
        for name in ("max_surge", "max_unavailable"):
            value = getattr(self, name)
            parse_count(
                name,
                value,
                self.replicas,
                round_up=name == "max_surge",
                max_percent=100 if name == "max_unavailable" else None,
            )
        # Kubernetes' ValidateRollingUpdateDeployment refuses the *literal* values
        # 0 and 0 (pkg/apis/apps/validation/validation.go); values that merely
        # resolve to 0 are fine (ResolveFenceposts then sets maxUnavailable to 1).
        if (
            percent_value(self.max_surge) == 0
            and percent_value(self.max_unavailable) == 0
        ):
            raise fail(
                "max_unavailable",
                self.max_unavailable,
                "non-zero when max_surge is 0",
                "Kubernetes refuses a rolling update that can neither add nor remove "
                'a pod ("may not be 0 when `maxSurge` is 0"); set max_surge=1 or '
                "max_unavailable=1.",
            )

    def _surge_unavailable(self) -> tuple[int, int]:
        return resolve_fenceposts(self.max_surge, self.max_unavailable, self.replicas)

    def bounds(self) -> tuple[int, int]:
        """(minimum available pods, maximum total pods) during the update."""
        s, u = self._surge_unavailable()
        return self.replicas - u, self.replicas + s

    def timeline(
        self,
        ready_times: Arr,
        start: float = 0.0,
        have_new: int = 0,
        have_old: int | None = None,
    ) -> Arr:
        """Events ``(time, old_available, new_available, total_pods)`` of one update.

        ``ready_times`` are the start-up durations of the pods the update may create;
        ``have_new``/``have_old`` are pods already available at ``start``.
        """
        R = self.replicas
        surge, unavail = self._surge_unavailable()
        old = R - have_new if have_old is None else have_old
        pending: list[
            float
        ] = []  # availability times of created, not yet available pods
        new_av, made, t = have_new, 0, start
        events = []
        for _ in range(20 * R + 100):  # each pass creates, kills or advances time
            new_av += sum(1 for p in pending if p <= t + 1e-9)
            pending = [p for p in pending if p > t + 1e-9]
            create = max(
                0,
                min(
                    R - new_av - len(pending), R + surge - (old + new_av + len(pending))
                ),
            )
            create = min(create, len(ready_times) - made)
            pending += [
                t + float(d) + self.min_ready_seconds
                for d in ready_times[made : made + create]
            ]
            made += create
            events.append((t, old, new_av, old + new_av + len(pending)))
            kill = max(0, min(old, old + new_av - (R - unavail)))
            old -= kill
            events.append((t, old, new_av, old + new_av + len(pending)))
            if new_av >= R and old == 0:
                return np.array(events, dtype=float)
            if not pending:  # nothing left to wait for: kill the rest (surge 0 case)
                if old > 0 and kill == 0 and made >= len(ready_times):
                    old = 0
                    continue
                if not pending and made >= len(ready_times):
                    return np.array(events, dtype=float)
            t = min(pending) if pending else t
        raise RuntimeError(  # pragma: no cover - a controller bug, not bad input
            f"rolling update did not converge: {events[-3:]}"
        )

    def _run(self, eng: Engine, judge: Judge | None) -> None:
        n, dt, rng, R = eng.n, eng.dt, eng.rng, self.replicas
        starts = eng.candidate.startup_times(rng, (n, R))
        lines = [self.timeline(starts[i]) for i in range(n)]
        # columns: time, baseline available, candidate available, pods
        tl = _pad(
            [np.column_stack([e[:, 0], e[:, 1], e[:, 2], e[:, 3]]) for e in lines]
        )
        t_done = np.array([e[-1, 0] for e in lines])
        eng.startup_s[:] = [
            e[np.argmax(e[:, 2] > 0), 0] if (e[:, 2] > 0).any() else 0 for e in lines
        ]
        eng.step_s[:] = t_done - eng.startup_s
        eng.columns["deadline_exceeded"] = t_done > self.progress_deadline_seconds
        an = Analysis(judge, eng) if judge is not None else None
        started = np.zeros(n, dtype=bool)
        back = np.zeros(n, dtype=bool)
        back_done = np.full(n, np.inf)
        t = 0.0
        while eng.live.any() and t < self.horizon_s():
            k = (tl[:, :, 0] <= t + 1e-9).sum(axis=1) - 1
            row = tl[np.arange(n), np.maximum(k, 0)]
            base, cand, pods = row[:, 1], row[:, 2], row[:, 3]
            ready = base + cand
            w = np.divide(cand, ready, out=np.zeros(n), where=ready > 0)
            if an is not None:
                go = eng.live & ~started & (cand > 0)
                if go.any():
                    an.start(go, t)
                    started |= go
            counts = eng.step(
                t, w=w, ready=ready, pods=pods, cand_pods=cand, historical=True
            )
            t += dt
            done = eng.live & ~back & (t >= t_done - 1e-9)
            eng.t_full[done & np.isnan(eng.t_full)] = t_done[
                done & np.isnan(eng.t_full)
            ]
            if an is None:
                eng.finish(done, t, PROMOTED)
                continue
            an.add(counts, t)
            bad = eng.live & ~back & (an.state == FAIL)
            for i in np.flatnonzero(bad):
                undo = self.timeline(
                    eng.baseline.startup_times(rng, (R,)),
                    start=t,
                    have_new=int(base[i]),
                    have_old=int(cand[i]),
                )
                # swap roles: in the undo, "old" is the candidate
                ev = np.column_stack([undo[:, 0], undo[:, 2], undo[:, 1], undo[:, 3]])
                keep = tl[i][tl[i][:, 0] < t]
                tl = _replace(tl, int(i), np.vstack([keep, ev]))
                back_done[i] = undo[-1, 0]
                gone = undo[undo[:, 1] == 0, 0]
                eng.rollback(
                    bad & (np.arange(n) == i),
                    t,
                    recover_after=(gone[0] if gone.size else t) - t,
                )
            back |= bad
            an.stop(bad)
            eng.finish(back & (t >= back_done - 1e-9), t, ROLLED_BACK)
            eng.finish(done & ~back & (t >= t_done + self.bake_s - 1e-9), t, PROMOTED)


def _pad(lines: list[Arr]) -> Arr:
    width = max(len(e) for e in lines)
    out = np.empty((len(lines), width, lines[0].shape[1]))
    for i, e in enumerate(lines):
        out[i, : len(e)] = e
        out[i, len(e) :] = e[-1]
        out[i, len(e) :, 0] = np.inf
    return out


def _replace(tl: Arr, i: int, line: Arr) -> Arr:
    if len(line) > tl.shape[1]:
        extra = np.repeat(tl[:, -1:, :], len(line) - tl.shape[1], axis=1)
        tl = np.concatenate([tl, extra], axis=1)
    tl[i, : len(line)] = line
    tl[i, len(line) :] = line[-1]
    tl[i, len(line) :, 0] = np.inf
    return tl
