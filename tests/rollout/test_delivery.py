"""Push vs pull delivery: the agents' retry rules, one failure model (issue 19)."""

from __future__ import annotations

import numpy as np
import pytest

from mlopskit.errors import RolloutError
from mlopskit.rollout import simulate_delivery


def test_flux_retries_at_retry_interval_not_a_human() -> None:
    # kustomize-controller: RequeueAfter GetRetryInterval() after a failure
    res = simulate_delivery(
        "pull",
        tool="flux",
        apply_failure=0.3,
        retry_interval_s=120,
        n_runs=3000,
        random_state=0,
    )
    r = res.runs
    assert not (r["recovered_by"] == "human").any()
    failed = r["failed_attempts"]
    assert (r.loc[failed > 0, "recovered_by"] == "retry").all()
    # lag = poll wait U(0, 60) + apply 10 + k × (retryInterval 120 + apply 10)
    base = r["commit_to_running_s"] - failed * 130.0
    assert base.between(10.0, 70.0).all()
    # the same per-attempt failure model: P(first attempt fails) = 0.3
    # (binomial SE at n=3000 is 0.0084; ±0.03 ≈ 3.6 SE)
    assert (failed > 0).mean() == pytest.approx(0.3, abs=0.03)


def test_flux_retry_interval_defaults_to_the_interval() -> None:
    r = simulate_delivery(
        "pull",
        tool="flux",
        apply_failure=0.3,
        reconcile_interval_s=300,
        n_runs=500,
        random_state=0,
    ).runs
    base = r["commit_to_running_s"] - r["failed_attempts"] * 310.0
    assert base.between(10.0, 70.0).all()


def test_argo_cd_does_not_retry_a_failed_commit_without_a_retry_policy() -> None:
    r = simulate_delivery("pull", apply_failure=0.3, n_runs=2000, random_state=0).runs
    failed = r["failed_attempts"] > 0
    assert (r.loc[failed, "recovered_by"] == "human").all()
    # a human's 30-minute mean response dominates those runs
    assert r.loc[failed, "commit_to_running_s"].mean() > 1500


def test_argo_cd_retry_backoff() -> None:
    r = simulate_delivery(
        "pull",
        apply_failure=0.5,
        retry_limit=-1,
        n_runs=2000,
        random_state=0,
        jitter_s=0,
        poll_interval_s=120,
    ).runs
    assert not (r["recovered_by"] == "human").any()
    # NextRetryAt: 5 s × 2^k capped at 3 m, each retry + a 10 s apply
    gaps = np.minimum(5.0 * 2.0 ** np.arange(40), 180.0) + 10.0
    cum = np.concatenate([[0.0], np.cumsum(gaps)])
    base = r["commit_to_running_s"] - cum[r["failed_attempts"].to_numpy()]
    assert base.between(10.0, 130.0).all()
    limited = simulate_delivery(
        "pull", apply_failure=0.5, retry_limit=2, n_runs=2000, random_state=0
    ).runs
    # P(3 failures in a row) = 1/8: those need a human (SE 0.0074 at n=2000)
    assert (limited["recovered_by"] == "human").mean() == pytest.approx(0.125, abs=0.03)


def test_push_and_pull_share_one_failure_model() -> None:
    kw = {"apply_failure": 0.1, "n_runs": 4000, "random_state": 0}
    push = simulate_delivery("push", **kw).runs  # type: ignore[arg-type]
    pull = simulate_delivery("pull", tool="flux", **kw).runs  # type: ignore[arg-type]
    # both ≈ 0.1 (SE 0.0047 each): within 0.025 of each other and of 0.1
    p_push = (push["failed_attempts"] > 0).mean()
    p_pull = (pull["failed_attempts"] > 0).mean()
    assert abs(p_push - 0.1) < 0.02
    assert abs(p_pull - 0.1) < 0.02
    # CI retries turn a human wait into a re-run
    ci = simulate_delivery("push", ci_retries=2, **kw).runs  # type: ignore[arg-type]
    assert (ci["recovered_by"] == "human").mean() < 0.01  # needs 3 failures: 0.001
    assert ci.loc[ci["failed_attempts"] > 0, "recovered_by"].eq("retry").mean() > 0.9


def test_webhooks_make_pull_lag_comparable_to_a_push() -> None:
    hook = simulate_delivery(
        "pull", webhook=True, apply_failure=0.0, n_runs=200, random_state=0
    ).runs
    np.testing.assert_allclose(hook["commit_to_running_s"], 12.0)  # 2 s + apply
    poll = simulate_delivery(
        "pull", apply_failure=0.0, n_runs=4000, random_state=0
    ).runs
    # a uniform point in a 120 + U(0, 60) s cycle: mean 75 s, + 10 s apply
    assert poll["commit_to_running_s"].mean() == pytest.approx(85.0, abs=2.0)
    assert poll["commit_to_running_s"].between(10.0, 190.0).all()


def test_delivery_refuses_bad_parameters() -> None:
    with pytest.raises(RolloutError, match="retry_limit"):
        simulate_delivery("pull", retry_limit=-2)
    with pytest.raises(RolloutError, match="retry_interval_s"):
        simulate_delivery("pull", tool="flux", retry_interval_s=0)
