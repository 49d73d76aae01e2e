#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine (as root): setup, lint, import contracts, tests,
# and every benchmark run once as a smoke test. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports
# The ClusterNetworkPolicy CRD in manifests/crds/ is the pinned network-policy-api release's own file.
.venv/bin/python -m manifests.networkpolicyapi --check
.venv/bin/python -m pytest tests bench --benchmark-disable "$@"
