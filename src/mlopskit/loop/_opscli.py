"""``mlopskit loop observe|history|status|rollback``: operate a loop from a shell.

A loop's definition is Python (its pipeline, monitors and gates), so each command is
given the loop by name: ``--loop package.module:attribute``, where the attribute is a
:class:`~mlopskit.loop.ContinuousTraining` or a function without arguments that
returns one (the module is imported from the current directory too). Output is text,
or with ``--json`` one JSON object on stdout whose shape is stable:

- ``observe``, ``rollback``: ``{"ok": true, "event": {…LoopEvent…}}``
- ``history``: ``{"ok": true, "events": [{…}, …], "next": <seq or null>}``
- ``status``: ``{"ok": true, "status": {…LoopStatus…}}``

Errors follow the command line's convention (``{"ok": false, "error": {…}}`` with
``--json``; exit code 2). ``observe`` exits 1 when the batch was quarantined or
retraining failed, 0 for every other decision.

What does *not* belong here: the demo (``_cli.py``), the operations (``_ops.py``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Any

__all__ = ["configure"]


def configure(subparsers: Any) -> None:
    """Add the ``loop`` sub-command and its four actions."""
    parser = subparsers.add_parser(
        "loop",
        help="operate a continuous-training loop: observe, history, status, rollback",
        description=(
            "Operate a loop defined in Python: observe a batch file, page through its "
            "history, see its status, roll its alias back."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    observe = _action(actions, "observe", "observe one batch (CSV or Parquet)")
    observe.add_argument("batch", help="the batch file (.csv or .parquet)")
    observe.add_argument(
        "--labels",
        default=None,
        metavar="COLUMN",
        help="the column holding the true labels (default: the loop's target, if "
        "the file has it)",
    )
    observe.set_defaults(handler=_observe)
    history = _action(actions, "history", "print the loop's decisions")
    history.add_argument("--start", type=int, default=None, help="first event number")
    history.add_argument(
        "--limit", type=int, default=None, help="at most this many events"
    )
    history.set_defaults(handler=_history)
    status = _action(actions, "status", "where the loop stands")
    status.set_defaults(handler=_status)
    rollback = _action(actions, "rollback", "move the alias back to a version")
    rollback.add_argument(
        "--to", type=int, required=True, metavar="VERSION", help="the version"
    )
    rollback.add_argument(
        "--reason", required=True, help="why (recorded in the audit log)"
    )
    rollback.set_defaults(handler=_rollback)
    parser.set_defaults(handler=lambda args: _usage(parser))


def _action(actions: Any, name: str, help_text: str) -> Any:
    parser = actions.add_parser(name, help=help_text, description=help_text)
    parser.add_argument(
        "--loop",
        required=True,
        metavar="MODULE:ATTR",
        help="the loop: a ContinuousTraining object or a function returning one",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def load_loop(spec: str) -> Any:
    """The loop named by ``module:attribute`` (an object, or a factory of one)."""
    from mlopskit.errors import InvalidParameterError
    from mlopskit.loop._loop import ContinuousTraining

    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise InvalidParameterError(
            f"--loop must look like 'package.module:attribute'. Got {spec!r}."
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise InvalidParameterError(f"Cannot load the loop {spec!r}: {exc}.") from exc
    if not isinstance(obj, ContinuousTraining) and callable(obj):
        obj = obj()
    if not isinstance(obj, ContinuousTraining):
        raise InvalidParameterError(
            f"{spec!r} is a {type(obj).__name__}, not a ContinuousTraining (or a "
            "function returning one)."
        )
    return obj


def _event_json(event: Any) -> Any:
    return json.loads(event.to_json())


def _observe(args: argparse.Namespace) -> int:
    from mlopskit._tables import read_table
    from mlopskit.errors import InvalidParameterError

    loop = load_loop(args.loop)
    batch = read_table(args.batch, error=InvalidParameterError)
    column = args.labels
    if column is not None and column not in batch.columns:
        raise InvalidParameterError(
            f"The batch has no column {column!r} (columns: {list(batch.columns)[:10]})."
        )
    labels = None
    if column is not None:
        labels = batch[column].to_numpy()
        batch = batch.drop(columns=column)
    event = loop.observe(batch, labels=labels)
    if args.json:
        print(json.dumps({"ok": True, "event": _event_json(event)}))
    else:
        print(event.summary())
    return 1 if event.decision in ("quarantined", "failed") else 0


def _history(args: argparse.Namespace) -> int:
    loop = load_loop(args.loop)
    events = loop.events(start=args.start, limit=args.limit)
    following = None
    if args.limit is not None and len(events) == args.limit:
        following = events[-1].seq + 1 if events else None
    if args.json:
        rows = [_event_json(e) for e in events]
        print(json.dumps({"ok": True, "events": rows, "next": following}))
    else:
        for event in events:
            print(event.summary())
        if following is not None:
            print(f"(more: --start {following})")
    return 0


def _status(args: argparse.Namespace) -> int:
    status = load_loop(args.loop).status()
    if args.json:
        print(json.dumps({"ok": True, "status": json.loads(status.to_json())}))
        return 0
    for key, value in json.loads(status.to_json()).items():
        print(f"{key}: {value}")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    event = load_loop(args.loop).rollback(to=args.to, reason=args.reason)
    if args.json:
        print(json.dumps({"ok": True, "event": _event_json(event)}))
    else:
        print(event.summary())
    return 0
