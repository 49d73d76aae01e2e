"""Label sets and label selectors: values, matching, and the canonical text that names groups.

A label set is a sorted tuple of (key, value) pairs so that equal sets are equal values and can
be interned. A selector is a sorted tuple of requirements; `matchLabels` entries become `In`
requirements with one value, so `{matchLabels: {a: b}}` and `{matchExpressions: [{key: a,
operator: In, values: [b]}]}` are the same selector with the same text, and share groups.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pyantrea_api.values import value

Labels = tuple[tuple[str, str], ...]
"""A label set: (key, value) pairs sorted by key."""


def make_labels(mapping: Mapping[str, str]) -> Labels:
    """The canonical label set of a mapping."""
    return tuple(sorted(mapping.items()))


class Operator(enum.Enum):
    """A `matchExpressions` operator."""

    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


@dataclass(frozen=True, slots=True, order=True)
class Requirement:
    """One condition on one label key; `values` are kept sorted and unique."""

    key: str
    operator: Operator = field(compare=False)
    values: tuple[str, ...]
    text: str = field(init=False, compare=True)

    def __post_init__(self) -> None:
        values = tuple(sorted(set(self.values)))
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "text", _requirement_text(self.key, self.operator, values))

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a label set (as a mapping) satisfies this requirement."""
        operator = self.operator
        if operator is Operator.IN:
            return labels.get(self.key) in self.values
        if operator is Operator.NOT_IN:
            # Kubernetes: NotIn also matches when the key is absent.
            return labels.get(self.key) not in self.values
        if operator is Operator.EXISTS:
            return self.key in labels
        return self.key not in labels


def _requirement_text(key: str, operator: Operator, values: tuple[str, ...]) -> str:
    if operator is Operator.IN:
        return f"{key}={values[0]}" if len(values) == 1 else f"{key} in ({','.join(values)})"
    if operator is Operator.NOT_IN:
        return f"{key}!={values[0]}" if len(values) == 1 else f"{key} notin ({','.join(values)})"
    if operator is Operator.EXISTS:
        return key
    return f"!{key}"


@value
class LabelSelector:
    """All requirements must hold; no requirement selects everything. Build with `of`."""

    requirements: tuple[Requirement, ...]
    text: str
    """Canonical text, e.g. `app=web,tier in (a,b),!canary`; equal selectors have equal text."""

    @classmethod
    def of(cls, requirements: Iterable[Requirement]) -> LabelSelector:
        """The selector of these requirements, sorted and without duplicates."""
        unique = tuple(sorted(set(requirements)))
        return cls(unique, ",".join(r.text for r in unique))

    @classmethod
    def from_match_labels(cls, match_labels: Mapping[str, str]) -> LabelSelector:
        """The selector of a plain `matchLabels` mapping."""
        return cls.of(Requirement(k, Operator.IN, (v,)) for k, v in match_labels.items())

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a label set (as a mapping) satisfies every requirement."""
        return all(requirement.matches(labels) for requirement in self.requirements)


EVERYTHING = LabelSelector.of(())
"""The empty selector `{}`: selects every label set."""
