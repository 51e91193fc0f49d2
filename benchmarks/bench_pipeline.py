"""Pipeline overhead: mlopskit vs Hamilton, Kedro and a plain loop (same process run).

Workloads (generated modules of trivial functions, so only the framework is timed):

- chain: ``n0(x) = x + 1``, ``n_i(n_{i-1}) = n_{i-1} + 1`` for 200 steps;
- fan: ``f_i(x) = x + 1`` for 200 independent steps plus ``total(f0, …, f199)``.

Measured, interleaving the contenders in rounds (the machine is shared) and
reporting medians of wall time per step:

1. uncached run (a built pipeline / driver, repeated runs);
2. fully cached re-run of the chain: mlopskit with a local-folder ``ContentStore``
   and Hamilton's ``.with_cache(path=…)`` (both warm: the second and later runs);
   also mlopskit in a "fresh process" (in-memory index dropped, store re-opened);
3. cold cached run (everything computed and written), once each;
4. ``import`` time in a fresh interpreter.

Run: ``python benchmarks/bench_pipeline.py [--rounds 7]``.

``--issue18`` runs issue 18's measurements instead (``_bench_issue18.py``): the
stale-case matrix (mlopskit on this tree and on ``main``, Hamilton's cache,
``joblib.Memory``), cheap cached re-runs of a 100-step chain, and large-DataFrame
loads from the cache (time and peak memory).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

N = 200


def _write_modules(folder: Path) -> tuple[Any, Any]:
    # Type hints: Hamilton requires them (mlopskit ignores them).
    chain = ["def n0(x: int) -> int:\n    return x + 1\n"]
    chain += [
        f"def n{i}(n{i - 1}: int) -> int:\n    return n{i - 1} + 1\n"
        for i in range(1, N)
    ]
    fan = [f"def f{i}(x: int) -> int:\n    return x + 1\n" for i in range(N)]
    params = ", ".join(f"f{i}: int" for i in range(N))
    args = ", ".join(f"f{i}" for i in range(N))
    fan.append(f"def total({params}) -> int:\n    return sum([{args}])\n")
    mods = []
    for name, lines in (("bench_chain_mod", chain), ("bench_fan_mod", fan)):
        path = folder / f"{name}.py"
        path.write_text("\n\n".join(lines))
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        mods.append(mod)
    return mods[0], mods[1]


def _timed(fn: Any, expect: Any) -> tuple[float, float]:
    """(wall, CPU) seconds of one call; CPU time is robust to a busy shared machine."""
    c = time.process_time()
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    dc = time.process_time() - c
    assert out == expect, (out, expect)
    return dt, dc


def _contenders(chain: Any, fan: Any, tmp: Path) -> dict[str, dict[str, Any]]:
    from hamilton import driver
    from kedro.io import DataCatalog, MemoryDataset
    from kedro.pipeline import node, pipeline
    from kedro.runner import SequentialRunner

    from mlopskit.pipeline import Pipeline

    chain_funcs = [getattr(chain, f"n{i}") for i in range(N)]
    fan_funcs = [getattr(fan, f"f{i}") for i in range(N)]

    def loop_chain() -> int:
        v = 0
        for f in chain_funcs:
            v = f(v)
        return v

    def loop_fan() -> int:
        return fan.total(*[f(0) for f in fan_funcs])

    m_chain = Pipeline(chain_funcs)
    m_fan = Pipeline([*fan_funcs, fan.total])
    h_chain = driver.Builder().with_modules(chain).build()
    h_fan = driver.Builder().with_modules(fan).build()

    k_chain = pipeline(
        [node(chain.n0, "x", "n0")]
        + [node(getattr(chain, f"n{i}"), f"n{i - 1}", f"n{i}") for i in range(1, N)]
    )
    k_fan = pipeline(
        [node(f, "x", f"f{i}") for i, f in enumerate(fan_funcs)]
        + [node(fan.total, [f"f{i}" for i in range(N)], "total")]
    )
    runner = SequentialRunner()
    # Kedro's default rich logging writes ~5 INFO lines per node (~3–7 ms per node
    # here); compare against a quiet Kedro, as a user timing it would configure.
    for name in ("kedro", "kedro.io", "kedro.runner", "kedro.pipeline"):
        logging.getLogger(name).setLevel(logging.WARNING)

    def kedro_run(pipe: Any, out: str) -> Any:
        catalog = DataCatalog({"x": MemoryDataset(0), out: MemoryDataset()})
        runner.run(pipe, catalog)
        return catalog.load(out)

    return {
        "chain": {
            "plain loop": (loop_chain, N),
            "mlopskit": (lambda: m_chain.run({"x": 0}).outputs["n199"], N),
            "Hamilton": (lambda: h_chain.execute(["n199"], inputs={"x": 0})["n199"], N),
            "Kedro": (lambda: kedro_run(k_chain, "n199"), N),
        },
        "fan": {
            "plain loop": (loop_fan, N),
            "mlopskit": (lambda: m_fan.run({"x": 0}).outputs["total"], N),
            "Hamilton": (lambda: h_fan.execute(["total"], inputs={"x": 0})["total"], N),
            "Kedro": (lambda: kedro_run(k_fan, "total"), N),
        },
    }


def _cached(chain: Any, tmp: Path, rounds: int) -> dict[str, Any]:
    from hamilton import driver

    from mlopskit.pipeline import Pipeline, _store
    from mlopskit.versioning import ContentStore

    funcs = [getattr(chain, f"n{i}") for i in range(N)]
    pipe = Pipeline(funcs)
    url = str(tmp / "mlopskit-store")
    h = driver.Builder().with_modules(chain).with_cache(path=str(tmp / "ham")).build()

    cold = {
        "mlopskit": _timed(lambda: pipe.run({"x": 0}, cache=url).outputs["n199"], N),
        "Hamilton": _timed(lambda: h.execute(["n199"], inputs={"x": 0})["n199"], N),
    }
    statuses = {s.status for s in pipe.run({"x": 0}, cache=url).steps.values()}
    assert statuses == {"cached"}, statuses

    def fresh() -> int:
        _store._INDEXES.clear()
        _store._STORES.clear()
        return int(pipe.run({"x": 0}, cache=ContentStore(url)).outputs["n199"])

    warm: dict[str, list[tuple[float, float]]] = {
        "mlopskit": [],
        "mlopskit fresh": [],
        "Hamilton": [],
    }
    for _ in range(rounds):
        warm["mlopskit"].append(
            _timed(lambda: pipe.run({"x": 0}, cache=url).outputs["n199"], N)
        )
        warm["mlopskit fresh"].append(_timed(fresh, N))
        warm["Hamilton"].append(
            _timed(lambda: h.execute(["n199"], inputs={"x": 0})["n199"], N)
        )
    return {"cold": cold, "warm": warm}


def _import_time(stmt: str, runs: int = 5) -> float:
    code = (
        f"import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
    )
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=5, help="runs per round")
    parser.add_argument(
        "--issue18",
        action="store_true",
        help="the stale-case matrix, cheap cached runs and large-frame loads instead",
    )
    args = parser.parse_args()
    if args.issue18:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from benchmarks._bench_issue18 import main as issue18

        issue18(max(args.rounds, 5))
        return
    warnings.simplefilter("ignore")
    logging.getLogger("kedro").setLevel(logging.WARNING)
    logging.getLogger("hamilton").setLevel(logging.WARNING)

    import hamilton
    import kedro

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        chain, fan = _write_modules(tmp)
        workloads = _contenders(chain, fan, tmp)
        results: dict[str, dict[str, list[tuple[float, float]]]] = {
            w: {c: [] for c in cs} for w, cs in workloads.items()
        }
        for cs in workloads.values():  # warm-up: first-run imports, caches
            for fn, expect in cs.values():
                _timed(fn, expect)
        for _ in range(args.rounds):
            for w, cs in workloads.items():
                for c, (fn, expect) in cs.items():
                    for _ in range(args.repeats):
                        results[w][c].append(_timed(fn, expect))
        cached = _cached(chain, tmp, args.rounds * args.repeats)

    us = 1e6 / N

    def cell(times: list[tuple[float, float]]) -> tuple[str, float, float]:
        wall = [w for w, _ in times]
        cpu = statistics.median(c for _, c in times)
        med = statistics.median(wall)
        text = f"{med * us:.1f} [{min(wall) * us:.1f}–{max(wall) * us:.1f}] | {cpu * us:.1f}"
        return text, med, cpu

    print(f"## pipeline: {N}-step chain and {N}-step fan-out/fan-in")
    print(
        f"\nsf-hamilton {'.'.join(map(str, hamilton.version.VERSION))}, "
        f"kedro {kedro.__version__}; {args.rounds} rounds × {args.repeats} runs, "
        "interleaved; µs per step: wall median [min–max] and CPU-time median; "
        "ratios of medians vs Hamilton (wall, CPU)\n"
    )
    print(
        "| workload | contender | wall µs / step | CPU µs / step | ratio vs Hamilton |"
    )
    print("|---|---|---|---|---|")
    for w, cs in results.items():
        _, hw, hc = cell(cs["Hamilton"])
        for c, times in cs.items():
            text, mw, mc = cell(times)
            print(f"| {w}, uncached | {c} | {text} | {mw / hw:.2f}×, {mc / hc:.2f}× |")
    _, hw, hc = cell(cached["warm"]["Hamilton"])
    for c, times in cached["warm"].items():
        text, mw, mc = cell(times)
        print(
            f"| chain, fully cached re-run | {c} | {text} | {mw / hw:.3f}×, "
            f"{mc / hc:.3f}× ({hw / mw:.0f}× / {hc / mc:.0f}× faster) |"
        )
    hw, hc = cached["cold"]["Hamilton"]
    for c, (w_, c_) in cached["cold"].items():
        print(
            f"| chain, cold cached run (once) | {c} | {w_ * us:.0f} | {c_ * us:.0f} | "
            f"{w_ / hw:.2f}×, {c_ / hc:.2f}× |"
        )

    print("\n| import | seconds (median of 5 fresh interpreters) |")
    print("|---|---|")
    for label, stmt in (
        ("import mlopskit.pipeline", "import mlopskit.pipeline"),
        ("import hamilton.driver", "import hamilton.driver"),
        (
            "import kedro runner+pipeline+io",
            "import kedro.runner, kedro.pipeline, kedro.io",
        ),
    ):
        print(f"| `{label}` | {_import_time(stmt):.3f} |")


if __name__ == "__main__":
    main()
