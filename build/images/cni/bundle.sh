#!/bin/sh
# Build the CNI plugin as a self-contained PyInstaller bundle, DIST/pyantrea/: the executable
# `pyantrea` and `_internal/` with its own Python runtime and libraries. The node runs it
# outside any container (see cni/install.py), so it must not need the image's Python.
#
#   PYTHON=python3 bundle.sh DIST WORK [more PyInstaller options, e.g. --paths SRC]
#
# The Dockerfile and tests/manifests build it with this same script.
set -eu
dist=$1
work=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
# grpc imports grpc_tools only to compile .proto files at run time, which the plugin never does.
exec "${PYTHON:-python3}" -m PyInstaller --noconfirm --clean --onedir --strip \
    --name pyantrea \
    --exclude-module grpc_tools \
    --distpath "$dist" --workpath "$work" --specpath "$work" \
    "$@" "$here/pyantrea_cni.py"
