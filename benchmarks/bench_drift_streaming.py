"""Streaming drift detectors: mlopskit vs river (same process) and frouros (own venv).

Run: ``python benchmarks/bench_drift_streaming.py`` (about 5 minutes on 2 cores).

Measures, interleaving the contenders in rounds and reporting medians:

1. per-value ``update`` time, a Python loop over floats (100,000 values; KSWIN
   10,000, its peers are slow);
2. ``update_many`` on 1,000,000 values against river's ``update`` loop on the same
   values (KSWIN: 50,000 values, since river's loop takes ~170 µs a value);
3. false alarms (alarms before the change) and detection delay (first alarm after
   it) with each library's defaults, on seeded streams of 100,000 values with a change
   at 50,000: a mean stream N(0, 1) → N(0.5, 1) and an error stream Bernoulli(0.1)
   → Bernoulli(0.2), seeds 0–2 (river's and frouros' KSWIN: seed 0 only).

frouros pins numpy 2.1 / scipy 1.14, so it runs in ``benchmarks/.venvs/frouros``
(created on first use; skipped with a note if it cannot be created). frouros' ADWIN
rejects negative running totals, so it gets the mean stream shifted by +10.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np

from mlopskit import drift

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venvs" / "frouros"
ROUNDS = 3
N_LOOP, N_LOOP_KSWIN = 100_000, 10_000
N_MANY, N_MANY_KSWIN = 1_000_000, 50_000
CHANGE, LENGTH = 50_000, 100_000
SEEDS = (0, 1, 2)

# detector name -> (stream kind, mlopskit factory, river factory name, frouros class)
DETECTORS: dict[str, tuple[str, Any, str, str]] = {
    "ADWIN": ("mean", drift.ADWIN, "ADWIN", "ADWIN"),
    "PageHinkley": ("mean", drift.PageHinkley, "PageHinkley", "PageHinkley"),
    "KSWIN": ("mean", drift.KSWIN, "KSWIN", "KSWIN"),
    "DDM": ("errors", drift.DDM, "binary.DDM", "DDM"),
    "EDDM": ("errors", drift.EDDM, "binary.EDDM", "EDDM"),
    "HDDM (A)": ("errors", drift.HDDM, "binary.HDDMA", "HDDMA"),
}


def river_factory(path: str) -> Any:
    from river import drift as rdrift

    obj: Any = rdrift
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def stream(kind: str, seed: int, n: int = LENGTH, change: int = CHANGE) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "mean":
        x = rng.normal(size=n)
        x[change:] += 0.5
        return x
    rate = np.where(np.arange(n) < change, 0.1, 0.2)
    return (rng.random(n) < rate).astype(np.float64)


def speed_stream(kind: str, n: int) -> np.ndarray:
    return stream(kind, 123, n=n, change=n)  # stationary: timing without resets


def time_loop_ours(factory: Any, values: list[float]) -> float:
    det = factory()
    t = time.perf_counter()
    for x in values:
        det.update(x)
    return time.perf_counter() - t


def time_loop_river(factory: Any, values: list[float]) -> float:
    det = factory()
    t = time.perf_counter()
    for x in values:
        det.update(x)
    return time.perf_counter() - t


def time_many(factory: Any, values: np.ndarray) -> float:
    det = factory()
    t = time.perf_counter()
    det.update_many(values)
    return time.perf_counter() - t


def quality_ours(factory: Any, kind: str) -> tuple[int, list[int | None]]:
    fa, delays = 0, []
    for seed in SEEDS:
        alarms = factory().update_many(stream(kind, seed))
        fa += int((alarms < CHANGE).sum())
        after = alarms[alarms >= CHANGE]
        delays.append(int(after[0] - CHANGE) if after.size else None)
    return fa, delays


def quality_river(
    factory: Any, kind: str, seeds: tuple[int, ...]
) -> tuple[int, list[int | None]]:
    fa, delays = 0, []
    for seed in seeds:
        det = factory()
        first_after = None
        for i, x in enumerate(stream(kind, seed).tolist()):
            det.update(x)
            if det.drift_detected:
                if i < CHANGE:
                    fa += 1
                elif first_after is None:
                    first_after = i - CHANGE
                    break
        delays.append(first_after)
    return fa, delays


FROUROS_CHILD = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    import frouros.detectors.concept_drift as cd
    folder, change, n_loop, n_loop_kswin = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    spec = json.loads(sys.argv[5])
    out = {}
    for name, (kind, cls, seeds) in spec.items():
        make = getattr(cd, cls)
        offset = 10.0 if cls == "ADWIN" else 0.0
        n = n_loop_kswin if cls == "KSWIN" else n_loop
        values = (np.load(f"{folder}/speed_{kind}.npy")[:n] + offset).tolist()
        det = make()
        t = time.perf_counter()
        for x in values:
            det.update(value=x)
            if det.drift:
                det.reset()
        per_value = (time.perf_counter() - t) / n
        fa, delays = 0, []
        for seed in seeds:
            det = make()
            first = None
            for i, x in enumerate((np.load(f"{folder}/{kind}_{seed}.npy") + offset).tolist()):
                det.update(value=x)
                if det.drift:
                    det.reset()
                    if i < change:
                        fa += 1
                    else:
                        first = i - change
                        break
            delays.append(first)
        out[name] = {"per_value": per_value, "fa": fa, "delays": delays}
    print(json.dumps(out))
    """
)


def run_frouros() -> tuple[dict[str, Any] | None, str]:
    python = VENV / "bin" / "python"
    if not python.exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "frouros==0.9.0"],
                check=True,
            )
        except (subprocess.CalledProcessError, OSError) as exc:
            return None, f"frouros venv could not be created: {exc}"
    version = subprocess.run(
        [str(python), "-c", "import frouros, numpy; print(frouros.__version__, numpy.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    spec = {
        name: (kind, cls, list(SEEDS) if cls != "KSWIN" else [0])
        for name, (kind, _, _, cls) in DETECTORS.items()
    }
    with tempfile.TemporaryDirectory() as folder:
        for kind in ("mean", "errors"):
            np.save(f"{folder}/speed_{kind}.npy", speed_stream(kind, N_LOOP))
            for seed in SEEDS:
                np.save(f"{folder}/{kind}_{seed}.npy", stream(kind, seed))
        result = subprocess.run(
            [str(python), "-c", FROUROS_CHILD, folder, str(CHANGE), str(N_LOOP // 5),
             str(N_LOOP_KSWIN // 5), json.dumps(spec)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    return json.loads(
        result.stdout
    ), f"frouros {version[0]} (numpy {version[1]}, own venv)"


def fmt_delays(delays: list[int | None]) -> str:
    return ", ".join("miss" if d is None else str(d) for d in delays)


def main() -> None:
    import river

    rows_speed, rows_many, rows_quality = [], [], []
    loop_times: dict[str, dict[str, list[float]]] = {}
    many_times: dict[str, dict[str, list[float]]] = {}
    data_loop = {k: speed_stream(k, N_LOOP) for k in ("mean", "errors")}
    data_many = {k: speed_stream(k, N_MANY) for k in ("mean", "errors")}
    for _ in range(ROUNDS):
        for name, (kind, ours, rpath, _) in DETECTORS.items():
            n = N_LOOP_KSWIN if name == "KSWIN" else N_LOOP
            values = data_loop[kind][:n].tolist()
            t = loop_times.setdefault(name, {"ours": [], "river": []})
            t["ours"].append(time_loop_ours(ours, values) / n)
            t["river"].append(time_loop_river(river_factory(rpath), values) / n)
            m = N_MANY_KSWIN if name == "KSWIN" else N_MANY
            arr = data_many[kind][:m]
            tm = many_times.setdefault(
                name, {"many": [], "river": [], "many_riverparams": []}
            )
            tm["many"].append(time_many(ours, arr))
            tm["river"].append(time_loop_river(river_factory(rpath), arr.tolist()))
            if (
                name == "KSWIN"
            ):  # same window as river's defaults, for a like-for-like cost
                tm["many_riverparams"].append(
                    time_many(
                        lambda: drift.KSWIN(window_size=100, stat_size=30, alpha=0.005),
                        arr,
                    )
                )
    frouros, frouros_note = run_frouros()
    for name, (kind, ours, rpath, _) in DETECTORS.items():
        t = loop_times[name]
        o, r = statistics.median(t["ours"]) * 1e6, statistics.median(t["river"]) * 1e6
        f = f"{frouros[name]['per_value'] * 1e6:.2f}" if frouros else "—"
        rows_speed.append(f"| {name} | {o:.2f} | {r:.2f} | {o / r:.2f}× | {f} |")
        tm = many_times[name]
        m, rl = statistics.median(tm["many"]), statistics.median(tm["river"])
        size = N_MANY_KSWIN if name == "KSWIN" else N_MANY
        rows_many.append(
            f"| {name} | {size:,} | {m:.3f} s | {rl:.3f} s | {rl / m:.1f}× |"
        )
        if name == "KSWIN":
            mr = statistics.median(tm["many_riverparams"])
            rows_many.append(
                f"| KSWIN (river's window 100/30) | {size:,} | {mr:.3f} s | {rl:.3f} s | {rl / mr:.1f}× |"
            )
        fa, delays = quality_ours(ours, kind)
        rseeds = (0,) if name == "KSWIN" else SEEDS
        rfa, rdelays = quality_river(river_factory(rpath), kind, rseeds)
        fq = (
            f"{frouros[name]['fa']} | {fmt_delays(frouros[name]['delays'])}"
            if frouros
            else "— | —"
        )
        rows_quality.append(
            f"| {name} | {kind} | {fa} | {fmt_delays(delays)} | {rfa} | {fmt_delays(rdelays)} | {fq} |"
        )
    print(f"river {river.__version__}; {frouros_note}; numpy {np.__version__}; "
          f"{os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}\n")  # fmt: skip
    print("Per-value `update` (Python loop over floats), µs per value, median of "
          f"{ROUNDS} interleaved rounds\n")  # fmt: skip
    print("| detector | mlopskit | river | mlopskit / river | frouros |")
    print("|---|---|---|---|---|")
    print("\n".join(rows_speed))
    print(
        f"\n`update_many` vs river's `update` loop on the same values, median of {ROUNDS}\n"
    )
    print("| detector | values | mlopskit update_many | river loop | speed-up |")
    print("|---|---|---|---|---|")
    print("\n".join(rows_many))
    print(f"\nFalse alarms (before the change, summed over seeds {SEEDS}) and delays "
          "(first alarm after the change, per seed), library defaults\n")  # fmt: skip
    print("| detector | stream | mlopskit FA | mlopskit delays | river FA | river delays "
          "| frouros FA | frouros delays |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows_quality))


if __name__ == "__main__":
    main()
