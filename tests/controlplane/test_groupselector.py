"""Group names: a UUIDv5 of the normalized selector, equal for equal selectors."""

from __future__ import annotations

import uuid

from controlplane.compute.groupselector import _NAME_NAMESPACE, GroupSelector, group_name
from controlplane.compute.labels import EVERYTHING, LabelSelector, Operator, Requirement


def test_group_name_is_uuid5_of_the_normalized_text():
    namespace = uuid.UUID(bytes=_NAME_NAMESPACE)
    for text in ("", "namespace=a And podSelector=", "namespaceSelector=env=x And podSelector=app in (a,b)"):
        assert group_name(text) == str(uuid.uuid5(namespace, text))


def test_normalized_text():
    web = LabelSelector.from_match_labels({"app": "web", "tier": "fe"})
    assert (
        GroupSelector.in_namespace("prod", web).normalized == "namespace=prod And podSelector=app=web,tier=fe"
    )
    others = LabelSelector.of(
        [Requirement("app", Operator.NOT_IN, ("b", "a")), Requirement("x", Operator.EXISTS, ())]
    )
    selector = GroupSelector.across_namespaces(others, EVERYTHING)
    assert selector.normalized == "namespaceSelector=app notin (a,b),x And podSelector="
    assert selector.namespace is None


def test_equal_selectors_are_equal_groups():
    a = GroupSelector.in_namespace("prod", LabelSelector.from_match_labels({"app": "web"}))
    b = GroupSelector.in_namespace("prod", LabelSelector.of([Requirement("app", Operator.IN, ("web",))]))
    assert a == b
    assert a.name == b.name
    assert a != GroupSelector.in_namespace("dev", a.pod_selector)
