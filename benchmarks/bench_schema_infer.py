"""Inference quality (issue 13): false failures on clean halves, planted errors caught.

For each data set (scikit-learn's breast_cancer, wine and diabetes, with their
target; and adult-like census data generated here, since adult itself needs a
download), ten random halves: infer a schema on one half, then

1. validate the other, clean half: a failure there is a *false failure*;
2. validate copies of that half, each with one planted error — a value two spans of
   the full data set past its maximum or below its minimum, a text cell in a
   numeric column, a string column turned into numbers, a level never seen, a null
   in a column without nulls, a renamed column — and count the error as *caught*
   when the report fails and names the column (a warning, the ``unseen="warn"``
   policy on open-ended levels, is counted apart as *flagged*).

mlopskit's default ``Schema.infer`` runs next to ``pandera.infer_schema`` on the
same splits and the same planted copies (pandera counts as catching an error when
``validate(lazy=True)`` raises ``SchemaErrors`` naming the column).

Run: ``python benchmarks/bench_schema_infer.py [--splits 10] [--seed 0]``.
California housing needs a download and is not included.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlopskit.schema import Schema

#: Distances (in spans of the full data set) past the maximum, for the range table.
SPANS = (0.5, 1.0, 2.0, 5.0)


def adult_like(n: int = 32_561, random_state: int = 0) -> pd.DataFrame:
    """Census-like rows shaped like UCI adult (its size and level frequencies).

    Closed categoricals (sex, race, relationship, income), categoricals with rare
    levels (occupation's "Armed-Forces" at adult's 9 in 32,561; native_country with
    36 levels whose counts fall from about 100 to 1, as adult's do), nulls in
    workclass/occupation/native_country (adult's ``?``), a capped integer (age ≤ 90),
    a heavy-tailed integer that is mostly 0 (capital_gain) and a peaked one
    (hours_per_week).
    """
    rng = np.random.default_rng(random_state)

    def pick(levels: list[str], weights: list[float], size: int) -> np.ndarray:
        p = np.asarray(weights, dtype=float)
        return rng.choice(np.array(levels, dtype=object), size, p=p / p.sum())

    countries = ["United-States", "Mexico", "Philippines", "Germany", "Canada"]
    countries += [f"Country-{i:02d}" for i in range(36)]
    tail = 100 * 0.877 ** np.arange(36)  # counts in 32,561 rows: ~100 down to ~1
    country_w = [29170, 643, 198, 137, 121, *tail]
    occupations = [f"Occ-{i:02d}" for i in range(13)] + ["Priv-serv", "Armed-Forces"]
    occupation_w = [*list(np.linspace(4100, 900, 13)), 149, 9]
    frame = pd.DataFrame(
        {
            "age": np.clip(np.round(17 + rng.gamma(3.0, 7.0, n)), 17, 90).astype(int),
            "workclass": pick(
                ["Private", "Self-emp", "Local-gov", "State-gov", "Federal-gov"],
                [0.74, 0.12, 0.07, 0.04, 0.03],
                n,
            ),
            "fnlwgt": np.round(rng.lognormal(12.0, 0.5, n)).astype(int),
            "education_num": rng.choice(np.arange(1, 17), n, p=_edu_weights()),
            "marital_status": pick(
                ["Married", "Never-married", "Divorced", "Separated", "Widowed"],
                [0.46, 0.33, 0.14, 0.03, 0.04],
                n,
            ),
            "occupation": pick(occupations, occupation_w, n),
            "relationship": pick(
                ["Husband", "Not-in-family", "Own-child", "Unmarried", "Wife"],
                [0.4, 0.26, 0.16, 0.11, 0.07],
                n,
            ),
            "race": pick(
                ["White", "Black", "Asian-Pac", "Amer-Indian", "Other"],
                [0.85, 0.1, 0.03, 0.01, 0.01],
                n,
            ),
            "sex": pick(["Male", "Female"], [0.67, 0.33], n),
            "capital_gain": np.where(
                rng.random(n) < 0.92, 0, np.round(rng.lognormal(8.5, 1.0, n))
            ).astype(int),
            "hours_per_week": np.clip(np.round(rng.normal(40, 11, n)), 1, 99).astype(
                int
            ),
            "native_country": pick(countries, country_w, n),
            "income": pick(["<=50K", ">50K"], [0.76, 0.24], n),
        }
    )
    for column, rate in (("workclass", 0.05), ("occupation", 0.05)):
        frame.loc[rng.random(n) < rate, column] = None
    frame.loc[rng.random(n) < 0.02, "native_country"] = None
    return frame


def _edu_weights() -> np.ndarray:
    w = np.array([1, 2, 3, 4, 5, 6, 8, 3, 32, 22, 4, 3, 16, 5, 2, 1], dtype=float)
    return w / w.sum()


def datasets() -> dict[str, pd.DataFrame]:
    """The four data sets, features plus target, as pandas frames."""
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

    return {
        "breast_cancer": load_breast_cancer(as_frame=True).frame,
        "wine": load_wine(as_frame=True).frame,
        "diabetes": load_diabetes(as_frame=True, scaled=False).frame,
        "adult_like": adult_like(),
    }


def halves(df: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A random split of ``df`` into two halves (train, held out)."""
    order = np.random.default_rng(seed).permutation(len(df))
    cut = len(df) // 2
    return df.iloc[order[:cut]], df.iloc[order[cut:]]


@dataclass(frozen=True)
class Planted:
    """One planted error: its kind, the column it is in, and the corrupted frame."""

    kind: str
    column: str
    frame: pd.DataFrame


def _row(held_out: pd.DataFrame, rng: np.random.Generator) -> Any:
    return held_out.index[rng.integers(len(held_out))]


def _numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(
        values
    )


def _set(frame: pd.DataFrame, column: str, row: Any, value: Any) -> pd.DataFrame:
    """A copy of ``frame`` with one cell replaced (the column upcast if needed)."""
    bad = frame.copy()
    series = bad[column]
    if value is None or isinstance(value, str):
        if pd.api.types.is_integer_dtype(series) and value is None:
            series = series.astype("float64")
        elif not pd.api.types.is_float_dtype(series) or isinstance(value, str):
            series = series.astype(object)
    elif isinstance(value, float) and pd.api.types.is_integer_dtype(series):
        value = round(value)
    series = series.copy()
    series.loc[row] = value
    bad[column] = series
    return bad


def _typo(level: str, known: set[str]) -> str:
    """A level never seen, shaped like ``level``: its first letter's case swapped."""
    candidate = level[:1].swapcase() + level[1:]
    while candidate in known or candidate == level:
        candidate = "x" + candidate
    return candidate


def planted_errors(
    held_out: pd.DataFrame, full: pd.DataFrame, seed: int
) -> Iterator[Planted]:
    """Every planted error of the suite, one corrupted copy of ``held_out`` each.

    Numeric columns: a unit error (a typical non-zero cell × 1000), the sentinel
    -999, a text cell ("n/a"). Other columns: the column turned into integer codes,
    a level never seen (an observed one with its first letter's case swapped).
    Every column: a null where the data set has none, and the
    column renamed.
    """
    rng = np.random.default_rng(seed)
    for column in held_out.columns:
        values = full[column]
        if _numeric(values):
            cells = held_out[column].abs()
            typical = held_out.index[(cells >= cells.median()) & (cells > 0)]
            row = typical[rng.integers(len(typical))]
            scaled = held_out.loc[row, column] * 1000
            yield Planted("unit_x1000", column, _set(held_out, column, row, scaled))
            yield Planted(
                "sentinel_-999",
                column,
                _set(held_out, column, _row(held_out, rng), -999),
            )
            yield Planted(
                "text_in_numeric",
                column,
                _set(held_out, column, _row(held_out, rng), "n/a"),
            )
        else:
            bad = held_out.copy()
            bad[column] = pd.factorize(bad[column])[0]
            yield Planted("numbers_in_text", column, bad)
            row = _row(held_out, rng)
            known = set(values.dropna().astype(str))
            level = _typo(str(held_out.loc[row, column]), known)
            yield Planted("new_level", column, _set(held_out, column, row, level))
        if not values.isna().any():
            yield Planted(
                "null", column, _set(held_out, column, _row(held_out, rng), None)
            )
        yield Planted(
            "renamed", column, held_out.rename(columns={column: f"{column}_x"})
        )


def beyond_range(
    held_out: pd.DataFrame, full: pd.DataFrame, spans: float, seed: int
) -> Iterator[Planted]:
    """One cell per numeric column moved ``spans`` × the data set's span past its max."""
    rng = np.random.default_rng(seed)
    for column in held_out.columns:
        values = full[column]
        if _numeric(values) and values.nunique() > 2:
            lo, hi = float(values.min()), float(values.max())
            value = hi + spans * (hi - lo)
            yield Planted(
                f"max+{spans:g}span",
                column,
                _set(held_out, column, _row(held_out, rng), value),
            )


@dataclass
class Tally:
    """Counts for one (data set, tool)."""

    splits: int = 0
    false_failures: int = 0
    planted: int = 0
    caught: int = 0
    flagged: int = 0
    missed: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def miss(self, kind: str) -> None:
        self.missed[kind] = self.missed.get(kind, 0) + 1


Infer = Callable[[pd.DataFrame], Any]
Judge = Callable[[Any, pd.DataFrame], tuple[set[str], set[str]]]


def mlopskit_tool(**options: Any) -> tuple[Infer, Judge]:
    """``Schema.infer(**options)``; a verdict is (failing columns, warned columns)."""

    def infer(frame: pd.DataFrame) -> Schema:
        return Schema.infer(frame, **options)

    def judge(schema: Schema, frame: pd.DataFrame) -> tuple[set[str], set[str]]:
        report = schema.validate(frame)
        return set(report.failures["column"].dropna()), set(
            report.warnings["column"].dropna()
        )

    return infer, judge


def pandera_tool() -> tuple[Infer, Judge]:
    """``pandera.infer_schema`` with ``validate(lazy=True)``."""
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors

    def judge(schema: Any, frame: pd.DataFrame) -> tuple[set[str], set[str]]:
        try:
            schema.validate(frame, lazy=True)
        except SchemaErrors as err:
            cases = err.failure_cases
            named = set(cases["column"].dropna().astype(str))
            named |= set(cases["failure_case"][cases["column"].isna()].astype(str))
            return named or {"<table>"}, set()
        return set(), set()

    return pa.infer_schema, judge


def evaluate(
    df: pd.DataFrame, tool: tuple[Infer, Judge], splits: int, seed: int
) -> tuple[Tally, dict[float, tuple[int, int]]]:
    """False failures and planted errors caught for one tool on one data set.

    Returns the tally and, per distance in :data:`SPANS`, (caught, planted) for
    values moved that far past the data set's maximum.
    """
    infer, judge = tool
    tally = Tally()
    beyond = {d: [0, 0] for d in SPANS}
    start = time.perf_counter()
    for split in range(splits):
        train, held_out = halves(df, seed + split)
        schema = infer(train)
        failing, _ = judge(schema, held_out)
        tally.splits += 1
        tally.false_failures += bool(failing)
        for case in planted_errors(held_out, df, seed + 1000 + split):
            failing, warned = judge(schema, case.frame)
            tally.planted += 1
            if case.column in failing:
                tally.caught += 1
            elif case.column in warned:
                tally.flagged += 1
            else:
                tally.miss(case.kind)
        for d in SPANS:
            for case in beyond_range(held_out, df, d, seed + 2000 + split):
                beyond[d][1] += 1
                beyond[d][0] += case.column in judge(schema, case.frame)[0]
    tally.seconds = time.perf_counter() - start
    return tally, {d: (c, n) for d, (c, n) in beyond.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--splits", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tools = {
        "mlopskit": mlopskit_tool(),
        "mlopskit unseen='fail'": mlopskit_tool(unseen="fail"),
        "pandera": pandera_tool(),
    }
    import pandera

    print(
        f"python {platform.python_version()}, pandas {pd.__version__}, numpy "
        f"{np.__version__}, pandera {pandera.__version__}; {args.splits} splits, seed "
        f"{args.seed}\n"
    )
    head = "| data set | rows | tool | false failures (clean halves) | planted caught "
    print(head + "| flagged as warning | missed (by kind) | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    ranges = []
    for name, df in datasets().items():
        for tool_name, tool in tools.items():
            t, beyond = evaluate(df, tool, args.splits, args.seed)
            missed = ", ".join(f"{k} {v}" for k, v in sorted(t.missed.items())) or "—"
            print(
                f"| {name} | {len(df)} | {tool_name} | {t.false_failures}/{t.splits} "
                f"| {t.caught}/{t.planted} ({100 * t.caught / t.planted:.1f} %) "
                f"| {t.flagged} | {missed} | {t.seconds:.1f} |",
                flush=True,
            )
            cells = " | ".join(
                f"{c}/{n} ({100 * c / n:.0f} %)" for c, n in beyond.values()
            )
            ranges.append(f"| {name} | {tool_name} | {cells} |")
    print("\nValues moved past the data set's maximum by a multiple of its span:\n")
    print("| data set | tool | " + " | ".join(f"+{d:g} span" for d in SPANS) + " |")
    print("|---|---|" + "---|" * len(SPANS))
    print("\n".join(ranges))


if __name__ == "__main__":
    main()
