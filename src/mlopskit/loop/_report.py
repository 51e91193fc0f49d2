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

__all__ = ["render_report", "write_report"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
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
        loop.registry.list_versions(loop.model_name).to_html(index=False, na_rep=""),
        "<h2>Alias history</h2>",
        loop.registry.history(loop.model_name)
        .to_frame()
        .to_html(index=False, na_rep=""),
        "</body></html>",
    ]
    return "".join(parts)


def write_report(loop: Any, path: str, events: Sequence[Any] | None = None) -> None:
    """Write :func:`render_report` to ``path`` (a local path or an fsspec URL)."""
    with fsspec.open(path, "w", encoding="utf-8") as handle:
        handle.write(render_report(loop, events))


def _events_table(history: pd.DataFrame) -> str:
    rows = []
    columns = [c for c in _EVENT_COLUMNS if c in history.columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    for _, row in history[columns].iterrows():
        cells = "".join(f"<td>{html.escape(_cell(row[c]))}</td>" for c in columns)
        rows.append(f"<tr class='{html.escape(str(row['decision']))}'>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _figures(loop: Any, events: list[Any]) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return (
            '<p>Figures need matplotlib: <code>pip install "mlopskit[plot]"</code>.</p>'
        )
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
