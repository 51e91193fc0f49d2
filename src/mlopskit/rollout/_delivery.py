"""Push (CI applies) vs pull (GitOps agent reconciles) delivery: :func:`simulate_delivery`.

What does *not* belong here: the rollout strategy that runs after the apply.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from mlopskit._results import Frame, Result
from mlopskit.rollout._base import as_generator, check_choice, check_number

Arr = NDArray[Any]

__all__ = ["DeliveryResult", "simulate_delivery"]

_PULL_DEFAULTS = {"argocd": (120.0, 60.0), "flux": (60.0, 0.0)}


class DeliveryResult(Result):
    """What :func:`simulate_delivery` returns.

    Attributes
    ----------
    mode, tool
        ``"push"`` or ``"pull"``; the pull agent mirrored (``"argocd"``/``"flux"``).
    runs
        One row per replication: ``commit_to_running_s`` (commit to the new spec
        applied), ``failed_attempts``, ``partial_apply_s`` (time the cluster spent
        half-applied), ``recovered_by`` (``"none"``, ``"retry"``, ``"human"``,
        ``"atomic_rollback"``), ``drift_events`` and ``drift_exposure_s`` (seconds an
        out-of-band change stayed live), ``credentials_in_ci``.
    summary
        Mean and quantiles of each numeric column.

    Examples
    --------
    >>> res = simulate_delivery("pull", tool="flux", n_runs=100, random_state=0)
    >>> res.mode, res.tool, len(res.runs)
    ('pull', 'flux', 100)
    """

    mode: str
    tool: str
    runs: Frame
    summary: Frame


def _lags(
    mode: str, n: int, rng: np.random.Generator, p: dict[str, Any]
) -> dict[str, Arr]:
    fail = rng.random(n) < p["apply_failure"]
    attempts = fail.astype(np.int64)
    partial = np.zeros(n)
    recovered = np.where(fail, "human", "none").astype(object)
    if mode == "push":
        queue = rng.exponential(p["ci_queue_s"], n)
        run = p["ci_run_s"] * np.exp(0.3 * rng.standard_normal(n))
        lag = queue + run + p["apply_s"]
        human = rng.exponential(p["human_response_s"], n)
        rerun = rng.exponential(p["ci_queue_s"], n) + p["ci_run_s"] + p["apply_s"]
        if p["atomic"]:
            # helm --atomic waits up to --timeout, then rolls the release back: the
            # cluster is never half-applied, but the change lands only after a re-run
            recovered[fail] = "atomic_rollback"
            lag = np.where(fail, lag + p["helm_timeout_s"] + human + rerun, lag)
        else:
            partial = np.where(fail, human + rerun, 0.0)
            lag = np.where(fail, lag + human + rerun, lag)
        return {
            "lag": lag,
            "attempts": attempts,
            "partial": partial,
            "recovered": recovered,
        }
    poll, jitter = p["poll_interval_s"], p["jitter_s"]
    wait = (
        rng.uniform(0, poll, n) + rng.uniform(0, jitter, n)
        if jitter > 0
        else rng.uniform(0, poll, n)
    )
    if p["webhook"]:
        wait = np.full(n, p["webhook_delay_s"])
    lag = wait + p["apply_s"]
    extra = np.zeros(n)
    still = fail.copy()
    backoff = p["retry_backoff_s"]
    for _ in range(p["retry_limit"]):
        if not still.any():
            break
        extra[still] += backoff + p["apply_s"]
        attempts[still] += 1
        ok = still & (rng.random(n) >= p["apply_failure"])
        recovered[ok] = "retry"
        still &= ~ok
        backoff = min(backoff * p["backoff_factor"], p["max_backoff_s"])
    attempts[fail] -= 1  # count failed attempts only
    attempts[still] += 1
    human = rng.exponential(p["human_response_s"], n)
    extra = np.where(still, extra + human + p["apply_s"], extra)
    return {
        "lag": lag + extra,
        "attempts": attempts,
        "partial": np.where(fail, extra, 0.0),
        "recovered": recovered,
    }


def _drift(
    mode: str, tool: str, n: int, rng: np.random.Generator, p: dict[str, Any]
) -> tuple[Arr, Arr]:
    events = rng.poisson(p["drift_rate_per_day"] * p["drift_horizon_s"] / 86400.0, n)
    total = int(events.sum())
    if mode == "pull" and tool == "flux":
        each = rng.uniform(
            0, p["poll_interval_s"], total
        )  # corrected at the next interval
    elif mode == "pull" and p["self_heal"]:
        each = rng.uniform(0, 5.0, total) + 2.0  # watch + self-heal backoff (2 s first)
    else:
        # nobody reconciles: drift lives until the next deploy overwrites it
        each = rng.exponential(p["deploy_interval_s"], total)
    each = np.minimum(each, p["drift_horizon_s"])
    owner = np.repeat(np.arange(n), events)
    return events, np.bincount(owner, weights=each, minlength=n)


def simulate_delivery(
    mode: str = "pull",
    *,
    tool: str = "argocd",
    n_runs: int = 1000,
    random_state: int | np.random.Generator | None = None,
    ci_queue_s: float = 30.0,
    ci_run_s: float = 180.0,
    apply_s: float = 10.0,
    apply_failure: float = 0.02,
    atomic: bool = False,
    helm_timeout_s: float = 300.0,
    poll_interval_s: float | None = None,
    jitter_s: float | None = None,
    webhook: bool = False,
    webhook_delay_s: float = 2.0,
    retry_limit: int = 0,
    retry_backoff_s: float = 5.0,
    backoff_factor: float = 2.0,
    max_backoff_s: float = 180.0,
    self_heal: bool = False,
    drift_rate_per_day: float = 1.0,
    drift_horizon_s: float = 86400.0,
    deploy_interval_s: float = 86400.0,
    human_response_s: float = 1800.0,
) -> DeliveryResult:
    """Simulate commit-to-running lag and failure modes of push or pull delivery.

    **Push** (CI runs ``kubectl``/``helm``): lag = CI queue (exponential,
    ``ci_queue_s``) + pipeline run (lognormal around ``ci_run_s``) + apply. A job
    dying mid-apply (``apply_failure``) leaves a partial apply that nothing
    converges until a human re-runs the pipeline; with ``atomic`` (``helm upgrade
    --atomic``) the release is rolled back after ``helm_timeout_s`` (5 m) instead.
    CI holds cluster credentials, and out-of-band drift lives until the next deploy.

    **Pull** (an in-cluster agent): lag = the wait for the next poll — Argo CD's
    ``timeout.reconciliation`` 120 s plus up to 60 s jitter, Flux's ``interval`` —
    or ``webhook_delay_s`` with a webhook, + apply. A failed sync is retried with
    exponential backoff (Argo CD ``retry.limit`` / ``backoff``: 5 s × 2ᵏ ≤ 3 m;
    Argo CD does not retry the same commit by default, ``retry_limit=0``), then
    waits for a human. Drift is corrected by ``selfHeal`` (Argo CD, off by default)
    or every interval (Flux always reconciles).

    Parameters
    ----------
    mode
        ``"push"`` or ``"pull"``.
    tool
        Pull agent defaults: ``"argocd"`` (120 s + 60 s jitter) or ``"flux"`` (60 s).
    n_runs, random_state
        Replications and seed.
    ci_queue_s, ci_run_s, apply_s, apply_failure, atomic, helm_timeout_s
        Push (and apply) parameters.
    poll_interval_s, jitter_s, webhook, webhook_delay_s
        Pull trigger; ``None`` takes the tool's default.
    retry_limit, retry_backoff_s, backoff_factor, max_backoff_s
        Sync retry policy.
    self_heal, drift_rate_per_day, drift_horizon_s, deploy_interval_s
        Drift model: out-of-band changes per day and how they are undone.
    human_response_s
        Mean time for a human to notice and act.

    Examples
    --------
    >>> push = simulate_delivery("push", n_runs=2000, random_state=0)
    >>> pull = simulate_delivery("pull", n_runs=2000, random_state=0)
    >>> bool(pull.runs["commit_to_running_s"].median() < push.runs["commit_to_running_s"].median())
    True
    >>> bool(push.runs["credentials_in_ci"].all()), bool(pull.runs["credentials_in_ci"].any())
    (True, False)
    """
    check_choice("mode", mode, ("push", "pull"))
    check_choice("tool", tool, tuple(_PULL_DEFAULTS))
    check_number("n_runs", n_runs, low=1, integer=True)
    for name, value in (
        ("ci_queue_s", ci_queue_s),
        ("ci_run_s", ci_run_s),
        ("apply_s", apply_s),
        ("helm_timeout_s", helm_timeout_s),
        ("webhook_delay_s", webhook_delay_s),
        ("retry_backoff_s", retry_backoff_s),
        ("max_backoff_s", max_backoff_s),
        ("drift_rate_per_day", drift_rate_per_day),
        ("human_response_s", human_response_s),
    ):
        check_number(name, value, low=0)
    for name, value in (
        ("drift_horizon_s", drift_horizon_s),
        ("deploy_interval_s", deploy_interval_s),
    ):
        check_number(name, value, low=0, low_open=True)
    check_number("apply_failure", apply_failure, low=0, high=1)
    check_number("retry_limit", retry_limit, low=0, integer=True)
    check_number("backoff_factor", backoff_factor, low=1)
    poll, jit = _PULL_DEFAULTS[tool]
    poll = poll if poll_interval_s is None else poll_interval_s
    jit = jit if jitter_s is None else jitter_s
    check_number("poll_interval_s", poll, low=0, low_open=True)
    check_number("jitter_s", jit, low=0)
    params = dict(locals())
    params.update(poll_interval_s=poll, jitter_s=jit)
    rng = as_generator(random_state)
    out = _lags(mode, n_runs, rng, params)
    events, exposure = _drift(mode, tool, n_runs, rng, params)
    runs = pd.DataFrame(
        {
            "commit_to_running_s": out["lag"],
            "failed_attempts": out["attempts"],
            "partial_apply_s": out["partial"],
            "recovered_by": pd.array(out["recovered"], dtype=object),
            "drift_events": events.astype(np.int64),
            "drift_exposure_s": exposure,
            "credentials_in_ci": np.full(n_runs, mode == "push"),
        }
    )
    from mlopskit.rollout._simulate import summarize

    return DeliveryResult(mode=mode, tool=tool, runs=runs, summary=summarize(runs))


def draw_lag(mode: str, n: int, rng: np.random.Generator) -> Arr:
    """Commit-to-running lags with :func:`simulate_delivery`'s defaults."""
    res = simulate_delivery(mode, n_runs=n, random_state=rng)
    return np.asarray(res.runs["commit_to_running_s"], dtype=float)
