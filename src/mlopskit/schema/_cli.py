"""``mlopskit validate DATA --schema FILE``: validate a CSV or Parquet file.

Prints the report (bounded: a summary and the first failures, or the whole report as
JSON with ``--json``) on stdout; exits 0 when the data are valid, 1 when a check
failed and 2 on bad input (an unreadable file, a schema that does not parse).

What does *not* belong here: anything the Python API cannot do.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mlopskit.errors import SchemaError

__all__ = ["configure"]


def configure(subparsers: Any) -> None:
    """Add the ``validate`` sub-command."""
    parser = subparsers.add_parser(
        "validate",
        help="validate a CSV or Parquet file against a schema",
        description=(
            "Validate DATA (.csv, .parquet) against a schema written by "
            "Schema.to_json(). Exit 0: valid; 1: checks failed; 2: bad input."
        ),
    )
    parser.add_argument("data", metavar="DATA", help="a .csv or .parquet file")
    parser.add_argument(
        "--schema", required=True, metavar="FILE", help="schema JSON file"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the full report as JSON"
    )
    parser.add_argument(
        "--coerce",
        action="store_true",
        help="convert columns to the declared dtypes first (CSV columns are text)",
    )
    parser.add_argument(
        "--eager",
        action="store_true",
        help="stop at the first failing check (lazy=False)",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from mlopskit._tables import read_table
    from mlopskit.schema._schema import Schema

    schema_path = Path(args.schema)
    try:
        text = schema_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaError(
            f"Cannot read the schema file {str(schema_path)!r}: {exc}."
        ) from exc
    schema = Schema.from_json(text)
    frame = read_table(args.data, error=SchemaError)
    report = schema.validate(frame, lazy=not args.eager, coerce=args.coerce)
    print(report.to_json(indent=2) if args.json else str(report))
    return 0 if report.ok else 1
