"""What :func:`run_benchmark` returns: :class:`BenchmarkResult`.

It keeps every raw run (one row per dataset × shift × size × detector × run) and
derives everything else from them: the tidy summary :meth:`BenchmarkResult.table`
(detection rate with a Clopper–Pearson interval, runtime, streaming delay), a
markdown report, a power-vs-sample-size plot and a detector ranking.

What does *not* belong here: running detectors (:mod:`._harness`).
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from mlopskit._optional import import_optional
from mlopskit._results import Frame, Result

__all__ = ["BenchmarkResult"]

#: Columns of :attr:`BenchmarkResult.runs`.
RUN_COLUMNS = (
    "dataset",
    "shift",
    "kind",
    "sample_size",
    "detector",
    "run",
    "drift",
    "p_value",
    "fit_time",
    "detect_time",
    "delay",
    "false_alarms_per_1000",
)

_KEYS = ["dataset", "shift", "kind", "sample_size", "detector"]


class BenchmarkResult(Result):
    """Raw runs and summaries of a drift-detector benchmark.

    Attributes
    ----------
    runs
        One row per dataset × shift × sample size × detector × run: ``drift``,
        ``p_value`` (NaN when the detector gives none), ``fit_time`` and
        ``detect_time`` in seconds, and for streaming detectors ``delay`` (rows
        from the change to the first alarm) and ``false_alarms_per_1000`` (alarms
        before the change per 1,000 rows).
    alpha, n_runs, sample_sizes, random_state
        The settings of the run.
    detectors, datasets, shifts, shift_kinds
        Names in the order given (``shift_kinds[i]`` is ``shifts[i]``'s kind).
    skipped
        Datasets left out, with the reason (e.g. California housing not on disk).
    wall_time
        Seconds for the whole benchmark.

    Examples
    --------
    >>> from mlopskit.drift import LabelDrift
    >>> from mlopskit.drift.benchmark import NoShift, OnModelOutput, run_benchmark
    >>> res = run_benchmark(
    ...     {"labels": lambda ctx: OnModelOutput(LabelDrift(), ctx.model, output="label")},
    ...     datasets=["iris"], shifts=[NoShift()], sample_sizes=[20], n_runs=3,
    ...     progress=False)
    >>> len(res.runs), res.detector_share() <= 1.0
    (3, True)
    """

    runs: Frame
    alpha: float
    n_runs: int
    sample_sizes: tuple[int, ...]
    detectors: tuple[str, ...]
    datasets: tuple[str, ...]
    shifts: tuple[str, ...]
    shift_kinds: tuple[str, ...]
    skipped: tuple[str, ...] = ()
    wall_time: float
    random_state: int | None = None

    def table(self, *, confidence: float = 0.95) -> Any:
        """Tidy summary: one row per dataset × shift × sample size × detector.

        Columns: ``dataset, shift, kind, sample_size, detector, metric`` (``"power"``
        or, for ``kind == "none"``, ``"false_alarm"``), ``n_runs, detections, rate,
        ci_low, ci_high`` (Clopper–Pearson at ``confidence``), ``mean_time`` (seconds
        per fit + detect), ``mean_delay`` and ``false_alarms_per_1000`` (streaming).

        Examples
        --------
        >>> from mlopskit.drift import LabelDrift
        >>> from mlopskit.drift.benchmark import NoShift, OnModelOutput, run_benchmark
        >>> res = run_benchmark(
        ...     {"l": lambda ctx: OnModelOutput(LabelDrift(), ctx.model, output="label")},
        ...     datasets=["iris"], shifts=[NoShift()], sample_sizes=[20], n_runs=4,
        ...     progress=False)
        >>> res.table().loc[0, ["metric", "n_runs", "rate"]].to_dict()
        {'metric': 'false_alarm', 'n_runs': 4, 'rate': 0.0}
        """
        import pandas as pd
        from scipy import stats

        runs = self.runs.copy()
        runs["time"] = runs["fit_time"] + runs["detect_time"]
        grouped = runs.groupby(_KEYS, sort=True, dropna=False)
        out = grouped.agg(
            n_runs=("drift", "size"),
            detections=("drift", "sum"),
            mean_time=("time", "mean"),
            mean_delay=("delay", "mean"),
            false_alarms_per_1000=("false_alarms_per_1000", "mean"),
        ).reset_index()
        n = out["n_runs"].to_numpy()
        k = out["detections"].to_numpy().astype(np.int64)
        tail = (1 - confidence) / 2
        low = np.where(k > 0, stats.beta.ppf(tail, k, n - k + 1), 0.0)
        high = np.where(k < n, stats.beta.ppf(1 - tail, k + 1, n - k), 1.0)
        out["detections"] = k
        out["rate"] = k / n
        out["ci_low"] = np.nan_to_num(low, nan=0.0)
        out["ci_high"] = np.nan_to_num(high, nan=1.0)
        out["metric"] = np.where(out["kind"] == "none", "false_alarm", "power")
        cols = [
            *_KEYS,
            "metric",
            "n_runs",
            "detections",
            "rate",
            "ci_low",
            "ci_high",
            "mean_time",
            "mean_delay",
            "false_alarms_per_1000",
        ]
        return pd.DataFrame(out[cols]).reset_index(drop=True)

    def ranking(self) -> Any:
        """Per dataset and detector: mean power over shifted cells, mean false alarms.

        Sorted by dataset, then by power (best first) — the "which detector ranked
        first" summary of a study.

        Examples
        --------
        >>> from mlopskit.drift import LabelDrift
        >>> from mlopskit.drift.benchmark import LabelKnockout, OnModelOutput, run_benchmark
        >>> res = run_benchmark(
        ...     {"l": lambda ctx: OnModelOutput(LabelDrift(), ctx.model, output="label")},
        ...     datasets=["iris"], shifts=[LabelKnockout(1.0)], sample_sizes=[50],
        ...     n_runs=3, progress=False)
        >>> res.ranking()[["detector", "mean_power"]].to_dict("records")
        [{'detector': 'l', 'mean_power': 1.0}]
        """
        import pandas as pd

        tab = self.table()
        power = (
            tab[tab["metric"] == "power"]
            .groupby(["dataset", "detector"])["rate"]
            .mean()
            .rename("mean_power")
        )
        false = (
            tab[tab["metric"] == "false_alarm"]
            .groupby(["dataset", "detector"])["rate"]
            .mean()
            .rename("false_alarm_rate")
        )
        time = tab.groupby(["dataset", "detector"])["mean_time"].mean()
        out = pd.concat([power, false, time], axis=1).reset_index()
        out = out.sort_values(["dataset", "mean_power"], ascending=[True, False])
        return out.reset_index(drop=True)

    def detector_share(self) -> float:
        """Share of the wall time spent inside the detectors' ``fit``/``detect``."""
        inside = float(self.runs["fit_time"].sum() + self.runs["detect_time"].sum())
        # Fit times repeat on every row of a (dataset, run, detector): count them once.
        fits = self.runs.drop_duplicates(["dataset", "run", "detector"])["fit_time"]
        inside -= float(self.runs["fit_time"].sum() - fits.sum())
        return inside / self.wall_time if self.wall_time > 0 else float("nan")

    def pivot(self, dataset: str | None = None) -> Any:
        """Detection rates as a (shift, detector) × sample-size table for a dataset.

        Examples
        --------
        >>> from mlopskit.drift import LabelDrift
        >>> from mlopskit.drift.benchmark import NoShift, OnModelOutput, run_benchmark
        >>> res = run_benchmark(
        ...     {"l": lambda ctx: OnModelOutput(LabelDrift(), ctx.model, output="label")},
        ...     datasets=["iris"], shifts=[NoShift()], sample_sizes=[20, 40], n_runs=2,
        ...     progress=False)
        >>> res.pivot().columns.tolist()
        [20, 40]
        """
        tab = self.table()
        name = (
            dataset
            if dataset is not None
            else (self.datasets[0] if self.datasets else None)
        )
        sub = tab[tab["dataset"] == name]
        order = {s: i for i, s in enumerate(self.shifts)}
        det_order = {d: i for i, d in enumerate(self.detectors)}
        pivot = sub.pivot_table(
            index=["shift", "detector"], columns="sample_size", values="rate"
        )
        keys = sorted(
            pivot.index, key=lambda t: (order.get(t[0], 0), det_order.get(t[1], 0))
        )
        pivot = pivot.loc[keys]
        pivot.columns = [int(c) for c in pivot.columns]
        return pivot

    def to_markdown(self, *, digits: int = 2) -> str:
        """A markdown report: per dataset, detection rate per shift × detector × size.

        Rows with shift kind ``none`` are false-alarm rates. Written without any
        table library.

        Examples
        --------
        >>> from mlopskit.drift import LabelDrift
        >>> from mlopskit.drift.benchmark import NoShift, OnModelOutput, run_benchmark
        >>> res = run_benchmark(
        ...     {"l": lambda ctx: OnModelOutput(LabelDrift(), ctx.model, output="label")},
        ...     datasets=["iris"], shifts=[NoShift()], sample_sizes=[20], n_runs=2,
        ...     progress=False)
        >>> print(res.to_markdown())
        Detection rate over 2 runs per cell (alpha = 0.05); rows with shift kind `none` are false-alarm rates.
        <BLANKLINE>
        ### iris
        <BLANKLINE>
        | shift | detector | n=20 |
        |---|---|---|
        | no_shift | l | 0.00 |
        <BLANKLINE>
        """
        lines = [
            f"Detection rate over {self.n_runs} runs per cell (alpha = {self.alpha:g}); "
            "rows with shift kind `none` are false-alarm rates.",
        ]
        for name in self.datasets:
            pivot = self.pivot(name)
            header = ["shift", "detector", *[f"n={c}" for c in pivot.columns]]
            body = [
                [shift, det, *[_fmt(v, digits) for v in row]]
                for (shift, det), row in zip(pivot.index, pivot.to_numpy(), strict=True)
            ]
            lines += ["", f"### {name}", "", *_markdown_table(header, body)]
        if self.skipped:
            lines += ["", "Skipped: " + "; ".join(self.skipped)]
        return "\n".join(lines) + "\n"

    def plot(self, *, dataset: str | None = None) -> Any:
        """Power (or false-alarm rate) against sample size, one panel per shift.

        Needs matplotlib (``pip install "mlopskit-blocks[plot]"``). Shaded bands are the
        Clopper–Pearson intervals; the dotted line is ``alpha``.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> from mlopskit.drift import LabelDrift
        >>> from mlopskit.drift.benchmark import NoShift, OnModelOutput, run_benchmark
        >>> res = run_benchmark(
        ...     {"l": lambda ctx: OnModelOutput(LabelDrift(), ctx.model, output="label")},
        ...     datasets=["iris"], shifts=[NoShift()], sample_sizes=[20, 40], n_runs=2,
        ...     progress=False)
        >>> fig = res.plot()
        >>> len(fig.axes)
        1
        """
        plt = import_optional(
            "matplotlib.pyplot", extra="plot", feature="Benchmark plots"
        )
        tab = self.table()
        name = (
            dataset
            if dataset is not None
            else (self.datasets[0] if self.datasets else None)
        )
        tab = tab[tab["dataset"] == name]
        shifts = [s for s in self.shifts if s in set(tab["shift"])]
        ncols = min(3, max(1, len(shifts)))
        nrows = -(-len(shifts) // ncols) if shifts else 1
        fig, axes = plt.subplots(
            nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows), squeeze=False
        )
        for ax, shift in zip(axes.flat, shifts, strict=False):
            sub = tab[tab["shift"] == shift]
            for det in self.detectors:
                cell = sub[sub["detector"] == det].sort_values("sample_size")
                if cell.empty:
                    continue
                ax.plot(cell["sample_size"], cell["rate"], marker="o", label=det)
                ax.fill_between(
                    cell["sample_size"], cell["ci_low"], cell["ci_high"], alpha=0.15
                )
            ax.axhline(self.alpha, color="grey", linestyle=":", linewidth=1)
            ax.set_xscale("log")
            ax.set_ylim(-0.02, 1.02)
            ax.set_title(shift, fontsize=10)
            ax.set_xlabel("sample size")
            ax.set_ylabel(
                "false-alarm rate" if sub["kind"].iloc[0] == "none" else "power"
            )
        for ax in list(axes.flat)[len(shifts) :]:
            ax.remove()
        if shifts:
            axes.flat[0].legend(fontsize=8)
        fig.suptitle(f"{name}: detection rate ({self.n_runs} runs per point)")
        fig.tight_layout()
        return fig

    def _repr_html_(self) -> str:
        parts = [
            "<div><strong>BenchmarkResult</strong>",
            f"<p>{len(self.detectors)} detectors × {len(self.shifts)} shifts × "
            f"{len(self.sample_sizes)} sample sizes × {self.n_runs} runs on "
            f"{html.escape(', '.join(self.datasets))} in {self.wall_time:.1f} s "
            f"(alpha = {self.alpha:g})</p>",
        ]
        for name in self.datasets:
            parts.append(f"<p><em>{html.escape(name)}</em>: detection rate</p>")
            parts.append(self.pivot(name).round(2).to_html())
        if self.skipped:
            parts.append(f"<p>Skipped: {html.escape('; '.join(self.skipped))}</p>")
        parts.append("</div>")
        return "".join(parts)


def _fmt(value: Any, digits: int) -> str:
    return "" if value is None or value != value else f"{value:.{digits}f}"


def _markdown_table(header: list[str], body: list[list[Any]]) -> list[str]:
    cells = [[str(c).replace("|", "\\|") for c in row] for row in [header, *body]]
    return [
        "| " + " | ".join(cells[0]) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *["| " + " | ".join(row) + " |" for row in cells[1:]],
    ]
