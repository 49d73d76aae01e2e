#!/usr/bin/env bash
# Builds the real CoreDNS, the lab's cluster DNS, from the Go module proxy (no git, no prebuilt
# binary) at the release build/coredns/go.mod pins, with its standard plugins (kubernetes among
# them). scripts/setup.sh runs it after scripts/build-kubernetes.sh.
#
# Output: ${PYANTREA_CACHE:-/var/cache/pyantrea}/coredns/<version>/bin/coredns. The Go build cache
# is ${PYANTREA_CACHE}/go-build unless GOCACHE is set (shared with the Kubernetes build, which
# builds many of the same modules); modules go to Go's module cache.
#
# A second run builds nothing: a stamp written after the build records the version, the go.sum
# hash, the Go version and a hash of the build flags. FORCE=1 rebuilds. Needs Go >= 1.26.
# See docs/kubernetes-build.md ("CoreDNS").
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
MOD=$REPO/build/coredns
CACHE=${PYANTREA_CACHE:-/var/cache/pyantrea}

say() { printf 'build-coredns: %s\n' "$*"; }
die() { printf 'build-coredns: error: %s\n' "$*" >&2; exit 1; }

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
    PATH=/usr/local/go/bin:$PATH
fi
command -v go >/dev/null 2>&1 || die "Go is not installed (no 'go' in PATH); CoreDNS needs Go >= 1.26 here"
export GOTOOLCHAIN=local
GOVER=$(go env GOVERSION)

VERSION=$(awk '$1 == "github.com/coredns/coredns" && $2 ~ /^v/ {print $2; exit}' "$MOD/go.mod")
[ -n "$VERSION" ] || die "no github.com/coredns/coredns requirement in $MOD/go.mod"

OUT=$CACHE/coredns/$VERSION
BIN=$OUT/bin
STAMP=$OUT/build.stamp
export GOCACHE=${GOCACHE:-$CACHE/go-build}
export CGO_ENABLED=0
# CoreDNS stamps its commit into coremain; the proxy does not tell it: say where the build came from.
LDFLAGS="-s -w -X github.com/coredns/coredns/coremain.GitCommit=module-$VERSION"
GO_FLAGS=(-mod=readonly -trimpath -buildvcs=false)
RECIPE=$(printf '%s\n' "CGO_ENABLED=$CGO_ENABLED" "${GO_FLAGS[*]}" "$LDFLAGS" | sha256sum | cut -d' ' -f1)

expected_stamp() {
    printf 'coredns %s\ngo.sum %s\ngo %s\nrecipe %s\n' "$VERSION" \
        "$(sha256sum <"$MOD/go.sum" | cut -d' ' -f1)" "$GOVER" "$RECIPE"
}

if [ "${FORCE:-0}" != 1 ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(expected_stamp)" ] && [ -x "$BIN/coredns" ]; then
    say "CoreDNS $VERSION is already built in $BIN (nothing to do)"
    exit 0
fi

mkdir -p "$BIN" "$GOCACHE"
rm -f "$STAMP"
say "building CoreDNS $VERSION with $GOVER into $BIN (8 minutes measured on a busy 2-core machine with a cold build cache)"
START=$SECONDS
(cd "$MOD" && nice -n 10 go build "${GO_FLAGS[@]}" -ldflags "$LDFLAGS" -o "$BIN/coredns.tmp" \
    github.com/coredns/coredns) || die "building coredns failed (see the messages above)"
mv -f "$BIN/coredns.tmp" "$BIN/coredns"
expected_stamp >"$STAMP.tmp" && mv -f "$STAMP.tmp" "$STAMP"
say "coredns built in $((SECONDS - START))s ($(du -h "$BIN/coredns" | cut -f1)): $BIN/coredns"
"$BIN/coredns" -version | sed 's/^/build-coredns: /'
