"""`apply`, `delete` and `label`, as kubectl does them, on the lab's API.

`apply` keeps kubectl's contract: the object as applied is kept in the
`kubectl.kubernetes.io/last-applied-configuration` annotation, and a re-apply sends a JSON merge
patch that sets everything the file says and removes what the previous apply said and this one
no longer does (`three_way_patch`), so fields others set (a pod's node, labels added with
`label`, status) stay. Lists are replaced whole, as merge patches do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kubernetes.client import ApiException

from kube.rest import PatchType, RestClient
from lab.kinds import Kind
from lab.manifests import Manifest

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def three_way_patch(last: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> dict[str, Any]:
    """The merge patch that makes an object match `desired`, deleting keys only `last` had."""
    patch: dict[str, Any] = {}
    for key, value in desired.items():
        previous = last.get(key) if last is not None else None
        if isinstance(value, Mapping):
            patch[key] = three_way_patch(previous if isinstance(previous, Mapping) else None, value)
        else:
            patch[key] = value
    if last is not None:
        for key in last:
            if key not in desired:
                patch[key] = None
    return patch


def _last_applied(live: Mapping[str, Any]) -> dict[str, Any] | None:
    text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def apply(rest: RestClient, manifest: Manifest) -> str:
    """Create or update the object; returns what happened: created, configured or unchanged."""
    desired = json.loads(json.dumps(manifest.body))
    record = json.dumps(desired, sort_keys=True, separators=(",", ":"))
    metadata = desired.setdefault("metadata", {})
    metadata.setdefault("annotations", {})[LAST_APPLIED] = record
    resource = manifest.kind.resource
    try:
        live = rest.get(resource, manifest.namespace, manifest.name)
    except ApiException as exc:
        if exc.status != 404:
            raise
        rest.create(resource, manifest.namespace, desired)
        return "created"
    patch = three_way_patch(_last_applied(live), desired)
    patched = rest.patch(resource, manifest.namespace, manifest.name, patch, patch_type=PatchType.MERGE)
    same = patched["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"]
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
