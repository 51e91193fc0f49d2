"""The inference path: raw batch columns → the pipeline's feature steps → the model.

A training pipeline often turns the raw columns into the model's input before fitting
(``data → featurise → split → model``). In production the model must be fed what the
pipeline fed it, not the raw columns: every signal that calls the model (scoring, the
monitors on predictions and probabilities, the gates, the rollout check) goes through
an :class:`InferencePath`.

The path is the pipeline's own steps up to one *features step* (``features_step=`` of
the loop; ``None`` for the raw columns), run on the batch as the pipeline's data input,
with the label column dropped from the result. When the loop is not told which step
that is, :func:`derive_path` tries, nearest to the model first, each step upstream of
the model step that reads the data input, then the raw columns, and keeps the first
whose output has one row per input row and that the model can score. A step that
selects rows (a train/test split) is never a features step, so it is skipped.

Steps on the path must be row-wise: they are re-run on every batch. A transform that
learns from the training rows (a scaler, a vocabulary) belongs inside the model (a
scikit-learn ``Pipeline``), where it is fitted once and travels with the model.

What does *not* belong here: deciding anything (``_loop.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlopskit.errors import InferencePathError, InvalidParameterError

__all__ = ["InferencePath", "derive_path"]

#: Rows of the training data the bootstrap check scores the model on.
_CHECK_ROWS = 200


@dataclass(frozen=True)
class InferencePath:
    """Raw batch → the steps the model's input needs → model input.

    Parameters
    ----------
    pipeline
        The training :class:`~mlopskit.pipeline.Pipeline`.
    features_step
        The step whose output the model takes (``None``: the raw columns).
    data_input
        The pipeline's data input name.
    target
        The label column, dropped from the features step's output.
    """

    pipeline: Any
    features_step: str | None
    data_input: str = "data"
    target: str = "target"

    @property
    def steps(self) -> tuple[str, ...]:
        """The steps run on each batch, in order (empty for the raw columns)."""
        if self.features_step is None:
            return ()
        return tuple(self.pipeline.needed([self.features_step]))

    def transform(self, features: pd.DataFrame) -> Any:
        """The model's input for ``features`` (one row per row of ``features``).

        Raises
        ------
        InferencePathError
            A step failed, or the output does not have one row per input row.
        """
        if self.features_step is None:
            return features
        run = self.pipeline.run(
            inputs={self.data_input: features}, targets=[self.features_step]
        )
        if not run.ok:
            step = run.steps[run.failed[0]]
            raise InferencePathError(
                f"Step {run.failed[0]!r} of the inference path failed on the batch: "
                f"{step.error_type}: {step.error_message}",
                step=run.failed[0],
            )
        out = run.outputs[self.features_step]
        if isinstance(out, pd.DataFrame) and self.target in out.columns:
            out = out.drop(columns=self.target)
        shape = getattr(out, "shape", None)  # arrays, frames, sparse matrices
        rows = shape[0] if shape else (len(out) if hasattr(out, "__len__") else None)
        if rows != len(features):
            raise InferencePathError(
                f"Step {self.features_step!r} returned {rows} rows for a batch of "
                f"{len(features)}: the steps between the raw columns and the model must "
                "keep one row per input row (filter rows before training, not in them).",
                step=self.features_step,
            )
        return out

    def describe(self) -> str:
        """The path in words, for reasons and docs."""
        if self.features_step is None:
            return "raw columns → model"
        return "raw columns → " + " → ".join(self.steps) + " → model"


def _reads_data(pipeline: Any, data_input: str) -> set[str]:
    """Steps that read ``data_input``, directly or through other steps."""
    reads: set[str] = set()
    for name in pipeline.order:
        wires = pipeline.wiring[name]
        direct = any(kind == "input" and src == data_input for _, src, kind in wires)
        if direct or any(u in reads for u in pipeline.upstream[name]):
            reads.add(name)
    return reads


def check_slice(data: pd.DataFrame, target: str) -> tuple[pd.DataFrame, np.ndarray]:
    """A seeded slice of the training rows (at most 200), as features and labels."""
    n = min(len(data), _CHECK_ROWS)
    rows = data.sample(n=n, random_state=0) if n < len(data) else data
    return rows.drop(columns=target), rows[target].to_numpy()


def derive_path(
    pipeline: Any,
    model: Any,
    data: pd.DataFrame,
    *,
    score: Any,
    features_step: str | None,
    derive: bool,
    model_step: str,
    data_input: str,
    target: str,
) -> InferencePath:
    """The inference path on which ``model`` scores a slice of its training ``data``.

    ``score(model, X, y)`` is the loop's scorer. With ``derive=False`` only
    ``features_step`` is tried.

    Raises
    ------
    InferencePathError
        No candidate path lets the model score the slice; the message lists what was
        tried and why each failed.
    """
    if features_step is not None and features_step not in pipeline.steps:
        raise InvalidParameterError(
            f"`features_step` {features_step!r} is not a step of the training pipeline "
            f"(steps: {list(pipeline.steps)})."
        )
    if derive:
        reads = _reads_data(pipeline, data_input)
        upstream = [s for s in pipeline.needed([model_step]) if s != model_step]
        tried: list[str | None] = [s for s in reversed(upstream) if s in reads]
        tried.append(None)
    else:
        tried = [features_step]
    X, y = check_slice(data, target)
    failures = []
    for candidate in tried:
        path = InferencePath(pipeline, candidate, data_input, target)
        try:
            score(model, path.transform(X), y)
        except Exception as exc:  # any failure rules this path out; the message says
            failures.append(f"{path.describe()}: {type(exc).__name__}: {exc}")
            continue
        return path
    raise InferencePathError(
        f"The model of step {model_step!r} cannot score {len(X)} rows of its own "
        "training data through "
        + ("any path tried" if derive else "the given features_step")
        + ":\n  "
        + "\n  ".join(failures)
        + "\nPass features_step= naming the step whose output the model is fitted on "
        "(its label column is dropped), and keep that step row-wise.",
        model_step=model_step,
        tried=tuple("raw" if t is None else t for t in tried),
    )
