"""Discovery documents: `/version`, `/api`, `/apis` and each group version's resource list.

These are what the `kubernetes` client's DynamicClient and kubectl read to learn which
resources exist, their scope, verbs and short names.
"""

from __future__ import annotations

from typing import Any

from lab.apiserver.resources import GROUP_VERSIONS, GroupVersion, ResourceType

SERVER_VERSION = {
    "major": "1",
    "minor": "37",
    "gitVersion": "v1.37.0-pyantrea-lab",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "none (pyantrea lab stand-in, Python)",
    "compiler": "none",
    "platform": "linux/amd64",
}
_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
_STATUS_VERBS = ["get", "patch", "update"]


def core_versions() -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}


def _group(group: str) -> dict[str, Any]:
    versions = [
        {"groupVersion": gv.group_version, "version": gv.version}
        for (name, _), gv in GROUP_VERSIONS.items()
        if name == group
    ]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": versions,
        "preferredVersion": versions[0],
    }


def group_list() -> dict[str, Any]:
    groups = sorted({group for group, _ in GROUP_VERSIONS if group})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(group) for group in groups]}


def group(name: str) -> dict[str, Any] | None:
    if not name or all(group != name for group, _ in GROUP_VERSIONS):
        return None
    return _group(name)


def resource_list(gv: GroupVersion) -> dict[str, Any]:
    resources: list[dict[str, Any]] = []
    for rtype in gv.resources.values():
        resources.append(_resource(rtype))
        if rtype.has_status:
            resources.append(
                {
                    "name": f"{rtype.plural}/status",
                    "singularName": "",
                    "namespaced": rtype.namespaced,
                    "kind": rtype.kind,
                    "verbs": _STATUS_VERBS,
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv.group_version,
        "resources": resources,
    }


def _resource(rtype: ResourceType) -> dict[str, Any]:
    return {
        "name": rtype.plural,
        "singularName": rtype.singular,
        "namespaced": rtype.namespaced,
        "kind": rtype.kind,
        "verbs": _VERBS,
        "shortNames": list(rtype.short_names),
    }
