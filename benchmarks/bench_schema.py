"""Schema validation: mlopskit vs pandera vs the same checks hand-written in numpy.

Two parts, printed as markdown tables:

1. Speed on a 1,000,000 × 20 frame (10 float columns with range checks, 5 integer
   columns with allowed values or ranges, 3 string columns with regexes or allowed
   values, 2 datetime columns with ranges; strict column set), clean and with 1 % of
   the cells of every column bad. Contenders: mlopskit ``validate`` (lazy), pandera
   ``validate(lazy=True)``, and the "floor": the same checks written directly in
   numpy/pandas, building the same long failure table. The contenders are
   interleaved in rounds, with ``gc.collect()`` before each timed call; medians and
   within-run ratios are reported.
2. Inference quality: infer on 100,000 clean rows, validate a fresh clean sample
   (count false failures) and a sample with planted bad values in every column kind
   (count the planted cells reported, by column and row label).

Run: ``python benchmarks/bench_schema.py [--rows N] [--rounds K]``. With
``--arrow`` the same script runs again in ``benchmarks/.venvs/arrow`` (created on
first use: the newest pandas, numpy, pyarrow and pandera, plus this checkout), so
that pandas 3's default string dtype is Arrow-backed there. The main environment is
left without pyarrow on purpose: installing it changes every string column's storage.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlopskit.schema import Column, Schema

try:
    import pandera.pandas as pa
except ImportError:  # pragma: no cover - pandera < 0.24
    import pandera as pa  # type: ignore[no-redef]

FLOATS = [f"f{i}" for i in range(10)]
INT_SETS = ["i0", "i1", "i2"]
INT_RANGES = ["i3", "i4"]
CODES, COUNTRY, USER = "s0", "s1", "s2"
DATES = ["d0", "d1"]
ALLOWED_INTS = list(range(0, 100, 10))
COUNTRIES = ["DE", "FR", "US", "GB", "JP"]
CODE_RE, USER_RE = r"[A-Z]{3}-\d{4}", r"user_\d+"
D_LO, D_HI = pd.Timestamp("2020-01-01"), pd.Timestamp("2024-12-31")


def make_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {c: rng.uniform(0, 100, n) for c in FLOATS}
    for c in INT_SETS:
        data[c] = rng.choice(ALLOWED_INTS, n)
    for c in INT_RANGES:
        data[c] = rng.integers(0, 1000, n)
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    codes = ["".join(x) for x in letters[rng.integers(0, 26, (2000, 3))]]
    pool = np.array(
        [
            f"{c}-{d:04d}"
            for c, d in zip(codes, rng.integers(0, 10000, 2000), strict=True)
        ]
    )
    data[CODES] = pool[rng.integers(0, len(pool), n)]
    data[COUNTRY] = np.array(COUNTRIES)[rng.integers(0, 5, n)]
    data[USER] = np.char.add("user_", rng.integers(0, 1_000_000, n).astype(str))
    span = (D_HI - D_LO).value
    for c in DATES:
        data[c] = pd.to_datetime(D_LO.value + rng.integers(0, span, n), unit="ns")
    df = pd.DataFrame(data)
    for c in (CODES, COUNTRY, USER):
        df[c] = df[c].astype(pd.Series(["x"]).dtype)  # the default string dtype
    return df


BAD_VALUES: dict[str, list[Any]] = {
    **{c: [150.0, -5.0] for c in FLOATS},
    **{c: [5, 95] for c in INT_SETS},
    **{c: [5000, -1] for c in INT_RANGES},
    CODES: ["ABCD-123", "abc-1234"],
    COUNTRY: ["XX", "de"],
    USER: ["usr_12", "user_"],
    **{c: [pd.Timestamp("2030-01-01"), pd.Timestamp("1999-06-30")] for c in DATES},
}


def plant(
    df: pd.DataFrame, fraction: float, seed: int, *, nulls: bool = False
) -> tuple[pd.DataFrame, set[tuple[str, Any]]]:
    """Replace ``fraction`` of every column's cells with bad values; return them."""
    rng = np.random.default_rng(seed)
    df = df.copy()
    planted: set[tuple[str, Any]] = set()
    k = max(2, int(len(df) * fraction))
    for col, bad in BAD_VALUES.items():
        pos = rng.choice(len(df), k, replace=False)
        values = [bad[i % len(bad)] for i in range(k)]
        if nulls and col not in INT_SETS + INT_RANGES:
            values[-1] = None  # one null in a column that allows none
        series = df[col].copy()
        for p, v in zip(pos, values, strict=True):
            series.iat[p] = v if v is not None else (pd.NaT if col in DATES else np.nan)
        df[col] = series
        planted |= {(col, df.index[p]) for p in pos}
    return df, planted


def mlopskit_schema() -> Schema:
    cols = {c: Column(dtype="float", ge=0.0, le=100.0) for c in FLOATS}
    cols |= {c: Column(dtype="integer", isin=ALLOWED_INTS) for c in INT_SETS}
    cols |= {c: Column(dtype="integer", ge=0, le=999) for c in INT_RANGES}
    cols[CODES] = Column(dtype="string", regex=CODE_RE)
    cols[COUNTRY] = Column(dtype="string", isin=COUNTRIES)
    cols[USER] = Column(dtype="string", regex=USER_RE)
    cols |= {c: Column(dtype="datetime", ge=D_LO, le=D_HI) for c in DATES}
    return Schema(columns=cols, strict=True)


def pandera_schema(string_dtype: Any) -> Any:
    cols = {c: pa.Column(float, pa.Check.in_range(0, 100)) for c in FLOATS}
    cols |= {c: pa.Column(int, pa.Check.isin(ALLOWED_INTS)) for c in INT_SETS}
    cols |= {c: pa.Column(int, pa.Check.in_range(0, 999)) for c in INT_RANGES}
    cols[CODES] = pa.Column(string_dtype, pa.Check.str_matches(f"^{CODE_RE}$"))
    cols[COUNTRY] = pa.Column(string_dtype, pa.Check.isin(COUNTRIES))
    cols[USER] = pa.Column(string_dtype, pa.Check.str_matches(f"^{USER_RE}$"))
    cols |= {
        c: pa.Column("datetime64[ns]", pa.Check.in_range(D_LO, D_HI)) for c in DATES
    }
    return pa.DataFrameSchema(cols, strict=True)


def run_pandera(schema: Any, df: pd.DataFrame) -> pd.DataFrame:
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        return err.failure_cases
    return pd.DataFrame()


def floor(df: pd.DataFrame) -> pd.DataFrame:
    """The same checks, hand-written: dtype asserts, null masks, vectorised checks,
    and the long failure table (column, check, index, value)."""
    expected = [*FLOATS, *INT_SETS, *INT_RANGES, CODES, COUNTRY, USER, *DATES]
    assert sorted(df.columns) == sorted(expected)
    parts = []
    index = df.index

    def report(col: str, check: str, bad: np.ndarray, values: Any) -> None:
        pos = np.flatnonzero(bad)
        if len(pos):
            parts.append(
                pd.DataFrame(
                    {
                        "column": col,
                        "check": check,
                        "index": index[pos],
                        "value": values[pos],
                    }
                )
            )

    for c in FLOATS:
        s = df[c]
        assert s.dtype == np.float64
        v = s.to_numpy()
        null = np.isnan(v)
        report(c, "not_null", null, v)
        report(c, "in_range", ~((v >= 0) & (v <= 100)) & ~null, v)
    for c in INT_SETS + INT_RANGES:
        s = df[c]
        assert s.dtype == np.int64
        v = s.to_numpy()
        ok = s.isin(ALLOWED_INTS).to_numpy() if c in INT_SETS else (v >= 0) & (v <= 999)
        report(c, "check", ~ok, v)
    for c, how in ((CODES, CODE_RE), (COUNTRY, None), (USER, USER_RE)):
        s = df[c]
        assert pd.api.types.is_string_dtype(s.dtype)
        null = s.isna().to_numpy()
        ok = (
            s.isin(COUNTRIES).to_numpy()
            if how is None
            else s.str.fullmatch(how).to_numpy(dtype=bool, na_value=False)
        )
        values = s.array  # take only the failing cells (no full conversion)
        report(c, "not_null", null, values)
        report(c, "check", ~ok & ~null, values)
    for c in DATES:
        s = df[c]
        assert pd.api.types.is_datetime64_dtype(s.dtype)
        v = s.to_numpy()
        null = np.isnat(v)
        report(c, "not_null", null, s.array)
        report(
            c,
            "in_range",
            ~((v >= D_LO.to_datetime64()) & (v <= D_HI.to_datetime64())) & ~null,
            s.array,
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def speed(rows: int, rounds: int) -> list[str]:
    clean = make_frame(rows, seed=0)
    bad, planted = plant(clean, 0.01, seed=1)
    ours = mlopskit_schema()
    theirs = pandera_schema(clean[CODES].dtype)
    contenders = {
        "floor (numpy/pandas by hand)": floor,
        "mlopskit validate(lazy=True)": lambda df: ours.validate(df).failures,
        "pandera validate(lazy=True)": lambda df: run_pandera(theirs, df),
    }
    times: dict[tuple[str, str], list[float]] = {}
    counts: dict[tuple[str, str], int] = {}
    for _ in range(rounds):
        for case, df in (("clean", clean), ("1% bad", bad)):
            for name, fn in contenders.items():
                t, failures = timed(lambda fn=fn, df=df: fn(df))
                times.setdefault((case, name), []).append(t)
                counts[(case, name)] = len(failures)
    report = ours.validate(bad)
    assert report.n_failures == len(planted), (report.n_failures, len(planted))
    printed = len(str(report))
    lines = [
        "| case | contender | median s | min s | × floor | failures reported |",
        "|---|---|---|---|---|---|",
    ]
    for case in ("clean", "1% bad"):
        base = statistics.median(times[(case, "floor (numpy/pandas by hand)")])
        for name in contenders:
            ts = times[(case, name)]
            med = statistics.median(ts)
            lines.append(
                f"| {case} | {name} | {med:.3f} | {min(ts):.3f} | {med / base:.2f} | {counts[(case, name)]:,} |"
            )
    lines.append("")
    lines.append(
        f"`str(report)` for the 1 %-bad frame: {printed:,} characters ({report.n_failures:,} failures)."
    )
    return lines


def small_frames(rows: int, calls: int) -> list[str]:
    """Per-call overhead: many validations of a small frame (pandera #1879)."""
    df, _ = plant(make_frame(rows, seed=20), 0.01, seed=21)
    ours = mlopskit_schema()
    theirs = pandera_schema(df[CODES].dtype)
    contenders = {
        "floor (numpy/pandas by hand)": floor,
        "mlopskit validate(lazy=True)": lambda d: ours.validate(d).failures,
        "pandera validate(lazy=True)": lambda d: run_pandera(theirs, d),
    }
    per_call: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(3):
        for name, fn in contenders.items():
            t, _ = timed(lambda fn=fn: [fn(df) for _ in range(calls)])
            per_call[name].append(t / calls)
    base = statistics.median(per_call["floor (numpy/pandas by hand)"])
    lines = ["| contender | median ms per call | × floor |", "|---|---|---|"]
    for name, ts in per_call.items():
        med = statistics.median(ts)
        lines.append(f"| {name} | {1000 * med:.2f} | {med / base:.2f} |")
    return lines


def quality(rows: int) -> list[str]:
    train = make_frame(rows, seed=10)
    fresh = make_frame(rows, seed=11)
    bad, planted = plant(make_frame(rows, seed=12), 0.001, seed=13, nulls=True)
    lines = [
        "| library | false failures on a fresh clean sample (cells) | planted bad cells caught | caught % |",
        "|---|---|---|---|",
    ]
    ours = Schema.infer(train)
    fresh_fail = ours.validate(fresh).n_failures
    got = ours.validate(bad).failures
    caught = len(planted & set(zip(got["column"], got["index"], strict=True)))
    lines.append(
        f"| mlopskit `Schema.infer` (defaults) | {fresh_fail:,} | {caught:,} / {len(planted):,} | {100 * caught / len(planted):.1f} |"
    )
    theirs = pa.infer_schema(train)
    fresh_fail = len(run_pandera(theirs, fresh))
    got = run_pandera(theirs, bad)
    pairs = set(zip(got["column"], got["index"], strict=True)) if len(got) else set()
    caught = len(planted & pairs)
    lines.append(
        f"| pandera `infer_schema` | {fresh_fail:,} | {caught:,} / {len(planted):,} | {100 * caught / len(planted):.1f} |"
    )
    return lines


ARROW_VENV = Path(__file__).parent / ".venvs" / "arrow"
ARROW_PACKAGES = [
    "numpy",
    "pandas",
    "pyarrow",
    "pandera",
    "pydantic",
    "scipy",
    "scikit-learn",
    "fsspec",
    "joblib",
    "blake3",
]


def run_in_arrow_venv(argv: list[str]) -> int:
    python = ARROW_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(ARROW_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *ARROW_PACKAGES], check=True
        )
        root = Path(__file__).resolve().parent.parent
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--no-deps", "-e", str(root)],
            check=True,
        )
    return subprocess.run([str(python), __file__, *argv], check=False).returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--quality-rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--small-calls", type=int, default=30)
    parser.add_argument(
        "--arrow", action="store_true", help="run in a venv with pyarrow"
    )
    args = parser.parse_args()
    if args.arrow:
        sys.exit(run_in_arrow_venv([a for a in sys.argv[1:] if a != "--arrow"]))
    import pandera

    strings = repr(pd.Series(["x"]).dtype)
    print(
        f"pandas {pd.__version__}, numpy {np.__version__}, pandera {pandera.__version__}, Python {platform.python_version()}; default strings: {strings}"
    )
    print(f"\n### Speed: {args.rows:,} × 20, {args.rounds} interleaved rounds\n")
    print("\n".join(speed(args.rows, args.rounds)))
    print(
        f"\n### Per-call overhead: {args.small_calls} validations of a 1,440 × 20 frame (1 % bad), 3 rounds\n"
    )
    print("\n".join(small_frames(1440, args.small_calls)))
    print(f"\n### Inference quality: infer on {args.quality_rows:,} clean rows\n")
    print("\n".join(quality(args.quality_rows)))


if __name__ == "__main__":
    main()
