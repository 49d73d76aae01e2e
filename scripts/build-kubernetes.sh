#!/usr/bin/env bash
# Builds the real Kubernetes control plane and etcd from the Go module proxy (no git, no prebuilt
# binaries): etcd, etcdctl, kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy and
# kubectl, at the versions pinned by build/kubernetes/go.mod and build/etcd/go.mod.
#
# Output: ${PYANTREA_CACHE:-/var/cache/pyantrea}/kubernetes/<k8s version>/bin/ (etcd and etcdctl
# in the same directory). The Go build cache is ${PYANTREA_CACHE}/go-build unless GOCACHE is set;
# modules go to Go's module cache (`go env GOMODCACHE`). Nothing is written inside the repository.
#
# A second run builds nothing: the directory holds a stamp, written only after every binary
# was built, that records both module versions, both go.sum hashes, the Go version and a hash
# of the build flags.
# FORCE=1 rebuilds. Needs Go >= 1.26 in PATH (Debian 12's golang-go is 1.19: too old).
# See docs/kubernetes-build.md.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
K8S_MOD=$REPO/build/kubernetes
ETCD_MOD=$REPO/build/etcd
CACHE=${PYANTREA_CACHE:-/var/cache/pyantrea}

say() { printf 'build-kubernetes: %s\n' "$*"; }
die() { printf 'build-kubernetes: error: %s\n' "$*" >&2; exit 1; }

# --- Go -------------------------------------------------------------------------------------
# The official tarball installs into /usr/local/go, often not in a root shell's PATH.
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
    PATH=/usr/local/go/bin:$PATH
fi
if ! command -v go >/dev/null 2>&1; then
    die "Go is not installed (no 'go' in PATH). Kubernetes 1.37 needs Go >= 1.26.0; Debian 12's
golang-go package is 1.19, which cannot build it. Install Go 1.26 or newer and put its bin/ in PATH."
fi
# Never let go switch toolchains behind our back: the version checked here is the one that builds.
export GOTOOLCHAIN=local
GOVER=$(go env GOVERSION)                       # e.g. go1.26.8
read -r gomaj gomin < <(echo "${GOVER#go}" | awk -F. '{print $1+0, $2+0}')
if [ "$gomaj" -lt 1 ] || { [ "$gomaj" -eq 1 ] && [ "$gomin" -lt 26 ]; }; then
    die "$(command -v go) is $GOVER; Kubernetes 1.37 and etcd 3.7 need Go >= 1.26.0"
fi

modver() { # module go.mod -> its required version
    awk -v m="$1" '$1 == m && $2 ~ /^v/ {print $2; exit} $1 == "require" && $2 == m {print $3; exit}' "$2"
}
K8S_VERSION=$(modver k8s.io/kubernetes "$K8S_MOD/go.mod")
ETCD_VERSION=$(modver go.etcd.io/etcd/server/v3 "$ETCD_MOD/go.mod")
[ -n "$K8S_VERSION" ] || die "no k8s.io/kubernetes requirement in $K8S_MOD/go.mod"
[ -n "$ETCD_VERSION" ] || die "no go.etcd.io/etcd/server/v3 requirement in $ETCD_MOD/go.mod"

OUT=$CACHE/kubernetes/$K8S_VERSION
BIN=$OUT/bin
STAMP=$OUT/build.stamp
export GOCACHE=${GOCACHE:-$CACHE/go-build}
export CGO_ENABLED=0

# Version stamps, as upstream's hack/lib/version.sh: both version packages, so that `kubectl
# version`, /version and the emulation-version checks see the real release. The module proxy
# does not tell the release's git commit, so gitCommit is left unset.
K8S_MINOR=${K8S_VERSION#v*.}; K8S_MINOR=${K8S_MINOR%%.*}
K8S_MAJOR=${K8S_VERSION#v}; K8S_MAJOR=${K8S_MAJOR%%.*}
K8S_LDFLAGS="-s -w"
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    K8S_LDFLAGS+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$K8S_MAJOR -X $pkg.gitMinor=$K8S_MINOR"
    K8S_LDFLAGS+=" -X $pkg.gitTreeState=clean"
done
# etcd's version number is a constant in go.etcd.io/etcd/api/v3/version; only GitSHA is stamped.
# The proxy does not tell the commit either: say where the build came from instead.
ETCD_LDFLAGS="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=module-$ETCD_VERSION"
K8S_TAGS=selinux,notest,grpcnotrace   # as upstream's hack/lib/golang.sh for release binaries
GO_FLAGS=(-mod=readonly -trimpath -buildvcs=false)
# What the binaries depend on besides go.sum and Go: a change here rebuilds them.
RECIPE=$(printf '%s\n' "CGO_ENABLED=$CGO_ENABLED" "${GO_FLAGS[*]}" "$K8S_TAGS" "$K8S_LDFLAGS" "$ETCD_LDFLAGS" |
    sha256sum | cut -d' ' -f1)

K8S_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubectl)
ALL_BINS=(etcd etcdctl "${K8S_CMDS[@]}")

expected_stamp() {
    printf 'kubernetes %s\netcd %s\n' "$K8S_VERSION" "$ETCD_VERSION"
    printf 'kubernetes-go.sum %s\n' "$(sha256sum <"$K8S_MOD/go.sum" | cut -d' ' -f1)"
    printf 'etcd-go.sum %s\n' "$(sha256sum <"$ETCD_MOD/go.sum" | cut -d' ' -f1)"
    printf 'go %s\n' "$GOVER"
    printf 'recipe %s\n' "$RECIPE"
}

up_to_date() {
    [ -f "$STAMP" ] || return 1
    [ "$(cat "$STAMP")" = "$(expected_stamp)" ] || return 1
    local b
    for b in "${ALL_BINS[@]}"; do [ -x "$BIN/$b" ] || return 1; done
}

if [ "${FORCE:-0}" != 1 ] && up_to_date; then
    say "Kubernetes $K8S_VERSION and etcd $ETCD_VERSION are already built in $BIN (nothing to do)"
    exit 0
fi

mkdir -p "$BIN" "$GOCACHE"
rm -f "$STAMP"
say "building Kubernetes $K8S_VERSION and etcd $ETCD_VERSION with $GOVER into $BIN"
say "Go build cache: $GOCACHE; module cache: $(go env GOMODCACHE)"
say "a cold build takes about 7 minutes on 2 cores, plus downloading ~780 MB of modules (docs/kubernetes-build.md)"

START=$SECONDS
BUILD_DATE=$(date -u ${SOURCE_DATE_EPOCH:+--date=@$SOURCE_DATE_EPOCH} +%Y-%m-%dT%H:%M:%SZ)
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    K8S_LDFLAGS+=" -X $pkg.buildDate=$BUILD_DATE"
done

step=0
build() { # module-dir binary-name package tags ldflags
    local dir=$1 name=$2 pkg=$3 tags=$4 ldflags=$5 t0=$SECONDS
    step=$((step + 1))
    say "[$step/${#ALL_BINS[@]}] $name ($pkg) ..."
    # nice: this is a shared 2-core machine; -mod=readonly: go.sum is the pinned truth.
    (cd "$dir" && nice -n 10 go build "${GO_FLAGS[@]}" -tags "$tags" \
        -ldflags "$ldflags" -o "$BIN/$name.tmp" "$pkg") ||
        die "building $name failed (see the messages above)"
    mv -f "$BIN/$name.tmp" "$BIN/$name"
    say "[$step/${#ALL_BINS[@]}] $name done in $((SECONDS - t0))s ($(du -h "$BIN/$name" | cut -f1)), $((SECONDS - START))s so far"
}

build "$ETCD_MOD" etcd go.etcd.io/etcd/server/v3 "" "$ETCD_LDFLAGS"
build "$ETCD_MOD" etcdctl go.etcd.io/etcd/etcdctl/v3 "" "$ETCD_LDFLAGS"
for cmd in "${K8S_CMDS[@]}"; do
    build "$K8S_MOD" "$cmd" "k8s.io/kubernetes/cmd/$cmd" "$K8S_TAGS" "$K8S_LDFLAGS"
done

expected_stamp >"$STAMP.tmp" && mv -f "$STAMP.tmp" "$STAMP"
say "all ${#ALL_BINS[@]} binaries built in $((SECONDS - START))s: $BIN"
"$BIN/kubectl" version --client 2>/dev/null | sed 's/^/build-kubernetes: /' || true
