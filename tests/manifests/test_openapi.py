"""Every object of the manifest against the Kubernetes OpenAPI schemas, offline and strict (no
unknown fields), for the oldest Kubernetes docs/install.md supports and the newest the pinned
kubernetes-validate knows."""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest

OLDEST_SUPPORTED = "1.30.0"  # docs/install.md: node-bound ServiceAccount tokens
VERSIONS = (OLDEST_SUPPORTED, kubernetes_validate.latest_version())


@pytest.mark.parametrize("version", VERSIONS)
def test_every_object_is_valid(manifest, version):
    for obj in manifest:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{obj['kind']} {obj['metadata']['name']} is invalid for {version}: {error.message}")


def test_the_validation_catches_a_misspelt_field(manifest):
    daemonset = copy.deepcopy(next(obj for obj in manifest if obj["kind"] == "DaemonSet"))
    daemonset["spec"]["template"]["spec"]["hostNetwrk"] = True
    with pytest.raises(kubernetes_validate.ValidationError, match="hostNetwrk"):
        kubernetes_validate.validate(daemonset, VERSIONS[-1], strict=True)
