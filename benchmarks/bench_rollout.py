"""Speed of mlopskit.rollout's vectorised simulator.

No peer library simulates rollout strategies, so the baseline is what a user would
otherwise write: a per-replication loop (SimPy-style: one replication at a time,
one tick at a time, numpy scalars) of the same Flagger canary, timed on a small
case and reported per replication. The headline case is the issue's: 1,000
replications of a one-hour canary at 1,000 requests per second (Argo steps of
1 h in total, background sequential analysis, a good candidate so that every
replication runs the full hour).

Run: python benchmarks/bench_rollout.py [--rounds 5] [--against OLD_SRC]

``--against`` times the same two mlopskit cases with another source tree (e.g.
``git archive <commit> src | tar -x -C /tmp/old`` then ``--against /tmp/old/src``)
in a subprocess, interleaved with this tree's runs, to measure a change.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from mlopskit.rollout import Canary, ModelBehavior, SequentialTest, Traffic, simulate

BASE = ModelBehavior(error_rate=0.005)
HOUR = Canary(
    steps=(
        {"setWeight": 5},
        {"pause": {"duration": "15m"}},
        {"setWeight": 20},
        {"pause": {"duration": "15m"}},
        {"setWeight": 50},
        {"pause": {"duration": "30m"}},
    )
)


def mlopskit_run(n_runs: int, seed: int, tick_s: float = 1.0) -> float:
    t = time.perf_counter()
    simulate(
        HOUR,
        baseline=BASE,
        candidate=BASE,
        traffic=Traffic(rps=1000),
        judge=SequentialTest(),
        n_runs=n_runs,
        random_state=seed,
        tick_s=tick_s,
    )
    return time.perf_counter() - t


def loop_run(n_runs: int, seed: int, duration_s: int = 3600) -> float:
    """One replication at a time, one tick at a time (what a user would write)."""
    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    schedule = [(0, 0.05), (900, 0.20), (1800, 0.50)]
    for _ in range(n_runs):
        ec = nc = eb = nb = 0
        for s in range(duration_s):
            w = [x for start, x in schedule if s >= start][-1]
            n = rng.poisson(1000)
            c = rng.binomial(n, w)
            nc += c
            nb += n - c
            ec += rng.binomial(c, 0.005)
            eb += rng.binomial(n - c, 0.005)
            if ec + eb >= 10:  # the same mSPRT statistic each tick
                pbar = (ec + eb) / (nc + nb)
                v = pbar * (1 - pbar) * (1 / max(nc, 1) + 1 / max(nb, 1))
                tau2 = (0.5 * 0.005) ** 2
                theta = ec / max(nc, 1) - eb / max(nb, 1)
                if 0.5 * np.log(v / (v + tau2)) + tau2 * theta**2 / (
                    2 * v * (v + tau2)
                ) > np.log(20):
                    break
    return time.perf_counter() - t


def flagger_run(n_runs: int, seed: int) -> float:
    """Flagger-mode canary (the default ``Canary()``), good candidate."""
    t = time.perf_counter()
    simulate(
        Canary(),
        baseline=BASE,
        candidate=BASE,
        traffic=Traffic(rps=1000),
        n_runs=n_runs,
        random_state=seed,
    )
    return time.perf_counter() - t


def other_tree(src: str, seed: int) -> tuple[float, float]:
    """The headline and Flagger cases timed with another mlopskit source tree."""
    code = (
        "import sys; sys.argv=['x']; import runpy; "
        f"m = runpy.run_path({__file__!r}); "
        f"print(m['mlopskit_run'](1000, {seed}), m['flagger_run'](1000, {seed}))"
    )
    env = dict(os.environ, PYTHONPATH=src)
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    a, b = out.stdout.split()
    return float(a), float(b)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--against", default=None)
    args = parser.parse_args()
    big, coarse, flagger, small_loop = [], [], [], []
    old_big, old_flagger = [], []
    loop_n = 3
    for r in range(args.rounds):  # interleave contenders
        big.append(mlopskit_run(1000, r))
        coarse.append(mlopskit_run(1000, r, tick_s=10.0))
        flagger.append(flagger_run(1000, r))
        small_loop.append(loop_run(loop_n, r))
        if args.against:
            a, b = other_tree(args.against, r)
            old_big.append(a)
            old_flagger.append(b)
    req = 1000 * 3600 * 1000
    b = statistics.median(big)
    c = statistics.median(coarse)
    f = statistics.median(flagger)
    sl = statistics.median(small_loop) / loop_n
    print("| case | median s | replications/s | simulated requests/s | vs loop |")
    print("|---|---|---|---|---|")
    print(
        f"| mlopskit, 1,000 × 1 h canary @ 1,000 rps, 1 s ticks | {b:.2f} | {1000 / b:,.0f} | {req / b:,.3g} | {sl / (b / 1000):,.1f}× |"
    )
    print(
        f"| mlopskit, same, 10 s ticks (`tick_s=10`) | {c:.2f} | {1000 / c:,.0f} | {req / c:,.3g} | {sl / (c / 1000):,.1f}× |"
    )
    print(
        f"| mlopskit, 1,000 Flagger canaries (`Canary()`) | {f:.2f} | {1000 / f:,.0f} | | |"
    )
    print(
        f"| per-replication Python loop, {loop_n} × 1 h, 1 s ticks | {sl * loop_n:.2f} | {1 / sl:,.1f} | {3.6e6 / sl:,.3g} | 1× |"
    )
    print(f"\nprojected loop time for 1,000 replications: {sl * 1000:,.0f} s")
    if args.against:
        ob, of = statistics.median(old_big), statistics.median(old_flagger)
        print("\n| case | this tree, median s | other tree, median s | ratio |")
        print("|---|---|---|---|")
        print(f"| 1 h Argo canary, 1,000 runs | {b:.2f} | {ob:.2f} | {b / ob:.2f} |")
        print(f"| Flagger canary, 1,000 runs | {f:.2f} | {of:.2f} | {f / of:.2f} |")


if __name__ == "__main__":
    main()
