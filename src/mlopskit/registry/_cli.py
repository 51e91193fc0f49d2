"""``mlopskit registry …``: read and promote models from the command line.

Sub-commands: ``list``, ``versions NAME``, ``show NAME[@VERSION|@ALIAS|:VERSION]``,
``promote NAME VERSION --alias A`` and ``history NAME``. Each takes ``--registry URL``
(default: ``$MLOPSKIT_REGISTRY`` or ``.mlopskit/registry``) and ``--json``. Credentials
for object stores come from the environment (e.g. ``AWS_*`` variables for S3).

What does *not* belong here: anything the Python API cannot do.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

__all__ = ["configure"]


def configure(subparsers: Any) -> None:
    """Add the ``registry`` sub-command and its own sub-commands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--registry",
        metavar="URL",
        default=os.environ.get("MLOPSKIT_REGISTRY", ".mlopskit/registry"),
        help="the registry's folder or fsspec URL (default: $MLOPSKIT_REGISTRY or "
        ".mlopskit/registry)",
    )
    common.add_argument("--json", action="store_true", help="print JSON")
    parser = subparsers.add_parser(
        "registry",
        help="list, inspect and promote registered models",
        description="Read and promote models in a registry. Exit 2 on an unknown "
        "model, version or alias (the message lists what exists).",
    )
    commands = parser.add_subparsers(dest="registry_command", metavar="COMMAND")
    commands.required = True
    sub = commands.add_parser("list", parents=[common], help="the registered models")
    sub.set_defaults(handler=_list)
    sub = commands.add_parser("versions", parents=[common], help="a model's versions")
    sub.add_argument("name", metavar="NAME")
    sub.set_defaults(handler=_versions)
    sub = commands.add_parser(
        "show",
        parents=[common],
        help="one version: NAME, NAME@VERSION, NAME:VERSION or NAME@ALIAS",
    )
    sub.add_argument("ref", metavar="NAME[@VERSION|@ALIAS]")
    sub.set_defaults(handler=_show)
    sub = commands.add_parser(
        "promote", parents=[common], help="point an alias at a version"
    )
    sub.add_argument("name", metavar="NAME")
    # not dest="version": that is the top-level --version flag
    sub.add_argument("version_number", metavar="VERSION", type=int)
    sub.add_argument("--alias", default="production", help="default: production")
    sub.add_argument("--reason", default=None, help="recorded in the audit log")
    sub.set_defaults(handler=_promote)
    sub = commands.add_parser("history", parents=[common], help="a model's audit log")
    sub.add_argument("name", metavar="NAME")
    sub.set_defaults(handler=_history)


def _registry(args: argparse.Namespace) -> Any:
    from mlopskit.registry._registry import ModelRegistry

    return ModelRegistry(args.registry)


def _table(frame: Any) -> str:
    if frame.empty:
        return "(none)"
    return str(frame.to_string(index=False))


def _list(args: argparse.Namespace) -> int:
    import pandas as pd

    reg = _registry(args)
    rows = []
    for name in reg.list_models():
        latest = reg.get_version(name)
        aliases = reg._aliases(name)
        rows.append(
            {
                "name": name,
                "latest": latest.version,
                "aliases": ", ".join(f"{a}=v{v}" for a, v in sorted(aliases.items())),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(_table(pd.DataFrame(rows, columns=["name", "latest", "aliases"])))
    return 0


def _versions(args: argparse.Namespace) -> int:
    frame = _registry(args).list_versions(args.name)
    if args.json:
        print(frame.to_json(orient="records", date_format="iso", indent=2))
        return 0
    keep = ["version", "created_at", "aliases", "archived"] + [
        c for c in frame.columns if c.startswith(("metrics.", "tags."))
    ]
    shown = frame[keep].copy()
    shown["created_at"] = shown["created_at"].map(lambda t: f"{t:%Y-%m-%d %H:%M:%S}")
    print(_table(shown))
    return 0


def _show(args: argparse.Namespace) -> int:
    mv = _registry(args).get_version(args.ref)  # NAME, NAME@ALIAS, NAME@N or NAME:N
    if args.json:
        print(mv.to_json(indent=2))
        return 0
    for field in type(mv).model_fields:
        value = getattr(mv, field)
        if field == "lineage":
            value = {k: v for k, v in value.to_dict().items() if v not in (None, {})}
        print(f"{field:>14}: {value}")
    return 0


def _promote(args: argparse.Namespace) -> int:
    promotion = _registry(args).promote(
        args.name, args.version_number, alias=args.alias, reason=args.reason
    )
    if args.json:
        print(promotion.to_json(indent=2))
    else:
        before = "unset" if promotion.previous is None else f"v{promotion.previous}"
        print(f"{promotion.name} {promotion.alias}: {before} -> v{promotion.version}")
    return 0


def _history(args: argparse.Namespace) -> int:
    log = _registry(args).history(args.name)
    if args.json:
        print(log.to_json(indent=2))
        return 0
    frame = log.to_frame().drop(columns=["name"])
    frame["at"] = frame["at"].map(lambda t: f"{t:%Y-%m-%d %H:%M:%S}")
    for col in ("version", "from_version", "to_version"):
        frame[col] = frame[col].map(
            lambda v: "" if v is None or v != v else f"v{int(v)}"
        )
    print(_table(frame.fillna("")))
    return 0
