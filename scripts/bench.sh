#!/usr/bin/env bash
# Every benchmark at full scale, with timing (the test command only smoke-runs them once).
# Figures against the issues' targets go to artifacts/bench.json and are printed as a table.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
mkdir -p artifacts
.venv/bin/python -m pytest bench -s -p no:cacheprovider --benchmark-json=artifacts/bench.json "$@"
.venv/bin/python -m bench.report artifacts/bench.json
