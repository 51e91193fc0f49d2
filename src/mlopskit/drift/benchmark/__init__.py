"""Benchmark drift detectors: shift generators, datasets and :func:`run_benchmark`.

Anything with ``fit``/``detect`` (or ``update``/``drift_detected``) can be
benchmarked; adapters run alibi-detect, frouros and river detectors in the same
harness when they are installed.

Examples
--------
>>> from mlopskit.drift import LabelDrift
>>> from mlopskit.drift.benchmark import (
...     LabelKnockout, NoShift, OnModelOutput, run_benchmark)
>>> res = run_benchmark(
...     {"labels": lambda ctx: OnModelOutput(LabelDrift(), ctx.model, output="label")},
...     datasets=["wine"], shifts=[NoShift(), LabelKnockout(1.0)],
...     sample_sizes=[50], n_runs=5, progress=False)
>>> res.table()["rate"].tolist()
[1.0, 0.0]
"""

from mlopskit.drift.benchmark._adapters import (
    AlibiDetectAdapter,
    FrourosAdapter,
    OnModelOutput,
    RiverAdapter,
)
from mlopskit.drift.benchmark._datasets import (
    BenchmarkDataset,
    available_datasets,
    from_frame,
    load_dataset,
    make_synthetic,
)
from mlopskit.drift.benchmark._harness import BenchmarkContext, run_benchmark
from mlopskit.drift.benchmark._result import BenchmarkResult
from mlopskit.drift.benchmark._shifts import (
    CovariateResample,
    DirichletLabelShift,
    FeatureKnockout,
    GaussianNoise,
    LabelKnockout,
    MeanShift,
    Mix,
    NoShift,
    Shift,
    ShiftContext,
    failing_loudly_shifts,
)
from mlopskit.drift.benchmark._standard import failing_loudly_detectors

__all__ = [
    "AlibiDetectAdapter",
    "BenchmarkContext",
    "BenchmarkDataset",
    "BenchmarkResult",
    "CovariateResample",
    "DirichletLabelShift",
    "FeatureKnockout",
    "FrourosAdapter",
    "GaussianNoise",
    "LabelKnockout",
    "MeanShift",
    "Mix",
    "NoShift",
    "OnModelOutput",
    "RiverAdapter",
    "Shift",
    "ShiftContext",
    "available_datasets",
    "failing_loudly_detectors",
    "failing_loudly_shifts",
    "from_frame",
    "load_dataset",
    "make_synthetic",
    "run_benchmark",
]
