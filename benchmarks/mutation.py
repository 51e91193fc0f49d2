"""Mutation testing of the decision code of every block (mutmut), outside CI.

A mutant is the code with one small change (``>=`` to ``>``, a constant changed, a
condition negated, a returned value replaced). The tests of a block *kill* a mutant when
at least one of them fails on it; a surviving mutant is a change to a decision that no
test notices. This script runs mutmut over the modules that take decisions for a user —
gates, drift decisions and corrections, store verification, cache keys, registry version
claims, rollout judges — with the tests of their block, and prints the score per block
(killed / (killed + survived); mutants that time out count as killed, as mutmut does).

It works on a scratch copy of the repository (``git archive HEAD``, so commit first): it
never touches the work tree. Run it on a quiet machine; it takes minutes per block::

    pip install -e ".[dev]" mutmut
    python benchmarks/mutation.py                 # every block
    python benchmarks/mutation.py drift rollout   # some blocks
    python benchmarks/mutation.py --survivors registry   # and show the surviving diffs

The scores are recorded in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Target:
    """The decision modules of one block and the tests that should kill their mutants."""

    modules: tuple[str, ...]
    tests: tuple[str, ...]


#: Decision code per block: the modules whose mistakes become wrong decisions.
TARGETS: dict[str, Target] = {
    "registry": Target(
        modules=(
            "src/mlopskit/registry/_gates.py",
            "src/mlopskit/versioning/_records.py",
        ),
        tests=("tests/registry",),
    ),
    "versioning": Target(
        modules=("src/mlopskit/versioning/_store.py",),
        tests=("tests/versioning/test_store.py",),
    ),
    "pipeline": Target(
        modules=("src/mlopskit/pipeline/_code.py",),
        tests=("tests/pipeline/test_code.py", "tests/pipeline/test_cache.py"),
    ),
    "drift": Target(
        modules=("src/mlopskit/drift/_base.py",),
        tests=(
            "tests/drift/test_batch_detectors.py",
            "tests/drift/test_conformance.py",
        ),
    ),
    "rollout": Target(
        modules=(
            "src/mlopskit/rollout/_judge.py",
            "src/mlopskit/rollout/_threshold.py",
        ),
        tests=("tests/rollout",),
    ),
    "loop": Target(
        modules=("src/mlopskit/loop/_gates.py",),
        tests=("tests/loop",),
    ),
}

#: Each mutant runs the block's fast tests (the slow, real-service ones are left out:
#: they would multiply the run time by the number of mutants), stopping at a failure.
_PYTEST_ARGS = (
    *("-p", "no:cacheprovider", "-o", "addopts=", "--import-mode=importlib"),
    *("-x", "-q", "-m", "not slow"),
)

_STATUS = re.compile(r"^\s*(?P<name>\S+): (?P<status>[a-z ]+)$")


def _scratch() -> Path:
    """A copy of the committed tree, with no git metadata (mutmut edits its own copy)."""
    folder = Path(tempfile.mkdtemp(prefix="mlopskit-mutation-"))
    archive = subprocess.run(
        ["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def _configure(folder: Path, target: Target) -> None:
    # The project's pytest options run doctests, docs and notebooks; a mutant run needs
    # only the block's tests, stopping at the first failure.
    lines = [
        "[mutmut]",
        "source_paths=src",
        "only_mutate=" + "\n    ".join(target.modules),
        # One argument a line: mutmut hands each line to pytest as one argument.
        "pytest_add_cli_args=\n    " + "\n    ".join(_PYTEST_ARGS),
        "pytest_add_cli_args_test_selection=" + "\n    ".join(target.tests),
    ]
    (folder / "setup.cfg").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _mutmut(folder: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "mutmut", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout + done.stderr


def run_block(block: str, *, survivors: bool) -> dict[str, object]:
    """Mutation-test one block; return its counts and score."""
    target = TARGETS[block]
    folder = _scratch()
    try:
        _configure(folder, target)
        started = time.perf_counter()
        _mutmut(folder, "run", "--max-children", "2")
        seconds = time.perf_counter() - started
        statuses: dict[str, str] = {}
        for line in _mutmut(folder, "results", "--all", "true").splitlines():
            match = _STATUS.match(line)
            if match:
                statuses[match["name"]] = match["status"].strip()
        killed = sum(s in ("killed", "timeout") for s in statuses.values())
        survived = [n for n, s in statuses.items() if s == "survived"]
        other = len(statuses) - killed - len(survived)
        if survivors:
            for name in survived:
                print(_mutmut(folder, "show", name))
        tested = killed + len(survived)
        return {
            "block": block,
            "mutants": len(statuses),
            "killed": killed,
            "survived": len(survived),
            "other": other,
            "score": killed / tested if tested else float("nan"),
            "seconds": seconds,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("blocks", nargs="*", help=f"some of {', '.join(TARGETS)}")
    parser.add_argument(
        "--survivors", action="store_true", help="print each surviving mutant's diff"
    )
    args = parser.parse_args()
    blocks = args.blocks or list(TARGETS)
    unknown = sorted(set(blocks) - set(TARGETS))
    if unknown:
        parser.error(f"unknown block(s) {unknown}; choose from {list(TARGETS)}")
    print(
        "| block | modules | mutants | killed | survived | other | score | time (s) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for block in blocks:
        row = run_block(block, survivors=args.survivors)
        modules = ", ".join(Path(m).name for m in TARGETS[block].modules)
        print(
            f"| {block} | {modules} | {row['mutants']} | {row['killed']} | "
            f"{row['survived']} | {row['other']} | {row['score']:.1%} | "
            f"{row['seconds']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
