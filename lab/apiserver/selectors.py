"""Label and field selectors, parsed from the `labelSelector` / `fieldSelector` query strings.

The grammar is the one `k8s.io/apimachinery/pkg/labels` accepts: comma-separated requirements
`key`, `!key`, `key=v`, `key==v`, `key!=v`, `key in (a,b)`, `key notin (a,b)`. As upstream, `!=`
and `notin` also match objects that lack the key. Field selectors take `=`, `==` and `!=` on the
field labels each resource type supports (`metadata.name`, `metadata.namespace`, and e.g.
`spec.nodeName` for pods).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lab.apiserver.errors import bad_request
from lab.apiserver.resources import ResourceType

_TOKEN = re.compile(r"\s*(==|!=|=|!|\(|\)|,|[^\s=!(),]+)")
_SET_OPERATORS = ("in", "notin")


@dataclass(frozen=True, slots=True)
class Requirement:
    """One requirement on one key; `op` is one of exists, !, =, !=, in, notin."""

    key: str
    op: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and labels[self.key] in self.values
        return not present or labels[self.key] not in self.values


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """All requirements must hold; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(req.matches(labels) for req in self.requirements)


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse a `labelSelector` query value; a bad one is a 400 naming the selector."""
    if not text or not text.strip():
        return LabelSelector()
    tokens = _tokenize(text)
    requirements: list[Requirement] = []
    pos = 0
    while pos < len(tokens):
        requirement, pos = _parse_requirement(text, tokens, pos)
        requirements.append(requirement)
        if pos < len(tokens):
            if tokens[pos] != ",":
                raise bad_request(f"unable to parse requirement: found '{tokens[pos]}' in {text!r}")
            pos += 1
            if pos == len(tokens):
                raise bad_request(f"unable to parse requirement: trailing ',' in {text!r}")
    return LabelSelector(tuple(requirements))


_EXPRESSION_OPERATORS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


def selector_from_object(selector: Mapping[str, Any]) -> LabelSelector:
    """The selector a `metav1.LabelSelector` object (matchLabels, matchExpressions) stands for.

    Raises ValueError naming the bad part; the empty object matches everything, as upstream.
    """
    requirements = [
        Requirement(str(key), "=", frozenset({str(value)}))
        for key, value in (selector.get("matchLabels") or {}).items()
    ]
    for index, expression in enumerate(selector.get("matchExpressions") or []):
        operator = (
            _EXPRESSION_OPERATORS.get(expression.get("operator", ""))
            if isinstance(expression, dict)
            else None
        )
        if operator is None:
            raise ValueError(f"matchExpressions[{index}].operator: must be In, NotIn, Exists or DoesNotExist")
        values = frozenset(str(value) for value in expression.get("values") or [])
        if (operator in ("in", "notin")) != bool(values):
            raise ValueError(f"matchExpressions[{index}].values: required for In and NotIn only")
        requirements.append(Requirement(str(expression.get("key", "")), operator, values))
    return LabelSelector(tuple(requirements))


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            break
        tokens.append(match.group(1))
        pos = match.end()
    if text[pos:].strip():
        raise bad_request(f"unable to parse label selector {text!r}")
    return tokens


def _parse_requirement(text: str, tokens: list[str], pos: int) -> tuple[Requirement, int]:
    def at(index: int) -> str | None:
        return tokens[index] if index < len(tokens) else None

    if tokens[pos] == "!":
        key = at(pos + 1)
        if key is None or not _is_word(key):
            raise bad_request(f"unable to parse requirement: missing key after '!' in {text!r}")
        return Requirement(key, "!"), pos + 2
    key = tokens[pos]
    if not _is_word(key):
        raise bad_request(f"unable to parse requirement: found '{key}', expected a key in {text!r}")
    op = at(pos + 1)
    if op is None or op == ",":
        return Requirement(key, "exists"), pos + 1
    if op in ("=", "==", "!="):
        value = at(pos + 2)
        if value is None or not _is_word(value):
            return Requirement(key, "=" if op != "!=" else "!=", frozenset({""})), pos + 2
        return Requirement(key, "=" if op != "!=" else "!=", frozenset({value})), pos + 3
    if op in _SET_OPERATORS:
        if at(pos + 2) != "(":
            raise bad_request(f"unable to parse requirement: expected '(' after '{op}' in {text!r}")
        values: set[str] = set()
        index = pos + 3
        while at(index) not in (")", None):
            token = tokens[index]
            if token != ",":
                values.add(token)
            index += 1
        if at(index) is None or not values:
            raise bad_request(f"unable to parse requirement: bad value set for '{key}' in {text!r}")
        return Requirement(key, op, frozenset(values)), index + 1
    raise bad_request(f"unable to parse requirement: unknown operator '{op}' in {text!r}")


def _is_word(token: str) -> bool:
    return token not in ("=", "==", "!=", "!", "(", ")", ",")


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    path: str
    equal: bool
    value: str


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """Equality requirements on field labels; the empty selector matches everything."""

    requirements: tuple[FieldRequirement, ...] = ()
    defaults: Mapping[str, str] | None = None

    def matches(self, obj: Mapping[str, Any]) -> bool:
        for req in self.requirements:
            actual = _field_value(obj, req.path, (self.defaults or {}).get(req.path, ""))
            if (actual == req.value) != req.equal:
                return False
        return True


def parse_field_selector(text: str | None, rtype: ResourceType) -> FieldSelector:
    """Parse a `fieldSelector` for `rtype`; an unsupported field is a 400 as upstream."""
    if not text or not text.strip():
        return FieldSelector()
    requirements: list[FieldRequirement] = []
    for term in text.split(","):
        op = next((candidate for candidate in ("!=", "==", "=") if candidate in term), None)
        if op is None:
            raise bad_request(f"invalid selector: {text!r}; can't understand {term!r}")
        path, value = (part.strip() for part in term.split(op, 1))
        if path not in ("metadata.name", "metadata.namespace") and path not in rtype.field_labels:
            raise bad_request(f'field label not supported: "{path}"')
        requirements.append(FieldRequirement(path, op != "!=", value))
    return FieldSelector(tuple(requirements), rtype.field_labels)


def _field_value(obj: Mapping[str, Any], path: str, default: str) -> str:
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    if isinstance(node, bool):
        return "true" if node else "false"
    return "" if node is None else str(node)
