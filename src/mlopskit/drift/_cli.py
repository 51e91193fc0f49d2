"""``mlopskit drift REFERENCE SAMPLE``: test a sample for drift against a reference.

Prints one line per feature and the decision (or the whole :class:`DriftResult` as
JSON with ``--json``); exits 0 when no drift is detected, 1 on drift and 2 on bad
input, so a CI job can gate on it.

What does *not* belong here: anything the Python API cannot do.
"""

from __future__ import annotations

import argparse
from typing import Any

from mlopskit.errors import DriftInputError

__all__ = ["DETECTORS", "configure"]

#: ``--detector`` choices → detector class names in :mod:`mlopskit.drift`.
DETECTORS = {
    "tabular": "TabularDrift",
    "ks": "KSDrift",
    "cvm": "CramerVonMisesDrift",
    "anderson": "AndersonDarlingDrift",
    "chi2": "ChiSquareDrift",
    "psi": "PSIDrift",
    "wasserstein": "WassersteinDrift",
    "js": "JensenShannonDrift",
    "hellinger": "HellingerDrift",
    "mmd": "MMDDrift",
    "classifier": "ClassifierDrift",
}
_DISTANCES = ("psi", "wasserstein", "js", "hellinger")
_TESTS = ("tabular", "ks", "cvm", "anderson", "chi2", "mmd", "classifier", *_DISTANCES)


def configure(subparsers: Any) -> None:
    """Add the ``drift`` sub-command."""
    parser = subparsers.add_parser(
        "drift",
        help="test a sample (CSV/Parquet) for drift against a reference",
        description=(
            "Fit a drift detector on REFERENCE and test SAMPLE (.csv or .parquet, same "
            "columns). Exit 0: no drift; 1: drift detected; 2: bad input."
        ),
    )
    parser.add_argument(
        "reference", metavar="REFERENCE", help="the reference data file"
    )
    parser.add_argument("sample", metavar="SAMPLE", help="the data file to test")
    parser.add_argument(
        "--detector",
        choices=sorted(DETECTORS),
        default="tabular",
        help="the detector (default: tabular, which picks a test per column)",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=0.05,
        help="significance level of the tests (default: 0.05)",
    )
    parser.add_argument(
        "--columns",
        default=None,
        help="comma-separated columns to test (default: every column)",
    )
    parser.add_argument(
        "--nan-policy",
        choices=("raise", "omit"),
        default="raise",
        help="missing values: fail (default) or drop them per column",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import mlopskit.drift as drift
    from mlopskit._tables import read_table

    reference = read_table(args.reference, error=DriftInputError)
    sample = read_table(args.sample, error=DriftInputError)
    if args.columns:
        wanted = [c.strip() for c in args.columns.split(",") if c.strip()]
        missing = [c for c in wanted if c not in reference.columns]
        if missing:
            raise DriftInputError(
                f"--columns names {missing}, which the reference does not have "
                f"(it has {list(reference.columns)})."
            )
        reference, sample = (
            reference[wanted],
            sample[[c for c in wanted if c in sample]],
        )
    params: dict[str, Any] = {"nan_policy": args.nan_policy}
    if args.detector in _TESTS:
        params["alpha"] = args.alpha
    if args.detector in _DISTANCES:  # permutation p-values: same files, same verdict
        params["random_state"] = 0
    detector = getattr(drift, DETECTORS[args.detector])(**params)
    result = detector.fit(reference).detect(sample)
    print(result.to_json(indent=2) if args.json else _describe(result))
    return 1 if result.drift else 0


def _describe(result: Any) -> str:
    lines = [
        f"{'DRIFT' if result.drift else 'no drift'} ({result.method}; "
        f"{result.n_reference} reference rows, {result.n_sample} sample rows)"
    ]
    if result.features is not None:
        lines.append(result.features.to_string(index=False))
    else:
        p = "" if result.p_value is None else f", p-value {result.p_value:.4g}"
        lines.append(
            f"statistic {result.statistic:.4g}{p}, threshold {result.threshold:g}"
        )
    return "\n".join(lines)
