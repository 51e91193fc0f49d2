"""Benchmark of mlopskit.versioning against the peers a user would pick instead.

Run: ``python benchmarks/bench_versioning.py [--quick]``. Prints markdown tables of
medians and within-round ratios; contenders are interleaved in rounds, so machine
load hits all of them alike.

1. Array hashing: ``fingerprint`` vs md5 / sha256 / raw BLAKE3 of the buffer and
   ``joblib.hash`` on a 1 GiB float64 array (GB/s, and peak extra memory by
   tracemalloc).
2. A 10,000,000 x 10 DataFrame (3 float64, 1 float32, int64, int32, int64, a string
   column of 1,000 distinct values, a 50-category column, bool), with the strings
   as ``object`` and as pandas 3's default ``str``: ``fingerprint`` vs
   ``joblib.hash`` vs ``hash_pandas_object`` (+ md5 of its output).
3. Files: ``hash_path`` (in process and as the ``mlopskit hash`` command) vs
   ``dvc add`` (DVC in ``benchmarks/.venvs/dvc``) on a 1 GiB file and a directory of
   10,000 x 4 KiB files; then a warm re-hash with the stat cache vs ``dvc status``.
4. ``diff_datasets`` on 1,000,000 rows (keyed and as a multiset) vs a pandas
   ``merge(indicator=True)`` diff.
5. Storing a DataFrame (the frame of 2, strings as pandas' default): ``ContentStore``
   put and get (safe codecs: Parquet when pyarrow can keep the frame exactly, else the
   numpy-only ``frame`` codec; and the ``frame`` codec forced) vs ``pickle`` to a file
   vs a plain Parquet file (``to_parquet`` / ``read_parquet``); wall time and peak
   extra RSS, sampled every 2 ms (pyarrow allocates outside tracemalloc's view).
   ``--only store --store-mib 1024`` for the 1 GiB run of issue 15.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import blake3
import joblib
import numpy as np
import pandas as pd

from mlopskit.versioning import diff_datasets, fingerprint, hash_path

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
DVC = HERE / ".venvs" / "dvc" / "bin" / "dvc"


def rounds(
    contenders: dict[str, Callable[[], object]], n: int
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(n):
        for name, fn in contenders.items():
            gc.collect()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def table(
    title: str, times: dict[str, list[float]], baseline: str, size: float | None = None
) -> None:
    print(f"\n### {title}\n")
    head = "| contender | median s | "
    head += "GB/s | " if size else ""
    head += f"speed-up vs {baseline} (median of per-round ratios) |"
    print(head)
    print("|---|---|" + ("---|" if size else "") + "---|")
    for name, values in times.items():
        ratios = [b / v for b, v in zip(times[baseline], values, strict=True)]
        row = f"| {name} | {statistics.median(values):.3f} | "
        row += f"{size / statistics.median(values) / 1e9:.2f} | " if size else ""
        row += f"{statistics.median(ratios):.1f}x |"
        print(row)


def peak_extra_memory(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - before


def md5_buffer(array: np.ndarray) -> str:
    return hashlib.md5(memoryview(array).cast("B")).hexdigest()


def bench_arrays(n_bytes: int, n_rounds: int) -> None:
    array = np.random.default_rng(0).standard_normal(n_bytes // 8)
    view = memoryview(array).cast("B")
    times = rounds(
        {
            "md5 of buffer": lambda: hashlib.md5(view).hexdigest(),
            "sha256 of buffer": lambda: hashlib.sha256(view).hexdigest(),
            "blake3 of buffer": lambda: blake3.blake3(view).hexdigest(),
            "joblib.hash": lambda: joblib.hash(array),
            "fingerprint": lambda: fingerprint(array),
        },
        n_rounds,
    )
    table(
        f"float64 array, {array.nbytes / 2**30:.2f} GiB, {n_rounds} rounds",
        times,
        "md5 of buffer",
        size=array.nbytes,
    )
    extra = peak_extra_memory(lambda: fingerprint(array))
    with_nan = array.copy()
    with_nan[::1000] = np.nan
    extra_nan = peak_extra_memory(lambda: fingerprint(with_nan))
    print(
        f"\nPeak extra memory of fingerprint (tracemalloc): {extra / 2**20:.1f} MiB "
        f"({100 * extra / array.nbytes:.2f} % of the array); with NaNs to "
        f"canonicalise: {extra_nan / 2**20:.1f} MiB ({100 * extra_nan / array.nbytes:.2f} %)."
    )


def make_frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    words = np.array([f"value_{i:04d}" for i in range(1000)], dtype=object)
    return pd.DataFrame(
        {
            "f1": rng.standard_normal(n),
            "f2": rng.standard_normal(n),
            "f3": rng.standard_normal(n),
            "f4": rng.standard_normal(n).astype(np.float32),
            "i1": rng.integers(0, 1000, n),
            "i2": rng.integers(0, 1000, n).astype(np.int32),
            "i3": rng.integers(0, 10**9, n),
            "s": pd.Series(words[rng.integers(0, 1000, n)], dtype=object),
            "c": pd.Categorical.from_codes(
                rng.integers(0, 50, n), [f"c{i}" for i in range(50)]
            ),
            "b": rng.random(n) < 0.5,
        }
    )


def bench_frames(n: int, n_rounds: int) -> None:
    frame = make_frame(n)
    variants = [
        ("object strings", frame),
        ("pandas `str` strings", frame.assign(s=frame["s"].astype("str"))),
    ]
    if os.environ.get("MLOPSKIT_BENCH_CHILD"):
        variants = variants[1:]  # the Arrow run: only the `str` variant differs
    for label, df in variants:

        def hpo_md5(df: pd.DataFrame = df) -> str:
            values = pd.util.hash_pandas_object(df).to_numpy()
            return hashlib.md5(memoryview(values).cast("B")).hexdigest()

        times = rounds(
            {
                "joblib.hash": lambda df=df: joblib.hash(df),
                "hash_pandas_object + md5": hpo_md5,
                "fingerprint": lambda df=df: fingerprint(df),
            },
            n_rounds,
        )
        dtype = df["s"].dtype
        table(
            f"{n:,} x 10 DataFrame, {label} (dtype {dtype!r}), "
            f"{df.memory_usage(deep=False).sum() / 1e6:.0f} MB of buffers, {n_rounds} rounds",
            times,
            "joblib.hash",
        )
        extra = peak_extra_memory(lambda df=df: fingerprint(df))
        size = df.memory_usage(deep=False).sum()
        print(
            f"\nPeak extra memory of fingerprint: {extra / 2**20:.1f} MiB "
            f"({100 * extra / size:.1f} % of the frame's buffers)."
        )
    del frame
    gc.collect()
    arrow_python = HERE / ".venvs" / "arrow" / "bin" / "python"
    if arrow_python.exists() and not os.environ.get("MLOPSKIT_BENCH_CHILD"):
        # pandas 3 stores `str` in Arrow when pyarrow is installed; pyarrow is not a
        # dependency of mlopskit, so that variant runs in its own virtualenv.
        print("\n#### The same frames with pyarrow installed (Arrow-backed `str`)")
        out = subprocess.run(
            [str(arrow_python), __file__, "--only", "frames", "--rows", str(n)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "MLOPSKIT_BENCH_CHILD": "1"},
        ).stdout
        print(out.replace("\n### ", "\n#### "))


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, env=env)


def make_file_data(file_bytes: int, n_files: int) -> tuple[Path, Path]:
    DATA.mkdir(exist_ok=True)
    big = DATA / "big.bin"
    if not big.exists() or big.stat().st_size != file_bytes:
        with open(big, "wb") as handle:
            for _ in range(file_bytes // 2**24):
                handle.write(os.urandom(2**24))
            handle.write(os.urandom(file_bytes % 2**24))
    tree = DATA / f"tree{n_files}"
    if not tree.exists():
        for i in range(n_files):
            path = tree / f"d{i % 10}" / f"f{i:05d}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(4096))
    old = time.time() - 3600  # outside the stat cache's racy window
    for path in [big, *tree.rglob("*")]:
        os.utime(path, (old, old))
    return big, tree


def dvc_add(target: Path) -> Callable[[], None]:
    def go() -> None:
        with tempfile.TemporaryDirectory(dir=DATA) as tmp:
            repo = Path(tmp)
            link = repo / target.name
            if target.is_dir():  # DVC needs the data inside its repository
                shutil.copytree(target, link)
            else:
                os.link(target, link)
            env = {
                **os.environ,
                "DVC_SITE_CACHE_DIR": str(repo / ".site"),
                "DVC_NO_ANALYTICS": "1",
            }
            run([str(DVC), "init", "--no-scm", "-q"], repo, env)
            start = time.perf_counter()
            run([str(DVC), "add", "-q", target.name], repo, env)
            go.elapsed = time.perf_counter() - start  # type: ignore[attr-defined]
            start = time.perf_counter()
            run([str(DVC), "status", "-q"], repo, env)
            go.status = time.perf_counter() - start  # type: ignore[attr-defined]

    return go


def bench_paths(file_bytes: int, n_files: int, n_rounds: int) -> None:
    if not DVC.exists():
        print(f"\n(DVC not found at {DVC}: skipping the file benchmarks)")
        return
    big, tree = make_file_data(file_bytes, n_files)
    version = subprocess.run(
        [str(DVC), "version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()[0]
    print(f"\nPeer: {version}")
    mlopskit = [sys.executable, "-m", "mlopskit.cli", "hash"]
    for label, target in (
        (f"{file_bytes / 2**30:.2f} GiB file", big),
        (f"{n_files:,} x 4 KiB files", tree),
    ):
        add = dvc_add(target)
        adds: list[float] = []
        statuses: list[float] = []
        cold: list[float] = []
        warm: list[float] = []
        cli: list[float] = []
        for _ in range(n_rounds):
            add()
            adds.append(add.elapsed)  # type: ignore[attr-defined]
            statuses.append(add.status)  # type: ignore[attr-defined]
            with tempfile.TemporaryDirectory() as cache:
                os.environ["MLOPSKIT_CACHE_DIR"] = cache
                start = time.perf_counter()
                first = hash_path(target)
                cold.append(time.perf_counter() - start)
                start = time.perf_counter()
                assert hash_path(target) == first
                warm.append(time.perf_counter() - start)
            with tempfile.TemporaryDirectory() as cache:
                start = time.perf_counter()
                subprocess.run(
                    [*mlopskit, str(target)],
                    check=True,
                    capture_output=True,
                    env={**os.environ, "MLOPSKIT_CACHE_DIR": cache},
                )
                cli.append(time.perf_counter() - start)
        times = {
            "dvc add (wall, subprocess)": adds,
            "mlopskit hash (wall, subprocess, cold cache)": cli,
            "hash_path (in process, cold cache)": cold,
            "dvc status right after add (warm)": statuses,
            "hash_path again (warm stat cache)": warm,
        }
        table(f"{label}, {n_rounds} rounds", times, "dvc add (wall, subprocess)")


def bench_diff(n: int, n_rounds: int) -> None:
    rng = np.random.default_rng(1)
    old = pd.DataFrame(
        {
            "id": np.arange(n),
            **{f"x{j}": rng.standard_normal(n) for j in range(5)},
            "k": rng.integers(0, 100, n),
            "s": pd.Series(
                np.array(["a", "b", "c"], dtype=object)[rng.integers(0, 3, n)]
            ),
        }
    )
    new = old.iloc[n // 200 :].copy()  # 0.5 % removed
    changed = rng.choice(len(new), size=n // 100, replace=False)  # 1 % changed
    new.iloc[changed, 1] += 1.0
    extra = old.iloc[: n // 200].assign(id=np.arange(n, n + n // 200))  # 0.5 % added
    new = pd.concat([new, extra], ignore_index=True)

    def merge_diff() -> tuple[int, int]:
        both = old.merge(new, how="outer", indicator=True)
        counts = both["_merge"].value_counts()
        return int(counts["right_only"]), int(counts["left_only"])

    times = rounds(
        {
            "pandas merge(indicator=True), all columns": merge_diff,
            "diff_datasets(key=None)": lambda: diff_datasets(old, new),
            "diff_datasets(key='id')": lambda: diff_datasets(old, new, key="id"),
        },
        n_rounds,
    )
    d = diff_datasets(old, new, key="id")
    table(
        f"diff of {n:,}-row frames (9 columns; {d.n_added:,} added, {d.n_removed:,} removed, "
        f"{d.n_changed:,} changed), {n_rounds} rounds",
        times,
        "pandas merge(indicator=True), all columns",
    )


class RssPeak:
    """Peak resident memory above the starting point, sampled by a thread."""

    def __init__(self) -> None:
        import threading

        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.start = self.peak = self._rss()

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def extra(self) -> int:
        return self.peak - self.start


def _pickle_dump(frame: pd.DataFrame, path: Path) -> None:
    import pickle

    with open(path, "wb") as f:
        pickle.dump(frame, f, protocol=5)


def _pickle_load(path: Path) -> object:
    import pickle

    with open(path, "rb") as f:
        return pickle.load(f)


def _store_frame(rows: int) -> pd.DataFrame:
    """The frame of benchmark 2 with pandas' default strings and no categorical.

    A categorical with string categories does not survive Parquet unchanged under
    pandas 3 (its categories come back as ``object``), so the store would use its
    ``frame`` codec for it; without it the automatic choice is Parquet, and the
    ``frame`` codec is measured separately (forced).
    """
    frame = make_frame(rows).drop(columns="c")
    frame["s"] = frame["s"].astype("str")
    return frame


STORE_OPS = (
    "store put (auto codec)",
    "store put (frame codec)",
    "pickle dump",
    "parquet write",
    "store get (auto codec)",
    "store get (frame codec)",
    "pickle load",
    "parquet read",
)


def _real_parquet() -> Callable[..., object]:
    from mlopskit.versioning import _codecs

    return _codecs._parquet


_PARQUET = _real_parquet()


def _store_op(name: str, frame: pd.DataFrame, folder: Path) -> Callable[[], object]:
    """The operation ``name`` on ``frame``, with its files in ``folder``."""
    from mlopskit.versioning import ContentStore, _codecs

    kind = "frame" if "frame codec" in name else "auto"
    store = folder / f"store-{kind}"
    pkl, pq = folder / "frame.pkl", folder / "frame.parquet"

    def put() -> object:
        if kind == "frame":  # force the numpy-only codec (as without pyarrow)
            _codecs._parquet = lambda f: None  # type: ignore[assignment]
        return ContentStore(str(store), lease_seconds=0).put(frame)

    ops: dict[str, Callable[[], object]] = {
        "store put (auto codec)": put,
        "store put (frame codec)": put,
        "pickle dump": lambda: _pickle_dump(frame, pkl),
        "parquet write": lambda: frame.to_parquet(pq),
        "store get (auto codec)": lambda: ContentStore(str(store)).get(
            fingerprint(frame)
        ),
        "store get (frame codec)": lambda: ContentStore(str(store)).get(
            fingerprint(frame)
        ),
        "pickle load": lambda: _pickle_load(pkl),
        "parquet read": lambda: pd.read_parquet(pq),
    }
    return ops[name]


def store_child(name: str, target_mib: int, folder: Path) -> None:
    """One operation in a fresh process: print its seconds and peak extra RSS."""
    import json

    frame = _store_frame(_store_rows(target_mib))
    warm = folder / "warm"  # imports (pyarrow, skops …) are not part of an op's cost
    warm.mkdir(exist_ok=True)
    for warm_name in STORE_OPS:
        _store_op(warm_name, frame.head(3), warm)()
    from mlopskit.versioning import _codecs

    _codecs._parquet = _PARQUET  # the warm-up's "frame codec" put replaced it
    op = _store_op(name, frame, folder)
    if "get" in name:
        fingerprint(frame)  # warm (the digest is not part of a get's cost)
    gc.collect()
    with RssPeak() as mem:
        start = time.perf_counter()
        out = op()
        seconds = time.perf_counter() - start
    del out
    print(json.dumps({"s": seconds, "mib": mem.extra / 2**20}))


def _store_rows(target_mib: int) -> int:
    sample = _store_frame(10_000)
    return int(target_mib * 2**20 / sample.memory_usage(deep=True).sum() * 10_000)


def bench_store(target_mib: int, n_rounds: int) -> None:
    """Each operation in its own process (peak memory is then its own), interleaved."""
    import json

    from mlopskit.versioning import ContentStore

    rows = _store_rows(target_mib)
    frame = _store_frame(rows)
    size = int(frame.memory_usage(deep=True).sum())
    digest = fingerprint(frame)
    del frame
    base = Path(tempfile.mkdtemp(prefix="bench-store-"))
    results: dict[str, dict[str, list[float]]] = {
        n: {"s": [], "mib": []} for n in STORE_OPS
    }
    codecs: dict[str, str] = {}
    for run in range(n_rounds):
        folder = base / f"round-{run}"
        folder.mkdir()
        for name in STORE_OPS:
            cmd = [sys.executable, __file__, "--store-child", name]
            cmd += ["--store-mib", str(target_mib), "--store-dir", str(folder)]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True)
            entry = json.loads(out.stdout.strip().splitlines()[-1])
            results[name]["s"].append(entry["s"])
            results[name]["mib"].append(entry["mib"])
        for kind in ("auto", "frame"):
            codecs[kind] = ContentStore(str(folder / f"store-{kind}")).codec(digest)
        shutil.rmtree(folder)
    shutil.rmtree(base, ignore_errors=True)
    print(
        f"\n### Storing a {size / 2**20:.0f} MiB DataFrame ({rows:,} rows x 9 "
        f"columns), {n_rounds} interleaved rounds, one process per operation\n"
    )
    print(
        f"Store codecs: automatic = `{codecs['auto']}`, forced = `{codecs['frame']}`.\n"
    )
    print(
        "| operation | median s | median peak extra RSS (MiB) | peak RSS / frame "
        "| time x pickle |"
    )
    print("|---|---|---|---|---|")
    for name, entry in results.items():
        writes = ("put", "dump", "write")
        peer = "pickle dump" if any(w in name for w in writes) else "pickle load"
        ratios = [v / p for v, p in zip(entry["s"], results[peer]["s"], strict=True)]
        mib = statistics.median(entry["mib"])
        print(
            f"| {name} | {statistics.median(entry['s']):.2f} | {mib:.0f} | "
            f"{mib * 2**20 / size:.2f} | {statistics.median(ratios):.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes, to check the script"
    )
    parser.add_argument(
        "--only",
        choices=["arrays", "frames", "paths", "diff", "store"],
        action="append",
    )
    parser.add_argument(
        "--store-mib", type=int, default=1024, help="frame size of the store benchmark"
    )
    parser.add_argument("--store-child", help=argparse.SUPPRESS)
    parser.add_argument("--store-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--rows", type=int, default=10_000_000, help="rows of the frame benchmark"
    )
    args = parser.parse_args()
    if args.store_child:
        store_child(args.store_child, args.store_mib, args.store_dir)
        return
    scale = 64 if args.quick else 1
    only = set(args.only or ["arrays", "frames", "paths", "diff", "store"])
    print(
        f"numpy {np.__version__}, pandas {pd.__version__}, joblib {joblib.__version__}, "
        f"blake3 {blake3.__version__}, Python {sys.version.split()[0]}, "
        f"{time.strftime('%Y-%m-%d')}"
    )
    if "arrays" in only:
        bench_arrays(2**30 // scale, 3)
    if "frames" in only:
        bench_frames(args.rows // scale, 3)
    if "paths" in only:
        bench_paths(2**30 // scale, 10_000 // scale, 3)
    if "diff" in only:
        bench_diff(1_000_000 // scale, 3)
    if "store" in only:
        bench_store(max(1, args.store_mib // scale), 3 if args.quick else 5)


if __name__ == "__main__":
    main()
