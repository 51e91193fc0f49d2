"""Reference profiles: mergeable per-column summaries of a reference data set.

:func:`profile` summarises a DataFrame, an iterator of DataFrames, a Parquet dataset
or a Dask DataFrame into a :class:`Profile`: per column a KLL quantile sketch with a
stated rank error (numeric and datetime columns), exact category counts up to a cap
(categorical columns), moments and missing-value counts. Profiles merge
(``a.merge(b)``), round-trip through JSON, and stand in for the rows in every
univariate detector's ``fit`` and ``detect``.

What does *not* belong here: the tests that compare a profile with a sample
(``covariate/``).
"""

from __future__ import annotations

import typing

from mlopskit._lazy import lazy_exports

if typing.TYPE_CHECKING:
    from mlopskit.drift.profiles._build import profile
    from mlopskit.drift.profiles._profile import ColumnProfile, Profile, QuantileSketch

__all__ = [
    "ColumnProfile",
    "Profile",
    "QuantileSketch",
    "profile",
]

_HOMES = {
    "ColumnProfile": "_profile",
    "Profile": "_profile",
    "QuantileSketch": "_profile",
    "profile": "_build",
}

__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
