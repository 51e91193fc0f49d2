"""What the loop watches: :class:`Monitor`, a drift detector bound to a signal.

A monitor applies any batch detector of :mod:`mlopskit.drift` (anything with
``fit(reference)`` and ``detect(sample) -> DriftResult``) to one signal of each
production batch:

- ``"features"``: the batch's feature columns (or ``columns``), against the training
  data the production model was trained on;
- ``"probabilities"``: the production model's ``predict_proba`` on the batch, against
  its probabilities on the training data (black-box shift detection);
- ``"predictions"``: the production model's predicted labels (prior shift, before the
  true labels arrive);
- ``"labels"``: the true labels, when they come with the batch.

What does *not* belong here: deciding to retrain (see ``_loop.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import clone

from mlopskit.errors import InvalidParameterError, MlopsKitError
from mlopskit.loop._events import MonitorOutcome

__all__ = ["Monitor", "Signal"]

Signal = Literal["features", "probabilities", "predictions", "labels"]
_SIGNALS = ("features", "probabilities", "predictions", "labels")


@dataclass(frozen=True)
class Monitor:
    """A drift detector applied to one signal of every production batch.

    Parameters
    ----------
    detector
        An unfitted batch detector from :mod:`mlopskit.drift` (or anything with
        ``fit``/``detect``); the loop fits a clone of it on the reference.
    on
        ``"features"``, ``"probabilities"``, ``"predictions"`` or ``"labels"``.
    columns
        With ``on="features"``: the feature columns to watch (default: all).
    name
        How events and reports name the monitor (default: ``on``).

    Examples
    --------
    >>> from mlopskit.drift import KSDrift
    >>> Monitor(KSDrift(), on="features", columns=("age",)).name
    'features'
    """

    detector: Any
    on: Signal = "features"
    columns: Sequence[str] | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.on not in _SIGNALS:
            raise InvalidParameterError(
                f"Monitor `on` must be one of {_SIGNALS}. Got {self.on!r} instead."
            )
        if not (hasattr(self.detector, "fit") and hasattr(self.detector, "detect")):
            raise InvalidParameterError(
                "A Monitor needs a batch detector with fit(reference) and detect(sample) "
                f"(e.g. mlopskit.drift.TabularDrift()). Got {type(self.detector).__name__}."
            )
        if not self.name:
            object.__setattr__(self, "name", self.on)


def as_monitors(monitors: Any) -> tuple[Monitor, ...]:
    """Normalise ``monitors``: a Monitor, a sequence of them, or ``{signal: detector}``."""
    if monitors is None:
        return ()
    if isinstance(monitors, Monitor):
        return (monitors,)
    if isinstance(monitors, Mapping):
        return tuple(
            m if isinstance(m, Monitor) else Monitor(m, on=key, name=str(key))
            for key, m in monitors.items()
        )
    out = tuple(monitors)
    for m in out:
        if not isinstance(m, Monitor):
            raise InvalidParameterError(
                "`monitors` must be Monitor objects or a mapping {signal: detector}. "
                f"Got an item of type {type(m).__name__}."
            )
    names = [m.name for m in out]
    if len(set(names)) != len(names):
        raise InvalidParameterError(
            f"Monitor names must be unique. Got {names}; pass name= to tell them apart."
        )
    return out


def signal(
    monitor: Monitor, features: pd.DataFrame, labels: Any, model: Any, model_input: Any
) -> Any | None:
    """The data ``monitor`` watches in this batch; ``None`` if not available.

    ``features`` are the raw batch columns; ``model_input`` is what the inference
    path makes of them (what the model is called on).
    """
    if monitor.on == "features":
        return features[list(monitor.columns)] if monitor.columns else features
    if monitor.on == "labels":
        return None if labels is None else np.asarray(labels)
    if monitor.on == "predictions":
        return np.asarray(model.predict(model_input))
    proba = np.asarray(model.predict_proba(model_input), dtype=float)
    return pd.DataFrame(proba, columns=[f"p{i}" for i in range(proba.shape[1])])


class FittedMonitors:
    """The loop's monitors, fitted on the production model's reference data."""

    def __init__(self, monitors: tuple[Monitor, ...]) -> None:
        self.monitors = monitors
        self.fitted: dict[str, Any] = {}

    def fit(
        self, features: pd.DataFrame, labels: Any, model: Any, model_input: Any
    ) -> None:
        """Fit a clone of every detector on the reference signals."""
        self.fitted = {}
        for m in self.monitors:
            reference = signal(m, features, labels, model, model_input)
            if reference is not None:
                self.fitted[m.name] = clone(m.detector).fit(reference)

    def detect(
        self, features: pd.DataFrame, labels: Any, model: Any, model_input: Any
    ) -> tuple[tuple[MonitorOutcome, ...], tuple[str, ...]]:
        """Run every fitted monitor on this batch's signals.

        Returns the outcomes and, for each monitor that could not judge the batch
        (too few rows for its test, say), a sentence saying why; a monitor that
        cannot judge a batch reports nothing rather than stopping the loop.
        """
        outcomes = []
        notes = []
        for m in self.monitors:
            detector = self.fitted.get(m.name)
            if detector is None:
                continue
            try:
                sample = signal(m, features, labels, model, model_input)
                if sample is None:
                    continue
                result = detector.detect(sample)
            except MlopsKitError as exc:  # the detector refuses this input: say so
                notes.append(f"monitor {m.name} could not judge the batch: {exc}")
                continue
            outcomes.append(
                MonitorOutcome(
                    name=m.name,
                    on=m.on,
                    drift=bool(result.drift),
                    statistic=float(result.statistic),
                    p_value=None if result.p_value is None else float(result.p_value),
                    method=str(result.method),
                )
            )
        return tuple(outcomes), tuple(notes)
