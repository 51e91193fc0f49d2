"""Issue 18 measurements, driven by ``bench_pipeline.py --issue18``.

1. The stale-case matrix: every edit kind of ``tests/pipeline/edit_kinds.py``
   through mlopskit (this tree, and ``main`` in a subprocess), Hamilton's cache
   (``Builder().with_cache``) and ``joblib.Memory``; each cell says whether the
   run after the edit returned the new value ("ok") or the old one ("STALE").
2. Cheap steps: a 100-step chain, uncached (``cache=None``), cold cached (empty
   store) and fully cached re-runs, against ``joblib.Memory`` hits per step.
3. A large DataFrame loaded from the cache: mlopskit, Hamilton's cache,
   ``joblib.Memory``; time of the load, and its peak RSS growth in a fresh process.
"""

from __future__ import annotations

import gc
import importlib
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.pipeline.edit_kinds import KINDS, EditKind  # noqa: E402

# -- 1. the stale-case matrix ----------------------------------------------------------


class _Gen:
    def __init__(self, folder: Path, kind: EditKind) -> None:
        tag = uuid.uuid4().hex[:8]
        self.folder, self.kind = folder, kind
        self.name, self.hm = f"g_{tag}", f"gh_{tag}"
        self.path = str(folder / f"{tag}.txt")
        self.write(1)
        self.mod = importlib.import_module(self.name)

    def write(self, v: int) -> None:
        k = self.kind
        if k.helper:
            (self.folder / f"{self.hm}.py").write_text(k.helper.format(v=v))
        if k.uses_file:
            Path(self.path).write_text(str(v))
        src = k.source.format(v=v, hm=self.hm, path=self.path)
        (self.folder / f"{self.name}.py").write_text(src)
        importlib.invalidate_caches()

    def edit(self) -> None:
        k = self.kind
        if k.mutate:
            exec(k.mutate.format(w=5), self.mod.__dict__)
        elif k.uses_file:
            Path(self.path).write_text("5")
        else:
            self.write(5)
            if k.helper:
                importlib.reload(sys.modules[self.hm])
            self.mod = importlib.reload(self.mod)

    def out(self) -> Any:
        out = self.mod.out
        return getattr(out, "func", out)  # a Step: its function


def _mlopskit_cell(gen: _Gen, tmp: Path) -> tuple[Any, Any]:
    from mlopskit.pipeline import Pipeline, step

    url = f"memory://matrix-{uuid.uuid4().hex}"

    def run() -> Any:
        out = gen.mod.out
        s = (
            out
            if hasattr(out, "func") and hasattr(out, "sources")
            else step(out, name="out")
        )
        return Pipeline([s]).run({"x": 1}, cache=url).outputs["out"]

    return run, None


def _joblib_cell(gen: _Gen, tmp: Path) -> tuple[Any, Any]:
    import joblib

    location = tmp / f"joblib-{uuid.uuid4().hex}"

    def run() -> Any:
        return joblib.Memory(location, verbose=0).cache(gen.out())(1)

    return run, None


def _hamilton_cell(gen: _Gen, tmp: Path) -> tuple[Any, Any]:
    from hamilton import driver

    path = str(tmp / f"hamilton-{uuid.uuid4().hex}")

    def run() -> Any:
        import types

        # Hamilton builds nodes from a module's functions; give it only the step
        mod = types.ModuleType(gen.name)
        out = gen.out()
        if isinstance(out, types.FunctionType):  # Hamilton needs type hints
            out.__annotations__ = {"x": int, "return": int}
        mod.out = out
        dr = driver.Builder().with_modules(mod).with_cache(path=path).build()
        return dr.execute(["out"], inputs={"x": 1})["out"]

    return run, None


CELLS = {"mlopskit": _mlopskit_cell, "Hamilton": _hamilton_cell, "joblib": _joblib_cell}


def stale_matrix(contenders: list[str]) -> dict[str, dict[str, str]]:
    """kind name -> contender -> "ok" | "STALE" | "error: …"."""
    warnings.simplefilter("ignore")
    logging.getLogger("hamilton").setLevel(logging.ERROR)
    sys.dont_write_bytecode = True
    result: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        sys.path.insert(0, name)
        for kind in KINDS:
            row = result.setdefault(kind.name, {})
            for contender in contenders:
                try:
                    gen = _Gen(tmp, kind)
                    run, _ = CELLS[contender](gen, tmp)
                    assert run() == 2
                    assert run() == 2  # a hit (or a re-run) before the edit
                    gen.edit()
                    after = run()
                    row[contender] = "ok" if after == 6 else "STALE"
                except Exception as exc:  # the peer cannot express the shape
                    row[contender] = f"error: {type(exc).__name__}"
    return result


def main_matrix() -> dict[str, dict[str, str]]:
    """The matrix of mlopskit on ``main`` (its ``src`` exported to a temp folder)."""
    with tempfile.TemporaryDirectory() as name:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "main", "src"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", name], input=archive, check=True)
        env = {**os.environ, "PYTHONPATH": f"{name}/src"}
        code = (
            f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); "
            "from benchmarks._bench_issue18 import stale_matrix; "
            "print(json.dumps(stale_matrix(['mlopskit'])))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True,
            check=True,
        )  # fmt: skip
        return json.loads(out.stdout.strip().splitlines()[-1])


def print_matrix() -> None:
    after = stale_matrix(["mlopskit", "Hamilton", "joblib"])
    before = main_matrix()
    print(
        "| # | edit kind | main | this branch | Hamilton 1.90 cache | joblib.Memory |"
    )
    print("|---|---|---|---|---|---|")
    stale = {"main": 0, "branch": 0, "Hamilton": 0, "joblib": 0}
    for i, kind in enumerate(KINDS, 1):
        b = before[kind.name]["mlopskit"]
        row = after[kind.name]
        cells = [b, row["mlopskit"], row["Hamilton"], row["joblib"]]
        for key, cell in zip(stale, cells, strict=True):
            stale[key] += cell != "ok"
        print(f"| {i} | {kind.name} | " + " | ".join(cells) + " |")
    print(
        f"\nNot ok (stale or cannot express) of {len(KINDS)}: main {stale['main']}, "
        f"this branch {stale['branch']}, Hamilton {stale['Hamilton']}, "
        f"joblib {stale['joblib']}"
    )


# -- 2. cheap steps --------------------------------------------------------------------

N_CHEAP = 100


def _chain_module(folder: Path) -> Any:
    lines = ["def c0(x):\n    return x + 1\n"]
    lines += [
        f"def c{i}(c{i - 1}):\n    return c{i - 1} + 1\n" for i in range(1, N_CHEAP)
    ]
    (folder / "issue18_chain.py").write_text("\n\n".join(lines))
    sys.path.insert(0, str(folder))
    return importlib.import_module("issue18_chain")


def _wall(fn: Any) -> float:
    gc.collect()
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def cheap_steps(rounds: int) -> None:
    import joblib

    from mlopskit.pipeline import Pipeline

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        mod = _chain_module(tmp)
        funcs = [getattr(mod, f"c{i}") for i in range(N_CHEAP)]
        pipe = Pipeline(funcs)
        last = f"c{N_CHEAP - 1}"
        warm_url = str(tmp / "warm")
        pipe.run({"x": 0}, cache=warm_url)
        mem = joblib.Memory(tmp / "joblib", verbose=0)
        cached = [mem.cache(f) for f in funcs]

        def joblib_chain() -> int:
            value = cached[0](0)
            for f in cached[1:]:
                value = f(value)
            return value

        joblib_chain()
        times: dict[str, list[float]] = {
            "mlopskit, no cache (cache=None)": [],
            "mlopskit, cold cached run (empty local store)": [],
            "mlopskit, fully cached re-run (local store)": [],
            "joblib.Memory, all hits (local folder)": [],
        }
        for r in range(rounds):
            keys = list(times)
            fns = [
                lambda: pipe.run({"x": 0}),
                lambda r=r: pipe.run({"x": 0}, cache=str(tmp / f"cold-{r}")),
                lambda: pipe.run({"x": 0}, cache=warm_url),
                joblib_chain,
            ]
            for key, fn in zip(keys, fns, strict=True):
                times[key].append(_wall(fn))
        assert pipe.run({"x": 0}, cache=warm_url).outputs[last] == N_CHEAP
    us = 1e6 / N_CHEAP
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"\n{N_CHEAP}-step chain of `x + 1` steps, median of {rounds} interleaved rounds"
    )
    print("\n| contender | µs / step (median) | min–max |")
    print("|---|---|---|")
    for k, v in times.items():
        print(f"| {k} | {med[k] * us:.1f} | {min(v) * us:.1f}–{max(v) * us:.1f} |")
    keys = list(med)
    print(
        f"\ncached / cold-cached: {med[keys[2]] / med[keys[1]]:.3f}×; "
        f"cached / no-cache: {med[keys[2]] / med[keys[0]]:.2f}×; "
        f"cached / joblib.Memory hits: {med[keys[2]] / med[keys[3]]:.2f}×"
    )


# -- 3. a large DataFrame from the cache -------------------------------------------------


def big_frame(rows: int = 2_000_000) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"f{i}": rng.normal(size=rows) for i in range(8)})
    frame["k"] = rng.integers(0, 100, size=rows)
    return frame


ROWS = 2_000_000


def _frame_loaders(tmp: Path) -> dict[str, Any]:
    """The three caches over one step returning the frame (computed on first call)."""
    import joblib
    from hamilton import driver

    from mlopskit.pipeline import Pipeline

    logging.getLogger("hamilton").setLevel(logging.ERROR)
    module = tmp / "issue18_frame.py"
    if not module.exists():
        module.write_text(
            "import pandas as pd\n"
            "from benchmarks._bench_issue18 import big_frame as _make\n\n"
            "def frame(rows: int) -> pd.DataFrame:\n    return _make(rows)\n"
        )
    sys.path.insert(0, str(tmp))
    mod = importlib.import_module("issue18_frame")
    pipe = Pipeline([mod.frame])
    url = str(tmp / "mlopskit")
    dr = driver.Builder().with_modules(mod).with_cache(path=str(tmp / "ham")).build()
    jframe = joblib.Memory(tmp / "joblib", verbose=0).cache(mod.frame)
    return {
        "mlopskit (cached run, target loaded)": lambda: pipe.run(
            {"rows": ROWS}, cache=url
        ).outputs["frame"],
        "Hamilton 1.90 cache": lambda: dr.execute(["frame"], inputs={"rows": ROWS})[
            "frame"
        ],
        "joblib.Memory": lambda: jframe(ROWS),
    }


def _current_rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _rss_child(name: str, folder: str) -> None:
    """In a fresh process: the peak RSS growth (bytes) during one load.

    RSS, not tracemalloc: pyarrow allocates from its own pool, which tracemalloc
    does not see. Sampled every millisecond by a thread (``ru_maxrss`` is useless
    here: importing Hamilton alone peaks higher than the load).
    """
    import threading

    warnings.simplefilter("ignore")
    load = _frame_loaders(Path(folder))[name]
    gc.collect()
    base = _current_rss()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _current_rss())
            done.wait(0.001)

    sampler = threading.Thread(target=sample)
    sampler.start()
    value = load()
    done.set()
    sampler.join()
    peak[0] = max(peak[0], _current_rss())
    assert len(value) == ROWS
    print(peak[0] - base)


def _rss(name: str, folder: Path) -> int:
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
        "from benchmarks._bench_issue18 import _rss_child; "
        f"_rss_child({name!r}, {str(folder)!r})"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip().splitlines()[-1])


def large_frame(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        loaders = _frame_loaders(tmp)
        for load in loaders.values():  # fill the caches
            load()
        size = big_frame().memory_usage(deep=True).sum()
        times: dict[str, list[float]] = {k: [] for k in loaders}
        peaks: dict[str, list[int]] = {k: [] for k in loaders}
        for _ in range(rounds):
            for k, load in loaders.items():
                times[k].append(_wall(load))
                peaks[k].append(_rss(k, tmp))
    print(
        f"\nA {size / 1e6:.0f} MB DataFrame (2,000,000 × 9) loaded from a warm cache, "
        f"median of {rounds} interleaved rounds: wall time in this process, and the "
        "growth of peak RSS during one load in a fresh process"
    )
    print("\n| contender | seconds | peak RSS growth MB | / frame size |")
    print("|---|---|---|---|")
    for k in loaders:
        wall = statistics.median(times[k])
        peak = statistics.median(peaks[k])
        print(f"| {k} | {wall:.3f} | {peak / 1e6:.0f} | {peak / size:.2f}× |")


def main(rounds: int) -> None:
    print("## Issue 18 — pipeline cache\n")
    print_matrix()
    cheap_steps(rounds)
    large_frame(rounds)
