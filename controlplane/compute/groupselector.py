"""Group selectors: which pods a group holds, and the content-addressed group name.

A group is the pods of one namespace (`namespace`) or of every namespace whose labels match
`namespace_selector`, filtered by `pod_selector`. Its name is a UUIDv5 of the normalized text
(sorted terms joined by " And ", as Antrea's `GenerateNormalizedName`), so every policy that uses
the same selector uses the same group.
"""

from __future__ import annotations

import hashlib
from dataclasses import field

from controlplane.compute.labels import LabelSelector
from pyantrea_api.values import value

# The namespace of pyantrea's group names (a fixed, random UUID).
_NAME_NAMESPACE = bytes.fromhex("7d1c6f0a3b5e4c2a9e8f1d0b6a4c2e91")


# The UUID variant bits (10xx) applied to the first hex digit of the clock sequence.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def group_name(normalized: str) -> str:
    """UUIDv5 of `normalized` in pyantrea's name namespace, as text."""
    h = hashlib.sha1(_NAME_NAMESPACE + normalized.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


@value
class GroupSelector:
    """Exactly one of `namespace` and `namespace_selector` is set. Build with the class methods."""

    namespace: str | None = field(compare=False)
    namespace_selector: LabelSelector | None = field(compare=False)
    pod_selector: LabelSelector = field(compare=False)
    normalized: str
    """Canonical text; equal selectors have equal text (equality and hash use only this)."""
    name: str = field(compare=False)
    """The group's name: a UUIDv5 of `normalized`."""

    @classmethod
    def in_namespace(cls, namespace: str, pod_selector: LabelSelector) -> GroupSelector:
        """The pods of `namespace` that `pod_selector` matches."""
        # The terms in sorted order: "namespace=" sorts before "podSelector=".
        normalized = f"namespace={namespace} And podSelector={pod_selector.text}"
        return cls(namespace, None, pod_selector, normalized, group_name(normalized))

    @classmethod
    def across_namespaces(
        cls, namespace_selector: LabelSelector, pod_selector: LabelSelector
    ) -> GroupSelector:
        """The pods that `pod_selector` matches in namespaces that `namespace_selector` matches."""
        normalized = f"namespaceSelector={namespace_selector.text} And podSelector={pod_selector.text}"
        return cls(None, namespace_selector, pod_selector, normalized, group_name(normalized))
