#!/usr/bin/env bash
# The whole test suite: lint (ruff), types (mypy), then pytest. Run scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== ruff"; .venv/bin/ruff check pyovn tests bench
echo "== mypy"; .venv/bin/mypy
echo "== pytest"; .venv/bin/python -m pytest -q "$@"
