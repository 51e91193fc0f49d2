"""Issue 17 benchmark: profile a large Parquet dataset out of core, test against it,
and compare with the exact test and with whylogs' profile time on the same files.

    python benchmarks/bench_drift_profiles.py --rows 100_000_000
    python benchmarks/bench_drift_profiles.py --rows 5_000_000 --repeats 5

The Parquet files (20 columns: 16 float64, 2 int64, 2 dictionary-encoded strings) are
generated under ``--data`` (default ``/tmp/mlopskit-bench-profiles``), never in the
repository, in files of 5 million rows with row groups of 1 million. Every
measurement runs in a fresh child process, so its peak resident memory
(``ru_maxrss``) is its own. whylogs runs in its own virtualenv
(``benchmarks/.venvs/whylogs``, created by ``--setup-whylogs``; git-ignored), as the
project's design asks of peers that cannot share the environment.

The script prints markdown tables; the numbers in ``benchmarks/RESULTS.md`` come
from it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WHYLOGS_VENV = ROOT / "benchmarks" / ".venvs" / "whylogs"
FILE_ROWS = 5_000_000
ROW_GROUP = 1_000_000
N_FLOAT, N_INT, N_STR = 16, 2, 2


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# -- data ----------------------------------------------------------------------------


def _columns_for(rng: Any, n: int, shift: float = 0.0) -> dict[str, Any]:
    import numpy as np
    import pyarrow as pa

    cols: dict[str, Any] = {}
    for j in range(N_FLOAT):
        kind = j % 4
        if kind == 0:
            v = rng.normal(shift if j == 0 else 0.0, 1.0, n)
        elif kind == 1:
            v = rng.lognormal(0.0, 1.0, n)
        elif kind == 2:
            v = rng.uniform(-5.0, 5.0, n)
        else:
            v = rng.standard_t(3, n)
        cols[f"f{j:02d}"] = pa.array(v)
    for j in range(N_INT):
        cols[f"i{j:02d}"] = pa.array(rng.integers(0, 100, n))
    for j, size in enumerate((20, 200)[:N_STR]):
        dictionary = pa.array([f"cat{c:03d}" for c in range(size)])
        p = np.full(size, 1.0 / size)
        idx = rng.choice(size, n, p=p).astype(np.int32)
        cols[f"s{j:02d}"] = pa.DictionaryArray.from_arrays(pa.array(idx), dictionary)
    return cols


def generate(data: Path, rows: int) -> list[Path]:
    """Parquet files for ``rows`` rows (reused when already there)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    data.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range((rows + FILE_ROWS - 1) // FILE_ROWS):
        path = data / f"part-{i:04d}.parquet"
        n = min(FILE_ROWS, rows - i * FILE_ROWS)
        files.append(path)
        if path.exists() and pq.ParquetFile(path).metadata.num_rows == n:
            continue
        rng = np.random.default_rng(1000 + i)
        table = pa.table(_columns_for(rng, n))
        pq.write_table(table, path, row_group_size=ROW_GROUP)
    cur = data.parent / (data.name + "-current.parquet")
    if not cur.exists():
        rng = np.random.default_rng(7)
        pq.write_table(pa.table(_columns_for(rng, 200_000, shift=0.05)), cur)
    return files


def _dataset_dir(data: Path, rows: int) -> Path:
    """A folder of symlinks to the first files, so each size is one Parquet dataset."""
    out = data.parent / f"{data.name}-{rows}"
    out.mkdir(exist_ok=True)
    n_files = (rows + FILE_ROWS - 1) // FILE_ROWS
    for i in range(n_files):
        link = out / f"part-{i:04d}.parquet"
        if not link.exists():
            link.symlink_to(data / f"part-{i:04d}.parquet")
    return out


# -- children ------------------------------------------------------------------------


def child_mlopskit(path: str, current: str, out: str) -> dict[str, Any]:
    import pandas as pd

    from mlopskit.drift import TabularDrift, profile

    t0 = time.perf_counter()
    prof = profile(path)
    t_profile = time.perf_counter() - t0
    Path(out).write_text(prof.to_json())
    cur = pd.read_parquet(current)
    t1 = time.perf_counter()
    result = TabularDrift().fit(prof).detect(cur)
    t_test = time.perf_counter() - t1
    return {
        "rows": prof.n_rows,
        "profile_s": t_profile,
        "test_s": t_test,
        "peak_mb": _peak_mb(),
        "profile_json_mb": Path(out).stat().st_size / 1e6,
        "drift": result.drift,
        "max_rank_error": max(
            c.sketch.rank_error() for c in prof.columns if c.sketch is not None
        ),
    }


def child_exact(path: str, current: str, profile_json: str) -> dict[str, Any]:
    """The exact tests on rows that fit in memory, against the profile's tests."""
    import pandas as pd

    from mlopskit.drift import KSDrift, Profile, TabularDrift

    ref = pd.read_parquet(path)
    cur = pd.read_parquet(current)
    prof = Profile.from_json(Path(profile_json).read_text())
    num = [c for c in ref.columns if not isinstance(ref[c].dtype, pd.CategoricalDtype)]
    t0 = time.perf_counter()
    exact = TabularDrift().fit(ref).detect(cur)
    t_exact = time.perf_counter() - t0
    approx = TabularDrift().fit(prof).detect(cur)
    ks = KSDrift().fit(prof.select(num)).detect(cur[num])
    exact_ks = KSDrift(method="asymp").fit(ref[num]).detect(cur[num])
    bounds = ks.details["p_value_bounds"]
    inside = sum(
        lo <= p <= hi
        for (lo, hi), p in zip(
            (bounds[c] for c in num), exact_ks.features["p_value"], strict=True
        )
    )
    e, a = exact.features, approx.features
    return {
        "rows": len(ref),
        "exact_test_s": t_exact,
        "peak_mb": _peak_mb(),
        "columns": len(e),
        "same_decisions": int((e["drift"] == a["drift"]).sum()),
        "max_abs_p_diff": float((e["p_value"] - a["p_value"]).abs().max()),
        "ks_exact_p_inside_bounds": f"{inside}/{len(num)}",
        "exact_drift": bool(exact.drift),
        "profile_drift": bool(approx.drift),
    }


def child_whylogs(path: str) -> dict[str, Any]:
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq
    import whylogs as why

    t0 = time.perf_counter()
    view = None
    rows = 0
    for file in sorted(ds.dataset(path, format="parquet").files):
        for batch in pq.ParquetFile(file).iter_batches(batch_size=ROW_GROUP):
            frame = batch.to_pandas()
            rows += len(frame)
            part = why.log(frame).view()
            view = part if view is None else view.merge(part)
    return {"rows": rows, "profile_s": time.perf_counter() - t0, "peak_mb": _peak_mb()}


def _run_child(python: str, *args: str) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    out = subprocess.run(
        [python, __file__, "--child", *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
    )
    if out.returncode:
        raise RuntimeError(f"child {args[0]} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def setup_whylogs() -> None:
    if not (WHYLOGS_VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(WHYLOGS_VENV)], check=True)
    subprocess.run(
        [
            str(WHYLOGS_VENV / "bin" / "pip"),
            "install",
            "-q",
            "whylogs==1.6.4",
            "pyarrow",
        ],
        check=True,
    )


# -- main ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument(
        "--data", type=Path, default=Path("/tmp/mlopskit-bench-profiles")
    )
    parser.add_argument("--compare-rows", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-whylogs", action="store_true")
    parser.add_argument("--setup-whylogs", action="store_true")
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        name, *rest = args.child
        fn = {
            "mlopskit": child_mlopskit,
            "exact": child_exact,
            "whylogs": child_whylogs,
        }
        print(json.dumps(fn[name](*rest)))
        return
    if args.setup_whylogs:
        setup_whylogs()
    wpy = WHYLOGS_VENV / "bin" / "python"
    use_whylogs = not args.skip_whylogs and wpy.exists()
    # 1. The full size: mlopskit only (whylogs runs ~20,000 rows/s here, hours at 10^8).
    t0 = time.perf_counter()
    generate(args.data, args.rows)
    print(
        f"data: {args.rows:,} rows generated or reused in {time.perf_counter() - t0:.0f} s"
    )
    current = str(args.data.parent / (args.data.name + "-current.parquet"))
    big = _run_child(
        sys.executable,
        "mlopskit",
        str(_dataset_dir(args.data, args.rows)),
        current,
        str(args.data.parent / f"profile-{args.rows}.json"),
    )
    _report(args.rows, [big], [])
    # 2. The comparison size: interleaved runs against whylogs, then the exact tests.
    small = args.data.parent / f"{args.data.name}-compare"
    generate(small, args.compare_rows)
    small_json = str(args.data.parent / "profile-compare.json")
    ours, theirs = [], []
    for _ in range(args.repeats):  # interleaved: ours, theirs, ours, theirs …
        ours.append(
            _run_child(sys.executable, "mlopskit", str(small), current, small_json)
        )
        if use_whylogs:
            theirs.append(_run_child(str(wpy), "whylogs", str(small)))
    _report(args.compare_rows, ours, theirs)
    exact = _run_child(sys.executable, "exact", str(small), current, small_json)
    print(f"\nexact tests on the same {args.compare_rows:,} rows, against the profile:")
    print(json.dumps(exact, indent=1))


def _report(
    rows: int, ours: list[dict[str, Any]], theirs: list[dict[str, Any]]
) -> None:
    def med(runs: list[dict[str, Any]], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    print(f"\n{rows:,} rows × 20 columns, {len(ours)} run(s), medians\n")
    print("| tool | profile time (s) | rows/s | peak RSS (MB) | test time (s) |")
    print("|---|---|---|---|---|")
    t = med(ours, "profile_s")
    print(
        f"| mlopskit profile + TabularDrift | {t:.1f} | {rows / t:,.0f} | "
        f"{med(ours, 'peak_mb'):.0f} | {med(ours, 'test_s'):.2f} |"
    )
    if theirs:
        tw = med(theirs, "profile_s")
        print(
            f"| whylogs 1.6.4 (why.log per row group + merge) | {tw:.1f} | "
            f"{rows / tw:,.0f} | {med(theirs, 'peak_mb'):.0f} | — (no test) |"
        )
        print(f"\nratio whylogs / mlopskit profile time: {tw / t:.2f}")
    print(
        f"\nprofile JSON: {ours[-1]['profile_json_mb']:.2f} MB; max rank error "
        f"{ours[-1]['max_rank_error']:.5f}; drift on the shifted batch: {ours[-1]['drift']}"
    )


if __name__ == "__main__":
    main()
