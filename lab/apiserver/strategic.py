"""Strategic merge patch (`application/strategic-merge-patch+json`) for the served kinds.

This is what `kubectl` and the `kubernetes` Python client send by default, and what kubelets
use for pod and node status. Maps merge like a JSON merge patch (`null` deletes a key). Lists
whose Go type declares `patchStrategy:"merge"` merge element by element on their merge key
(containers by `name`, conditions by `type`, ...); primitive lists with that strategy are
unioned; every other list is replaced. The directives `$patch: replace|delete|merge`,
`$retainKeys`, `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>` are honoured.
List paths below ignore list indices: `spec.containers.ports` is the ports of any container.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lab.apiserver.errors import bad_request

_COMMON_MERGE_KEYS = {"metadata.ownerReferences": "uid"}
_MERGE_KEYS: Mapping[str, Mapping[str, str]] = {
    "Pod": {
        "spec.containers": "name",
        "spec.initContainers": "name",
        "spec.ephemeralContainers": "name",
        "spec.containers.ports": "containerPort",
        "spec.initContainers.ports": "containerPort",
        "spec.containers.env": "name",
        "spec.initContainers.env": "name",
        "spec.containers.volumeMounts": "mountPath",
        "spec.initContainers.volumeMounts": "mountPath",
        "spec.volumes": "name",
        "spec.imagePullSecrets": "name",
        "status.conditions": "type",
        "status.podIPs": "ip",
        "status.hostIPs": "ip",
    },
    "Node": {
        "status.conditions": "type",
        "status.addresses": "type",
    },
    "Service": {"spec.ports": "port"},
}
_PRIMITIVE_MERGE_LISTS = frozenset({"metadata.finalizers", "spec.podCIDRs"})

_DELETE_FROM = "$deleteFromPrimitiveList/"
_ELEMENT_ORDER = "$setElementOrder/"


def strategic_merge(original: dict[str, Any], patch: Any, kind: str) -> dict[str, Any]:
    """Apply `patch` to `original` (not modified) and return the result."""
    if not isinstance(patch, dict):
        raise bad_request("strategic merge patch must be a JSON object")
    merge_keys = {**_COMMON_MERGE_KEYS, **_MERGE_KEYS.get(kind, {})}
    merged = _merge_map(original, patch, "", merge_keys)
    if merged is None:
        raise bad_request("strategic merge patch may not delete the whole object")
    return merged


def _merge_map(
    original: dict[str, Any] | None,
    patch: dict[str, Any],
    path: str,
    merge_keys: Mapping[str, str],
) -> dict[str, Any] | None:
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        return _strip_directives(patch)
    if directive not in (None, "merge"):
        raise bad_request(f"unknown patch directive $patch={directive!r} at {path or '<root>'}")
    result = dict(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith(_ELEMENT_ORDER):
            continue
        if key.startswith(_DELETE_FROM):
            field = key[len(_DELETE_FROM) :]
            drop = set(map(_hashable, value or []))
            if isinstance(result.get(field), list):
                result[field] = [item for item in result[field] if _hashable(item) not in drop]
            continue
        child = f"{path}.{key}" if path else key
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            current = result.get(key)
            merged = _merge_map(current if isinstance(current, dict) else None, value, child, merge_keys)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            current = result.get(key)
            result[key] = _merge_list(current if isinstance(current, list) else [], value, child, merge_keys)
        else:
            result[key] = value
    for key, order in patch.items():
        if key.startswith(_ELEMENT_ORDER):
            field = key[len(_ELEMENT_ORDER) :]
            child = f"{path}.{field}" if path else field
            if isinstance(result.get(field), list) and isinstance(order, list):
                result[field] = _apply_order(result[field], order, merge_keys.get(child))
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {key: value for key, value in result.items() if key in retain}
    return result


def _merge_list(original: list[Any], patch: list[Any], path: str, merge_keys: Mapping[str, str]) -> list[Any]:
    if path in _PRIMITIVE_MERGE_LISTS:
        seen = {_hashable(item) for item in original}
        return original + [item for item in patch if _hashable(item) not in seen]
    replace = any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch)
    merge_key = merge_keys.get(path)
    if merge_key is None or replace:
        return [
            _strip_directives(item) if isinstance(item, dict) else item
            for item in patch
            if not (isinstance(item, dict) and item.get("$patch") == "replace")
        ]
    result = list(original)
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            raise bad_request(f"{path}: every element of this list needs its merge key {merge_key!r}")
        index = next(
            (
                i
                for i, old in enumerate(result)
                if isinstance(old, dict) and old.get(merge_key) == item[merge_key]
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
            continue
        merged = _merge_map(result[index] if index is not None else None, item, path, merge_keys)
        if merged is None:
            continue
        if index is None:
            result.append(merged)
        else:
            result[index] = merged
    return result


def _apply_order(items: list[Any], order: list[Any], merge_key: str | None) -> list[Any]:
    """Put the elements named in `order` first, in that order; the others keep theirs, after."""

    def identity(item: Any) -> Any:
        if merge_key is not None and isinstance(item, dict):
            return _hashable(item.get(merge_key))
        return _hashable(item)

    wanted = [identity(entry) if isinstance(entry, dict) else _hashable(entry) for entry in order]
    rank = {value: position for position, value in enumerate(wanted)}
    return sorted(items, key=lambda item: rank.get(identity(item), len(rank)))


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _strip_directives(item)
            for key, item in value.items()
            if not key.startswith("$") and item is not None
        }
    if isinstance(value, list):
        return [_strip_directives(item) for item in value]
    return value


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((key, _hashable(item)) for key, item in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    return value
