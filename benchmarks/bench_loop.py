"""Issue 13: the loop's decision quality and speed on a 30-batch stream, against the loop
before issue 13 (``main`` at the commit given by ``--before``, run from a ``git archive``
copy in a subprocess of the same run).

The stream (``tests/loop/streams.py``): 10 clean batches, 10 with a sustained covariate
shift (which hurts the bootstrap model), 10 with a prior shift on top, and three corrupt
batches among them. Per seed it counts retrains and promotions per phase, quarantines
of corrupt and of clean batches, the production model's mean accuracy on each phase's
labelled batches, and the batches from the shift to the first promotion. Speed: the
median time of one ``observe`` on batches that change nothing, and on batches that
retrain, median of interleaved runs.

Run: ``python benchmarks/bench_loop.py [--seeds 10] [--repeats 5] [--before REV]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUNNER = r"""
import json, sys, time
sys.path.insert(0, {root!r})
from tests.loop.streams import FEATURES, fit, stream
from mlopskit.drift import LabelDrift, TabularDrift
from mlopskit.loop import ContinuousTraining, HoldoutGate, Monitor
from mlopskit.pipeline import Pipeline
from mlopskit.schema import Schema

def reviewed(boot):
    schema = Schema.infer(boot[FEATURES])
    for c in FEATURES:
        schema = schema.with_column(c, ge=-50.0, le=50.0)
    return schema

out = []
for seed, schema_kind in json.loads(sys.argv[1]):
    boot, batches = stream(seed)
    loop = ContinuousTraining(
        Pipeline([fit], name="stream"), registry=f"memory://b{{seed}}{{schema_kind}}/r",
        model_name="m", store=f"memory://b{{seed}}{{schema_kind}}/s",
        monitors=[Monitor(TabularDrift(alpha=0.01), on="features"),
                  Monitor(LabelDrift(alpha=0.01), on="predictions")],
        gates=[HoldoutGate()], model_step="fit", holdout_fraction=0.4,
        schema=reviewed(boot) if schema_kind == "reviewed" else None)
    loop.bootstrap(boot)
    rows = []
    for b in batches:
        t = time.perf_counter()
        e = loop.observe(b.features, labels=b.labels)
        rows.append([b.number, b.phase, b.corrupt, e.decision, e.performance,
                     time.perf_counter() - t])
    out.append(rows)
print(json.dumps(out))
"""


def run(src: Path, jobs: list[tuple[int, str]]) -> list[list[list[Any]]]:
    """Run the stream for each (seed, schema kind) with the mlopskit source at src."""
    code = RUNNER.format(root=str(ROOT))
    env = {"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(jobs)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result: list[list[list[Any]]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def quality(rows: list[list[Any]]) -> dict[str, Any]:
    phases = ("clean", "covariate", "prior")
    q: dict[str, Any] = {f"retrains_{p}": 0 for p in phases}
    q |= {f"promotions_{p}": 0 for p in phases}
    q |= {"corrupt_quarantined": 0, "clean_quarantined": 0}
    scores: dict[str, list[float]] = {p: [] for p in phases}
    first_promotion = None
    for number, phase, corrupt, decision, performance, _ in rows:
        if decision in ("promoted", "refused", "failed"):
            q[f"retrains_{phase}"] += 1
        if decision == "promoted":
            q[f"promotions_{phase}"] += 1
            if phase == "covariate" and first_promotion is None:
                first_promotion = number - 10
        if decision == "quarantined":
            q["corrupt_quarantined" if corrupt else "clean_quarantined"] += 1
        if performance is not None:
            scores[phase].append(performance)
    for p in phases:
        q[f"accuracy_{p}"] = statistics.mean(scores[p]) if scores[p] else float("nan")
    q["delay"] = first_promotion
    return q


def export(rev: str, into: Path) -> Path:
    archive = into / "src.tar"
    subprocess.run(
        ["git", "-C", str(ROOT), "archive", "-o", str(archive), rev, "src"], check=True
    )
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def table(name: str, per_seed: list[dict[str, Any]]) -> list[str]:
    keys = list(per_seed[0])
    lines = []
    for k in keys:
        values = [q[k] for q in per_seed if q[k] is not None]
        if not values:
            lines.append(f"| {name} | {k} | — | — |")
            continue
        total = sum(values) if not k.startswith("accuracy") else None
        mean = statistics.mean(values)
        worst = max(values) if not k.startswith("accuracy") else min(values)
        shown_total = "" if total is None else f" (total {total})"
        lines.append(f"| {name} | {k} | {mean:.3g}{shown_total} | {worst:.3g} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--before", default="6a6a4c0")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before = export(args.before, Path(tmp))
        now = ROOT / "src"
        seeds = list(range(args.seeds))
        print(f"## Decision quality over {args.seeds} seeds\n")
        print("| loop | figure | mean per seed | worst seed |\n|---|---|---|---|")
        for label, src, kind in (
            ("issue 13, reviewed schema", now, "reviewed"),
            ("issue 13, inferred schema", now, "inferred"),
            ("before, reviewed schema", before, "reviewed"),
        ):
            runs = run(src, [(s, kind) for s in seeds])
            print("\n".join(table(label, [quality(r) for r in runs])))
        timings: dict[str, dict[str, list[float]]] = {"now": {}, "before": {}}
        for _ in range(args.repeats):  # interleaved
            for label, src in (("now", now), ("before", before)):
                started = time.perf_counter()
                (rows,) = run(src, [(0, "reviewed")])
                timings[label].setdefault("wall", []).append(
                    time.perf_counter() - started
                )
                # like for like: the clean phase, where neither loop retrains
                quiet = [r[5] for r in rows if r[3] == "no-change" and r[1] == "clean"]
                retrain = [r[5] for r in rows if r[3] in ("promoted", "refused")]
                timings[label].setdefault("quiet", []).append(statistics.median(quiet))
                if retrain:
                    timings[label].setdefault("retrain", []).append(
                        statistics.median(retrain)
                    )
        print(
            f"\n## Speed per observe (seed 0, median of {args.repeats} interleaved runs)\n"
        )
        print("| batch | issue 13 (ms) | before (ms) | ratio |\n|---|---|---|---|")
        for kind in ("quiet", "retrain"):
            a = statistics.median(timings["now"][kind]) * 1e3
            b = statistics.median(timings["before"][kind]) * 1e3
            print(f"| {kind} | {a:.1f} | {b:.1f} | {a / b:.2f}× |")


if __name__ == "__main__":
    main()
