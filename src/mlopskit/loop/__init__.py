"""The level-2 loop: the blocks composed into continuous training and delivery.

:class:`ContinuousTraining` wires a training pipeline, a model registry, drift
monitors, promotion gates and an optional rollout simulation: ``bootstrap`` trains and
promotes the first model, ``observe`` validates each production batch, monitors it, and
retrains and promotes when a trigger fires and every gate passes. Every decision is a
:class:`LoopEvent` kept in the store.

:func:`report` renders a loop's history as a self-contained HTML page, and
:mod:`mlopskit.loop.demo` holds the demo's scenario and pipeline for notebooks.

The names are imported on first use, so the command line can reach
``mlopskit.loop._cli`` without importing every block.
"""

from __future__ import annotations

import typing

from mlopskit._lazy import lazy_exports

if typing.TYPE_CHECKING:
    from mlopskit.loop._compare import PairedComparison
    from mlopskit.loop._events import Decision, LoopEvent, MonitorOutcome
    from mlopskit.loop._gates import HoldoutGate, RolloutCheck
    from mlopskit.loop._loop import ContinuousTraining
    from mlopskit.loop._monitors import Monitor, Signal
    from mlopskit.loop._ops import LoopStatus, ManualApproval
    from mlopskit.loop._report import report
    from mlopskit.loop._retention import RetentionPolicy, RetentionReport

__all__ = [
    "ContinuousTraining",
    "Decision",
    "HoldoutGate",
    "LoopEvent",
    "LoopStatus",
    "ManualApproval",
    "Monitor",
    "MonitorOutcome",
    "PairedComparison",
    "RetentionPolicy",
    "RetentionReport",
    "RolloutCheck",
    "Signal",
    "report",
]

_HOMES = {
    "ContinuousTraining": "_loop",
    "Decision": "_events",
    "HoldoutGate": "_gates",
    "LoopEvent": "_events",
    "LoopStatus": "_ops",
    "ManualApproval": "_ops",
    "Monitor": "_monitors",
    "MonitorOutcome": "_events",
    "PairedComparison": "_compare",
    "RetentionPolicy": "_retention",
    "RetentionReport": "_retention",
    "RolloutCheck": "_gates",
    "Signal": "_monitors",
    "report": "_report",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
