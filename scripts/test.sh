#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine (as root): setup, lint, import contracts, tests,
# and every benchmark run once as a smoke test. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports
.venv/bin/python -m pytest tests bench --benchmark-disable "$@"
