"""`apply`, `delete` and `label`, as kubectl does them, on the lab's API.

`apply` is `kubectl apply --server-side`: the file's object is sent whole as the field manager
`pyantctl`'s intent and the API server merges it as it merges any apply, by the schemas of the
kinds (a pod's containers by name, ...): fields the file sets are taken over (`--force-conflicts`),
fields others set (the scheduler's node, the kubelet's status, labels set with `label`, what
admission added) stay, and a field an earlier apply set and this file no longer has is removed.
"""

from __future__ import annotations

import json
from typing import Any

from kubernetes.client import ApiException

from lab.kinds import Kind
from lab.manifests import Manifest
from pyantrea_kube.rest import PatchType, RestClient

FIELD_MANAGER = "pyantctl"


def apply(rest: RestClient, manifest: Manifest) -> str:
    """Create or update the object; returns what happened: created, configured or unchanged."""
    resource = manifest.kind.resource
    try:
        live: dict[str, Any] | None = rest.get(resource, manifest.namespace, manifest.name)
    except ApiException as exc:
        if exc.status != 404:
            raise
        live = None
    body = json.loads(json.dumps(manifest.body))
    applied = rest.patch(
        resource, manifest.namespace, manifest.name, body,
        patch_type=PatchType.APPLY, field_manager=FIELD_MANAGER, force=True,
    )  # fmt: skip
    if live is None:
        return "created"
    same = applied["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"]
    return "unchanged" if same else "configured"


class LabelError(ValueError):
    """A label argument that is neither KEY=VALUE nor KEY-, or that would change a label's value
    without --overwrite."""


def label_patch(changes: list[str]) -> dict[str, str | None]:
    """kubectl's label arguments: `k=v` sets, `k-` removes; raises LabelError for anything else."""
    labels: dict[str, str | None] = {}
    for change in changes:
        if change.endswith("-") and "=" not in change:
            labels[change[:-1]] = None
        elif "=" in change and change.index("=") > 0:
            key, _, value = change.partition("=")
            labels[key] = value
        else:
            raise LabelError(f"invalid label {change!r}: use KEY=VALUE to set or KEY- to remove")
    return labels


def label(
    rest: RestClient,
    kind: Kind,
    namespace: str | None,
    name: str,
    changes: list[str],
    *,
    overwrite: bool = False,
) -> bool:
    """Set and remove labels; False when that changed nothing. As kubectl, a label that has
    another value already is changed only with `overwrite` (else LabelError, nothing changed)."""
    labels = label_patch(changes)
    live = rest.get(kind.resource, namespace, name)
    if not overwrite:
        current = live["metadata"].get("labels") or {}
        conflicts = [
            f"'{key}' already has a value ({current[key]}), and --overwrite is false"
            for key, value in labels.items()
            if value is not None and key in current and current[key] != value
        ]
        if conflicts:
            raise LabelError("; ".join(conflicts))
    patch = {"metadata": {"labels": labels, "resourceVersion": live["metadata"]["resourceVersion"]}}
    patched = rest.patch(kind.resource, namespace, name, patch, patch_type=PatchType.MERGE)
    return patched["metadata"]["resourceVersion"] != live["metadata"]["resourceVersion"]
