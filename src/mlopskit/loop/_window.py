"""Which labelled rows a retrain trains on: the training window.

The loop keeps every labelled row it has seen, as *parts* (the bootstrap data, then
each accepted labelled batch), each with its arrival time. ``training_window`` picks
the rows of one retrain from them:

- an ``int`` ``n``: the newest ``n`` rows (default :data:`DEFAULT_WINDOW`);
- a :class:`datetime.timedelta` ``t``: the rows that arrived within ``t`` of now;
- a callable ``f(rows) -> rows``: your choice, from every labelled row (oldest first);
- ``"all"`` (or ``None``): every row; unbounded, so only for small streams.

What does *not* belong here: the held-out rows (the loop takes them out first).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mlopskit.errors import InvalidParameterError

__all__ = ["DEFAULT_WINDOW", "Part", "check_window", "describe_window", "select"]

#: The default training window: the newest 10,000 labelled rows.
DEFAULT_WINDOW = 10_000


@dataclass(frozen=True)
class Part:
    """Labelled rows the loop stored: the bootstrap data or one batch."""

    seq: int
    digest: str
    rows: int
    at: _dt.datetime


def check_window(window: Any) -> None:
    """Raise :class:`InvalidParameterError` unless ``window`` is a valid window."""
    if window is None or window == "all" or callable(window):
        return
    if isinstance(window, _dt.timedelta):
        if window <= _dt.timedelta(0):
            raise InvalidParameterError(
                f"A `training_window` timedelta must be positive. Got {window!r}."
            )
        return
    if isinstance(window, int) and not isinstance(window, bool) and window >= 1:
        return
    raise InvalidParameterError(
        "`training_window` must be a positive int (newest rows), a timedelta, a "
        f"callable rows -> rows, or 'all'. Got {window!r} instead."
    )


def describe_window(window: Any) -> str:
    """The window in words."""
    if window is None or window == "all":
        return "every labelled row"
    if isinstance(window, _dt.timedelta):
        return f"rows from the last {window}"
    if callable(window):
        return f"rows chosen by {getattr(window, '__name__', 'a function')}"
    return f"the newest {window} rows"


def select(
    window: Any,
    parts: list[Part],
    load: Callable[[Part], pd.DataFrame],
    now: _dt.datetime,
) -> pd.DataFrame:
    """The training rows ``window`` picks from ``parts`` (oldest first).

    ``load(part)`` returns the part's rows (minus any held-out rows).
    """
    if isinstance(window, int) and not isinstance(window, bool):
        chosen: list[pd.DataFrame] = []
        total = 0
        for part in reversed(parts):  # load only what the window needs
            if total >= window:
                break
            frame = load(part)
            chosen.append(frame)
            total += len(frame)
        rows = _concat(chosen[::-1])
        return rows.iloc[max(len(rows) - window, 0) :].reset_index(drop=True)
    if isinstance(window, _dt.timedelta):
        return _concat([load(p) for p in parts if p.at >= now - window])
    rows = _concat([load(p) for p in parts])
    if callable(window) and window != "all":
        picked = window(rows)
        if not isinstance(picked, pd.DataFrame):
            raise InvalidParameterError(
                "A `training_window` function must return a DataFrame of rows. "
                f"Got {type(picked).__name__}."
            )
        return picked.reset_index(drop=True)
    return rows


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)
