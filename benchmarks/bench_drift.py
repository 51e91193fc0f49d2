"""Batch drift detectors: mlopskit vs scipy, alibi-detect, frouros and evidently.

Run: ``python benchmarks/bench_drift.py`` (``--quick`` for smaller sizes).

Peers that cannot share mlopskit's environment run in their own virtualenvs under
``benchmarks/.venvs/<peer>`` (alibi-detect pins numpy<2; evidently 0.7 does not
import with pandas 3), driven through a small worker script over subprocess. The
data are written once to ``.npy`` files that every contender reads. Contenders are
interleaved in rounds (the machine is shared, timings are noisy) and the tables
report medians and within-run ratios. Peer timings exclude the peer's import and
construction with the reference (as ours exclude ``fit``, reported separately).

Cases (the sizes of issue 6):

* KS, 100,000 × 50 vs 100,000 × 50: mlopskit (1 and 2 threads), a scipy
  ``ks_2samp`` loop, alibi-detect, frouros, evidently (``DataDriftPreset(method="ks")``).
* MMD, 2,000 × 20 vs 2,000 × 20, 100 permutations, the same σ for everyone:
  mlopskit, alibi-detect (PyTorch CPU), frouros (permutation callback, 2 processes).
  Then mlopskit alone at 5,000, 10,000 and 20,000 rows per sample, with its peak
  memory (alibi-detect holds the whole (2N)² kernel and runs out of memory above
  about 10,000 rows per sample).
* Chi-square, 1,000,000 rows, 20 categories: mlopskit, plain numpy (bincount +
  ``scipy.stats.chi2_contingency``), alibi-detect, frouros, evidently.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from mlopskit.drift import ChiSquareDrift, KSDrift, MMDDrift
from mlopskit.drift.covariate._mmd import median_bandwidth

VENVS = Path(__file__).parent / ".venvs"

WORKER = textwrap.dedent(
    r"""
    import json, resource, sys, time, warnings
    import numpy as np
    warnings.filterwarnings("ignore")
    task = json.loads(sys.argv[1])
    d = task["dir"]
    peer, case, reps = task["peer"], task["case"], task["reps"]
    out = {"times": [], "extra": {}}

    def timed(fn):
        for _ in range(reps):
            t = time.perf_counter()
            res = fn()
            out["times"].append(time.perf_counter() - t)
        return res

    if case == "ks":
        ref, cur = np.load(d + "/ks_ref.npy"), np.load(d + "/ks_cur.npy")
        if peer == "alibi-detect":
            from alibi_detect.cd import KSDrift
            cd = KSDrift(ref, p_val=0.05)
            res = timed(lambda: cd.predict(cur))
            out["extra"]["p"] = np.asarray(res["data"]["p_val"], dtype=float).tolist()
        elif peer == "frouros":
            from frouros.detectors.data_drift import KSTest
            dets = []
            for j in range(ref.shape[1]):
                det = KSTest(); det.fit(X=ref[:, j]); dets.append(det)
            res = timed(lambda: [det.compare(X=cur[:, j])[0] for j, det in enumerate(dets)])
            out["extra"]["p"] = [float(r.p_value) for r in res]
        elif peer == "evidently":
            import pandas as pd
            from evidently import DataDefinition, Dataset, Report
            from evidently.presets import DataDriftPreset
            cols = [f"x{j}" for j in range(ref.shape[1])]
            dd = DataDefinition(numerical_columns=cols)
            r = Dataset.from_pandas(pd.DataFrame(ref, columns=cols), data_definition=dd)
            c = Dataset.from_pandas(pd.DataFrame(cur, columns=cols), data_definition=dd)
            timed(lambda: Report([DataDriftPreset(method="ks")]).run(c, r))
    elif case == "mmd":
        ref, cur = np.load(d + "/mmd_ref.npy"), np.load(d + "/mmd_cur.npy")
        sigma = task["sigma"]
        if peer == "alibi-detect":
            from alibi_detect.cd import MMDDrift
            cd = MMDDrift(ref, backend="pytorch", p_val=0.05, n_permutations=100,
                          sigma=np.array([sigma], dtype=np.float32),
                          configure_kernel_from_x_ref=False)
            res = timed(lambda: cd.predict(cur))
            out["extra"] = {"mmd2": float(res["data"]["distance"]),
                            "p": float(res["data"]["p_val"])}
        elif peer == "frouros":
            from functools import partial
            from frouros.callbacks import PermutationTestDistanceBased
            from frouros.detectors.data_drift import MMD
            from frouros.utils.kernels import rbf_kernel
            det = MMD(kernel=partial(rbf_kernel, sigma=sigma),
                      callbacks=[PermutationTestDistanceBased(
                          num_permutations=100, random_state=0, num_jobs=-1)])
            det.fit(X=ref)
            res = timed(lambda: det.compare(X=cur))
            result, logs = res
            out["extra"] = {"mmd2": float(result.distance),
                            "p": float(logs["PermutationTestDistanceBased"]["p_value"])}
    elif case == "chi2":
        ref, cur = np.load(d + "/chi_ref.npy"), np.load(d + "/chi_cur.npy")
        if peer == "alibi-detect":
            from alibi_detect.cd import ChiSquareDrift
            cd = ChiSquareDrift(ref[:, None], p_val=0.05, categories_per_feature={0: 20})
            res = timed(lambda: cd.predict(cur[:, None]))
            out["extra"]["p"] = float(np.asarray(res["data"]["p_val"]).ravel()[0])
        elif peer == "frouros":
            from frouros.detectors.data_drift import ChiSquareTest
            det = ChiSquareTest(); det.fit(X=ref)
            res = timed(lambda: det.compare(X=cur)[0])
            out["extra"]["p"] = float(res.p_value)
        elif peer == "evidently":
            import pandas as pd
            from evidently import DataDefinition, Dataset, Report
            from evidently.metrics import ValueDrift
            dd = DataDefinition(categorical_columns=["c"])
            r = Dataset.from_pandas(pd.DataFrame({"c": ref}), data_definition=dd)
            c = Dataset.from_pandas(pd.DataFrame({"c": cur}), data_definition=dd)
            timed(lambda: Report([ValueDrift(column="c", method="chisquare")]).run(c, r))
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))
    """
)


def peer_version(peer: str) -> str | None:
    python = VENVS / peer / "bin" / "python"
    if not python.exists():
        return None
    module = {"alibi-detect": "alibi_detect"}.get(peer, peer)
    code = f"import {module}; print({module}.__version__)"
    res = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return res.stdout.strip() or None


def run_peer(
    peer: str, case: str, data_dir: str, reps: int, **extra: Any
) -> dict[str, Any]:
    python = VENVS / peer / "bin" / "python"
    task = json.dumps(
        {"peer": peer, "case": case, "dir": data_dir, "reps": reps, **extra}
    )
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    res = subprocess.run(
        [str(python), "-c", WORKER, task], capture_output=True, text=True, env=env
    )
    if res.returncode != 0:
        return {
            "error": res.stderr.strip().splitlines()[-1] if res.stderr else "failed"
        }
    return json.loads(res.stdout.strip().splitlines()[-1])


def timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def table(
    title: str, rows: dict[str, list[float]], base: str, notes: dict[str, str]
) -> str:
    med = {k: statistics.median(v) for k, v in rows.items() if v}
    lines = [
        f"### {title}",
        "",
        f"| contender | median | runs | time / mlopskit ({base}) | notes |",
        "|---|---|---|---|---|",
    ]
    for name, m in med.items():
        unit = f"{m * 1e3:.1f} ms" if m < 1 else f"{m:.2f} s"
        ratio = m / med[base]
        lines.append(
            f"| {name} | {unit} | {len(rows[name])} | {ratio:.1f}× | {notes.get(name, '')} |"
        )
    return "\n".join(lines) + "\n"


def bench_ks(data_dir: str, n: int, d: int, rounds: int, peers: list[str]) -> str:
    rng = np.random.default_rng(0)
    ref, cur = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    np.save(f"{data_dir}/ks_ref.npy", ref)
    np.save(f"{data_dir}/ks_cur.npy", cur)
    fit_time, det1 = timed(lambda: KSDrift(method="asymp").fit(ref))
    det2 = KSDrift(method="asymp", n_jobs=2).fit(ref)
    rows: dict[str, list[float]] = {"mlopskit 1 thread": [], "mlopskit 2 threads": []}
    rows["scipy ks_2samp loop"] = []
    notes: dict[str, str] = {
        "mlopskit 1 thread": f"fit (sort once) {fit_time:.2f} s, not timed"
    }
    ours = None
    for _ in range(rounds):
        t, ours = timed(lambda: det1.detect(cur))
        rows["mlopskit 1 thread"].append(t)
        t, _ = timed(lambda: det2.detect(cur))
        rows["mlopskit 2 threads"].append(t)
        t, p_scipy = timed(
            lambda: [
                stats.ks_2samp(ref[:, j], cur[:, j], method="asymp").pvalue
                for j in range(d)
            ]
        )
        rows["scipy ks_2samp loop"].append(t)
        for peer in peers:
            res = run_peer(peer, "ks", data_dir, 1)
            if "error" in res:
                notes[peer] = res["error"][:80]
                continue
            rows.setdefault(peer, []).extend(res["times"])
            rss = f"peak RSS {res['peak_rss_mb']:.0f} MB"
            if "p" in res["extra"]:
                dp = np.max(
                    np.abs(np.asarray(res["extra"]["p"]) - ours.features["p_value"])
                )
                notes[peer] = f"max |Δp| vs mlopskit {dp:.1e}; {rss}"
            else:
                notes[peer] = rss
    dp = np.max(np.abs(np.asarray(p_scipy) - ours.features["p_value"].to_numpy()))
    notes["scipy ks_2samp loop"] = f"max |Δp| vs mlopskit {dp:.1e}"
    return table(f"KS, {n:,} × {d} vs {n:,} × {d}", rows, "mlopskit 1 thread", notes)


def bench_mmd(data_dir: str, n: int, d: int, rounds: int, peers: list[str]) -> str:
    rng = np.random.default_rng(1)
    ref = rng.normal(size=(n, d)).astype(np.float32)
    cur = rng.normal(size=(n, d)).astype(np.float32)
    cur[:, :5] += 0.1
    np.save(f"{data_dir}/mmd_ref.npy", ref)
    np.save(f"{data_dir}/mmd_cur.npy", cur)
    sigma = median_bandwidth(ref[:1000].astype(np.float64))
    det = MMDDrift(bandwidth=sigma, n_permutations=100, random_state=0).fit(ref)
    rows: dict[str, list[float]] = {"mlopskit": []}
    notes: dict[str, str] = {}
    ours = None
    for _ in range(rounds):
        t, ours = timed(lambda: det.detect(cur))
        rows["mlopskit"].append(t)
        for peer in peers:
            res = run_peer(peer, "mmd", data_dir, 1, sigma=sigma)
            if "error" in res:
                notes[peer] = res["error"][:80]
                continue
            rows.setdefault(peer, []).extend(res["times"])
            e = res["extra"]
            notes[peer] = (
                f"MMD² {e['mmd2']:.4e}, p {e['p']:.4f}; peak RSS {res['peak_rss_mb']:.0f} MB"
            )
    notes["mlopskit"] = (
        f"MMD² {ours.statistic:.4e}, p {ours.p_value:.4f}; σ = {sigma:.3f}"
    )
    return table(
        f"MMD, {n:,} × {d} vs {n:,} × {d}, 100 permutations, RBF σ by median heuristic",
        rows,
        "mlopskit",
        notes,
    )


def bench_mmd_scaling(sizes: list[int], d: int) -> str:
    lines = [
        "### MMD scaling (mlopskit only; 100 permutations, block_size 1024)",
        "",
        "| rows per sample | time | peak traced memory | formula 8·(2·1024² + N·(101 + d)) |",
        "|---|---|---|---|",
    ]
    for n in sizes:
        rng = np.random.default_rng(2)
        ref, cur = rng.normal(size=(n, d)), rng.normal(size=(n, d))
        det = MMDDrift(n_permutations=100, random_state=0).fit(ref)
        tracemalloc.start()
        t, _ = timed(lambda det=det, cur=cur: det.detect(cur))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        bound = 8 * (2 * 1024**2 + (2 * n) * (101 + d))
        lines.append(
            f"| {n:,} | {t:.2f} s | {peak / 2**20:.0f} MB | {bound / 2**20:.0f} MB |"
        )
    return "\n".join(lines) + "\n"


def bench_chi2(data_dir: str, n: int, k: int, rounds: int, peers: list[str]) -> str:
    rng = np.random.default_rng(3)
    ref, cur = rng.integers(0, k, n), rng.integers(0, k, n)
    np.save(f"{data_dir}/chi_ref.npy", ref)
    np.save(f"{data_dir}/chi_cur.npy", cur)
    det = ChiSquareDrift().fit(ref[:, None])
    ref_counts = np.bincount(ref, minlength=k)

    def plain() -> float:
        counts = np.bincount(cur, minlength=k)
        return float(stats.chi2_contingency(np.vstack([ref_counts, counts])).pvalue)

    rows: dict[str, list[float]] = {"mlopskit": [], "numpy bincount + scipy": []}
    notes: dict[str, str] = {}
    ours = p_plain = None
    for _ in range(rounds):
        for _ in range(5):
            t, ours = timed(lambda: det.detect(cur[:, None]))
            rows["mlopskit"].append(t)
            t, p_plain = timed(plain)
            rows["numpy bincount + scipy"].append(t)
        for peer in peers:
            res = run_peer(peer, "chi2", data_dir, 5)
            if "error" in res:
                notes[peer] = res["error"][:80]
                continue
            rows.setdefault(peer, []).extend(res["times"])
            p = res["extra"].get("p")
            notes[peer] = (f"p {p:.4f}; " if p is not None else "") + (
                f"peak RSS {res['peak_rss_mb']:.0f} MB"
            )
    notes["mlopskit"] = f"p {ours.p_value:.4f} (plain: {p_plain:.4f})"
    return table(f"Chi-square, {n:,} rows, {k} categories", rows, "mlopskit", notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--only", choices=["ks", "mmd", "scaling", "chi2"], default=None
    )
    args = parser.parse_args()
    peers = [p for p in ("alibi-detect", "frouros", "evidently") if peer_version(p)]
    versions = {p: peer_version(p) for p in peers}
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, peers {versions}")
    print(f"cpus {os.cpu_count()}, load {os.getloadavg()[0]:.1f}\n")
    scale = 10 if args.quick else 1
    with tempfile.TemporaryDirectory() as data_dir:
        if args.only in (None, "ks"):
            print(bench_ks(data_dir, 100_000 // scale, 50, args.rounds, peers))
        if args.only in (None, "mmd"):
            mmd_peers = [p for p in peers if p != "evidently"]
            print(
                bench_mmd(
                    data_dir,
                    2000 // (2 if args.quick else 1),
                    20,
                    args.rounds,
                    mmd_peers,
                )
            )
        if args.only in (None, "scaling"):
            sizes = [1000, 2000] if args.quick else [5000, 10_000, 20_000]
            print(bench_mmd_scaling(sizes, 20))
        if args.only in (None, "chi2"):
            print(bench_chi2(data_dir, 1_000_000 // scale, 20, args.rounds, peers))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"mlopskit process peak RSS {rss:.0f} MB; load at end {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
