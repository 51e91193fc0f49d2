"""How one model version behaves in production: :class:`ModelBehavior`.

What does *not* belong here: traffic (``_traffic``) and anything about a strategy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mlopskit.rollout._base import check_choice, check_number, fail

__all__ = ["ModelBehavior"]

_PROFILES = ("immediate", "after_warmup", "under_load", "gradual", "step", "ramp")
#: ``"step"`` and ``"ramp"`` are the names :func:`compare` uses for these two.
_ALIASES = {"step": "after_warmup", "ramp": "gradual"}
_Z99 = 2.3263478740408408  # standard normal 0.99 quantile


@dataclass(frozen=True, kw_only=True)
class ModelBehavior:
    """The production behaviour of one model version (baseline or candidate).

    Parameters
    ----------
    error_rate
        Per-request probability of an error (an HTTP 5xx, a model exception). For a
        regression profile other than ``"immediate"`` this is the rate *after* the
        regression has set in.
    latency_median_ms, latency_sigma
        Lognormal latency: median in milliseconds and the log-scale shape.
    conversion_rate
        Optional user-outcome signal (click, purchase): probability a served response
        converts. Invisible to a shadow deployment, whose responses are discarded.
    accuracy
        Optional correctness signal: probability a prediction is correct, known once
        its label arrives (observable in shadow too).
    label_delay_s
        Seconds until the conversion or label of a request is known.
    disagreement_rate
        Probability that this version's prediction differs from the baseline's
        (shadow's prediction-agreement metric is ``1 - disagreement_rate``).
    schedule_s, image_pull_s, model_load_s, startup_sigma, readiness_period_s
        Pod start-up, the sum of scheduling (``schedule_s``), pulling the image and
        loading the model (``(image_pull_s + model_load_s)`` times a lognormal
        jitter of shape ``startup_sigma``; for large models the load dominates), and
        a uniform wait of up to ``readiness_period_s`` for the next readiness probe
        (Kubernetes' ``periodSeconds``, default 10).
    capacity_rps
        Requests per second one pod serves; ``None`` means unlimited. Requests
        beyond capacity are rejected (503): counted in ``dropped_requests`` and as
        errors of the overloaded version.
    regression
        How the error rate reaches ``error_rate``: ``"immediate"``; ``"after_warmup"``
        (``healthy_error_rate`` for the first ``onset_s`` seconds after the version
        starts serving; alias ``"step"``); ``"gradual"`` (linear from
        ``healthy_error_rate`` over ``ramp_s``, e.g. a leak; alias ``"ramp"``); ``"under_load"`` (only while a pod serves more than
        ``load_knee_rps``).
    healthy_error_rate, onset_s, ramp_s, load_knee_rps
        Parameters of the regression profiles above.

    Examples
    --------
    >>> good = ModelBehavior(error_rate=0.005)
    >>> leaky = ModelBehavior(error_rate=0.02, regression="gradual",
    ...                       healthy_error_rate=0.005, ramp_s=1800)
    >>> round(good.latency_p99_ms, 1)
    159.9
    """

    error_rate: float = 0.005
    latency_median_ms: float = 50.0
    latency_sigma: float = 0.5
    conversion_rate: float | None = None
    accuracy: float | None = None
    label_delay_s: float = 0.0
    disagreement_rate: float = 0.0
    schedule_s: float = 1.0
    image_pull_s: float = 10.0
    model_load_s: float = 20.0
    startup_sigma: float = 0.3
    readiness_period_s: float = 10.0
    capacity_rps: float | None = None
    regression: str = "immediate"
    healthy_error_rate: float | None = None
    onset_s: float = 0.0
    ramp_s: float = 600.0
    load_knee_rps: float | None = None

    def __post_init__(self) -> None:
        for name in ("error_rate", "disagreement_rate"):
            check_number(name, getattr(self, name), low=0, high=1)
        for name in ("conversion_rate", "accuracy", "healthy_error_rate"):
            check_number(name, getattr(self, name), low=0, high=1, allow_none=True)
        check_number("latency_median_ms", self.latency_median_ms, low=0, low_open=True)
        for name in (
            "latency_sigma",
            "label_delay_s",
            "schedule_s",
            "image_pull_s",
            "model_load_s",
            "startup_sigma",
            "readiness_period_s",
            "onset_s",
        ):
            check_number(name, getattr(self, name), low=0)
        check_number("ramp_s", self.ramp_s, low=0, low_open=True)
        for name in ("capacity_rps", "load_knee_rps"):
            check_number(
                name, getattr(self, name), low=0, low_open=True, allow_none=True
            )
        check_choice("regression", self.regression, _PROFILES)
        object.__setattr__(
            self, "regression", _ALIASES.get(self.regression, self.regression)
        )
        if self.regression != "immediate" and self.healthy_error_rate is None:
            raise fail(
                "healthy_error_rate",
                None,
                f"a probability when regression={self.regression!r}",
                "Set the error rate before the regression sets in, e.g. "
                "healthy_error_rate=0.005.",
            )
        if self.regression == "under_load" and self.load_knee_rps is None:
            raise fail(
                "load_knee_rps",
                None,
                "requests per second per pod when regression='under_load'",
                "Set the per-pod load above which errors rise, e.g. load_knee_rps=80.",
            )

    @property
    def latency_p99_ms(self) -> float:
        """The 99th latency percentile in milliseconds."""
        return float(self.latency_median_ms * math.exp(_Z99 * self.latency_sigma))

    @property
    def latency_mean_ms(self) -> float:
        """The mean latency in milliseconds."""
        return float(self.latency_median_ms * math.exp(self.latency_sigma**2 / 2))

    def startup_times(
        self, rng: np.random.Generator, size: tuple[int, ...]
    ) -> NDArray[np.float64]:
        """Draw pod start-up times (seconds until ready) of the given shape."""
        jitter = np.exp(self.startup_sigma * rng.standard_normal(size))
        load = (self.image_pull_s + self.model_load_s) * jitter
        return self.schedule_s + load + self.readiness_period_s * rng.random(size)

    def error_probability(
        self,
        since_start_s: NDArray[np.float64],
        load_per_pod: NDArray[np.float64] | None = None,
    ) -> NDArray[np.float64] | float:
        """Per-request error probability given seconds since the version started
        serving (and its per-pod load, for ``"under_load"``)."""
        if self.regression == "immediate":
            return self.error_rate
        healthy = float(self.healthy_error_rate or 0.0)
        if self.regression == "after_warmup":
            return np.where(since_start_s >= self.onset_s, self.error_rate, healthy)
        if self.regression == "gradual":
            frac = np.clip(since_start_s / self.ramp_s, 0.0, 1.0)
            return healthy + (self.error_rate - healthy) * frac
        assert load_per_pod is not None
        assert self.load_knee_rps is not None
        return np.where(load_per_pod > self.load_knee_rps, self.error_rate, healthy)
