"""Rollout: simulators of deployment strategies and of push vs pull delivery.

Six strategies (:class:`Recreate`, :class:`Ramped`, :class:`BlueGreen`,
:class:`Canary`, :class:`ABTest`, :class:`Shadow`) whose parameters mirror the
fields of Kubernetes, Argo Rollouts and Flagger; five pluggable judges
(:class:`ThresholdGate`, :class:`MannWhitneyJudge`, :class:`FixedHorizonTest`,
:class:`SequentialTest`, :class:`BayesianLoss`); :func:`simulate` runs many
replications at once, vectorised, and returns one row per replication.

Examples
--------
>>> from mlopskit.rollout import Canary, ModelBehavior, SequentialTest, Traffic, simulate
>>> res = simulate(Canary(), baseline=ModelBehavior(error_rate=0.005),
...                candidate=ModelBehavior(error_rate=0.015), traffic=Traffic(rps=1000),
...                judge=SequentialTest(alpha=0.05), n_runs=50, random_state=0)
>>> res.p_rollback
1.0
"""

from mlopskit.rollout._abtest import ABTest
from mlopskit.rollout._bayes import BayesianLoss
from mlopskit.rollout._behavior import ModelBehavior
from mlopskit.rollout._bluegreen import BlueGreen
from mlopskit.rollout._canary import Canary
from mlopskit.rollout._delivery import DeliveryResult, simulate_delivery
from mlopskit.rollout._fixed import FixedHorizonTest, sample_size
from mlopskit.rollout._judge import Judge
from mlopskit.rollout._kayenta import KayentaJudge, kayenta_mann_whitney
from mlopskit.rollout._mannwhitney import MannWhitneyJudge
from mlopskit.rollout._ramped import Ramped
from mlopskit.rollout._recreate import Recreate
from mlopskit.rollout._sequential import SequentialTest
from mlopskit.rollout._shadow import Shadow
from mlopskit.rollout._simulate import (
    SimulationResult,
    compare,
    is_worse,
    power_curve,
    simulate,
    timeline,
)
from mlopskit.rollout._strategy import Strategy
from mlopskit.rollout._threshold import ThresholdGate
from mlopskit.rollout._timeline import Timeline
from mlopskit.rollout._traffic import Traffic

__all__ = [
    "ABTest",
    "BayesianLoss",
    "BlueGreen",
    "Canary",
    "DeliveryResult",
    "FixedHorizonTest",
    "Judge",
    "KayentaJudge",
    "MannWhitneyJudge",
    "ModelBehavior",
    "Ramped",
    "Recreate",
    "SequentialTest",
    "Shadow",
    "SimulationResult",
    "Strategy",
    "ThresholdGate",
    "Timeline",
    "Traffic",
    "compare",
    "is_worse",
    "kayenta_mann_whitney",
    "power_curve",
    "sample_size",
    "simulate",
    "simulate_delivery",
    "timeline",
]
