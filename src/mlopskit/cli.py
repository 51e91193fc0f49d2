"""The ``mlopskit`` command line.

Each block contributes its sub-commands from a private ``_cli`` module with a
``configure(subparsers)`` function; this module only assembles them, runs the chosen
one and maps errors to exit codes. A block's ``_cli`` module imports its heavy
dependencies inside the command function, so ``mlopskit --help`` stays fast.

Exit codes (the same for every sub-command):

- ``0``: success (no drift, valid data …);
- ``1``: the check ran and failed (validation failures, drift detected);
- ``2``: bad usage or bad input (the message says what to fix).

Errors are text on stderr, ``mlopskit COMMAND: error: …``. With ``--json`` they are one
JSON object on stdout instead, with a stable shape that scripts can rely on::

    {"ok": false, "error": {"type": "SchemaError", "message": "…",
                            "command": "validate", "exit_code": 2}}

``type`` is the exception's class name (``UsageError`` for a bad command line).

Examples
--------
>>> main(["--version"])  # doctest: +ELLIPSIS
mlopskit ...
0
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from mlopskit._version import __version__
from mlopskit.errors import MlopsKitError

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

#: Block modules that contribute sub-commands, in the order ``--help`` lists them.
_COMMAND_MODULES = (
    "mlopskit.versioning._cli",
    "mlopskit.schema._cli",
    "mlopskit.drift._cli",
    "mlopskit.registry._cli",
    "mlopskit.loop._cli",
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    """A bad command line, raised by the parser instead of exiting."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors reach :func:`main` (to print them as JSON)."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(self, message)


def build_parser() -> argparse.ArgumentParser:
    """Assemble the parser from every block's ``_cli.configure``."""
    parser = _Parser(
        prog="mlopskit",
        description="Composable MLOps building blocks, from the command line.",
        epilog="Exit codes: 0 success, 1 the check failed, 2 bad usage or input.",
    )
    parser.add_argument(
        "--version", action="store_true", help="print the version and exit"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # that block does not ship a command line (yet)
            raise
        module.configure(subparsers)
    return parser


def _json_error(kind: str, message: str, command: str | None, code: int) -> int:
    error: dict[str, Any] = {
        "type": kind,
        "message": message,
        "command": command,
        "exit_code": code,
    }
    print(json.dumps({"ok": False, "error": error}))
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    wants_json = "--json" in argv
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        if wants_json:
            command = next((a for a in argv if not a.startswith("-")), None)
            return _json_error("UsageError", exc.message, command, EXIT_USAGE)
        argparse.ArgumentParser.error(exc.parser, exc.message)  # exits with 2
    if args.version:
        print(f"mlopskit {__version__}")
        return EXIT_OK
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(handler(args))
    except MlopsKitError as exc:
        if getattr(args, "json", False):
            return _json_error(type(exc).__name__, str(exc), args.command, EXIT_USAGE)
        print(f"mlopskit {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
