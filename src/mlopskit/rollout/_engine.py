"""The vectorised data plane shared by every strategy.

One :class:`Engine` holds, for ``n_runs`` Monte-Carlo replications at once, the
accumulators of every per-run metric. A strategy's controller (a small vectorised
state machine, one module per strategy) calls :meth:`Engine.step` once per tick with
the traffic split it chose; the engine draws the tick's requests as Poisson counts,
splits them between versions with binomial draws, draws errors and (label-delayed)
quality outcomes, and returns the counts the judge accumulates.

What does *not* belong here: any strategy's control logic, any judge's statistics,
the result table (``_simulate``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlopskit.rollout._behavior import ModelBehavior
from mlopskit.rollout._traffic import Traffic

__all__: list[str] = []

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Mask = NDArray[np.bool_]

#: Keys of the per-tick counts handed to judges: n/x of candidate (c) and control
#: (b) for errors, conversions (``cv_``) and accuracy labels (``ac_``).
COUNT_KEYS = (
    "nc",
    "ec",
    "nb",
    "eb",
    "cv_nc",
    "cv_xc",
    "cv_nb",
    "cv_xb",
    "ac_nc",
    "ac_xc",
    "ac_nb",
    "ac_xb",
)

# Per-run outcome codes.
PROGRESSING, PROMOTED, ROLLED_BACK, ENDED = 0, 1, 2, 3


@dataclass
class _Delay:
    """Label-delay line: outcomes enter now and are revealed ``lag`` ticks later."""

    lag: int
    queue: deque[tuple[I64, I64]] = field(default_factory=deque)

    def push(self, n: I64, x: I64) -> tuple[I64, I64]:
        self.queue.append((n, x))
        if len(self.queue) > self.lag:
            return self.queue.popleft()
        zero = np.zeros_like(n)
        return zero, zero


#: Above this mean, a count of *successful* requests is drawn from the normal
#: approximation to the Poisson (skewness 1/sqrt(mean) ≤ 0.1; these counts only
#: enter as denominators) — ten times faster than numpy's exact sampler. Error
#: counts, which the judges test, are always exact Poisson draws.
NORMAL_ABOVE = 100.0


def _poisson(rng: np.random.Generator, means: F64) -> I64:
    big = means > NORMAL_ABOVE
    if not big.any():
        return rng.poisson(means).astype(np.int64)
    out = np.empty(means.shape, dtype=np.int64)
    small = ~big
    out[small] = rng.poisson(means[small])
    m = means[big]
    out[big] = np.rint(m + np.sqrt(m) * rng.standard_normal(m.size)).astype(np.int64)
    return out


class Engine:
    """Data-plane accumulators and per-run bookkeeping for ``n_runs`` replications."""

    def __init__(
        self,
        *,
        baseline: ModelBehavior,
        candidate: ModelBehavior,
        traffic: Traffic,
        replicas: int,
        n_runs: int,
        rng: np.random.Generator,
        tick_s: float,
    ) -> None:
        self.baseline = baseline
        self.candidate = candidate
        self.traffic = traffic
        self.replicas = replicas
        self.n = n_runs
        self.rng = rng
        self.dt = tick_s
        n = n_runs
        z = np.zeros
        self.live: Mask = np.ones(n, dtype=bool)
        self.status = np.zeros(n, dtype=np.int8)
        # safety
        self.cand_requests: I64 = z(n, dtype=np.int64)
        self.cand_errors: I64 = z(n, dtype=np.int64)
        self.excess_errors: F64 = z(n)
        self.peak_share: F64 = z(n)
        # availability
        self.dropped: I64 = z(n, dtype=np.int64)
        self.downtime_s: F64 = z(n)
        self.deficit_s: F64 = z(n)
        # cost
        self.extra_pod_s: F64 = z(n)
        self.peak_pods: F64 = z(n)
        self.min_ready: F64 = np.full(n, np.inf)
        self.shadow_pod_s: F64 = z(n)
        # shadow
        self.mirrored: I64 = z(n, dtype=np.int64)
        self.mirror_errors: I64 = z(n, dtype=np.int64)
        self.base_requests: I64 = z(n, dtype=np.int64)
        self.base_errors: I64 = z(n, dtype=np.int64)
        self.disagreements: I64 = z(n, dtype=np.int64)
        # quality totals (for A/B effect estimates and regret)
        self.q_c: I64 = z(n, dtype=np.int64)
        self.q_nc: I64 = z(n, dtype=np.int64)
        self.q_b: I64 = z(n, dtype=np.int64)
        self.q_nb: I64 = z(n, dtype=np.int64)
        self.regret: F64 = z(n)
        # times (NaN = never happened)
        nan = np.full
        self.t_first: F64 = nan(n, np.nan)  # candidate first serves (users or mirror)
        self.t_detect: F64 = nan(n, np.nan)
        self.t_recover: F64 = nan(n, np.nan)
        self.t_full: F64 = nan(n, np.nan)
        self.t_end: F64 = nan(n, np.nan)
        # speed breakdown
        self.startup_s: F64 = z(n)
        self.step_s: F64 = z(n)
        self.analysis_s: F64 = z(n)
        self.human_s: F64 = z(n)
        self._zero = np.zeros(n, dtype=np.int64)
        self._has_quality = any(
            getattr(candidate, a) is not None and getattr(baseline, a) is not None
            for a in ("conversion_rate", "accuracy")
        )
        self._no_quality = {
            f"{p}_{k}": self._zero
            for p in ("cv", "ac")
            for k in ("nc", "xc", "nb", "xb")
        }
        #: the judges' runtimes, for their result columns
        self.analyses: list[Any] = []
        #: per-tick trace of run 0 (a :class:`~mlopskit.rollout.Timeline`)
        self.record = False
        self.rows: list[dict[str, Any]] = []
        #: the controller's phase per run (an index into ``phase_names``)
        self.phase: NDArray[np.integer[Any]] = np.zeros(n, dtype=np.int8)
        self.phase_names: tuple[str, ...] = ("Progressing",)
        self.final_names = {
            PROMOTED: "Healthy",
            ROLLED_BACK: "Degraded",
            ENDED: "Ended",
        }
        self._note: dict[str, Any] = {}
        #: strategy-specific columns of the result table
        self.columns: dict[str, NDArray[np.generic]] = {}
        lag = int(np.ceil(candidate.label_delay_s / tick_s - 1e-9))
        lag_b = int(np.ceil(baseline.label_delay_s / tick_s - 1e-9))
        self._delays = {
            key: _Delay(lag if key[-1] == "c" else lag_b)
            for key in ("cv_c", "cv_b", "ac_c", "ac_b")
        }
        self._pb_steady = float(
            np.asarray(
                baseline.error_probability(np.full(1, 1e18), np.zeros(1))
            ).ravel()[0]
        )

    # -- the data plane ------------------------------------------------------------

    def step(
        self,
        t: float,
        *,
        w: F64,
        ready: F64,
        pods: F64,
        cand_pods: F64 | None = None,
        mirror: F64 | float = 0.0,
        historical: Mask | bool = False,
        shadow_pods: F64 | float = 0.0,
        lost: F64 | float = 0.0,
    ) -> dict[str, I64]:
        """Simulate one tick ``[t, t + dt)`` for every live replication.

        ``w`` is the candidate's share of served user traffic, ``ready`` the ready
        serving pods (0 means downtime), ``pods`` every running pod (cost),
        ``mirror`` the share of user requests copied to the candidate (shadow), and
        ``historical`` marks runs whose judge, lacking concurrent baseline traffic,
        compares against a historical baseline sample of the candidate's size.
        """
        rng, dt, live = self.rng, self.dt, self.live
        lam = self.traffic.rate_at(t) * dt
        w = np.clip(w, 0.0, 1.0)
        # Poisson arrivals thinned by version and by outcome are independent
        # Poisson counts: one vectorised draw gives every tick's counts exactly.
        keep = np.where(live & (ready > 0), 1.0, 0.0)
        if np.any(np.asarray(lost) > 0):  # routed to endpoints already gone
            keep = keep * (1.0 - np.clip(lost, 0.0, 1.0))
        lam_c = lam * keep * w
        lam_b = lam * keep - lam_c
        if cand_pods is None:
            cand_pods = np.where(w > 0, np.maximum(np.round(ready * w), 1.0), 0.0)
        if self.candidate.regression == "immediate":
            pc: F64 | float = self.candidate.error_rate
        else:  # per-pod load is the offered rate (requests per second per pod)
            since = t - np.where(np.isnan(self.t_first), t, self.t_first)
            load_c = np.divide(
                lam_c / dt, cand_pods, out=np.zeros(self.n), where=cand_pods > 0
            )
            pc = self.candidate.error_probability(since, load_c)
        if self.baseline.regression == "under_load":
            base_pods = ready - cand_pods
            load_b = np.divide(
                lam_b / dt, base_pods, out=np.zeros(self.n), where=base_pods > 0
            )
            pb: F64 | float = self.baseline.error_probability(
                np.full(self.n, 1e18), load_b
            )
        else:
            pb = self._pb_steady
        means = np.empty((5, self.n))
        means[0] = lam_c * pc
        means[1] = lam_c - means[0]
        means[2] = lam_b * pb
        means[3] = lam_b - means[2]
        means[4] = np.where(live, lam, 0.0) - lam_c - lam_b
        means = np.maximum(means, 0.0)
        draws = np.empty(means.shape, dtype=np.int64)
        draws[0::2] = rng.poisson(means[0::2])  # errors (and drops): exact
        draws[1::2] = _poisson(rng, means[1::2])  # successful requests
        ec, eb, dropped = draws[0], draws[2], draws[4]
        nc, nb = ec + draws[1], eb + draws[3]
        if (
            self.candidate.capacity_rps is not None
            or self.baseline.capacity_rps is not None
        ):
            # overload: requests beyond capacity are rejected (HTTP 503) — counted
            # as dropped and as errors of the overloaded version, which judges see
            nc2, nb2 = self._cap(nc, nb, cand_pods, ready - cand_pods)
            kept_c = np.divide(nc2, nc, out=np.ones(self.n), where=nc > 0)
            kept_b = np.divide(nb2, nb, out=np.ones(self.n), where=nb > 0)
            ec = rng.binomial(ec, kept_c).astype(np.int64) + (nc - nc2)
            eb = rng.binomial(eb, kept_b).astype(np.int64) + (nb - nb2)
            dropped = dropped + (nc - nc2) + (nb - nb2)
        # mirrored (shadow) requests: copies of baseline-served requests
        if np.any(np.asarray(mirror) > 0):
            nm = rng.binomial(nb, np.clip(mirror, 0.0, 1.0)).astype(np.int64)
            em = rng.binomial(nm, pc).astype(np.int64)
            self.mirrored += nm
            self.mirror_errors += em
            if self.candidate.disagreement_rate > 0:
                self.disagreements += rng.binomial(nm, self.candidate.disagreement_rate)
        else:
            nm = em = np.zeros(self.n, dtype=np.int64)
        # judge's control sample: concurrent baseline, else a historical one
        hist = np.asarray(historical) & (nb == 0) & (nc > 0)
        if np.any(hist):
            nb_ctrl = np.where(hist, nc, nb)
            eb_ctrl = np.where(hist, rng.binomial(nc, self._pb_steady), eb)
        else:
            nb_ctrl, eb_ctrl = nb, eb
        counts = {"nc": nc + nm, "ec": ec + em, "nb": nb_ctrl, "eb": eb_ctrl}
        counts.update(self._quality(nc, nm, nb_ctrl))
        if self.record and live[0]:
            self._trace(t, w, ready, pods, cand_pods, nc, ec, nm)
        self._account(t, w, ready, pods, nc, ec, nb, eb, nm, dropped, shadow_pods)
        return counts

    def note(self, **fields: Any) -> None:
        """Controller state for the next :meth:`step`'s Timeline row (run 0):
        ``desired_stable``, ``desired_canary``, ``ready_stable``, ``ready_canary``,
        ``set_weight`` (percent), ``step`` (Argo step index) — arrays or scalars."""
        if self.record:
            self._note = fields

    def _trace(
        self,
        t: float,
        w: F64,
        ready: F64,
        pods: F64,
        cand: F64,
        nc: I64,
        ec: I64,
        nm: I64,
    ) -> None:
        def first(v: Any) -> float:
            a = np.asarray(v, dtype=float)
            return float(a.ravel()[0]) if a.ndim else float(a)

        note = self._note
        ready_c = first(note.get("ready_canary", cand))
        ready_s = first(note.get("ready_stable", first(ready) - first(cand)))
        row: dict[str, Any] = {
            "t_s": float(t),
            "phase": self.phase_names[int(self.phase[0])],
            "step": first(note.get("step", np.nan)),
            "set_weight": first(note.get("set_weight", np.nan)),
            "desired_stable": first(note.get("desired_stable", ready_s)),
            "desired_canary": first(note.get("desired_canary", ready_c)),
            "ready_stable": ready_s,
            "ready_canary": ready_c,
            "pods": first(pods),
            "canary_share": first(w),
            "canary_requests": int(nc[0] + nm[0]),
            "canary_errors": int(ec[0]),
            "analysis": "",
            "measurements": 0,
        }
        if self.analyses:
            an = self.analyses[0]
            names = {
                0: "Running",
                1: "Successful",
                2: "Failed",
                3: "Inconclusive",
                4: "Successful",
            }
            row["analysis"] = names[int(an.state[0])] if an.active[0] else ""
            row["measurements"] = int(an.taken[0])
        self.rows.append(row)

    def _cap(self, nc: I64, nb: I64, pods_c: F64, pods_b: F64) -> tuple[I64, I64]:
        """Drop what exceeds a version's capacity (``capacity_rps`` per pod)."""
        if self.candidate.capacity_rps is not None:
            cap = np.floor(pods_c * self.candidate.capacity_rps * self.dt)
            nc = np.minimum(nc, cap.astype(np.int64))
        if self.baseline.capacity_rps is not None:
            cap = np.floor(np.maximum(pods_b, 0) * self.baseline.capacity_rps * self.dt)
            nb = np.minimum(nb, cap.astype(np.int64))
        return nc, nb

    def _quality(self, nc: I64, nm: I64, nb: I64) -> dict[str, I64]:
        out: dict[str, I64] = {}
        zero = self._zero
        if not self._has_quality:
            return self._no_quality
        for prefix, attr in (("cv", "conversion_rate"), ("ac", "accuracy")):
            qc = getattr(self.candidate, attr)
            qb = getattr(self.baseline, attr)
            if qc is None or qb is None:
                out.update({f"{prefix}_{k}": zero for k in ("nc", "xc", "nb", "xb")})
                continue
            # conversions need a served response; correctness labels exist for
            # mirrored requests too
            n_c = nc if prefix == "cv" else nc + nm
            x_c = self.rng.binomial(n_c, qc).astype(np.int64)
            x_b = self.rng.binomial(nb, qb).astype(np.int64)
            if prefix == "cv" or self.candidate.conversion_rate is None:
                self.q_c += x_c
                self.q_nc += n_c
                self.q_b += x_b
                self.q_nb += nb
                best = max(qc, qb)
                self.regret += nc * (best - qc) + nb * (best - qb)
            lc, rc = self._delays[f"{prefix}_c"].push(n_c, x_c)
            lb, rb = self._delays[f"{prefix}_b"].push(nb, x_b)
            out.update(
                {
                    f"{prefix}_nc": lc,
                    f"{prefix}_xc": rc,
                    f"{prefix}_nb": lb,
                    f"{prefix}_xb": rb,
                }
            )
        return out

    def _account(
        self,
        t: float,
        w: F64,
        ready: F64,
        pods: F64,
        nc: I64,
        ec: I64,
        nb: I64,
        eb: I64,
        nm: I64,
        dropped: I64,
        shadow_pods: F64 | float,
    ) -> None:
        live, dt = self.live, self.dt
        first = live & np.isnan(self.t_first) & ((nc > 0) | (nm > 0) | (w > 0))
        self.t_first[first] = t
        self.cand_requests += nc
        self.cand_errors += ec
        self.excess_errors += ec - nc * self._pb_steady
        self.base_requests += nb
        self.base_errors += eb
        self.dropped += dropped
        self.peak_share = np.where(
            live & (ready > 0), np.maximum(self.peak_share, w), self.peak_share
        )
        self.downtime_s += dt * (live & (ready <= 0))
        self.deficit_s += dt * (live & (ready < self.replicas))
        self.extra_pod_s += dt * live * np.maximum(pods - self.replicas, 0.0)
        self.peak_pods = np.where(
            live, np.maximum(self.peak_pods, pods), self.peak_pods
        )
        self.shadow_pod_s += dt * live * shadow_pods
        self.min_ready = np.where(
            live, np.minimum(self.min_ready, ready), self.min_ready
        )

    # -- control-plane helpers -----------------------------------------------------

    def finish(self, mask: Mask, t: float, status: int) -> None:
        """Mark replications in ``mask`` as finished at ``t`` with ``status``."""
        mask = mask & self.live
        self.status[mask] = status
        self.t_end[mask] = t
        self.live[mask] = False
        if self.record and mask[0] and self.rows:
            row = dict(self.rows[-1])
            row.update(
                t_s=float(t),
                phase=self.final_names.get(status, "Ended"),
                canary_share=1.0 if status == PROMOTED else 0.0,
                canary_requests=0,
                canary_errors=0,
            )
            self.rows.append(row)

    def rollback(
        self, mask: Mask, t: float, *, recover_after: F64 | float = 0.0
    ) -> None:
        """Record a rollback decision at ``t``; traffic is off the candidate after
        ``recover_after`` more seconds (the run keeps simulating until then if the
        controller does so)."""
        sel = mask & self.live
        after = np.asarray(recover_after, dtype=float)
        if after.ndim and after.size == self.n:
            after = after[sel]
        elif after.ndim:  # one value per run in ``mask``
            after = after[sel[mask]]
        self.t_detect[sel] = t
        self.t_recover[sel] = t + after
