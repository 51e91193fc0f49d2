"""An HTML report of a loop's history: tables, and figures when matplotlib is there.

What does *not* belong here: running the loop.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import Any

import fsspec
import numpy as np
import pandas as pd

__all__ = ["render_report", "report", "write_report"]

# Laid out for a 1280 px window: the page is at most 1200 px wide, a wide table scrolls
# inside its own box instead of pushing the page sideways, and long cells wrap.
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; box-sizing: border-box; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top;
         max-width: 24em; overflow-wrap: anywhere; }
th { background: #f3f3f3; position: sticky; top: 0; }
img { max-width: 100%; height: auto; }
.promoted { background: #e6f6e6; } .refused, .failed { background: #fdecea; }
.quarantined { background: #fff4e0; }
"""

_EVENT_COLUMNS = [
    "seq",
    "kind",
    "decision",
    "rows",
    "drifting_monitors",
    "performance",
    "triggers",
    "candidate_version",
    "candidate_score",
    "production_score",
    "gates_failed",
    "production_version",
    "cached_steps",
    "ran_steps",
    "reasons",
]


#: Columns that hold whole numbers (versions, sequence numbers, counts); pandas turns
#: them to floats when a value is missing, and the report prints them back as integers.
_INTEGER_SUFFIXES = ("version", "seq", "rows", "_steps", "size")


def report(
    loop: Any, path: str | None = None, *, events: Sequence[Any] | None = None
) -> str:
    """An HTML report of a loop's history; also written to ``path`` when given.

    The report holds the figures (embedded as PNG, so the file stands alone; they need
    matplotlib, ``pip install "mlopskit-blocks[plot]"``), a table of every event, the model
    versions and the alias history. It reads well in a 1280 px window: wide tables
    scroll in their own box.

    Parameters
    ----------
    loop
        The :class:`~mlopskit.loop.ContinuousTraining` loop.
    path
        Where to write the report (a local path or an fsspec URL), or ``None``.
    events
        The events to report (default: every event of the loop).

    Returns
    -------
    str
        The HTML document; in a notebook, show it with ``IPython.display.HTML``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from mlopskit.loop import ContinuousTraining, report
    >>> from mlopskit.pipeline import Pipeline
    >>> def model(data):
    ...     X, y = data.drop(columns="target"), data["target"]
    ...     return LogisticRegression(max_iter=500).fit(X, y)
    >>> frame = load_iris(as_frame=True).frame.sample(frac=1, random_state=0)
    >>> loop = ContinuousTraining(
    ...     Pipeline([model]), registry="memory://doc-report/registry",
    ...     model_name="iris", monitors={}, gates=[],
    ...     store="memory://doc-report/store")
    >>> loop.bootstrap(frame).decision
    'bootstrapped'
    >>> html = report(loop, "memory://doc-report/report.html")
    >>> html.startswith("<!doctype html>"), "<h2>Events</h2>" in html
    (True, True)
    """
    text = render_report(loop, events)
    if path is not None:
        with fsspec.open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    return text


def render_report(loop: Any, events: Sequence[Any] | None = None) -> str:
    """The report as an HTML string.

    Parameters
    ----------
    loop
        The :class:`~mlopskit.loop.ContinuousTraining` loop.
    events
        The events to report (default: every event of the loop).
    """
    from mlopskit.loop._events import events_frame

    events = list(loop.events() if events is None else events)
    history = events_frame(events)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>mlopskit loop report: {html.escape(loop.model_name)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Continuous training of <code>{html.escape(loop.model_name)}</code></h1>",
        f"<p>Registry <code>{html.escape(loop.registry.url)}</code>, store "
        f"<code>{html.escape(loop.store.url)}</code>; {len(history)} events.</p>",
        "<h2>Figures</h2>",
        _figures(loop, events),
        "<h2>Events</h2>",
        _events_table(history),
        "<h2>Model versions</h2>",
        _frame_table(loop.registry.list_versions(loop.model_name)),
        "<h2>Alias history</h2>",
        _frame_table(loop.registry.history(loop.model_name).to_frame()),
        "</body></html>",
    ]
    return "".join(parts)


def write_report(loop: Any, path: str, events: Sequence[Any] | None = None) -> None:
    """Write :func:`render_report` to ``path`` (a local path or an fsspec URL)."""
    report(loop, path, events=events)


def _events_table(history: pd.DataFrame) -> str:
    columns = [c for c in _EVENT_COLUMNS if c in history.columns]
    classes = [str(d) for d in history["decision"]] if "decision" in history else None
    return _table(history[columns], classes)


def _frame_table(frame: pd.DataFrame) -> str:
    return _table(frame, None)


def _table(frame: pd.DataFrame, classes: list[str] | None) -> str:
    columns = [str(c) for c in frame.columns]
    whole = [c.endswith(_INTEGER_SUFFIXES) for c in columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    rows = []
    for i, values in enumerate(frame.itertuples(index=False, name=None)):
        cells = "".join(
            f"<td>{html.escape(_cell(v, integer=w))}</td>"
            for v, w in zip(values, whole, strict=True)
        )
        css = f" class='{html.escape(classes[i])}'" if classes is not None else ""
        rows.append(f"<tr{css}>{cells}</tr>")
    return f"<div class='scroll'><table><tr>{head}</tr>{''.join(rows)}</table></div>"


def _cell(value: Any, *, integer: bool = False) -> str:
    """One table cell: blank for missing, whole numbers as integers, 4 decimals."""
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return ""
        if integer and float(value).is_integer():
            return str(int(value))
        return f"{value:.4f}"
    if isinstance(value, (list, tuple)):
        return "; ".join(_cell(v) for v in value)
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass  # an array-like cell: printed as it is
    return str(value)


def _figures(loop: Any, events: list[Any]) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return '<p>Figures need matplotlib: <code>pip install "mlopskit-blocks[plot]"</code>.</p>'
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    seq = [e.seq for e in events]
    perf = [np.nan if e.performance is None else e.performance for e in events]
    axes[0].plot(seq, perf, "o-", label="production's score on the labelled batch")
    cand = [np.nan if e.candidate_score is None else e.candidate_score for e in events]
    axes[0].plot(seq, cand, "s", label="candidate's score (held-out rows)")
    for e in events:
        if e.decision == "promoted":
            axes[0].axvline(e.seq, color="green", alpha=0.3)
        elif e.decision == "quarantined":
            axes[0].axvline(e.seq, color="orange", alpha=0.3)
    axes[0].set(xlabel="event", ylabel=loop.metric, title="Model quality per batch")
    axes[0].legend(fontsize=8)
    names = sorted({m.name for e in events for m in e.monitors})
    for name in names:
        values = [
            next((m.p_value for m in e.monitors if m.name == name), None)
            for e in events
        ]
        axes[1].semilogy(
            seq,
            [np.nan if v is None else max(v, 1e-16) for v in values],
            "o-",
            label=name,
        )
    alphas = {getattr(m.detector, "alpha", None) for m in loop.monitors} - {None}
    for alpha in alphas:
        axes[1].axhline(alpha, color="grey", linestyle="--", linewidth=0.8)
    axes[1].set(
        xlabel="event", ylabel="p-value", title="Drift monitors (below the line: drift)"
    )
    if names:
        axes[1].legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f"<img alt='loop figures' src='data:image/png;base64,{data}'>"
