"""The ClusterNetworkPolicy CRD in manifests/crds/ is the pinned network-policy-api release's file,
and it serves the version the controller watches."""

from __future__ import annotations

import pytest
import yaml

from manifests import networkpolicyapi
from pyantrea_kube.resources import CLUSTER_NETWORK_POLICIES


def test_the_committed_crd_is_the_pinned_releases_file():
    try:
        released = networkpolicyapi.released_crd(offline=True)
    except networkpolicyapi.ModuleUnavailable as exc:
        pytest.skip(f"the pinned module is not in the local Go module cache: {exc}")
    assert networkpolicyapi.CRD.read_bytes() == released
    assert networkpolicyapi.main(["--check", "--offline"]) == 0


def test_the_check_fails_on_a_hand_edited_copy(tmp_path, monkeypatch):
    try:
        networkpolicyapi.released_crd(offline=True)
    except networkpolicyapi.ModuleUnavailable as exc:
        pytest.skip(f"the pinned module is not in the local Go module cache: {exc}")
    edited = tmp_path / networkpolicyapi.CRD_NAME
    edited.write_bytes(networkpolicyapi.CRD.read_bytes().replace(b"maxItems: 25", b"maxItems: 26", 1))
    monkeypatch.setattr(networkpolicyapi, "CRD", edited)
    assert networkpolicyapi.main(["--check", "--offline"]) == 1


def test_a_version_the_pin_does_not_name_is_refused(monkeypatch):
    try:
        networkpolicyapi.released_crd(offline=True)
    except networkpolicyapi.ModuleUnavailable as exc:
        pytest.skip(f"the pinned module is not in the local Go module cache: {exc}")
    monkeypatch.setattr(networkpolicyapi, "SUM", "h1:not-the-hash=")
    with pytest.raises(networkpolicyapi.ModuleUnavailable, match="pinned"):
        networkpolicyapi.released_crd(offline=True)


def test_the_crd_serves_what_the_controller_watches():
    crd = yaml.safe_load(networkpolicyapi.CRD.read_text())
    assert crd["spec"]["group"] == CLUSTER_NETWORK_POLICIES.group
    assert crd["spec"]["names"]["plural"] == CLUSTER_NETWORK_POLICIES.plural
    assert crd["spec"]["scope"] == "Cluster"
    versions = {v["name"]: v for v in crd["spec"]["versions"]}
    watched = versions[CLUSTER_NETWORK_POLICIES.version]
    assert watched["served"] and watched["storage"]
    assert "status" in watched["subresources"]
    assert (
        crd["metadata"]["annotations"]["policy.networking.k8s.io/bundle-version"] == networkpolicyapi.VERSION
    )
    egress_peer = watched["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["egress"]["items"][
        "properties"]["to"]["items"]["properties"]  # fmt: skip
    assert {"namespaces", "pods", "nodes", "networks", "domainNames"} <= egress_peer.keys()
