#!/usr/bin/env bash
# Re-pin constraints.txt: the exact versions a fresh `pip install -e ".[dev]"` resolves
# to today, so that CI and the README's test command install the same set without
# resolving (and backtracking through boto3 releases) again. Run it after changing
# the dependencies in pyproject.toml, then run the tests in that venv and commit both.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="$(mktemp -d)/venv"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/pip" install -q -e ".[dev,all]"
{
  echo "# Exact versions for the dev install (Python 3.11): pip install -e \".[dev]\" -c constraints.txt"
  echo "# Made by tools/make_constraints.sh on $(date -u +%Y-%m-%d); the library itself needs only pyproject's lower bounds."
  "$VENV/bin/pip" freeze --exclude-editable | grep -v "^-e " | sort -f
} > constraints.txt
echo "wrote constraints.txt ($(grep -vc '^#' constraints.txt) pins) from $VENV"
