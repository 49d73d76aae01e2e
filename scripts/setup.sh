#!/usr/bin/env bash
# Sets up everything pyantrea needs on a fresh Debian 12 machine, as root:
# system packages (Open vSwitch, iproute2, the CNI host-local plugin, a compiler),
# a virtual environment in .venv, and pyantrea installed into it with its Cython extensions built.
# Safe to run again: each step skips what is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: run as root (it installs system packages and the lab needs network namespaces)" >&2
    exit 1
fi

# openvswitch-switch: ovsdb-server, ovs-vswitchd and the ovs-* tools; iproute2: ip netns for the lab;
# containernetworking-plugins: the host-local IPAM plugin the agent delegates to; chromium: the
# headless browser the dashboard's tests drive.
APT_PACKAGES=(
    openvswitch-switch iproute2 containernetworking-plugins iputils-ping procps
    python3 python3-venv python3-dev gcc chromium
)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup.sh: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# Editable install: builds the Cython extensions in place and installs the console scripts into .venv/bin.
.venv/bin/python -m pip install -q -e '.[test]'
echo "setup.sh: ready (.venv/bin has pyantrea-controller, pyantrea-agent, pyantrea-cni, pyantctl)"
