"""What a create or an update does to an object, before the store commits it.

Like the per-kind "strategies" of kube-apiserver's registry: server-owned metadata (uid,
creationTimestamp, generation) is set on create and kept on update, a body for the main
resource cannot change `status` and a body for `/status` can change nothing else, the
generation goes up when anything outside metadata and status changes, a stale
`resourceVersion` is a 409, and defaults and validation run on every write. Functions here
take fresh objects they may change and return the object to store (its resourceVersion is
stamped by the store).
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from lab.apiserver.defaults import apply_defaults
from lab.apiserver.errors import bad_request, conflict
from lab.apiserver.resources import ResourceType
from lab.apiserver.validation import validate

_SERVER_OWNED = ("uid", "creationTimestamp", "resourceVersion", "generation", "deletionTimestamp", "selfLink")
_NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_STATUS_ON_CREATE: dict[str, dict[str, Any] | None] = {
    "Pod": {"phase": "Pending"},
    "Service": {"loadBalancer": {}},
    "Namespace": {"phase": "Active"},
    "NetworkPolicy": None,
    "Deployment": None,
}
_STALE = "the object has been modified; please apply your changes to the latest version and try again"


def prepare_create(rtype: ResourceType, namespace: str | None, body: Any, now: str) -> dict[str, Any]:
    """The object to store for a POST of `body` into `namespace` (None for cluster-scoped)."""
    obj = _check_body(rtype, body)
    metadata = obj["metadata"]
    _check_namespace(rtype, metadata, namespace)
    if not metadata.get("name") and metadata.get("generateName"):
        suffix = "".join(secrets.choice(_NAME_SUFFIX_ALPHABET) for _ in range(5))
        metadata["name"] = f"{metadata['generateName']}{suffix}"
    for key in _SERVER_OWNED:
        metadata.pop(key, None)
    metadata["uid"] = str(uuid.uuid4())
    metadata["creationTimestamp"] = now
    metadata["generation"] = 1
    if rtype.kind in _STATUS_ON_CREATE:
        status = _STATUS_ON_CREATE[rtype.kind]
        if status is None:
            obj.pop("status", None)
        else:
            obj["status"] = dict(status)
    apply_defaults(rtype.kind, obj)
    validate(rtype, obj)
    return obj


def prepare_update(
    rtype: ResourceType,
    current: dict[str, Any],
    body: Any,
    *,
    status_only: bool,
) -> dict[str, Any]:
    """The object to store when `body` replaces `current` (a fresh copy of the stored object)."""
    new = _check_body(rtype, body)
    metadata = new["metadata"]
    old_meta = current["metadata"]
    if metadata.get("name", old_meta["name"]) != old_meta["name"]:
        raise bad_request(
            f"the name of the object ({metadata.get('name')}) does not match the name on the URL "
            f"({old_meta['name']})"
        )
    _check_namespace(rtype, metadata, old_meta.get("namespace"))
    _check_preconditions(
        rtype, old_meta, metadata.get("uid") or None, metadata.get("resourceVersion") or None
    )
    if status_only:
        result = current
        if "status" in new:
            result["status"] = new["status"]
        else:
            result.pop("status", None)
    else:
        result = new
        for key in _SERVER_OWNED:
            if key in old_meta:
                metadata[key] = old_meta[key]
            else:
                metadata.pop(key, None)
        if rtype.has_status:
            if "status" in current:
                result["status"] = current["status"]
            else:
                result.pop("status", None)
    apply_defaults(rtype.kind, result)
    validate(rtype, result)
    return result


def check_delete_preconditions(rtype: ResourceType, stored: dict[str, Any], options: Any) -> None:
    """Refuse a DELETE whose DeleteOptions.preconditions do not hold (409, as upstream)."""
    if not isinstance(options, dict):
        return
    preconditions = options.get("preconditions") or {}
    _check_preconditions(
        rtype, stored["metadata"], preconditions.get("uid"), preconditions.get("resourceVersion")
    )


def bump_generation(old: dict[str, Any], new: dict[str, Any]) -> None:
    """Increment `new`'s generation when anything outside metadata and status changed."""
    ignored = ("metadata", "status", "kind", "apiVersion")
    old_rest = {key: value for key, value in old.items() if key not in ignored}
    new_rest = {key: value for key, value in new.items() if key not in ignored}
    if old_rest != new_rest:
        new["metadata"]["generation"] = int(old["metadata"].get("generation", 0)) + 1


def _check_body(rtype: ResourceType, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request(f"the request body must be a {rtype.kind} object")
    kind = body.get("kind")
    api_version = body.get("apiVersion")
    if (kind and kind != rtype.kind) or (api_version and api_version != rtype.api_version):
        raise bad_request(
            f"the API version in the data ({api_version}) and kind ({kind}) do not match the request "
            f"({rtype.api_version}, {rtype.kind})"
        )
    metadata = body.get("metadata")
    if metadata is None:
        metadata = body["metadata"] = {}
    if not isinstance(metadata, dict):
        raise bad_request("metadata must be an object")
    body["kind"] = rtype.kind
    body["apiVersion"] = rtype.api_version
    return body


def _check_namespace(rtype: ResourceType, metadata: dict[str, Any], namespace: str | None) -> None:
    if not rtype.namespaced:
        metadata.pop("namespace", None)
        return
    given = metadata.get("namespace")
    if given and given != namespace:
        raise bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    metadata["namespace"] = namespace


def _check_preconditions(
    rtype: ResourceType, old_meta: dict[str, Any], uid: str | None, resource_version: str | None
) -> None:
    name = old_meta["name"]
    if uid is not None and uid != old_meta["uid"]:
        raise conflict(
            rtype,
            name,
            f"Precondition failed: UID in precondition: {uid}, UID in object meta: {old_meta['uid']}",
        )
    if resource_version is not None and resource_version != old_meta["resourceVersion"]:
        raise conflict(rtype, name, _STALE)
