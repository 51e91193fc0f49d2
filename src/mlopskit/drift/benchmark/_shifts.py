"""Seeded, composable shift generators for drift benchmarks.

A shift turns a pool of target rows into a shifted sample of ``n`` rows in two
stages: *selection* (which rows are drawn: uniform, or weighted by class for prior
shift, or by a feature for sampling bias) and *perturbation* (what happens to the
drawn rows' features: noise, a mean shift, a knocked-out feature). :class:`Mix`
composes shifts: selection weights multiply, perturbations apply in order. Every
shift says whether it is ``"covariate"``, ``"prior"``, ``"mixed"`` or ``"none"``.

What does *not* belong here: datasets (:mod:`._datasets`) and running detectors
(:mod:`._harness`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from mlopskit.errors import InvalidParameterError

__all__ = [
    "CovariateResample",
    "DirichletLabelShift",
    "FeatureKnockout",
    "GaussianNoise",
    "LabelKnockout",
    "MeanShift",
    "Mix",
    "NoShift",
    "Shift",
    "ShiftContext",
    "failing_loudly_shifts",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Noise standard deviations, in units of each feature's standard deviation, for the
#: "small / medium / large" Gaussian noise of Failing Loudly (σ = 1, 10, 100 on the
#: 0–255 pixel scale, where a typical pixel's standard deviation is ≈ 80–100).
NOISE_LEVELS = {"small": 0.01, "medium": 0.1, "large": 1.0}


@dataclass(frozen=True)
class ShiftContext:
    """Statistics of the source data a shift may need (scale, bounds, classes).

    Built by :meth:`from_data` from the source rows (the benchmark harness uses the
    whole dataset); a shift used alone builds one from the rows it is given.
    """

    std: FloatArray
    low: FloatArray
    high: FloatArray
    n_classes: int

    @classmethod
    def from_data(cls, X: npt.ArrayLike, y: npt.ArrayLike) -> ShiftContext:
        """Per-feature standard deviation (``0`` replaced by the mean) and range.

        Examples
        --------
        >>> import numpy as np
        >>> ctx = ShiftContext.from_data(np.array([[0.0, 1.0], [2.0, 1.0]]), [0, 1])
        >>> ctx.std, ctx.n_classes
        (array([1., 1.]), 2)
        """
        arr = np.asarray(X, dtype=np.float64)
        std = arr.std(axis=0)
        fallback = float(std[std > 0].mean()) if np.any(std > 0) else 1.0
        std = np.where(std > 0, std, fallback)
        labels = np.asarray(y)
        n_classes = int(labels.max()) + 1 if labels.size else 0
        return cls(std, arr.min(axis=0), arr.max(axis=0), n_classes)


def _rng(random_state: int | np.random.Generator | None) -> np.random.Generator:
    return np.random.default_rng(random_state)


def _check_fraction(value: float, name: str, *, allow_zero: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not ((value >= 0 if allow_zero else value > 0) and value <= 1):
        interval = "[0, 1]" if allow_zero else "(0, 1]"
        raise InvalidParameterError(
            f"`{name}` must be in {interval}. Got {value!r} instead.",
        )


@dataclass(frozen=True)
class Shift:
    """Base of every shift: uniform selection and no perturbation (no shift).

    Subclasses override :meth:`weights` (selection) and/or :meth:`perturb`.
    """

    kind: str = field(default="none", init=False)

    @property
    def name(self) -> str:
        """A short name for tables, e.g. ``"gaussian_noise_small"``."""
        return "no_shift"

    def weights(
        self, X: FloatArray, y: IntArray, ctx: ShiftContext, rng: np.random.Generator
    ) -> FloatArray | None:
        """Relative selection weight of each pool row (``None``: uniform)."""
        return None

    def perturb(
        self, X: FloatArray, y: IntArray, ctx: ShiftContext, rng: np.random.Generator
    ) -> FloatArray:
        """The drawn rows' features after the shift (a new array)."""
        return X

    def sample(
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        n: int,
        *,
        random_state: int | np.random.Generator | None = None,
        context: ShiftContext | None = None,
    ) -> tuple[FloatArray, IntArray]:
        """Draw a shifted sample of ``n`` rows from the pool ``(X, y)``.

        Rows are drawn without replacement unless ``n`` exceeds the pool (see
        ``_select``): a prior shift draws exact class proportions in expectation.

        Parameters
        ----------
        X, y
            The target pool: features ``(N, d)`` and class indices ``0 … k-1``.
        n
            Rows to draw.
        random_state
            Seed or :class:`numpy.random.Generator`.
        context
            Source statistics; by default computed from ``(X, y)``.

        Returns
        -------
        tuple of numpy.ndarray
            ``(X_shifted, y_shifted)``.

        Examples
        --------
        >>> import numpy as np
        >>> X, y = np.zeros((100, 3)), np.repeat([0, 1], 50)
        >>> Xs, ys = NoShift().sample(X, y, 10, random_state=0)
        >>> Xs.shape, ys.shape
        ((10, 3), (10,))
        """
        arr = np.asarray(X, dtype=np.float64)
        labels = np.asarray(y).astype(np.int64)
        rng = _rng(random_state)
        ctx = context if context is not None else ShiftContext.from_data(arr, labels)
        w = self.weights(arr, labels, ctx, rng)
        rows = _select(w, labels, n, rng)
        return self.perturb(arr[rows], labels[rows], ctx, rng), labels[rows]


@dataclass(frozen=True)
class NoShift(Shift):
    """No shift: the sample comes from the same distribution (false-alarm rate).

    Examples
    --------
    >>> NoShift().kind, NoShift().name
    ('none', 'no_shift')
    """


@dataclass(frozen=True)
class GaussianNoise(Shift):
    """Add Gaussian noise to a fraction of rows and features (covariate shift).

    Parameters
    ----------
    std
        Noise standard deviation in units of each feature's standard deviation, or
        ``"small"`` (0.01), ``"medium"`` (0.1), ``"large"`` (1.0), as in Failing
        Loudly. Values are clipped to the source range, like pixels.
    fraction
        Share of the sample's rows that get noise (δ in the paper: 0.1, 0.5, 1.0).
    features
        Share of the features that get noise (drawn per sample).
    clip
        Clip the noisy values to the source data's range.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(500, 4)), rng.integers(0, 2, 500)
    >>> Xs, _ = GaussianNoise("large", clip=False).sample(X, y, 500, random_state=1)
    >>> bool(Xs.std() > 1.2), GaussianNoise("large").name
    (True, 'gaussian_noise_large')
    """

    std: float | str = "medium"
    fraction: float = 1.0
    features: float = 1.0
    clip: bool = True
    kind: str = field(default="covariate", init=False)

    def __post_init__(self) -> None:
        if isinstance(self.std, str):
            if self.std not in NOISE_LEVELS:
                raise InvalidParameterError(
                    f"`std` must be a number or one of {list(NOISE_LEVELS)}. Got "
                    f"{self.std!r} instead.",
                )
        elif not self.std > 0:
            raise InvalidParameterError(f"`std` must be > 0. Got {self.std!r}.")
        _check_fraction(self.fraction, "fraction")
        _check_fraction(self.features, "features")

    @property
    def name(self) -> str:
        """E.g. ``"gaussian_noise_small"`` or ``"gaussian_noise_0.3"``."""
        base = f"gaussian_noise_{self.std}"
        if self.fraction < 1:
            base += f"_rows{self.fraction:g}"
        if self.features < 1:
            base += f"_features{self.features:g}"
        return base

    def perturb(
        self, X: FloatArray, y: IntArray, ctx: ShiftContext, rng: np.random.Generator
    ) -> FloatArray:
        scale = NOISE_LEVELS[self.std] if isinstance(self.std, str) else self.std
        out = X.copy()
        rows = _subset(X.shape[0], self.fraction, rng)
        cols = _subset(X.shape[1], self.features, rng)
        noise = rng.normal(size=(rows.size, cols.size)) * (scale * ctx.std[cols])
        block = out[np.ix_(rows, cols)] + noise
        if self.clip:
            block = np.clip(block, ctx.low[cols], ctx.high[cols])
        out[np.ix_(rows, cols)] = block
        return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True)
class MeanShift(Shift):
    """Shift the mean of a subset of features (covariate shift).

    Parameters
    ----------
    shift
        Added value, in units of each feature's standard deviation.
    features
        Share of the features shifted (the first ones, so the subset is stable).

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.zeros((10, 4)), np.zeros(10, dtype=int)
    >>> ctx = ShiftContext(np.ones(4), -np.ones(4), np.ones(4), 1)
    >>> Xs, _ = MeanShift(0.5, features=0.5).sample(X, y, 2, context=ctx)
    >>> Xs[0]
    array([0.5, 0.5, 0. , 0. ])
    """

    shift: float = 0.5
    features: float = 0.2
    kind: str = field(default="covariate", init=False)

    def __post_init__(self) -> None:
        _check_fraction(self.features, "features")

    @property
    def name(self) -> str:
        """E.g. ``"mean_shift_0.5"``."""
        return f"mean_shift_{self.shift:g}_features{self.features:g}"

    def perturb(
        self, X: FloatArray, y: IntArray, ctx: ShiftContext, rng: np.random.Generator
    ) -> FloatArray:
        k = max(1, round(self.features * X.shape[1]))
        out = X.copy()
        out[:, :k] += self.shift * ctx.std[:k]
        return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True)
class FeatureKnockout(Shift):
    """Knock out features: replace them by a constant, like a failed sensor.

    Parameters
    ----------
    features
        Share of the features knocked out (drawn per sample, at least one).
    value
        ``"mean"`` (the sample's mean of that feature: the imputation a pipeline
        would do) or a number.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(12.0).reshape(4, 3)
    >>> Xs, _ = FeatureKnockout(features=0.34, value=0.0).sample(
    ...     X, np.zeros(4, dtype=int), 4, random_state=0)
    >>> int((Xs == 0).all(axis=0).sum())
    1
    """

    features: float = 0.2
    value: float | str = "mean"
    kind: str = field(default="covariate", init=False)

    def __post_init__(self) -> None:
        _check_fraction(self.features, "features")
        if isinstance(self.value, str) and self.value != "mean":
            raise InvalidParameterError(
                f"`value` must be 'mean' or a number. Got {self.value!r} instead.",
            )

    @property
    def name(self) -> str:
        """E.g. ``"feature_knockout_0.2"``."""
        return f"feature_knockout_{self.features:g}"

    def perturb(
        self, X: FloatArray, y: IntArray, ctx: ShiftContext, rng: np.random.Generator
    ) -> FloatArray:
        out = X.copy()
        cols = _subset(X.shape[1], self.features, rng)
        fill = X[:, cols].mean(axis=0) if self.value == "mean" else float(self.value)
        out[:, cols] = fill
        return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True)
class CovariateResample(Shift):
    """Sampling bias along a feature: rows with high values are drawn more often.

    The selection weight of a row is ``exp(strength · z)`` with ``z`` its
    standardised value of ``feature``: the classic covariate-shift construction
    (the conditional ``p(y | x)`` is unchanged).

    Parameters
    ----------
    strength
        Log-odds of selection per standard deviation (0 = no bias).
    feature
        Index of the feature; by default the feature with the largest variance
        relative to the source.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 2))
    >>> Xs, _ = CovariateResample(1.0, feature=0).sample(
    ...     X, np.zeros(2000, dtype=int), 300, random_state=0)
    >>> bool(Xs[:, 0].mean() > 0.5)
    True
    """

    strength: float = 1.0
    feature: int | None = None
    kind: str = field(default="covariate", init=False)

    @property
    def name(self) -> str:
        """E.g. ``"covariate_resample_1"``."""
        return f"covariate_resample_{self.strength:g}"

    def weights(
        self, X: FloatArray, y: IntArray, ctx: ShiftContext, rng: np.random.Generator
    ) -> FloatArray | None:
        col = self.feature
        if col is None:
            col = int(np.argmax(X.std(axis=0) / ctx.std))
        values = X[:, col]
        z = (values - values.mean()) / ctx.std[col]
        return np.asarray(np.exp(np.clip(self.strength * z, -50, 50)), dtype=np.float64)


@dataclass(frozen=True)
class LabelKnockout(Shift):
    """Remove a fraction of one class (prior shift; "knock-out" in Failing Loudly).

    Parameters
    ----------
    fraction
        Share of the class removed (δ: 0.1, 0.5, 1.0 in the paper).
    label
        Class index knocked out.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.repeat([0, 1], 500)
    >>> _, ys = LabelKnockout(1.0, label=0).sample(np.zeros((1000, 1)), y, 200,
    ...     random_state=0)
    >>> int((ys == 0).sum())
    0
    """

    fraction: float = 0.5
    label: int = 0
    kind: str = field(default="prior", init=False)

    def __post_init__(self) -> None:
        _check_fraction(self.fraction, "fraction")

    @property
    def name(self) -> str:
        """E.g. ``"label_knockout_0.5"``."""
        return f"label_knockout_{self.fraction:g}"

    def weights(
        self, X: FloatArray, y: IntArray, ctx: ShiftContext, rng: np.random.Generator
    ) -> FloatArray | None:
        return np.where(y == self.label, 1.0 - self.fraction, 1.0)

    def target_priors(self, source_priors: npt.ArrayLike) -> FloatArray:
        """The class priors after the shift, given the pool's priors.

        Examples
        --------
        >>> LabelKnockout(0.5, label=0).target_priors([0.5, 0.5]).round(3)
        array([0.333, 0.667])
        """
        p = np.asarray(source_priors, dtype=np.float64).copy()
        p[self.label] *= 1.0 - self.fraction
        out: FloatArray = p / p.sum()
        return out


@dataclass(frozen=True)
class DirichletLabelShift(Shift):
    """Draw new class priors from a Dirichlet distribution (prior shift).

    Each sample gets its own target priors ``q ~ Dirichlet(concentration · 1)``
    (Lipton et al. 2018); small concentrations give strong shifts.

    Parameters
    ----------
    concentration
        Dirichlet concentration per class (e.g. 0.1 strong, 1.0 medium, 10 mild).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.repeat([0, 1, 2], 300)
    >>> _, ys = DirichletLabelShift(0.5).sample(np.zeros((900, 1)), y, 300,
    ...     random_state=3)
    >>> np.bincount(ys, minlength=3).sum()
    np.int64(300)
    """

    concentration: float = 1.0
    kind: str = field(default="prior", init=False)

    def __post_init__(self) -> None:
        if not self.concentration > 0:
            raise InvalidParameterError(
                f"`concentration` must be > 0. Got {self.concentration!r} instead.",
            )

    @property
    def name(self) -> str:
        """E.g. ``"dirichlet_1"``."""
        return f"dirichlet_{self.concentration:g}"

    def weights(
        self, X: FloatArray, y: IntArray, ctx: ShiftContext, rng: np.random.Generator
    ) -> FloatArray | None:
        k = max(ctx.n_classes, int(y.max()) + 1)
        q = rng.dirichlet(np.full(k, float(self.concentration)))
        p = np.bincount(y, minlength=k) / y.size
        w = np.divide(q, p, out=np.zeros(k), where=p > 0)
        return w[y]


@dataclass(frozen=True)
class Mix(Shift):
    """Several shifts at once: selection weights multiply, perturbations chain.

    Examples
    --------
    >>> m = Mix((LabelKnockout(0.5), GaussianNoise("medium")))
    >>> m.kind, m.name
    ('mixed', 'label_knockout_0.5+gaussian_noise_medium')
    """

    shifts: tuple[Shift, ...] = ()
    kind: str = field(default="mixed", init=False)

    def __post_init__(self) -> None:
        if not self.shifts or not all(isinstance(s, Shift) for s in self.shifts):
            raise InvalidParameterError(
                "`shifts` must be a non-empty tuple of Shift objects. Got "
                f"{self.shifts!r} instead.",
            )
        kinds = {s.kind for s in self.shifts} - {"none"}
        object.__setattr__(
            self,
            "kind",
            kinds.pop() if len(kinds) == 1 else "mixed" if kinds else "none",
        )

    @property
    def name(self) -> str:
        """The parts' names joined by ``+``."""
        return "+".join(s.name for s in self.shifts)

    def weights(
        self, X: FloatArray, y: IntArray, ctx: ShiftContext, rng: np.random.Generator
    ) -> FloatArray | None:
        total: FloatArray | None = None
        for shift in self.shifts:
            w = shift.weights(X, y, ctx, rng)
            if w is not None:
                total = w if total is None else total * w
        return total

    def perturb(
        self, X: FloatArray, y: IntArray, ctx: ShiftContext, rng: np.random.Generator
    ) -> FloatArray:
        for shift in self.shifts:
            X = shift.perturb(X, y, ctx, rng)
        return X


def _select(
    w: FloatArray | None, y: IntArray, n: int, rng: np.random.Generator
) -> npt.NDArray[np.intp]:
    """Row indices of the sample; without replacement whenever the pool allows.

    Duplicated rows would flatter some detectors (a domain classifier memorises a
    row in one fold and recognises its copy in another), so rows repeat only when
    the pool is too small. Weights constant within each class (prior shift) are
    sampled exactly: class counts from a multinomial, then rows uniformly within
    each class. Other weights use numpy's weighted sampling without replacement.
    """
    size = y.shape[0]
    if w is None:
        return np.asarray(rng.choice(size, size=n, replace=n > size), dtype=np.intp)
    total = float(w.sum())
    if not total > 0:
        return np.asarray(rng.choice(size, size=n, replace=n > size), dtype=np.intp)
    classes = np.unique(y)
    per_class = [w[y == c] for c in classes]
    if all(np.ptp(wc) == 0 for wc in per_class):
        mass = np.array([wc.sum() for wc in per_class]) / total
        counts = rng.multinomial(n, mass)
        parts = []
        for c, k in zip(classes, counts, strict=True):
            members = np.flatnonzero(y == c)
            parts.append(rng.choice(members, size=k, replace=k > members.size))
        rows = np.concatenate(parts)
        return np.asarray(rows[rng.permutation(rows.size)], dtype=np.intp)
    positive = int(np.count_nonzero(w))
    return np.asarray(
        rng.choice(size, size=n, replace=n > positive, p=w / total), dtype=np.intp
    )


def _subset(n: int, fraction: float, rng: np.random.Generator) -> npt.NDArray[np.intp]:
    """A random subset of ``range(n)`` with ``round(fraction · n)`` (≥ 1) members."""
    if fraction >= 1:
        return np.arange(n)
    k = max(1, round(fraction * n))
    return np.sort(rng.choice(n, size=k, replace=False))


def failing_loudly_shifts() -> dict[str, Shift]:
    """The shifts of the Failing Loudly study used in the docs (plus no shift).

    Gaussian noise of three sizes on half of the rows, and knock-out of half of
    class 0.

    Examples
    --------
    >>> list(failing_loudly_shifts())
    ['no_shift', 'noise_small', 'noise_medium', 'noise_large', 'knockout']
    """
    return {
        "no_shift": NoShift(),
        "noise_small": GaussianNoise("small", fraction=0.5),
        "noise_medium": GaussianNoise("medium", fraction=0.5),
        "noise_large": GaussianNoise("large", fraction=0.5),
        "knockout": LabelKnockout(0.5, label=0),
    }
