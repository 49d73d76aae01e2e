"""The committed manifest, parsed once, and lookups into it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from manifests.generate import OUTPUT

# A node with real OVS, the pod datapath and the agent's CNI server, and pod sandboxes on it:
# the CNI tests' fixtures, for running the installed plugin bundle against a real agent side.
from tests.cni.conftest import node, node_settings, sandboxes  # noqa: F401

Obj = dict[str, Any]


@pytest.fixture(scope="session")
def manifest() -> list[Obj]:
    """Every object of manifests/pyantrea.yml, in file order."""
    return [doc for doc in yaml.safe_load_all(OUTPUT.read_text()) if doc is not None]


def find(objects: list[Obj], kind: str, name: str) -> Obj:
    matches = [obj for obj in objects if obj["kind"] == kind and obj["metadata"]["name"] == name]
    assert len(matches) == 1, f"{len(matches)} objects {kind}/{name} in {OUTPUT}"
    return matches[0]


def container(pod_spec: Obj, name: str) -> Obj:
    every = [*pod_spec.get("initContainers", []), *pod_spec["containers"]]
    matches = [c for c in every if c["name"] == name]
    assert len(matches) == 1, f"{len(matches)} containers named {name}"
    return matches[0]


def volume(pod_spec: Obj, name: str) -> Obj:
    matches = [v for v in pod_spec["volumes"] if v["name"] == name]
    assert len(matches) == 1, f"{len(matches)} volumes named {name}"
    return matches[0]


def mount_for(pod_spec: Obj, container_name: str, path: Path) -> tuple[Obj, Obj]:
    """The deepest mount of the container holding `path`, and its volume."""
    mounts = [
        m
        for m in container(pod_spec, container_name).get("volumeMounts", [])
        if path == Path(m["mountPath"]) or Path(m["mountPath"]) in path.parents
    ]
    assert mounts, f"{path} is on no volume of {container_name}"
    deepest = max(mounts, key=lambda m: len(Path(m["mountPath"]).parts))
    return deepest, volume(pod_spec, deepest["name"])
