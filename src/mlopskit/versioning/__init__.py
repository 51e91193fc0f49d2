"""Content identity: ``fingerprint``, a content-addressed store, dataset versions.

- :func:`fingerprint` names any Python object by a digest of its content (numpy
  arrays and pandas frames hashed from their buffers, never pickled);
- :class:`ContentStore` keeps objects under their digests on any fsspec URL and
  verifies every byte it loads;
- :func:`hash_path` names a file or a directory (as DVC does, with BLAKE3);
- :func:`snapshot` records versions of a dataset, :func:`diff_datasets` compares two.

The digest scheme is specified in ``docs/versioning.md``.

Examples
--------
>>> import pandas as pd
>>> from mlopskit.versioning import ContentStore, fingerprint
>>> df = pd.DataFrame({"x": [1.0, 2.0]})
>>> store = ContentStore("memory://versioning-doc")
>>> store.put(df) == fingerprint(df)
True
"""

from __future__ import annotations

import typing

from mlopskit._lazy import lazy_exports

if (
    typing.TYPE_CHECKING
):  # the names are imported lazily, on first use (see __getattr__)
    from mlopskit.versioning._datasets import DatasetVersion, snapshot
    from mlopskit.versioning._diff import DatasetDiff, diff_datasets
    from mlopskit.versioning._fingerprint import fingerprint
    from mlopskit.versioning._gc import GcReport
    from mlopskit.versioning._paths import hash_path
    from mlopskit.versioning._signing import SigningKey
    from mlopskit.versioning._store import ContentStore, VerifyReport

__all__ = [
    "ContentStore",
    "DatasetDiff",
    "DatasetVersion",
    "GcReport",
    "SigningKey",
    "VerifyReport",
    "diff_datasets",
    "fingerprint",
    "hash_path",
    "snapshot",
]

# Where each public name lives. Importing them lazily keeps `mlopskit hash` free of
# pandas: hashing a file needs only blake3 and fsspec.
_HOMES = {
    "ContentStore": "_store",
    "DatasetDiff": "_diff",
    "DatasetVersion": "_datasets",
    "GcReport": "_gc",
    "SigningKey": "_signing",
    "VerifyReport": "_store",
    "diff_datasets": "_diff",
    "fingerprint": "_fingerprint",
    "hash_path": "_paths",
    "snapshot": "_datasets",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
