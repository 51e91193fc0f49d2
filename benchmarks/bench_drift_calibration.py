"""False-alarm rate of every batch drift detector under no shift (issue 17).

For each detector and sample size n (reference and sample both n rows, the
reference redrawn every time, as a user's reference is a sample too), the share of
``draws`` null draws with p <= alpha = 0.05 (decisions at the detector's own
threshold for the fixed-threshold rows). Column-wise detectors are vectorised: one
``detect`` over ``draws`` independent N(0, 1) columns with ``correction=None``.
Multivariate and label detectors loop over draws. ClassifierDrift is left out
(7 s per draw on the shared machine); its calibration is checked by
``tests/drift/test_calibration_and_power.py::test_classifier_drift_is_calibrated``.

The 95 % band for 400 draws is the central binomial interval of Binomial(400, 0.05):
12 to 29 alarms, a rate of 0.030 to 0.0725. A rate inside it is consistent with
alpha; a discrete test (chi-square on 5 categories at n = 50, the histogram
distances on 10 bins at n = 50) may sit below it, which is conservative.

    python benchmarks/bench_drift_calibration.py [--draws 400] [--sizes 50 200 1000 5000]
        [--large]        # also the distance detectors at n = 100,000 and 1,000,000

Prints a markdown table (the one in benchmarks/RESULTS.md, "Issue 17 — drift
calibration").
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.linear_model import LogisticRegression

from mlopskit.drift import (
    BBSD,
    BBSE,
    MLLS,
    AndersonDarlingDrift,
    ChiSquareDrift,
    CramerVonMisesDrift,
    DummyDrift,
    HellingerDrift,
    JensenShannonDrift,
    KSDrift,
    LabelDrift,
    MMDDrift,
    PSIDrift,
    TabularDrift,
    WassersteinDrift,
)

ALPHA = 0.05


def _columns(det: Any, n: int, draws: int, rng: np.random.Generator) -> int:
    """Alarms over ``draws`` independent null columns, in chunks of <= 50 M values."""
    chunk = max(1, min(draws, 50_000_000 // (2 * n)))
    alarms = 0
    for start in range(0, draws, chunk):
        k = min(chunk, draws - start)
        ref, smp = rng.normal(size=(n, k)), rng.normal(size=(n, k))
        if det.__class__ is ChiSquareDrift:
            ref, smp = rng.integers(0, 5, size=(n, k)), rng.integers(0, 5, size=(n, k))
        p = det.fit(ref).detect(smp).features["p_value"].to_numpy()
        alarms += int((p <= ALPHA).sum())
    return alarms


def _tabular(n: int, draws: int, rng: np.random.Generator) -> int:
    half = draws // 2

    def frame() -> pd.DataFrame:
        nums = pd.DataFrame(
            rng.normal(size=(n, half)), columns=[f"n{j}" for j in range(half)]
        )
        cats = pd.DataFrame(
            rng.choice(np.array(["a", "b", "c"], dtype=object), size=(n, draws - half)),
            columns=[f"c{j}" for j in range(draws - half)],
        )
        return pd.concat([nums, cats], axis=1)

    p = TabularDrift(correction=None).fit(frame()).detect(frame())
    return int((p.features["p_value"].to_numpy() <= ALPHA).sum())


def _loop(
    make: Callable[[], Any], draw: Callable[[np.random.Generator], tuple[Any, Any]]
) -> Callable[[int, int, np.random.Generator], int]:
    def run(n: int, draws: int, rng: np.random.Generator) -> int:
        alarms = 0
        for _ in range(draws):
            ref, smp = draw_n(draw, n, rng)
            alarms += bool(make().fit(*ref).detect(smp).drift)
        return alarms

    return run


def draw_n(draw: Any, n: int, rng: np.random.Generator) -> Any:
    return draw(n, rng)


def _gauss(n: int, rng: np.random.Generator, d: int = 5) -> tuple[Any, Any]:
    return (rng.normal(size=(n, d)),), rng.normal(size=(n, d))


_MODEL_RNG = np.random.default_rng(123)
_X_TRAIN = _MODEL_RNG.normal(size=(2000, 4))
_Y_TRAIN = (_X_TRAIN[:, 0] + _MODEL_RNG.normal(size=2000) > 0).astype(int) + (
    _X_TRAIN[:, 1] > 0.5
).astype(int)
_MODEL = LogisticRegression().fit(_X_TRAIN, _Y_TRAIN)


def _model_rows(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=(n, 4))
    y = (x[:, 0] + rng.normal(size=n) > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    return x, y


def _bbsd(n: int, rng: np.random.Generator) -> tuple[Any, Any]:
    return (_model_rows(n, rng)[0],), _model_rows(n, rng)[0]


def _labels(n: int, rng: np.random.Generator) -> tuple[Any, Any]:
    return (_model_rows(n, rng)[1],), _model_rows(n, rng)[1]


def _bbse(n: int, rng: np.random.Generator) -> tuple[Any, Any]:
    x, y = _model_rows(max(n, 500), rng)
    return (_MODEL.predict(x), y), _MODEL.predict(_model_rows(n, rng)[0])


def _mlls(n: int, rng: np.random.Generator) -> tuple[Any, Any]:
    x, y = _model_rows(2000, rng)  # a held-out source of 2,000 labelled rows
    return (_MODEL.predict_proba(x), y), _MODEL.predict_proba(_model_rows(n, rng)[0])


def detectors(
    large: bool,
) -> dict[str, tuple[Callable[..., int], tuple[int, ...] | None]]:
    p = 999
    col = {
        "KSDrift": KSDrift(correction=None),
        "CramerVonMisesDrift": CramerVonMisesDrift(correction=None),
        "AndersonDarlingDrift": AndersonDarlingDrift(correction=None),
        "ChiSquareDrift (5 categories)": ChiSquareDrift(correction=None),
        "WassersteinDrift": WassersteinDrift(
            correction=None, n_permutations=p, random_state=0
        ),
        "PSIDrift": PSIDrift(correction=None, n_permutations=p, random_state=0),
        "JensenShannonDrift": JensenShannonDrift(
            correction=None, n_permutations=p, random_state=0
        ),
        "HellingerDrift": HellingerDrift(
            correction=None, n_permutations=p, random_state=0
        ),
        "WassersteinDrift(threshold=0.1) (old default)": WassersteinDrift(
            correction=None, threshold=0.1
        ),
        "JensenShannonDrift(threshold=0.1) (old default)": JensenShannonDrift(
            correction=None, threshold=0.1
        ),
    }
    out: dict[str, tuple[Callable[..., int], tuple[int, ...] | None]] = {}
    for name, det in col.items():
        if "threshold" in name:
            out[name] = (_fixed(det), None)
        else:
            out[name] = ((lambda d: lambda n, k, r: _columns(d, n, k, r))(det), None)
    out["TabularDrift (half numeric, half categorical)"] = (_tabular, None)
    out["MMDDrift (5-D, 100 permutations)"] = (
        _loop(lambda: MMDDrift(random_state=0), _gauss),
        (50, 200, 1000),
    )
    out["BBSD (KS on a model's probabilities)"] = (
        _loop(lambda: BBSD(model=_MODEL), _bbsd),
        None,
    )
    out["LabelDrift"] = (_loop(LabelDrift, _labels), None)
    out["BBSE (source max(n, 500) rows)"] = (_loop(BBSE, _bbse), None)
    out["MLLS (BCTS; source 2,000 rows)"] = (
        _loop(lambda: MLLS(n_bootstrap=100, random_state=0), _mlls),
        None,
    )
    out["DummyDrift"] = (_loop(lambda: DummyDrift(random_state=None), _gauss), None)
    return out


def _fixed(det: Any) -> Callable[[int, int, np.random.Generator], int]:
    def run(n: int, draws: int, rng: np.random.Generator) -> int:
        ref, smp = rng.normal(size=(n, draws)), rng.normal(size=(n, draws))
        return int(det.fit(ref).detect(smp).features["drift"].sum())

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=400)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 1000, 5000])
    parser.add_argument("--large", action="store_true")
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    lo, hi = (int(v) for v in stats.binom.interval(0.95, args.draws, ALPHA))
    print(
        f"95 % band for {args.draws} draws: {lo}–{hi} alarms "
        f"({lo / args.draws:.4f}–{hi / args.draws:.4f})\n"
    )
    sizes = list(args.sizes)
    print("| detector | " + " | ".join(f"n = {n:,}" for n in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    for name, (run, allowed) in detectors(args.large).items():
        if args.only and not any(o in name for o in args.only):
            continue
        cells = []
        for i, n in enumerate(sizes):
            if allowed is not None and n not in allowed:
                cells.append("—")
                continue
            rng = np.random.default_rng([17, i, len(name)])
            t0 = time.perf_counter()
            alarms = run(n, args.draws, rng)
            flag = "" if lo <= alarms <= hi else (" ↓" if alarms < lo else " ↑")
            cells.append(f"{alarms / args.draws:.3f}{flag}")
            print(
                f"  {name} n={n}: {alarms}/{args.draws} in {time.perf_counter() - t0:.1f}s",
                file=sys.stderr,
            )
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    if args.large:
        print("\nDistance detectors at large n (draws: columns of N(0, 1)):\n")
        print("| detector | n | draws | false-alarm rate | 95 % band |")
        print("|---|---:|---:|---:|---|")
        for n, draws in ((100_000, 400), (1_000_000, 100)):
            b_lo, b_hi = (int(v) for v in stats.binom.interval(0.95, draws, ALPHA))
            for cls in (WassersteinDrift, PSIDrift, JensenShannonDrift, HellingerDrift):
                det = cls(correction=None, random_state=0)
                rng = np.random.default_rng([18, n])
                alarms = _columns(det, n, draws, rng)
                print(
                    f"| {cls.__name__} | {n:,} | {draws} | {alarms / draws:.3f} | "
                    f"{b_lo / draws:.3f}–{b_hi / draws:.3f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
