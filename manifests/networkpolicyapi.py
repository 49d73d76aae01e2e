"""``python -m manifests.networkpolicyapi``: the upstream ClusterNetworkPolicy CRD, from its release.

pyantrea implements ``policy.networking.k8s.io`` ClusterNetworkPolicy as released in the Go module
``sigs.k8s.io/network-policy-api`` at the pinned version below. The CRD shipped in
``manifests/crds/`` is that release's own file, copied byte for byte from the module the Go
module proxy serves (checked against the pinned go.sum hash), never written by hand:

    python -m manifests.networkpolicyapi            # fetch the module, rewrite manifests/crds/
    python -m manifests.networkpolicyapi --check    # exit 1 when the committed copy differs
    python -m manifests.networkpolicyapi --check --offline   # only from the local module cache

The release has two channels; pyantrea ships ``experimental``, whose egress peers include
``nodes`` and ``domainNames`` and whose protocols include ``destinationNamedPort`` (the
``standard`` channel is the same API without them).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

MODULE = "sigs.k8s.io/network-policy-api"
VERSION = "v0.3.0"
SUM = "h1:RL6fVXiix9IW1pj0ImkW645m+EWmb3dBGCiW19bg5+k="
"""go.sum's hash of the module zip: a different file under the same version is refused."""
CHANNEL = "experimental"
CRD_NAME = "policy.networking.k8s.io_clusternetworkpolicies.yaml"
CRD_IN_MODULE = Path("config") / "crd" / CHANNEL / CRD_NAME
CRD = Path(__file__).parent / "crds" / CRD_NAME
"""The committed copy the lab installs and `kubectl apply` takes."""
GO = "/usr/local/go/bin/go"


class ModuleUnavailable(RuntimeError):
    """The pinned module cannot be had (no `go`, no cache offline, the proxy refused)."""


def go_binary() -> str:
    found = shutil.which("go") or (GO if Path(GO).exists() else None)
    if found is None:
        raise ModuleUnavailable(f"no `go` on PATH nor at {GO}: cannot fetch {MODULE}@{VERSION}")
    return found


def module_dir(*, offline: bool = False) -> Path:
    """Where `go mod download` put the pinned module; checks its hash against `SUM`."""
    env = dict(os.environ, GOFLAGS="-mod=mod")
    if offline:
        env["GOPROXY"] = "off"
    with tempfile.TemporaryDirectory() as workdir:  # outside any go.mod of the caller's
        result = subprocess.run(
            [go_binary(), "mod", "download", "-json", f"{MODULE}@{VERSION}"],
            cwd=workdir, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
    try:
        info = json.loads(result.stdout)
    except json.JSONDecodeError:
        info = {}
    if result.returncode != 0 or "Dir" not in info:
        detail = info.get("Error") or result.stderr.strip() or f"exit {result.returncode}"
        raise ModuleUnavailable(f"go mod download {MODULE}@{VERSION}: {detail}")
    if info.get("Sum") != SUM:
        raise ModuleUnavailable(f"{MODULE}@{VERSION} has hash {info.get('Sum')!r}, pinned {SUM!r}")
    return Path(info["Dir"])


def released_crd(*, offline: bool = False) -> bytes:
    """The CRD file of the pinned release."""
    return (module_dir(offline=offline) / CRD_IN_MODULE).read_bytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m manifests.networkpolicyapi", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when the committed CRD is stale")
    parser.add_argument("--offline", action="store_true", help="use only the local Go module cache")
    args = parser.parse_args(argv)
    try:
        released = released_crd(offline=args.offline)
    except ModuleUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if not CRD.exists() or CRD.read_bytes() != released:
            print(f"{CRD} differs from {MODULE}@{VERSION}/{CRD_IN_MODULE}: run python -m "
                  "manifests.networkpolicyapi", file=sys.stderr)  # fmt: skip
            return 1
        return 0
    CRD.parent.mkdir(exist_ok=True)
    CRD.write_bytes(released)
    print(f"wrote {CRD} from {MODULE}@{VERSION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
