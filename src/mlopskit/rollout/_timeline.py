"""One replication, tick by tick: :class:`Timeline`.

What does *not* belong here: running the simulation (``_simulate.timeline``), any
controller logic.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from mlopskit._optional import import_optional
from mlopskit._results import Frame, Result

__all__ = ["Timeline"]

#: Columns of :attr:`Timeline.rows`, in order.
TIMELINE_COLUMNS = (
    "t_s",
    "phase",
    "step",
    "set_weight",
    "desired_stable",
    "desired_canary",
    "ready_stable",
    "ready_canary",
    "pods",
    "canary_share",
    "canary_requests",
    "canary_errors",
    "analysis",
    "measurements",
)


class Timeline(Result):
    """What :func:`~mlopskit.rollout.timeline` returns: one row per tick of one run.

    Attributes
    ----------
    strategy, judge
        ``repr`` of the strategy and judge.
    outcome
        ``"promoted"``, ``"rolled_back"``, ``"no_decision"`` or ``"unfinished"``.
    tick_s
        The data-plane tick.
    rows
        One row per tick: ``t_s``; ``phase`` (the controller's own name —
        Flagger's ``Progressing`` / ``Promoting`` /
        ``Finalising`` / ``Succeeded`` / ``Failed``, Argo's ``Progressing`` /
        ``Paused`` / ``Healthy`` / ``Degraded``); ``step`` (Argo's
        ``currentStepIndex``); ``set_weight`` (percent); desired and ready pods of
        the stable and canary sides; ``pods`` running; ``canary_share`` of user
        traffic served by the candidate; the candidate's requests and errors in
        the tick; the first analysis' state (``Running``, ``Successful``,
        ``Failed``, ``Inconclusive``) and the measurements it has taken. A last
        row records the end (``Succeeded``/``Healthy`` or ``Failed``/``Degraded``).

    Examples
    --------
    >>> from mlopskit.rollout import Canary, ModelBehavior, Traffic, timeline
    >>> good = ModelBehavior(error_rate=0.005)
    >>> tl = timeline(Canary(step_weight=20, max_weight=50), baseline=good,
    ...               candidate=good, traffic=Traffic(rps=100), random_state=0)
    >>> tl.phases()["phase"].tolist()
    ['Progressing', 'Promoting', 'Finalising', 'Succeeded']
    >>> sorted(set(tl.to_frame()["set_weight"]) - {0.0})
    [20.0, 40.0, 60.0, 100.0]
    """

    strategy: str
    judge: str | None
    outcome: str
    tick_s: float
    rows: Frame

    def to_frame(self) -> pd.DataFrame:
        """The per-tick rows as a new DataFrame."""
        return self.rows.copy()

    def phases(self) -> pd.DataFrame:
        """The first tick of each phase: columns ``phase``, ``t_s``."""
        rows = self.rows
        change = rows["phase"].ne(rows["phase"].shift())
        return rows.loc[change, ["phase", "t_s"]].reset_index(drop=True)

    def plot(self, ax: Any = None) -> Any:
        """Canary share and ready pods against time (needs ``mlopskit-blocks[plot]``)."""
        plt = import_optional(
            "matplotlib.pyplot", extra="plot", feature="Timeline.plot"
        )
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3))
        rows = self.rows
        ax.step(rows["t_s"], rows["canary_share"], where="post", label="canary share")
        ax2 = ax.twinx()
        ax2.step(
            rows["t_s"],
            rows["ready_canary"],
            where="post",
            color="C1",
            label="ready canary pods",
        )
        ax.set_xlabel("seconds")
        ax.set_ylabel("share")
        ax2.set_ylabel("pods")
        ax.set_title(f"{self.strategy.split('(')[0]}: {self.outcome}")
        return ax.figure
