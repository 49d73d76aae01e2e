"""The PATCH content types: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge.

`apply_patch` picks the algorithm from the request's Content-Type, as kube-apiserver does;
server-side apply (`application/apply-patch+yaml`) is not served and is refused with 415.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from lab.apiserver.errors import ApiError, bad_request
from lab.apiserver.strategic import strategic_merge

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"


def apply_patch(content_type: str, original: dict[str, Any], body: bytes, kind: str) -> dict[str, Any]:
    """Return `original` (not modified) with the patch in `body` applied."""
    try:
        patch = json.loads(body)
    except ValueError as exc:
        raise bad_request(f"the patch is not valid JSON: {exc}") from exc
    if content_type == MERGE_PATCH:
        if not isinstance(patch, dict):
            raise bad_request("a merge patch must be a JSON object")
        return merge_patch(original, patch)
    if content_type == STRATEGIC_MERGE_PATCH:
        return strategic_merge(original, patch, kind)
    if content_type == JSON_PATCH:
        return json_patch(original, patch)
    raise ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: "
        f"{JSON_PATCH}, {MERGE_PATCH}, {STRATEGIC_MERGE_PATCH}",
    )


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, `null` removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(document: dict[str, Any], operations: Any) -> dict[str, Any]:
    """RFC 6902 operations applied in order to a copy; a failed op is a 422 naming it."""
    if not isinstance(operations, list):
        raise bad_request("a JSON patch must be a list of operations")
    root: Any = copy.deepcopy(document)
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise bad_request(f"JSON patch operation {index} needs 'op' and 'path'")
        try:
            root = _apply_operation(root, operation)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise ApiError(
                422, "Invalid", f"JSON patch operation {index} ({operation['op']} {operation['path']}): {exc}"
            ) from exc
    if not isinstance(root, dict):
        raise bad_request("a JSON patch may not replace the object with a non-object")
    return root


def _apply_operation(root: Any, operation: dict[str, Any]) -> Any:
    op = operation["op"]
    path = _pointer(operation["path"])
    if op == "add":
        return _add(root, path, copy.deepcopy(operation["value"]))
    if op == "remove":
        _remove(root, path)
        return root
    if op == "replace":
        if not path:
            return copy.deepcopy(operation["value"])
        _remove(root, path)
        return _add(root, path, copy.deepcopy(operation["value"]))
    if op in ("move", "copy"):
        source = _pointer(operation["from"])
        value = copy.deepcopy(_get(root, source))
        if op == "move":
            _remove(root, source)
        return _add(root, path, value)
    if op == "test":
        if _get(root, path) != operation["value"]:
            raise ValueError("test failed: the value differs")
        return root
    raise ValueError(f"unknown op {op!r}")


def _pointer(text: str) -> list[str]:
    if text == "":
        return []
    if not text.startswith("/"):
        raise ValueError(f"JSON pointer {text!r} must start with '/'")
    return [part.replace("~1", "/").replace("~0", "~") for part in text[1:].split("/")]


def _get(root: Any, path: list[str]) -> Any:
    node = root
    for part in path:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _add(root: Any, path: list[str], value: Any) -> Any:
    if not path:
        return value
    parent = _get(root, path[:-1])
    last = path[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if not 0 <= index <= len(parent):
            raise IndexError(f"index {index} out of range")
        parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise TypeError(f"cannot add below a {type(parent).__name__}")
    return root


def _remove(root: Any, path: list[str]) -> None:
    if not path:
        raise ValueError("cannot remove the whole document")
    parent = _get(root, path[:-1])
    if isinstance(parent, list):
        del parent[int(path[-1])]
    else:
        del parent[path[-1]]
