"""The demo's scenario and pipeline, public for notebooks and your own experiments.

``mlopskit demo`` runs :func:`run_demo`; a notebook can take the pieces instead and
drive the loop itself: :func:`demo_pipeline` (the four-step training pipeline),
:func:`demo_scenario` (the bootstrap data and the stream of production batches, each a
:class:`DemoBatch`) and :func:`demo_schema` (the schema, inferred then edited).

Examples
--------
>>> from mlopskit.loop.demo import demo_pipeline, demo_scenario
>>> boot, batches = demo_scenario()
>>> [b.name for b in batches][:3]
['clean-1', 'clean-2', 'corrupt']
>>> sorted(demo_pipeline().steps)
['eval_rows', 'fit_rows', 'metrics', 'model']
"""

from __future__ import annotations

from mlopskit.loop._demo import (
    DemoBatch,
    demo_pipeline,
    demo_scenario,
    demo_schema,
    run_demo,
)

__all__ = ["DemoBatch", "demo_pipeline", "demo_scenario", "demo_schema", "run_demo"]
