#!/usr/bin/env bash
# Sets up everything pyantrea needs on a fresh Debian 12 machine, as root:
# the system packages of scripts/system-programs.txt (Open vSwitch, iproute2, the CNI plugins, a compiler, ...),
# the real Kubernetes control plane built from the Go module proxy (scripts/build-kubernetes.sh),
# a virtual environment in .venv, and pyantrea installed into it with its Cython extensions built.
# Safe to run again: each step skips what is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: run as root (it installs system packages and the lab needs network namespaces)" >&2
    exit 1
fi

# The system packages: every program the tests, the lab and the demo run is declared, with its
# Debian package, in scripts/system-programs.txt (the test suite checks the same list).
mapfile -t APT_PACKAGES < <(grep -v '^#' scripts/system-programs.txt | awk 'NF >= 2 { print $2 }' | sort -u)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup.sh: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The real Kubernetes control plane of the lab and the tests (etcd, kube-apiserver, ...), built from
# the Go module proxy at the release build/kubernetes/go.mod pins; about 7 minutes the first time,
# nothing once built (cached under /var/cache/pyantrea). Needs Go >= 1.26.
./scripts/build-kubernetes.sh
# The real CoreDNS, the lab's cluster DNS, built the same way (up to 8 minutes the first time).
./scripts/build-coredns.sh

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# Editable install: builds the Cython extensions in place and installs the console scripts into .venv/bin.
.venv/bin/python -m pip install -q -e '.[test]'
echo "setup.sh: ready (.venv/bin has pyantrea-controller, pyantrea-agent, pyantrea-cni, pyantctl)"
