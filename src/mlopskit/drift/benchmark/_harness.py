"""Run drift detectors over datasets × shifts × sample sizes × runs: :func:`run_benchmark`.

One *task* is one (dataset, run): it splits the non-training rows into a reference
and a target pool at random, fits every batch detector once on the reference, then
for every shift and sample size draws a shifted sample and calls ``detect``.
Streaming detectors get a stream of reference rows followed by shifted rows. Every
random draw is seeded from ``(random_state, dataset, run, shift, size)`` through
:class:`numpy.random.SeedSequence`, so the result does not depend on ``n_jobs`` or on
the order in which joblib finishes tasks.

What does *not* belong here: summarising and plotting (:mod:`._result`), shifts and
datasets.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mlopskit.drift.benchmark._datasets import BenchmarkDataset, load_dataset
from mlopskit.drift.benchmark._result import RUN_COLUMNS, BenchmarkResult
from mlopskit.drift.benchmark._shifts import (
    Shift,
    ShiftContext,
    failing_loudly_shifts,
)
from mlopskit.errors import DatasetUnavailableError, InvalidParameterError

__all__ = ["BenchmarkContext", "run_benchmark"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class BenchmarkContext:
    """What a detector factory receives: the dataset, its training split and a model.

    A detector given to :func:`run_benchmark` as a callable is called once per
    dataset with this context, e.g. ``lambda ctx: BBSD(model=ctx.model)``.

    Attributes
    ----------
    dataset
        The :class:`BenchmarkDataset`.
    X_train, y_train
        The rows the model was trained on (never used as reference or target).
    model
        A classifier fitted on the training rows (the harness's ``model``).
    """

    dataset: BenchmarkDataset
    X_train: FloatArray
    y_train: npt.NDArray[np.int64]
    model: Any


def _default_model() -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))


def _is_detector(obj: Any) -> bool:
    return hasattr(obj, "detect") and hasattr(obj, "fit")


def _is_streaming(obj: Any) -> bool:
    return hasattr(obj, "update") and hasattr(obj, "drift_detected")


def _seed(*parts: int) -> int:
    seq = np.random.SeedSequence([int(p) for p in parts])
    return int(seq.generate_state(1, dtype=np.uint32)[0])


def _with_seed(detector: Any, seed: int) -> Any:
    """A copy of ``detector`` whose unset ``random_state`` is fixed (determinism)."""
    det = copy.deepcopy(detector)
    get_params = getattr(det, "get_params", None)
    if get_params is not None and get_params(deep=False).get("random_state", 0) is None:
        det.set_params(random_state=seed)
    return det


def run_benchmark(
    detectors: Mapping[str, Any],
    *,
    datasets: Iterable[str | BenchmarkDataset] = ("digits",),
    shifts: Mapping[str, Shift] | Sequence[Shift] | None = None,
    sample_sizes: Sequence[int] = (10, 100, 500),
    n_runs: int = 20,
    alpha: float = 0.05,
    n_jobs: int | None = 1,
    random_state: int = 0,
    progress: bool = True,
    model: Any = None,
    train_fraction: float = 1 / 3,
    stream_value: str | Callable[[Any, FloatArray], FloatArray] = "confidence",
) -> BenchmarkResult:
    """Benchmark drift detectors: power, false alarms and runtime per cell.

    Parameters
    ----------
    detectors
        Name → detector. A detector is anything with ``fit(X)`` and ``detect(X)``
        returning an object with a boolean ``drift`` (every mlopskit batch
        detector, the adapters in this module), or a streaming detector with
        ``update(x)`` and ``drift_detected`` (mlopskit's or river's), or a callable
        ``f(context) -> detector`` called once per dataset with a
        :class:`BenchmarkContext` (for detectors that need the trained model).
        Detectors with a ``needs_labels = True`` attribute get ``fit(X, y)``.
    datasets
        Names for :func:`load_dataset` or :class:`BenchmarkDataset` objects. A
        dataset that is not on disk (California housing) is skipped with a message.
    shifts
        Name → :class:`Shift`, or a sequence of shifts (named by ``shift.name``).
        Default: :func:`failing_loudly_shifts`. Include :class:`NoShift` to measure
        the false-alarm rate.
    sample_sizes
        Target sample sizes. Uniform draws are without replacement, so a size above
        the target pool (half of the non-training rows) is drawn with replacement.
    n_runs
        Repetitions per cell; each run draws a new reference/target split.
    alpha
        Significance level given to detectors that have an ``alpha`` parameter.
    n_jobs
        joblib workers over (dataset, run) tasks; the result is the same for any
        value.
    random_state
        Seed of everything random (splits, shifts, detectors whose
        ``random_state`` is ``None``).
    progress
        Print one line per finished dataset to stderr.
    model
        Unfitted scikit-learn classifier trained per dataset on the training split
        (default: standardised logistic regression).
    train_fraction
        Share of each dataset used to train the model.
    stream_value
        What streaming detectors see per row: ``"confidence"`` (the model's top
        predicted probability), ``"error"`` (1 when the model is wrong) or a
        callable ``f(model, X) -> values``.

    Returns
    -------
    BenchmarkResult
        Raw per-run rows (``runs``) with ``table()``, ``to_markdown()``, ``plot()``.

    Examples
    --------
    >>> from mlopskit.drift import LabelDrift
    >>> from mlopskit.drift.benchmark import (
    ...     NoShift, LabelKnockout, OnModelOutput, run_benchmark)
    >>> res = run_benchmark(
    ...     {"labels": lambda ctx: OnModelOutput(LabelDrift(), ctx.model, output="label")},
    ...     datasets=["iris"], shifts=[NoShift(), LabelKnockout(1.0)],
    ...     sample_sizes=[30], n_runs=5, progress=False)
    >>> res.table()[["shift", "detector", "rate"]]
                   shift detector  rate
    0  label_knockout_1   labels   1.0
    1           no_shift   labels   0.0
    """
    if not detectors:
        raise InvalidParameterError("`detectors` must name at least one detector.")
    if isinstance(n_runs, bool) or not isinstance(n_runs, int) or n_runs < 1:
        raise InvalidParameterError(
            f"`n_runs` must be an integer >= 1. Got {n_runs!r}."
        )
    sizes = tuple(int(n) for n in sample_sizes)
    if not sizes or min(sizes) < 1:
        raise InvalidParameterError(
            f"`sample_sizes` must be positive integers. Got {list(sample_sizes)}."
        )
    shift_map = _shift_map(shifts)
    started = time.perf_counter()
    rows: list[tuple[Any, ...]] = []
    used: list[str] = []
    skipped: list[str] = []
    for d_idx, spec in enumerate(datasets):
        dataset = _load(spec, skipped, progress)
        if dataset is None:
            continue
        used.append(dataset.name)
        prepared = _prepare(dataset, detectors, model, train_fraction, random_state)
        tasks = [
            (
                prepared,
                shift_map,
                sizes,
                alpha,
                (random_state, d_idx, run),
                run,
                stream_value,
            )
            for run in range(n_runs)
        ]
        rows.extend(_execute(tasks, n_jobs))
        if progress:
            print(
                f"run_benchmark: {dataset.name}: {n_runs} runs × {len(shift_map)} "
                f"shifts × {len(sizes)} sizes × {len(detectors)} detectors done "
                f"({time.perf_counter() - started:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
    import pandas as pd

    runs = pd.DataFrame(rows, columns=list(RUN_COLUMNS))
    runs = runs.sort_values(["dataset", "shift", "sample_size", "detector", "run"])
    return BenchmarkResult(
        runs=runs.reset_index(drop=True),
        alpha=alpha,
        n_runs=n_runs,
        sample_sizes=sizes,
        detectors=tuple(detectors),
        datasets=tuple(used),
        shifts=tuple(shift_map),
        shift_kinds=tuple(s.kind for s in shift_map.values()),
        skipped=tuple(skipped),
        wall_time=time.perf_counter() - started,
        random_state=random_state,
    )


def _shift_map(
    shifts: Mapping[str, Shift] | Sequence[Shift] | None,
) -> dict[str, Shift]:
    if shifts is None:
        return failing_loudly_shifts()
    if isinstance(shifts, Mapping):
        out = dict(shifts)
    else:
        out = {}
        for s in shifts:
            out[getattr(s, "name", repr(s))] = s
    bad = {k: v for k, v in out.items() if not isinstance(v, Shift)}
    if bad or not out:
        raise InvalidParameterError(
            "`shifts` must be a non-empty mapping or sequence of Shift objects "
            f"(mlopskit.drift.benchmark). Got {bad or shifts!r} instead.",
        )
    return out


def _load(
    spec: str | BenchmarkDataset, skipped: list[str], progress: bool
) -> BenchmarkDataset | None:
    if isinstance(spec, BenchmarkDataset):
        return spec
    try:
        return load_dataset(spec)
    except DatasetUnavailableError as err:
        skipped.append(f"{spec}: {err}")
        if progress:
            print(f"run_benchmark: skipping {spec}: {err}", file=sys.stderr, flush=True)
        return None


@dataclass(frozen=True, eq=False)
class _Prepared:
    dataset: BenchmarkDataset
    pool_X: FloatArray
    pool_y: npt.NDArray[np.int64]
    context: ShiftContext
    model: Any
    detectors: dict[str, Any]


def _prepare(
    dataset: BenchmarkDataset,
    detectors: Mapping[str, Any],
    model: Any,
    train_fraction: float,
    random_state: int,
) -> _Prepared:
    """Split off the training rows, train the model, build the detectors."""
    from sklearn.base import clone

    if not 0 < train_fraction < 1:
        raise InvalidParameterError(
            f"`train_fraction` must be in (0, 1). Got {train_fraction!r} instead.",
        )
    rng = np.random.default_rng(_seed(random_state, 7919))
    order = rng.permutation(dataset.X.shape[0])
    n_train = max(2, round(train_fraction * order.size))
    train, pool = order[:n_train], order[n_train:]
    fitted = clone(model if model is not None else _default_model())
    fitted.fit(dataset.X[train], dataset.y[train])
    ctx = BenchmarkContext(dataset, dataset.X[train], dataset.y[train], fitted)
    built: dict[str, Any] = {}
    for name, spec in detectors.items():
        det = spec if (_is_detector(spec) or _is_streaming(spec)) else spec(ctx)
        if not (_is_detector(det) or _is_streaming(det)):
            raise InvalidParameterError(
                f"Detector {name!r} has neither fit/detect nor update/drift_detected "
                f"(got {type(det).__name__}). Wrap it in an adapter or a factory.",
            )
        built[name] = det
    return _Prepared(
        dataset=dataset,
        pool_X=dataset.X[pool],
        pool_y=dataset.y[pool],
        context=ShiftContext.from_data(dataset.X, dataset.y),
        model=fitted,
        detectors=built,
    )


def _execute(tasks: list[tuple[Any, ...]], n_jobs: int | None) -> list[tuple[Any, ...]]:
    if n_jobs is None or n_jobs == 1 or len(tasks) == 1:
        return [row for task in tasks for row in _run_task(*task)]
    from joblib import Parallel, delayed

    out = Parallel(n_jobs=n_jobs)(delayed(_run_task)(*task) for task in tasks)
    return [row for rows in out for row in rows]


def _run_task(
    prep: _Prepared,
    shifts: dict[str, Shift],
    sizes: tuple[int, ...],
    alpha: float,
    seed: tuple[int, int, int],
    run: int,
    stream_value: Any,
) -> list[tuple[Any, ...]]:
    """One (dataset, run): fit every detector once, detect on every shift × size."""
    rng = np.random.default_rng(_seed(*seed))
    order = rng.permutation(prep.pool_X.shape[0])
    half = order.size // 2
    ref_X, ref_y = prep.pool_X[order[:half]], prep.pool_y[order[:half]]
    tgt_X, tgt_y = prep.pool_X[order[half:]], prep.pool_y[order[half:]]
    rows: list[tuple[Any, ...]] = []
    name = prep.dataset.name
    fitted: dict[str, tuple[Any, float]] = {}
    for d_idx, (det_name, det) in enumerate(prep.detectors.items()):
        if _is_streaming(det) and not _is_detector(det):
            continue
        det = _with_alpha(_with_seed(det, _seed(*seed, 104729, d_idx)), alpha)
        t0 = time.perf_counter()
        if getattr(det, "needs_labels", False):
            det.fit(ref_X, ref_y)
        else:
            det.fit(ref_X)
        fitted[det_name] = (det, time.perf_counter() - t0)
    for s_idx, (shift_name, shift) in enumerate(shifts.items()):
        for n_idx, n in enumerate(sizes):
            draw_rng = np.random.default_rng(_seed(*seed, s_idx, n_idx, 1))
            X, y = shift.sample(
                tgt_X, tgt_y, n, random_state=draw_rng, context=prep.context
            )
            for det_name, det in prep.detectors.items():
                base = (name, shift_name, shift.kind, n, det_name, run)
                if det_name in fitted:
                    rows.append(base + _detect(*fitted[det_name], X))
                else:
                    stream_seed = _seed(*seed, s_idx, n_idx, 2)
                    stream = _stream(
                        det,
                        (ref_X, ref_y),
                        (X, y),
                        prep.model,
                        stream_value,
                        stream_seed,
                    )
                    rows.append(base + stream)
    return rows


def _with_alpha(det: Any, alpha: float) -> Any:
    get_params = getattr(det, "get_params", None)
    if get_params is not None and "alpha" in get_params(deep=False):
        det.set_params(alpha=alpha)
    return det


def _detect(det: Any, fit_time: float, X: FloatArray) -> tuple[Any, ...]:
    t0 = time.perf_counter()
    result = det.detect(X)
    elapsed = time.perf_counter() - t0
    p_value = getattr(result, "p_value", None)
    return (
        bool(result.drift),
        float("nan") if p_value is None else float(p_value),
        fit_time,
        elapsed,
        float("nan"),
        float("nan"),
    )


def _stream_values(model: Any, X: FloatArray, y: Any, how: Any) -> FloatArray:
    if callable(how):
        return np.asarray(how(model, X), dtype=np.float64)
    if how == "confidence":
        return np.asarray(model.predict_proba(X).max(axis=1), dtype=np.float64)
    if how == "error":
        return np.asarray(model.predict(X) != y, dtype=np.float64)
    raise InvalidParameterError(
        f"`stream_value` must be 'confidence', 'error' or a callable. Got {how!r}.",
    )


def _stream(
    det: Any,
    reference: tuple[FloatArray, Any],
    sample: tuple[FloatArray, Any],
    model: Any,
    how: Any,
    seed: int,
) -> tuple[Any, ...]:
    """Feed reference rows then shifted rows; count alarms before and after."""
    det = _with_seed(det, seed)
    values = np.concatenate(
        [_stream_values(model, *reference, how), _stream_values(model, *sample, how)]
    )
    change = reference[0].shape[0]
    alarms: list[int] = []
    t0 = time.perf_counter()
    for i, v in enumerate(values):
        det.update(float(v))
        if det.drift_detected:
            alarms.append(i)
    elapsed = time.perf_counter() - t0
    before = sum(1 for a in alarms if a < change)
    after = [a for a in alarms if a >= change]
    delay = float(after[0] - change) if after else float("nan")
    return (
        bool(after),
        float("nan"),
        0.0,
        elapsed,
        delay,
        1000.0 * before / change,
    )
