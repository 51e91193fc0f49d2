"""The level-2 loop: the blocks composed into continuous training and delivery.

:class:`ContinuousTraining` wires a training pipeline, a model registry, drift
monitors, promotion gates and an optional rollout simulation: ``bootstrap`` trains and
promotes the first model, ``observe`` validates each production batch, monitors it, and
retrains and promotes when a trigger fires and every gate passes. Every decision is a
:class:`LoopEvent` kept in the store.
"""

from mlopskit.loop._events import Decision, LoopEvent, MonitorOutcome
from mlopskit.loop._gates import HoldoutGate, RolloutCheck
from mlopskit.loop._loop import ContinuousTraining
from mlopskit.loop._monitors import Monitor, Signal

__all__ = [
    "ContinuousTraining",
    "Decision",
    "HoldoutGate",
    "LoopEvent",
    "Monitor",
    "MonitorOutcome",
    "RolloutCheck",
    "Signal",
]
