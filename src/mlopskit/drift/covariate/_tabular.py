"""Per-column tests chosen from each column's type: :class:`TabularDrift`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from mlopskit.drift._base import BaseDriftDetector, Table, combine_features
from mlopskit.drift._result import DriftResult
from mlopskit.drift.covariate._chisquare import ChiSquareDrift
from mlopskit.drift.covariate._cvm import CramerVonMisesDrift
from mlopskit.drift.covariate._ks import KSDrift
from mlopskit.drift.profiles._profile import Profile
from mlopskit.errors import DriftInputError, InvalidParameterError

__all__ = ["TabularDrift"]


class TabularDrift(BaseDriftDetector):
    """A test per column, picked from its type, with one multiple-testing correction.

    Numeric columns get ``numeric_test`` (KS by default, or Cramér–von Mises);
    categorical ones (strings, booleans, pandas categories, and the columns named in
    ``categorical_features``) get the chi-square contingency test. All p-values are
    then corrected together. This is the detector to start with on a mixed
    DataFrame.

    Parameters
    ----------
    alpha
        Significance level of the whole test (after correction).
    correction
        ``"bonferroni"`` (default), ``"fdr_bh"`` or ``None``.
    categorical_features
        Names (or positions, for arrays) of numeric columns to test as categories,
        e.g. integer codes. Non-numeric columns are always categorical.
    numeric_test
        ``"ks"`` (default) or ``"cvm"``.
    nan_policy
        ``"raise"`` (default) or ``"omit"`` (drop missing values per column).
    preprocessor
        Optional scikit-learn transformer, cloned and fitted on the reference.

    Attributes
    ----------
    numeric_features_, categorical_features_
        Which columns got which test.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from mlopskit.drift import TabularDrift
    >>> rng = np.random.default_rng(0)
    >>> def frame(n, age_shift=0.0):
    ...     return pd.DataFrame({
    ...         "age": rng.normal(40 + age_shift, 10, n),
    ...         "country": rng.choice(["fr", "de", "it"], n),
    ...     })
    >>> det = TabularDrift().fit(frame(2000))
    >>> result = det.detect(frame(2000, age_shift=3.0))
    >>> result.features[["feature", "test", "drift"]].to_dict("list")
    {'feature': ['age', 'country'], 'test': ['ks', 'chi2'], 'drift': [True, False]}
    """

    _input_kind: ClassVar[str] = "any"

    def __init__(
        self,
        *,
        alpha: float = 0.05,
        correction: Literal["bonferroni", "fdr_bh"] | None = "bonferroni",
        categorical_features: Sequence[str | int] | None = None,
        numeric_test: Literal["ks", "cvm"] = "ks",
        nan_policy: Literal["raise", "omit"] = "raise",
        preprocessor: Any = None,
    ) -> None:
        self.alpha = alpha
        self.correction = correction
        self.categorical_features = categorical_features
        self.numeric_test = numeric_test
        self.nan_policy = nan_policy
        self.preprocessor = preprocessor

    def _validate_params(self) -> None:
        super()._validate_params()
        if self.numeric_test not in ("ks", "cvm"):
            raise InvalidParameterError(
                f"numeric_test must be 'ks' or 'cvm'. Got {self.numeric_test!r} instead.",
                parameter="numeric_test",
            )

    def _fit(self, table: Table) -> None:
        wanted = set()
        for item in self.categorical_features or ():
            if isinstance(item, int | np.integer) and not isinstance(item, bool):
                if not 0 <= int(item) < len(table.names):
                    raise DriftInputError(
                        f"categorical_features has position {item}, but the reference "
                        f"has {len(table.names)} columns.",
                    )
                wanted.add(table.names[int(item)])
            elif str(item) in table.names:
                wanted.add(str(item))
            else:
                raise DriftInputError(
                    f"categorical_features names {item!r}, which is not a column of the "
                    f"reference {list(table.names)}.",
                )
        cat = [
            j
            for j, (n, k) in enumerate(zip(table.names, table.kinds, strict=True))
            if k == "categorical" or n in wanted
        ]
        num = [j for j in range(len(table.names)) if j not in cat]
        self.numeric_features_ = tuple(table.names[j] for j in num)
        self.categorical_features_ = tuple(table.names[j] for j in cat)
        alpha, policy = self.alpha, self.nan_policy
        numeric: BaseDriftDetector = (
            KSDrift(alpha=alpha, correction=None, nan_policy=policy)
            if self.numeric_test == "ks"
            else CramerVonMisesDrift(alpha=alpha, correction=None, nan_policy=policy)
        )
        categorical = ChiSquareDrift(alpha=alpha, correction=None, nan_policy=policy)
        self._parts_: list[tuple[list[int], BaseDriftDetector]] = []
        for cols, det in ((num, numeric), (cat, categorical)):
            if cols:
                det.fit(table.select(cols).to_frame())
                self._parts_.append((cols, det))

    def _fit_profile(self, reference: Profile) -> None:
        wanted = {str(c) for c in self.categorical_features or ()}
        for name in wanted:
            col = reference.column(name)
            if col.kind != "categorical":
                raise DriftInputError(
                    f"categorical_features names {name!r}, which the profile holds as "
                    f"{col.kind} (a quantile sketch, no category counts). Profile it "
                    "as categories (e.g. .astype(str)) or leave it numeric.",
                    column=name,
                )
        kinds = [c.kind for c in reference.columns]
        cat = [j for j, kind in enumerate(kinds) if kind == "categorical"]
        num = [j for j in range(len(kinds)) if j not in cat]
        self.numeric_features_ = tuple(reference.names[j] for j in num)
        self.categorical_features_ = tuple(reference.names[j] for j in cat)
        self._parts_ = []
        for cols, det in zip((num, cat), self._part_detectors(), strict=True):
            if cols:
                det.fit(reference.select([reference.names[j] for j in cols]))
                self._parts_.append((cols, det))

    def _part_detectors(self) -> tuple[BaseDriftDetector, BaseDriftDetector]:
        alpha, policy = self.alpha, self.nan_policy
        numeric: BaseDriftDetector = (
            KSDrift(alpha=alpha, correction=None, nan_policy=policy)
            if self.numeric_test == "ks"
            else CramerVonMisesDrift(alpha=alpha, correction=None, nan_policy=policy)
        )
        return numeric, ChiSquareDrift(alpha=alpha, correction=None, nan_policy=policy)

    def _detect_profile(self, sample: Profile | Table) -> DriftResult:
        if isinstance(sample, Table):
            return self._detect(sample)
        parts = [
            det.detect(sample.select([sample.names[c] for c in cols]))
            for cols, det in self._parts_
        ]
        return self._combine(sample.names, sample.n_rows, parts)

    def _detect(self, table: Table) -> DriftResult:
        parts = [
            det.detect(table.select(cols).to_frame()) for cols, det in self._parts_
        ]
        return self._combine(table.names, table.n_rows, parts)

    def _combine(
        self, names: tuple[str, ...], n_rows: int, parts: list[DriftResult]
    ) -> DriftResult:
        k = len(names)
        stats, pvals = np.full(k, np.nan), np.full(k, np.nan)
        tests = [""] * k
        details: dict[str, Any] = {}
        for (cols, _), part in zip(self._parts_, parts, strict=True):
            frame = part.features
            assert frame is not None
            stats[cols] = frame["statistic"].to_numpy()
            pvals[cols] = frame["p_value"].to_numpy()
            for c in cols:
                tests[c] = part.method
            for key, value in part.details.items():
                if isinstance(value, dict):
                    details.setdefault(key, {}).update(value)
        correction = self.correction if k > 1 else None
        frame, best, p_best = combine_features(
            names,
            tests,
            stats,
            pvals,
            alpha=float(self.alpha),
            correction=correction,
        )
        return DriftResult(
            drift=bool(frame["drift"].any()),
            statistic=float(stats[best]),
            p_value=p_best,
            threshold=float(self.alpha),
            method="tabular",
            n_reference=self.n_reference_,
            n_sample=n_rows,
            features=frame,
            correction=correction,
            details=details,
        )

    @classmethod
    def _test_data(
        cls, rng: np.random.Generator, *, shift: bool = False
    ) -> tuple[Any, Any]:
        n = 300
        cats = np.array(["a", "b", "c"], dtype=object)
        ref = pd.DataFrame({"num": rng.normal(size=n), "cat": rng.choice(cats, n)})
        smp = pd.DataFrame({"num": rng.normal(size=n), "cat": rng.choice(cats, n)})
        if shift:
            smp["num"] += 3.0
            smp["cat"] = rng.choice(cats, n, p=[0.9, 0.05, 0.05])
        return ref, smp
