"""``mlopskit demo``: the continuous-training loop, end to end, on a local folder.

``mlopskit loop …`` (operating a loop) is configured from ``_opscli.py``.

What does *not* belong here: the scenario (``_demo.py``).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["configure"]


def configure(subparsers: Any) -> None:
    """Add the ``demo`` and ``loop`` sub-commands."""
    from mlopskit.loop._opscli import configure as configure_loop

    configure_loop(subparsers)
    parser = subparsers.add_parser(
        "demo",
        help="run the continuous-training loop end to end on a bundled dataset",
        description=(
            "Bootstrap a digits classifier, then feed it production batches with a "
            "corrupt batch, covariate shift and prior shift: validation, drift "
            "detection, retraining (cached), gates, a simulated canary and promotion. "
            "Run it twice to see the pipeline cache at work."
        ),
    )
    parser.add_argument(
        "--store",
        default=".mlopskit",
        metavar="URL",
        help="where the registry and the store live (default: .mlopskit; any fsspec URL)",
    )
    parser.add_argument(
        "--report",
        default=None,
        metavar="PATH",
        help="where to write the HTML report (default: <store>/demo-report.html for a "
        "local store, ./mlopskit-demo-report.html otherwise)",
    )
    parser.add_argument(
        "--n-runs",
        type=int,
        default=200,
        help="replications of each simulated canary (default: 200)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the loop's history as JSON lines"
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from mlopskit.loop._demo import run_demo

    report = args.report or _default_report(args.store)
    lines: list[str] = []
    loop = run_demo(
        args.store,
        report=report,
        n_runs=args.n_runs,
        out=lines.append if args.json else print,
    )
    if args.json:
        for event in loop.events():
            print(json.dumps(json.loads(event.to_json())))
    return 0


def _default_report(store: str) -> str:
    if "://" in store and not store.startswith("file://"):
        return "mlopskit-demo-report.html"
    return f"{store.rstrip('/')}/demo-report.html"
