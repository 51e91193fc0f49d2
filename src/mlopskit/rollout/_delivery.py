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
        half-applied), ``recovered_by`` (``"none"``, ``"retry"`` — by CI or the
        agent —, ``"human"``, ``"atomic_rollback"``, or ``"unrecovered"`` after 20
        human rounds), ``drift_events`` and ``drift_exposure_s`` (seconds an
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


#: Rounds of human re-runs simulated; a run still failing after them is
#: reported as ``recovered_by == "unrecovered"`` (probability apply_failure^20).
_HUMAN_ROUNDS = 20


def _until_success(
    fail_p: float, n: int, rng: np.random.Generator, rounds: int
) -> tuple[Arr, Arr]:
    """Failed attempts before the first success among ``rounds`` tries (the same
    per-attempt failure model everywhere), and whether a success came."""
    fails = rng.random((n, rounds)) < fail_p
    ok = ~fails
    first_ok = np.where(ok.any(axis=1), ok.argmax(axis=1), rounds)
    return first_ok.astype(np.int64), first_ok < rounds


def _push(n: int, rng: np.random.Generator, p: dict[str, Any]) -> dict[str, Arr]:
    """Push: each CI run queues, runs and applies; a failed apply is re-run by CI
    (``ci_retries``) and then by a human; ``atomic`` adds helm's wait and
    rollback, and leaves nothing half-applied."""

    def run_once(size: int) -> Arr:
        queue = rng.exponential(p["ci_queue_s"], size)
        run: Arr = float(p["ci_run_s"]) * np.exp(0.3 * rng.standard_normal(size))
        return queue + run + float(p["apply_s"])

    tries = p["ci_retries"] + 1 + _HUMAN_ROUNDS
    fails, ok = _until_success(p["apply_failure"], n, rng, tries)
    runs = np.stack([run_once(n) for _ in range(tries)], axis=1)
    done = np.arange(tries)[None, :] <= fails[:, None]
    cost = np.where(done, runs, 0.0)
    if p["atomic"]:  # helm --atomic: wait --timeout, roll the release back
        cost = cost + np.where(
            done & (np.arange(tries)[None, :] < fails[:, None]),
            p["helm_timeout_s"],
            0.0,
        )
    humans = np.clip(fails - p["ci_retries"], 0, None)
    waits = rng.exponential(p["human_response_s"], (n, _HUMAN_ROUNDS))
    human = np.where(np.arange(_HUMAN_ROUNDS)[None, :] < humans[:, None], waits, 0.0)
    lag = cost.sum(axis=1) + human.sum(axis=1)
    first = runs[:, 0]
    partial = np.where((fails > 0) & (not p["atomic"]), lag - first, 0.0)
    recovered = np.where(fails == 0, "none", np.where(humans > 0, "human", "retry"))
    recovered = np.where(ok, recovered, "unrecovered").astype(object)
    if p["atomic"]:
        recovered[(fails > 0) & ok] = "atomic_rollback"
    return {"lag": lag, "attempts": fails, "partial": partial, "recovered": recovered}


def _pull(
    tool: str, n: int, rng: np.random.Generator, p: dict[str, Any]
) -> dict[str, Arr]:
    """Pull: the agent notices the commit (poll or webhook), applies; a failed
    apply is retried by the agent's own rule, then by a human."""
    poll, jitter = p["poll_interval_s"], p["jitter_s"]
    cycle = poll + (rng.uniform(0, jitter, n) if jitter > 0 else 0.0)
    wait = rng.uniform(0, 1, n) * cycle
    if p["webhook"]:
        wait = np.full(n, p["webhook_delay_s"])
    limit = p["retry_limit"]
    if tool == "flux":
        # kustomize-controller: a failed reconciliation is requeued after
        # GetRetryInterval() (spec.retryInterval, else spec.interval), forever
        gaps = np.full(_HUMAN_ROUNDS * 5, p["retry_interval_s"])
    else:
        # Argo CD: with syncPolicy.retry, backoff duration·factor^k capped at
        # maxDuration (RetryStrategy.NextRetryAt); without it automated sync does
        # not reattempt a failed commit (auto_sync.md) and a human must sync
        k = np.arange(_HUMAN_ROUNDS * 5)
        gaps = np.minimum(
            p["retry_backoff_s"] * p["backoff_factor"] ** k.astype(float),
            p["max_backoff_s"],
        )
        if limit >= 0:
            gaps = gaps[:limit]
    auto = len(gaps)
    tries = auto + 1 + _HUMAN_ROUNDS
    fails, ok = _until_success(p["apply_failure"], n, rng, tries)
    retry_cost = np.concatenate([[0.0], np.cumsum(gaps + p["apply_s"])])
    auto_fails = np.minimum(fails, auto)
    humans = np.clip(fails - auto, 0, None)
    waits = rng.exponential(p["human_response_s"], (n, _HUMAN_ROUNDS))
    human = np.where(
        np.arange(_HUMAN_ROUNDS)[None, :] < humans[:, None], waits + p["apply_s"], 0.0
    ).sum(axis=1)
    extra = retry_cost[auto_fails] + human
    recovered = np.where(fails == 0, "none", np.where(humans > 0, "human", "retry"))
    recovered = np.where(ok, recovered, "unrecovered").astype(object)
    return {
        "lag": wait + p["apply_s"] + extra,
        "attempts": fails,
        "partial": np.where(fails > 0, extra, 0.0),
        "recovered": recovered,
    }


def _drift(
    mode: str, tool: str, n: int, rng: np.random.Generator, p: dict[str, Any]
) -> tuple[Arr, Arr]:
    events = rng.poisson(p["drift_rate_per_day"] * p["drift_horizon_s"] / 86400.0, n)
    total = int(events.sum())
    if mode == "pull" and tool == "flux":
        # kustomize-controller re-applies every spec.interval (jittered)
        each = rng.uniform(0, p["reconcile_interval_s"], total)
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
    ci_retries: int = 0,
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
    reconcile_interval_s: float = 600.0,
    retry_interval_s: float | None = None,
    self_heal: bool = False,
    drift_rate_per_day: float = 1.0,
    drift_horizon_s: float = 86400.0,
    deploy_interval_s: float = 86400.0,
    human_response_s: float = 1800.0,
) -> DeliveryResult:
    """Simulate commit-to-running lag and failure modes of push or pull delivery.

    Both modes share one failure model: every apply attempt fails independently
    with probability ``apply_failure`` and costs ``apply_s``; a human acts after an
    exponential ``human_response_s``. What differs is who notices the commit and
    who retries.

    **Push** (CI runs ``kubectl``/``helm``): lag = CI queue (exponential,
    ``ci_queue_s``) + pipeline run (lognormal around ``ci_run_s``) + apply. A
    failed job is re-run ``ci_retries`` times by CI (a ``retry:`` on the job),
    then by a human; until then the cluster is half-applied, unless ``atomic``
    (``helm upgrade --atomic``) waits ``helm_timeout_s`` (5 m) and rolls the
    release back. CI holds cluster credentials, and out-of-band drift lives until
    the next deploy.

    **Pull** (an in-cluster agent): lag = the wait for the agent to see the
    commit — a uniform point in its poll cycle, Argo CD's
    ``timeout.reconciliation`` 120 s plus up to 60 s jitter
    (``argocd_application_controller.go`` ``defaultAppResyncPeriod``,
    ``defaultAppResyncPeriodJitter``, argo-cd 37ee009), Flux's
    ``GitRepository.spec.interval`` (1 m here) — or ``webhook_delay_s`` with a
    webhook (Argo CD's Git webhook, a Flux ``Receiver``), + apply. A failed apply
    is retried by the agent: **Flux** requeues a failed reconciliation after
    ``retry_interval_s`` (``spec.retryInterval``; when unset the Kustomization's
    ``spec.interval``, ``reconcile_interval_s``), for ever
    (fluxcd/kustomize-controller 186fb3b, ``api/v1/kustomization_types.go``
    ``GetRetryInterval``, ``internal/controller/kustomization_controller.go``);
    **Argo CD** retries only with ``syncPolicy.retry`` (``retry_limit`` attempts,
    -1 unlimited; backoff ``5s × 2ᵏ`` capped at 3 m, ``RetryStrategy.NextRetryAt``
    and ``application_defaults.go``) — by default (``retry_limit=0``) automated sync
    "will not reattempt a sync if the previous sync attempt against the same
    commit-SHA … had failed" (``docs/user-guide/auto_sync.md``) and a human must
    sync. Drift is corrected by ``selfHeal`` (Argo CD, off by default) or every
    ``reconcile_interval_s`` (Flux always re-applies).

    Parameters
    ----------
    mode
        ``"push"`` or ``"pull"``.
    tool
        Pull agent: ``"argocd"`` (polls every 120 s + 60 s jitter) or ``"flux"``
        (GitRepository ``interval`` 60 s).
    n_runs, random_state
        Replications and seed.
    ci_queue_s, ci_run_s, ci_retries, atomic, helm_timeout_s
        Push parameters.
    apply_s, apply_failure, human_response_s
        The shared failure model: an apply's duration and failure probability, and
        the mean time for a human to notice and act.
    poll_interval_s, jitter_s, webhook, webhook_delay_s
        Pull trigger; ``None`` takes the tool's default.
    retry_limit, retry_backoff_s, backoff_factor, max_backoff_s
        Argo CD's ``syncPolicy.retry`` (``limit``, ``backoff.duration``,
        ``factor``, ``maxDuration``).
    reconcile_interval_s, retry_interval_s
        Flux's Kustomization ``interval`` (10 m) and ``retryInterval`` (``None``:
        the interval).
    self_heal, drift_rate_per_day, drift_horizon_s, deploy_interval_s
        Drift model: out-of-band changes per day and how they are undone.

    Examples
    --------
    >>> push = simulate_delivery("push", n_runs=2000, random_state=0)
    >>> pull = simulate_delivery("pull", n_runs=2000, random_state=0)
    >>> bool(pull.runs["commit_to_running_s"].median() < push.runs["commit_to_running_s"].median())
    True
    >>> bool(push.runs["credentials_in_ci"].all()), bool(pull.runs["credentials_in_ci"].any())
    (True, False)
    >>> flux = simulate_delivery("pull", tool="flux", apply_failure=1.0, n_runs=1,
    ...                          retry_interval_s=120, random_state=0)
    >>> flux.runs["recovered_by"].iloc[0]
    'unrecovered'
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
        ("reconcile_interval_s", reconcile_interval_s),
    ):
        check_number(name, value, low=0, low_open=True)
    check_number(
        "retry_interval_s", retry_interval_s, low=0, low_open=True, allow_none=True
    )
    check_number("apply_failure", apply_failure, low=0, high=1)
    check_number("retry_limit", retry_limit, low=-1, integer=True)
    check_number("ci_retries", ci_retries, low=0, integer=True)
    check_number("backoff_factor", backoff_factor, low=1)
    poll, jit = _PULL_DEFAULTS[tool]
    poll = poll if poll_interval_s is None else poll_interval_s
    jit = jit if jitter_s is None else jitter_s
    check_number("poll_interval_s", poll, low=0, low_open=True)
    check_number("jitter_s", jit, low=0)
    params = dict(locals())
    params.update(
        poll_interval_s=poll,
        jitter_s=jit,
        retry_interval_s=reconcile_interval_s
        if retry_interval_s is None
        else retry_interval_s,
    )
    rng = as_generator(random_state)
    out = (
        _push(n_runs, rng, params)
        if mode == "push"
        else _pull(tool, n_runs, rng, params)
    )
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
