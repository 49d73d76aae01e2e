#!/usr/bin/env bash
# Every benchmark at full scale, with timing (the test command only smoke-runs them once).
# A benchmark that misses its target fails the run, after its figures were recorded. The figures
# go to artifacts/bench.json, then to the dated result bench/results/YYYY-MM-DD.{json,md} (commit
# it), and the README's Performance table is regenerated from it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
mkdir -p artifacts
echo "bench.sh: load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
.venv/bin/python -m pytest bench -s -p no:cacheprovider --benchmark-json=artifacts/bench.json "$@" || status=$?
.venv/bin/python -m bench.results artifacts/bench.json
.venv/bin/python -m bench.readme
exit "$status"
