"""Validation of objects before they are stored; failures become 422 `Invalid` Status objects.

Checked as upstream: object names (RFC 1123 label or subdomain, per kind), label keys and
values, annotation keys, that a Pod (and a Deployment's pod template) has named containers, and
that a Deployment's selector is valid, not empty, and selects its own template's labels.
Deliberately not checked: the contents of NetworkPolicy specs (CIDRs, ports, operators). The
controller must survive policies it cannot use, and its tests need a way to store one.
"""

from __future__ import annotations

import re
from typing import Any

from lab.apiserver.errors import invalid
from lab.apiserver.resources import ResourceType
from lab.apiserver.selectors import selector_from_object

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAMED_KINDS = frozenset({"Namespace", "Service"})


def validate(rtype: ResourceType, obj: dict[str, Any]) -> None:
    """Raise a 422 listing every invalid field of `obj`."""
    metadata = obj["metadata"]
    name = metadata.get("name", "")
    causes: list[tuple[str, str]] = []
    why = _name_problem(name, label=rtype.kind in _LABEL_NAMED_KINDS)
    if why:
        causes.append(("metadata.name", f'Invalid value: "{name}": {why}'))
    for key, value in (metadata.get("labels") or {}).items():
        why = _qualified_name_problem(key)
        if why:
            causes.append(("metadata.labels", f'Invalid value: "{key}": {why}'))
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(
                (
                    "metadata.labels",
                    f'Invalid value: "{value}": a valid label must be an empty string or consist of '
                    "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                    "alphanumeric character (at most 63 characters)",
                )
            )
    for key, value in (metadata.get("annotations") or {}).items():
        why = _qualified_name_problem(key)
        if why:
            causes.append(("metadata.annotations", f'Invalid value: "{key}": {why}'))
        if not isinstance(value, str):
            causes.append(("metadata.annotations", f'Invalid value: "{key}": the value must be a string'))
    if rtype.kind == "Pod":
        causes.extend(_pod_problems(obj))
    if rtype.kind == "Deployment":
        causes.extend(_deployment_problems(obj))
    if causes:
        raise invalid(rtype, name, causes)


def _name_problem(name: Any, *, label: bool) -> str | None:
    if not isinstance(name, str) or not name:
        return "name or generateName is required"
    if label:
        if len(name) > 63 or not _DNS_LABEL.match(name):
            return (
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                "and must start and end with an alphanumeric character (at most 63 characters)"
            )
    elif len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        return (
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
            "'.', and must start and end with an alphanumeric character"
        )
    return None


def _qualified_name_problem(key: Any) -> str | None:
    if not isinstance(key, str) or not key:
        return "name part must be non-empty"
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return "prefix part must be a lowercase RFC 1123 subdomain"
    if len(name) > 63 or not _QUALIFIED_NAME.match(name):
        return (
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
            "end with an alphanumeric character (at most 63 characters)"
        )
    return None


def _pod_problems(obj: dict[str, Any], path: str = "spec") -> list[tuple[str, str]]:
    containers = (obj.get("spec") or {}).get("containers")
    if not isinstance(containers, list) or not containers:
        return [(f"{path}.containers", "Required value")]
    return [
        (f"{path}.containers[{index}].name", "Required value")
        for index, container in enumerate(containers)
        if not isinstance(container, dict) or not container.get("name")
    ]


def _deployment_problems(obj: dict[str, Any]) -> list[tuple[str, str]]:
    spec = obj.get("spec") or {}
    template = spec.get("template")
    if not isinstance(template, dict):
        return [("spec.template", "Required value")]
    problems = _pod_problems(template, "spec.template.spec")
    selector = spec.get("selector")
    if not isinstance(selector, dict) or not (
        selector.get("matchLabels") or selector.get("matchExpressions")
    ):
        return [*problems, ("spec.selector", "Required value")]
    try:
        matches = selector_from_object(selector).matches((template.get("metadata") or {}).get("labels") or {})
    except ValueError as exc:
        return [*problems, ("spec.selector", f"Invalid value: {exc}")]
    if not matches:
        problems.append(
            ("spec.template.metadata.labels", "Invalid value: `selector` does not match template `labels`")
        )
    replicas = spec.get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        problems.append(("spec.replicas", f"Invalid value: {replicas!r}: must be greater than or equal to 0"))
    return problems
