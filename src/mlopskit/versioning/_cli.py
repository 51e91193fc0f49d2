"""``mlopskit hash`` and ``mlopskit demo``: the versioning block's command line.

Heavy imports happen inside the command functions, so ``mlopskit --help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from typing import Any

__all__ = ["add_demo", "configure"]


def configure(subparsers: Any) -> None:
    """Add ``hash``, and ``demo`` unless the loop block provides its own."""
    hash_parser = subparsers.add_parser(
        "hash",
        help="print the digest of a file or directory",
        description=(
            "Print the content digest of a file (raw-v1: BLAKE3 of its bytes) or a "
            "directory (dir-v1: BLAKE3 of its sorted manifest). PATH may be an "
            "fsspec URL such as s3://bucket/prefix."
        ),
    )
    hash_parser.add_argument("path", metavar="PATH", help="file, directory or URL")
    hash_parser.add_argument(
        "--json",
        action="store_true",
        help="print digest, kind, files and bytes as JSON",
    )
    hash_parser.add_argument(
        "--no-cache",
        action="store_true",
        help="re-read every file instead of reusing unchanged files' digests",
    )
    hash_parser.set_defaults(handler=_hash)

    if importlib.util.find_spec("mlopskit.loop._cli") is not None:
        return  # the loop block's full `mlopskit demo` replaces this versioning demo
    add_demo(subparsers)


def add_demo(subparsers: Any) -> None:
    """Add the versioning ``demo`` sub-command."""
    demo_parser = subparsers.add_parser(
        "demo",
        help="version a bundled scikit-learn dataset into a local store",
        description=(
            "Snapshot scikit-learn's iris dataset into a content-addressed store, "
            "record a second version, diff the two and verify the store."
        ),
    )
    demo_parser.add_argument(
        "--store",
        default=".mlopskit/store",
        metavar="URL",
        help="store URL (default: .mlopskit/store)",
    )
    demo_parser.set_defaults(handler=_demo)


def _hash(args: argparse.Namespace) -> int:
    from mlopskit.versioning._paths import hash_path_info

    info = hash_path_info(args.path, use_cache=not args.no_cache)
    if args.json:
        print(
            json.dumps(
                {
                    "path": args.path,
                    "digest": info.digest,
                    "kind": info.kind,
                    "files": info.files,
                    "bytes": info.size,
                }
            )
        )
    else:
        print(info.digest)
    return 0


def _demo(args: argparse.Namespace) -> int:
    import numpy as np
    from sklearn.datasets import load_iris

    from mlopskit.versioning import ContentStore, diff_datasets, snapshot

    store = ContentStore(args.store)
    iris = load_iris(as_frame=True).frame
    iris.insert(0, "id", np.arange(len(iris)))
    print(f"store: {store.url}  ({store.fs.protocol[0]}:{store.root})")
    v1 = snapshot(
        iris, store, name="iris", meta={"source": "sklearn.datasets.load_iris"}
    )
    print(
        f"iris v{v1.version}: {v1.rows} rows x {len(v1.columns)} columns -> {v1.digest}"
    )

    # A second version, as a data refresh would produce: one label fixed, the last
    # five rows dropped, and a new derived column.
    refreshed = iris.iloc[:-5].copy()
    refreshed.loc[refreshed["id"] == 7, "target"] = 1
    refreshed["petal area (cm2)"] = (
        refreshed["petal length (cm)"] * refreshed["petal width (cm)"]
    ).round(3)
    v2 = snapshot(refreshed, store, name="iris", meta={"change": "refresh"})
    print(
        f"iris v{v2.version}: {v2.rows} rows x {len(v2.columns)} columns -> {v2.digest}"
    )
    print(f"  parent: {v2.parent}")

    diff = diff_datasets(v1.load(store), v2.load(store), key="id")
    print(
        f"diff v{v1.version} -> v{v2.version}: +{len(diff.added_columns)} column(s) "
        f"{list(diff.added_columns)}, rows added {diff.n_added}, removed "
        f"{diff.n_removed}, changed {diff.n_changed} {list(diff.changed_columns)}"
    )
    versions = store.versions("iris")
    print(f"versions of 'iris' in the store: {[v.version for v in versions]}")
    report = store.verify()
    print(
        f"verified {report.checked} stored object(s): {'ok' if report.ok else report.corrupt}"
    )
    return 0 if report.ok else 1
