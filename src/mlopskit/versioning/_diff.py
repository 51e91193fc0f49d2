"""``diff_datasets``: schema changes and added, removed and changed rows of two frames.

Rows are compared by 64-bit row hashes (``pandas.util.hash_pandas_object`` over
the columns both frames share), so a million-row diff takes about a second. Without
a key, rows are a multiset: a row is *added* if it occurs more often in ``new``
than in ``old``. With ``key=``, rows are matched by key and a matched row whose
other shared columns differ is *changed*.

What does *not* belong here: storing frames (``_store``) or versioning them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlopskit._results import Frame, Result
from mlopskit.errors import InvalidParameterError

__all__ = ["DatasetDiff", "diff_datasets"]


class DatasetDiff(Result):
    """How ``new`` differs from ``old``: schema, then rows.

    Attributes
    ----------
    key
        The key columns rows were matched on, or None (rows compared as a multiset).
    added_columns, removed_columns
        Column names only in ``new`` / only in ``old``.
    dtype_changes
        ``(column, old dtype, new dtype)`` for shared columns whose dtype changed.
    n_added, n_removed
        Rows only in ``new`` / only in ``old``.
    n_changed
        Rows matched by key whose values differ (None without a key).
    n_unchanged
        Rows present in both, unchanged.
    changed_columns
        ``(column, rows changed)`` for every shared column with changes (key only).
    added, removed
        The added rows (from ``new``) and removed rows (from ``old``).
    changed
        Key columns of the changed rows, then ``<column>_old`` and ``<column>_new``
        for each changed column (empty without a key).

    Examples
    --------
    >>> import pandas as pd
    >>> old = pd.DataFrame({"id": [1, 2, 3], "x": [1.0, 2.0, 3.0]})
    >>> new = pd.DataFrame({"id": [2, 3, 4], "x": [2.0, 3.5, 4.0]})
    >>> d = diff_datasets(old, new, key="id")
    >>> d.n_added, d.n_removed, d.n_changed, d.n_unchanged
    (1, 1, 1, 1)
    >>> d.changed
       id  x_old  x_new
    0   3    3.0    3.5
    """

    key: tuple[str, ...] | None
    added_columns: tuple[str, ...]
    removed_columns: tuple[str, ...]
    dtype_changes: tuple[tuple[str, str, str], ...]
    n_added: int
    n_removed: int
    n_changed: int | None
    n_unchanged: int
    changed_columns: tuple[tuple[str, int], ...]
    added: Frame
    removed: Frame
    changed: Frame

    @property
    def identical(self) -> bool:
        """True when schema and rows are the same (row order aside, without a key)."""
        return not (
            self.added_columns
            or self.removed_columns
            or self.dtype_changes
            or self.n_added
            or self.n_removed
            or self.n_changed
        )


def _check(
    old: Any, new: Any, key: str | Sequence[str] | None
) -> tuple[str, ...] | None:
    for name, frame in (("old", old), ("new", new)):
        if not isinstance(frame, pd.DataFrame):
            raise InvalidParameterError(
                f"`{name}` must be a pandas DataFrame. Got {type(frame).__name__} "
                "instead (load a DatasetVersion with version.load(store)).",
                argument=name,
            )
    if key is None:
        return None
    keys = (key,) if isinstance(key, str) else tuple(key)
    for name, frame in (("old", old), ("new", new)):
        missing = [k for k in keys if k not in frame.columns]
        if missing or not keys:
            raise InvalidParameterError(
                f"`key` columns {missing or list(keys)} are not in `{name}`. Pass "
                f"columns present in both frames; `{name}` has {list(frame.columns)}.",
                key=keys,
            )
        if frame.duplicated(list(keys)).any():
            raise InvalidParameterError(
                f"`key` {list(keys)} is not unique in `{name}`; a key must identify "
                "one row. Pass more key columns, or key=None to compare whole rows.",
                key=keys,
            )
    return keys


def _aligned(old: pd.DataFrame, new: pd.DataFrame, columns: list[Any]) -> pd.DataFrame:
    """``old[columns]`` with each dtype-changed column cast to ``new``'s dtype."""
    out = old[columns].copy()
    for column in columns:
        if out[column].dtype != new[column].dtype:
            try:
                out[column] = out[column].astype(new[column].dtype)
            except (TypeError, ValueError):
                out[column] = out[column].astype(str)
    return out


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    if frame.shape[1] == 0:
        return np.zeros(len(frame), dtype=np.uint64)
    return np.asarray(pd.util.hash_pandas_object(frame, index=False), dtype=np.uint64)


def _comparable(
    new: pd.DataFrame, columns: list[Any], old: pd.DataFrame
) -> pd.DataFrame:
    out = new[columns].copy()
    for column in columns:
        if (
            old[column].dtype != new[column].dtype
            and out[column].dtype != old[column].dtype
        ):
            try:
                old[column].astype(new[column].dtype)
            except (TypeError, ValueError):
                out[column] = out[column].astype(str)
    return out


def diff_datasets(
    old: pd.DataFrame, new: pd.DataFrame, *, key: str | Sequence[str] | None = None
) -> DatasetDiff:
    """Compare two versions of a dataset: columns, dtypes and rows.

    Parameters
    ----------
    old, new
        The two frames.
    key
        Column(s) identifying a row in both frames. With a key, rows are matched
        and changed rows reported; without one, rows compare as a multiset of
        whole rows over the shared columns.

    Returns
    -------
    DatasetDiff

    Examples
    --------
    >>> import pandas as pd
    >>> old = pd.DataFrame({"a": [1, 2, 2], "b": ["x", "y", "y"]})
    >>> new = pd.DataFrame({"a": [2, 3], "c": [0.5, 0.5]})
    >>> d = diff_datasets(old, new)
    >>> d.added_columns, d.removed_columns, d.n_added, d.n_removed, d.n_unchanged
    (('c',), ('b',), 1, 2, 1)
    """
    keys = _check(old, new, key)
    shared = [c for c in new.columns if c in set(old.columns)]
    added_columns = tuple(str(c) for c in new.columns if c not in set(old.columns))
    removed_columns = tuple(str(c) for c in old.columns if c not in set(new.columns))
    dtype_changes = tuple(
        (str(c), str(old[c].dtype), str(new[c].dtype))
        for c in shared
        if old[c].dtype != new[c].dtype
    )
    old_cmp = _aligned(old, new, shared)
    new_cmp = _comparable(new, shared, old)
    if keys is None:
        rows = _multiset_rows(old, new, old_cmp, new_cmp)
    else:
        rows = _keyed_rows(old, new, old_cmp, new_cmp, keys)
    return DatasetDiff(
        key=keys,
        added_columns=added_columns,
        removed_columns=removed_columns,
        dtype_changes=dtype_changes,
        **rows,
    )


def _multiset_rows(
    old: pd.DataFrame, new: pd.DataFrame, old_cmp: pd.DataFrame, new_cmp: pd.DataFrame
) -> dict[str, Any]:
    old_h = pd.Series(_row_hashes(old_cmp))
    new_h = pd.Series(_row_hashes(new_cmp))
    old_counts = old_h.value_counts()
    new_counts = new_h.value_counts()
    # The k-th occurrence of a row in `new` is added if `old` has at most k of them.
    added = (
        new_h.groupby(new_h).cumcount().to_numpy()
        >= new_h.map(old_counts).fillna(0).to_numpy()
    )
    removed = (
        old_h.groupby(old_h).cumcount().to_numpy()
        >= old_h.map(new_counts).fillna(0).to_numpy()
    )
    return {
        "n_added": int(added.sum()),
        "n_removed": int(removed.sum()),
        "n_changed": None,
        "n_unchanged": int(len(new) - added.sum()),
        "changed_columns": (),
        "added": new[added].reset_index(drop=True),
        "removed": old[removed].reset_index(drop=True),
        "changed": pd.DataFrame(),
    }


def _key_index(frame: pd.DataFrame, keys: tuple[str, ...]) -> pd.Index:
    if len(keys) == 1:
        return pd.Index(frame[keys[0]])
    return pd.MultiIndex.from_frame(frame[list(keys)])


def _keyed_rows(
    old: pd.DataFrame,
    new: pd.DataFrame,
    old_cmp: pd.DataFrame,
    new_cmp: pd.DataFrame,
    keys: tuple[str, ...],
) -> dict[str, Any]:
    old_keys, new_keys = _key_index(old, keys), _key_index(new, keys)
    position = old_keys.get_indexer(new_keys)  # -1: key not in old
    matched = position >= 0
    in_new = np.zeros(len(old), dtype=bool)
    in_new[position[matched]] = True
    values = [c for c in new_cmp.columns if c not in keys]
    old_h = _row_hashes(old_cmp[values])
    new_h = _row_hashes(new_cmp[values])
    new_rows = np.flatnonzero(matched)
    old_rows = position[matched]
    differs = old_h[old_rows] != new_h[new_rows]
    new_changed, old_changed = new_rows[differs], old_rows[differs]
    changed = new.iloc[new_changed][list(keys)].reset_index(drop=True)
    counts = []
    for column in values:
        a = old_cmp[column].iloc[old_changed].reset_index(drop=True)
        b = new_cmp[column].iloc[new_changed].reset_index(drop=True)
        same = (a == b).fillna(False).to_numpy(dtype=bool) | (
            a.isna() & b.isna()
        ).to_numpy()
        if (~same).any():
            counts.append((str(column), int((~same).sum())))
            changed[f"{column}_old"] = (
                old[column].iloc[old_changed].reset_index(drop=True)
            )
            changed[f"{column}_new"] = (
                new[column].iloc[new_changed].reset_index(drop=True)
            )
    return {
        "n_added": int((~matched).sum()),
        "n_removed": int((~in_new).sum()),
        "n_changed": len(new_changed),
        "n_unchanged": int(matched.sum() - len(new_changed)),
        "changed_columns": tuple(counts),
        "added": new[~matched].reset_index(drop=True),
        "removed": old[~in_new].reset_index(drop=True),
        "changed": changed,
    }
