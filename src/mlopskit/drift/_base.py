"""The base class of every batch drift detector, and the input checks they share.

A batch detector subclasses :class:`BaseDriftDetector` and implements two hooks:

``_fit(self, table: Table) -> None``
    Learn from the (checked, preprocessed) reference and set fitted attributes
    (names ending in ``_``).
``_detect(self, table: Table) -> DriftResult``
    Test the (checked, preprocessed) sample against the fitted state. It must not
    change ``self``.

The base class does everything else, the same way for every detector:

* ``fit(reference)`` checks the parameters (:meth:`BaseDriftDetector._validate_params`),
  turns the input into a :class:`Table` (2-D only; pandas column names kept, numpy
  columns named ``x0, x1, …``), checks NaN/inf (``nan_policy``), fits the
  ``preprocessor`` if one is given and calls ``_fit``. It records
  ``feature_names_in_``, ``n_features_in_``, ``feature_kinds_`` and
  ``n_reference_``.
* ``detect(sample)`` raises :class:`~mlopskit.errors.NotFittedError` before ``fit``,
  checks the sample has the reference's columns and column kinds, applies the
  fitted preprocessor, and calls ``_detect``.

Class attributes a subclass may set:

``_input_kind``
    ``"numeric"`` (every column must be numeric), ``"categorical"`` (every column is
    treated as categorical) or ``"any"`` (each column keeps its own kind).
``_min_rows``
    Fewest rows (per column, after ``nan_policy="omit"``) the test needs.

and two class methods the conformance suite (:func:`mlopskit.testing.check_detector`)
uses: ``_test_params()`` (keyword arguments for a cheap instance) and
``_test_data(rng, shift=...)`` (a ``(reference, sample)`` pair the detector accepts;
with ``shift=True`` the sample is shifted so strongly that any detector must see it).

What does *not* belong here: any statistic (``covariate/_stats.py``; only the
multiple-testing adjustment every column aggregation uses lives here) or any single
detector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats
from sklearn.base import BaseEstimator, clone

from mlopskit.drift._result import DriftResult
from mlopskit.drift.profiles._profile import Profile
from mlopskit.errors import DriftInputError, InvalidParameterError, NotFittedError

__all__ = ["BaseDriftDetector", "Table", "adjust_pvalues"]

FloatArray = NDArray[np.float64]

_D = TypeVar("_D", bound="BaseDriftDetector")

NanPolicy = Literal["raise", "omit"]
Correction = Literal["bonferroni", "fdr_bh"]


@dataclass(frozen=True)
class Table:
    """Checked 2-D input: one array per column, with names and kinds.

    Attributes
    ----------
    names
        Column names (pandas names as strings; ``x0, x1, …`` for arrays).
    kinds
        ``"numeric"`` or ``"categorical"`` per column.
    columns
        One 1-D array per column: float64 for numeric columns (inf kept, NaN for
        missing), object or the original dtype for categorical ones.
    n_rows
        Number of rows.
    matrix
        The numeric columns stacked as a ``(n_rows, k)`` float64 array when every
        column is numeric (no copy for a float64 numpy input), else ``None``.
    """

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    columns: tuple[NDArray[Any], ...]
    n_rows: int
    matrix: NDArray[np.float64] | None

    def numeric_matrix(self) -> NDArray[np.float64]:
        """All columns as one float64 ``(n_rows, k)`` array (numeric tables only)."""
        if self.matrix is not None:
            return self.matrix
        return np.column_stack([np.asarray(c, dtype=np.float64) for c in self.columns])

    def select(self, indices: Sequence[int]) -> Table:
        """A table of some of the columns."""
        cols = [int(i) for i in indices]
        matrix = None
        if self.matrix is not None:
            matrix = self.matrix[:, cols]
        return Table(
            tuple(self.names[i] for i in cols),
            tuple(self.kinds[i] for i in cols),
            tuple(self.columns[i] for i in cols),
            self.n_rows,
            matrix,
        )

    def to_frame(self) -> pd.DataFrame:
        """The columns as a DataFrame (categorical ones keep their values)."""
        return pd.DataFrame(dict(zip(self.names, self.columns, strict=True)))

    def has_missing(self, j: int) -> bool:
        """Whether column ``j`` has a NaN, inf or missing value (fast for integers)."""
        if self.columns[j].dtype.kind in "iub":
            return False
        return bool(self.missing(j).any())

    def valid(self, j: int) -> NDArray[Any]:
        """Column ``j`` without its NaN, inf or missing values."""
        col = self.columns[j]
        if not self.has_missing(j):
            return col
        return col[~self.missing(j)]

    def missing(self, j: int) -> NDArray[np.bool_]:
        """Rows of column ``j`` that are NaN, inf or missing."""
        col = self.columns[j]
        if self.kinds[j] == "numeric" or col.dtype.kind == "f":
            missing: NDArray[np.bool_] = ~np.isfinite(col)
            return missing
        return np.asarray(pd.isna(col), dtype=bool)


def _is_categorical_dtype(dtype: Any) -> bool:
    if _is_time_dtype(dtype):
        return False
    return not (
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    )


def _is_time_dtype(dtype: Any) -> bool:
    """Datetimes (naive or tz-aware) and timedeltas: tested as numbers, not categories."""
    return bool(
        pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
    )


def _time_as_float(series: pd.Series) -> NDArray[np.float64]:
    """Nanoseconds since the epoch (or in the timedelta) as float64, NaT as NaN.

    A tz-aware column is converted to UTC first, so the same instant in two time
    zones is the same number. float64 keeps timestamps to about 0.1 µs, far below
    any shift a drift test can see.
    """
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    kind = "m8[ns]" if pd.api.types.is_timedelta64_dtype(series.dtype) else "M8[ns]"
    raw = series.to_numpy(dtype=kind)
    out: NDArray[np.float64] = raw.view(np.int64).astype(np.float64)
    out[np.isnat(raw)] = np.nan
    return out


def to_table(data: Any, *, what: str, input_kind: str) -> Table:
    """Turn a DataFrame or 2-D array into a :class:`Table`, or raise DriftInputError."""
    if isinstance(data, pd.Series):
        raise DriftInputError(
            f"The {what} must be 2-D (rows × features). Got a pandas Series of "
            f"{len(data)} values. Pass series.to_frame() instead.",
            received="Series",
        )
    if isinstance(data, pd.DataFrame):
        names = tuple(str(c) for c in data.columns)
        if len(set(names)) != len(names):
            raise DriftInputError(
                f"The {what} has duplicate column names {list(names)}. "
                "Give every column a distinct name.",
            )
        kinds = tuple(
            "categorical"
            if input_kind == "categorical" or _is_categorical_dtype(t)
            else "numeric"
            for t in data.dtypes
        )
        cols = tuple(
            _column(data.iloc[:, j], kinds[j], names[j], what, input_kind)
            for j in range(len(names))
        )
        matrix = None
        if cols and all(k == "numeric" for k in kinds):
            if any(_is_time_dtype(t) for t in data.dtypes):
                matrix = np.column_stack(cols)
            else:
                matrix = data.to_numpy(dtype=np.float64, na_value=np.nan)
        return Table(names, kinds, cols, len(data), matrix)
    arr = np.asarray(data)
    if arr.ndim != 2:
        raise DriftInputError(
            f"The {what} must be a 2-D array (rows × features) or a DataFrame. "
            f"Got an array with shape {arr.shape}. For one feature, pass "
            "x.reshape(-1, 1).",
            received_shape=arr.shape,
        )
    names = tuple(f"x{j}" for j in range(arr.shape[1]))
    numeric = arr.dtype.kind in "biuf" and arr.dtype.kind != "b"
    if input_kind == "categorical" or not numeric:
        if input_kind == "numeric":
            raise DriftInputError(
                f"This detector needs numeric features, but the {what} has dtype "
                f"{arr.dtype}. Encode categorical columns first, or use ChiSquareDrift "
                "or TabularDrift.",
                received_dtype=str(arr.dtype),
            )
        kinds = ("categorical",) * arr.shape[1]
        return Table(names, kinds, tuple(arr.T), arr.shape[0], None)
    matrix = np.asarray(arr, dtype=np.float64)
    return Table(
        names, ("numeric",) * arr.shape[1], tuple(matrix.T), arr.shape[0], matrix
    )


def _column(
    series: pd.Series, kind: str, name: str, what: str, input_kind: str
) -> NDArray[Any]:
    if kind == "numeric":
        if _is_time_dtype(series.dtype):
            return _time_as_float(series)
        return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan))
    if input_kind == "numeric":
        raise DriftInputError(
            f"This detector needs numeric features, but column {name!r} of the {what} "
            f"has dtype {series.dtype}. Encode it first, drop it, or use TabularDrift "
            "(which tests categorical columns with a chi-square test).",
            column=name,
            received_dtype=str(series.dtype),
        )
    if isinstance(series.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(
        series.dtype
    ):
        return np.asarray(series.to_numpy(dtype=object))
    return np.asarray(series.to_numpy())


class BaseDriftDetector(BaseEstimator):  # type: ignore[misc]
    """Base class of the batch drift detectors (scikit-learn shaped).

    Subclasses store their keyword-only parameters in ``__init__`` and implement
    ``_fit(table)`` and ``_detect(table)``; see the module docstring of
    ``mlopskit.drift._base`` for the whole contract. The parameters every detector
    understands, when it declares them, are ``preprocessor`` (any scikit-learn
    transformer: cloned and fitted on the reference, or used as is when it is
    already fitted) and ``nan_policy``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlopskit.drift import KSDrift
    >>> rng = np.random.default_rng(0)
    >>> det = KSDrift().fit(rng.normal(size=(500, 2)))
    >>> det.feature_names_in_
    ('x0', 'x1')
    >>> det.detect(rng.normal(1.0, size=(500, 2))).drift
    True
    """

    _input_kind: ClassVar[str] = "numeric"
    _min_rows: ClassVar[int] = 1

    # -- the public API -------------------------------------------------------------

    def fit(self: _D, reference: Any, y: Any = None) -> _D:
        """Learn the reference distribution.

        Parameters
        ----------
        reference
            A DataFrame or a 2-D array (rows × features).
        y
            Ignored; there for scikit-learn compatibility.

        Returns
        -------
        self
        """
        self._validate_params()
        if isinstance(reference, Profile):
            return self._fit_from_profile(reference)
        self.__dict__.pop("reference_profile_", None)  # a refit on rows forgets it
        table = to_table(reference, what="reference", input_kind=self._input_kind)
        if table.n_rows == 0 or not table.names:
            raise DriftInputError(
                f"The reference is empty (shape {table.n_rows} × {len(table.names)}). "
                "Pass at least one row and one column.",
            )
        self._check_missing(table, "reference")
        self.feature_names_in_ = table.names
        self.n_features_in_ = len(table.names)
        self.feature_kinds_ = table.kinds
        self.n_reference_ = table.n_rows
        preprocessor = getattr(self, "preprocessor", None)
        if preprocessor is not None:
            if _is_fitted(preprocessor):
                self.preprocessor_ = preprocessor  # fitted elsewhere: used as is
            else:
                self.preprocessor_ = clone(preprocessor)
                self.preprocessor_.fit(self._frame_for_preprocessor(table, reference))
            table = self._preprocess(table, reference)
        self._fit(table)
        return self

    def detect(self, sample: Any) -> DriftResult:
        """Test whether ``sample`` comes from the reference distribution.

        Parameters
        ----------
        sample
            A DataFrame or 2-D array with the reference's columns.

        Returns
        -------
        DriftResult
        """
        if not hasattr(self, "n_reference_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet. Call "
                f"fit(reference) before detect(sample).",
            )
        if isinstance(sample, Profile) or hasattr(self, "reference_profile_"):
            return self._detect_from_profile(sample)
        table = to_table(sample, what="sample", input_kind=self._input_kind)
        self._check_same_columns(table)
        self._check_missing(table, "sample")
        if getattr(self, "preprocessor_", None) is not None:
            table = self._preprocess(table, sample)
        return self._detect(table)

    # -- profiles (mlopskit.drift.profile) as reference or sample ---------------------

    def _fit_from_profile(self: _D, reference: Profile) -> _D:
        """``fit`` on a :class:`~mlopskit.drift.Profile`: checks, then ``_fit_profile``."""
        if getattr(self, "preprocessor", None) is not None:
            raise DriftInputError(
                f"{type(self).__name__} has a preprocessor, which needs the rows; a "
                "Profile only holds column summaries. Profile the preprocessed data "
                "instead, or fit on the rows.",
            )
        self._check_profile(reference, "reference")
        self.feature_names_in_ = reference.names
        self.n_features_in_ = len(reference.names)
        self.feature_kinds_ = profile_kinds(reference)
        self.n_reference_ = reference.n_rows
        self.reference_profile_ = reference
        self._fit_profile(reference)
        return self

    def _detect_from_profile(self, sample: Any) -> DriftResult:
        """``detect`` when the reference or the sample is a Profile."""
        if isinstance(sample, Profile):
            if getattr(self, "preprocessor_", None) is not None:
                raise DriftInputError(
                    f"This {type(self).__name__} has a fitted preprocessor, which needs "
                    "the sample's rows, not a Profile.",
                )
            self._check_profile(sample, "sample")
            names, kinds = sample.names, profile_kinds(sample)
            self._check_same_columns(Table(names, kinds, (), sample.n_rows, None))
            return self._detect_profile(sample)
        table = to_table(sample, what="sample", input_kind=self._input_kind)
        self._check_same_columns(table)
        self._check_missing(table, "sample")
        return self._detect_profile(table)

    def _check_profile(self, profile: Profile, what: str) -> None:
        allowed = {"numeric": ("numeric", "datetime"), "categorical": ("categorical",)}
        ok = allowed.get(self._input_kind, ("numeric", "datetime", "categorical"))
        for col in profile.columns:
            if col.kind not in ok:
                raise DriftInputError(
                    f"{type(self).__name__} cannot test column {col.name!r} of the "
                    f"{what} profile: it was profiled as {col.kind} ({col.dtype}) and "
                    f"this detector needs {' or '.join(ok)} columns. Select other "
                    "columns with profile.select(...), or use TabularDrift.",
                    column=col.name,
                )
        if getattr(self, "nan_policy", "raise") == "omit":
            return
        bad = {c.name: c.n_missing for c in profile.columns if c.n_missing}
        if bad:
            listed = ", ".join(f"{k!r}: {v}" for k, v in list(bad.items())[:5])
            raise DriftInputError(
                f"The {what} profile counts NaN, inf or missing values ({listed}). "
                "Pass nan_policy='omit' to test the valid values only.",
                columns=tuple(bad),
            )

    def _fit_profile(self, reference: Profile) -> None:
        """Hook: learn from a Profile (detectors that can; others refuse)."""
        raise DriftInputError(
            f"{type(self).__name__} needs the rows of the reference; a Profile only "
            "holds per-column summaries. Profiles work with KSDrift, "
            "CramerVonMisesDrift, AndersonDarlingDrift, ChiSquareDrift, "
            "WassersteinDrift, JensenShannonDrift, HellingerDrift, PSIDrift and "
            "TabularDrift.",
        )

    def _detect_profile(self, sample: Profile | Table) -> DriftResult:
        """Hook: test a Profile (or rows, against a Profile reference)."""
        raise DriftInputError(
            f"{type(self).__name__} needs the rows of the sample; a Profile only "
            "holds per-column summaries.",
        )

    # -- hooks ----------------------------------------------------------------------

    def _validate_params(self) -> None:
        """Check the parameters; raise InvalidParameterError. Extend in subclasses."""
        alpha = getattr(self, "alpha", None)
        if alpha is not None and not (
            isinstance(alpha, int | float) and 0.0 < float(alpha) < 1.0
        ):
            raise InvalidParameterError(
                f"alpha must be a float in (0, 1). Got {alpha!r} instead.",
                parameter="alpha",
            )
        policy = getattr(self, "nan_policy", "raise")
        if policy not in ("raise", "omit"):
            raise InvalidParameterError(
                f"nan_policy must be 'raise' or 'omit'. Got {policy!r} instead.",
                parameter="nan_policy",
            )
        correction = getattr(self, "correction", None)
        if correction not in (None, "bonferroni", "fdr_bh"):
            raise InvalidParameterError(
                "correction must be 'bonferroni', 'fdr_bh' or None. "
                f"Got {correction!r} instead.",
                parameter="correction",
            )

    def _fit(self, table: Table) -> None:
        raise NotImplementedError

    def _detect(self, table: Table) -> DriftResult:
        raise NotImplementedError

    @classmethod
    def _test_params(cls) -> dict[str, Any]:
        """Keyword arguments of a cheap instance, for the conformance suite."""
        return {}

    @classmethod
    def _test_data(
        cls, rng: np.random.Generator, *, shift: bool = False
    ) -> tuple[Any, Any]:
        """A ``(reference, sample)`` pair this detector accepts (conformance suite)."""
        n = 120
        if cls._input_kind == "categorical":
            cats = np.array(["a", "b", "c", "d"], dtype=object)
            p_ref = [0.25, 0.25, 0.25, 0.25]
            p_smp = [0.7, 0.1, 0.1, 0.1] if shift else p_ref
            ref = pd.DataFrame({"f0": rng.choice(cats, n, p=p_ref)})
            ref["f1"] = rng.choice(cats, n, p=p_ref)
            smp = pd.DataFrame({"f0": rng.choice(cats, n, p=p_smp)})
            smp["f1"] = rng.choice(cats, n, p=p_ref)
            return ref, smp
        ref = rng.normal(size=(n, 3))
        smp = rng.normal(size=(n, 3))
        if shift:
            smp += 3.0
        return ref, smp

    # -- shared helpers --------------------------------------------------------------

    def _check_missing(self, table: Table, what: str) -> None:
        if getattr(self, "nan_policy", "raise") == "omit":
            return
        if table.matrix is not None and np.isfinite(table.matrix).all():
            return  # one contiguous pass instead of one per column
        bad = {
            name: int(table.missing(j).sum())
            for j, name in enumerate(table.names)
            if table.has_missing(j)
        }
        if bad:
            listed = ", ".join(f"{k!r}: {v}" for k, v in list(bad.items())[:5])
            raise DriftInputError(
                f"The {what} has NaN, inf or missing values ({listed}"
                f"{' …' if len(bad) > 5 else ''}). Clean them, or pass "
                "nan_policy='omit' to drop them per column (the result reports how "
                "many were dropped).",
                columns=tuple(bad),
            )

    def _check_same_columns(self, table: Table) -> None:
        expected = self.feature_names_in_
        if table.names != expected:
            if len(table.names) != len(expected):
                got = f"{len(table.names)} columns"
                want = f"{len(expected)} columns"
            else:
                got, want = str(list(table.names)), str(list(expected))
            raise DriftInputError(
                f"The sample's columns do not match the reference's: expected {want}, "
                f"got {got}. Select the reference's columns, in the same order.",
                expected=expected,
                received=table.names,
            )
        for name, want, got in zip(
            expected, self.feature_kinds_, table.kinds, strict=True
        ):
            if want != got:
                raise DriftInputError(
                    f"Column {name!r} was {want} in the reference but is {got} in the "
                    "sample. Cast it to the reference's dtype.",
                    column=name,
                )

    def _frame_for_preprocessor(self, table: Table, original: Any) -> Any:
        return (
            original if isinstance(original, pd.DataFrame) else table.numeric_matrix()
        )

    def _preprocess(self, table: Table, original: Any) -> Table:
        out = self.preprocessor_.transform(
            self._frame_for_preprocessor(table, original)
        )
        if isinstance(out, pd.DataFrame):
            return to_table(out, what="preprocessed data", input_kind=self._input_kind)
        arr = np.asarray(out)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        if hasattr(self.preprocessor_, "get_feature_names_out"):
            try:
                names = [str(n) for n in self.preprocessor_.get_feature_names_out()]
            except (AttributeError, ValueError, TypeError):
                names = [f"x{j}" for j in range(arr.shape[1])]
            if len(names) == arr.shape[1]:
                return to_table(
                    pd.DataFrame(arr, columns=names),
                    what="preprocessed data",
                    input_kind=self._input_kind,
                )
        return to_table(arr, what="preprocessed data", input_kind=self._input_kind)

    def _too_few(self, what: str, name: str, n: int) -> DriftInputError:
        return DriftInputError(
            f"{type(self).__name__} needs at least {self._min_rows} valid rows per "
            f"column, but column {name!r} of the {what} has {n}. Pass more rows.",
            column=name,
            n_rows=n,
        )


def profile_kinds(profile: Profile) -> tuple[str, ...]:
    """A profile's column kinds as the detectors name them (datetimes are numbers,
    nanoseconds since the epoch, as ``to_table`` reads them)."""
    return tuple("numeric" if c.kind == "datetime" else c.kind for c in profile.columns)


def _is_fitted(estimator: Any) -> bool:
    from sklearn.exceptions import NotFittedError as SklearnNotFitted
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator)
    except (SklearnNotFitted, TypeError):
        return False
    return True


def combine_features(
    names: Sequence[str],
    tests: Sequence[str],
    statistics: NDArray[np.float64],
    p_values: NDArray[np.float64],
    *,
    alpha: float,
    correction: Correction | None,
) -> tuple[pd.DataFrame, int, float]:
    """Per-feature table and the index of the deciding feature.

    Returns the ``features`` frame (feature, test, statistic, p_value,
    p_value_adjusted, drift), the index of the feature with the smallest adjusted
    p-value, and that adjusted p-value.
    """
    adjusted = adjust_pvalues(p_values, correction if len(names) > 1 else None)
    drift = np.where(np.isnan(adjusted), False, adjusted <= alpha)
    frame = pd.DataFrame(
        {
            "feature": pd.Series(list(names), dtype=object),
            "test": pd.Series(list(tests), dtype=object),
            "statistic": np.asarray(statistics, dtype=np.float64),
            "p_value": np.asarray(p_values, dtype=np.float64),
            "p_value_adjusted": adjusted,
            "drift": drift.astype(bool),
        }
    )
    if np.isnan(adjusted).all():
        return frame, 0, 1.0
    best = int(np.nanargmin(adjusted))
    return frame, best, float(adjusted[best])


def adjust_pvalues(
    p_values: Sequence[float] | FloatArray,
    correction: Literal["bonferroni", "fdr_bh"] | None,
) -> FloatArray:
    """Adjust p-values for multiple testing.

    ``"bonferroni"`` multiplies by the number of tests (capped at 1); ``"fdr_bh"``
    is Benjamini–Hochberg (the adjusted p-values of
    :func:`scipy.stats.false_discovery_control`); ``None`` leaves them alone.
    NaN p-values (features that could not be tested) stay NaN and are not counted.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.02, 0.5], "bonferroni")
    array([0.03, 0.06, 1.  ])
    >>> adjust_pvalues([0.01, 0.02, 0.5], "fdr_bh")
    array([0.03, 0.03, 0.5 ])
    """
    p: FloatArray = np.asarray(p_values, dtype=np.float64)
    out: FloatArray = p.copy()
    ok = ~np.isnan(p)
    if correction is None or not ok.any():
        return out
    if correction == "bonferroni":
        out[ok] = np.minimum(p[ok] * ok.sum(), 1.0)
    elif correction == "fdr_bh":
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    else:
        raise ValueError(
            f"correction must be 'bonferroni', 'fdr_bh' or None. Got {correction!r}."
        )
    return out
