"""Benchmark of the drift benchmark harness (mlopskit.drift.benchmark).

The issue's case: 5 detectors × 5 shifts × 5 sample sizes × 50 runs on the digits data
(the "Failing Loudly"-style study), timed with 2 joblib workers and with 1, reporting the
share of the time spent inside the detectors' fit/detect. It prints the study's
detection-rate tables too (pasted into docs/drift_benchmark.md), and with
``--tabular`` the tabular study (breast cancer, wine, synthetic).

    python benchmarks/bench_drift_harness.py [--runs 50] [--tabular]

No peer library has a detector-benchmark harness (alibi-detect, frouros, evidently and
river ship detectors, not a harness), so the figures are absolute, with the in-detector
share as the measure of harness overhead.
"""

from __future__ import annotations

import argparse
import os
import time

from mlopskit.drift.benchmark import (
    GaussianNoise,
    LabelKnockout,
    NoShift,
    failing_loudly_detectors,
    failing_loudly_shifts,
    run_benchmark,
)

SIZES = (10, 50, 100, 200, 500)


def timed(**kwargs):
    cpu0, wall0 = os.times(), time.perf_counter()
    res = run_benchmark(failing_loudly_detectors(), progress=False, **kwargs)
    cpu1 = os.times()
    wall = time.perf_counter() - wall0
    cpu = (cpu1.user + cpu1.children_user) - (cpu0.user + cpu0.children_user)
    return res, wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--serial-runs", type=int, default=10)
    parser.add_argument("--tabular", action="store_true")
    args = parser.parse_args()

    common = {
        "datasets": ["digits"],
        "shifts": failing_loudly_shifts(),
        "sample_sizes": SIZES,
        "random_state": 0,
    }
    res2, wall2, _ = timed(n_runs=args.runs, n_jobs=2, **common)
    res1, wall1, cpu1 = timed(n_runs=args.serial_runs, n_jobs=1, **common)
    cells = len(res2.detectors) * len(res2.shifts) * len(SIZES)
    print("| configuration | tests | wall s | tests/s | share inside detectors |")
    print("|---|---|---|---|---|")
    print(
        f"| n_jobs=2, {args.runs} runs | {cells * args.runs:,} | {wall2:.1f} | {cells * args.runs / wall2:.1f} | n/a (workers) |"
    )
    print(
        f"| n_jobs=1, {args.serial_runs} runs | {cells * args.serial_runs:,} | {wall1:.1f} | {cells * args.serial_runs / wall1:.1f} | {res1.detector_share():.0%} |"
    )
    print(
        f"\nn_jobs=1 CPU time {cpu1:.1f} s; extrapolated to {args.runs} runs: {wall1 * args.runs / args.serial_runs:.0f} s wall."
    )
    times = res1.runs.assign(t=res1.runs.fit_time + res1.runs.detect_time).groupby(
        "detector"
    )["t"]
    print("\n| detector | mean s per test (n_jobs=1) | share of detector time |")
    print("|---|---|---|")
    total = times.sum().sum()
    for name, t in times.mean().items():
        print(f"| {name} | {t:.4f} | {times.sum()[name] / total:.0%} |")
    same = res1.runs.drop(columns=["fit_time", "detect_time"]).reset_index(drop=True)
    again, _, _ = timed(n_runs=args.serial_runs, n_jobs=2, **common)
    other = again.runs.drop(columns=["fit_time", "detect_time"]).reset_index(drop=True)
    print(f"\nDeterministic across n_jobs=1 and 2: {same.equals(other)}")
    print("\n## digits study\n")
    print(res2.to_markdown())
    print(res2.ranking().to_string())
    if args.tabular:
        shifts = {
            "no_shift": NoShift(),
            "noise_small": GaussianNoise("small", fraction=0.5),
            "noise_medium": GaussianNoise("medium", fraction=0.5),
            "noise_large": GaussianNoise("large", fraction=0.5),
            "knockout": LabelKnockout(0.5, label=0),
        }
        for name, sizes in (
            ("breast_cancer", (10, 20, 50, 100)),
            ("wine", (10, 20, 50)),
            ("synthetic", (10, 50, 100, 500, 1000)),
        ):
            res, wall, _ = timed(
                datasets=[name],
                shifts=shifts,
                sample_sizes=sizes,
                n_runs=args.runs,
                n_jobs=2,
                random_state=0,
            )
            print(f"\n## {name} ({wall:.0f} s)\n")
            print(res.to_markdown())
            print(res.ranking().to_string())


if __name__ == "__main__":
    main()
