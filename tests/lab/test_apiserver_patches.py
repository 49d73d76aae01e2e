"""The stand-in's pure parts: merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge
patch directives, and label/field selector parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lab.apiserver.errors import ApiError
from lab.apiserver.patches import json_patch, merge_patch
from lab.apiserver.resources import NODES, PODS
from lab.apiserver.selectors import parse_field_selector, parse_label_selector
from lab.apiserver.strategic import strategic_merge

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=2), children, max_size=3)
    ),
    max_leaves=10,
)
json_objects = st.dictionaries(st.text(max_size=2), json_values, max_size=4)


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [  # RFC 7386, appendix A
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_rfc_examples(target, patch, result):
    assert merge_patch(target, patch) == result


@given(json_objects, json_objects)
def test_merge_patch_is_idempotent_and_leaves_its_input_alone(target, patch):
    before = repr(target)
    once = merge_patch(target, patch)
    assert merge_patch(once, patch) == once
    assert repr(target) == before


@given(json_objects)
def test_empty_merge_patch_changes_nothing(target):
    assert merge_patch(target, {}) == target


def test_json_patch_operations():
    document = {"metadata": {"labels": {"a/b": "1"}}, "items": [1, 2, 3]}
    patched = json_patch(
        document,
        [
            {"op": "add", "path": "/items/1", "value": 9},
            {"op": "remove", "path": "/items/0"},
            {"op": "replace", "path": "/metadata/labels/a~1b", "value": "2"},
            {"op": "copy", "from": "/items/0", "path": "/first"},
            {"op": "move", "from": "/first", "path": "/moved"},
            {"op": "add", "path": "/items/-", "value": 4},
            {"op": "test", "path": "/moved", "value": 9},
        ],
    )
    assert patched == {"metadata": {"labels": {"a/b": "2"}}, "items": [9, 2, 3, 4], "moved": 9}
    assert document["items"] == [1, 2, 3]


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "test", "path": "/a", "value": 2},
        {"op": "remove", "path": "/missing"},
        {"op": "add", "path": "/a/b", "value": 1},
        {"op": "frobnicate", "path": "/a"},
    ],
)
def test_failed_json_patch_is_422(operation):
    with pytest.raises(ApiError) as error:
        json_patch({"a": 1}, [operation])
    assert error.value.code == 422


def test_strategic_merge_by_key_and_replace_elsewhere():
    pod = {
        "metadata": {"finalizers": ["a"]},
        "spec": {
            "containers": [{"name": "main", "image": "v1", "ports": [{"containerPort": 80}]}],
            "tolerations": [{"key": "x"}],
        },
    }
    patched = strategic_merge(
        pod,
        {
            "metadata": {"finalizers": ["b", "a"]},
            "spec": {
                "containers": [{"name": "main", "ports": [{"containerPort": 8080}]}, {"name": "side"}],
                "tolerations": [{"key": "y"}],
            },
        },
        "Pod",
    )
    assert patched["metadata"]["finalizers"] == ["a", "b"]
    assert patched["spec"]["containers"] == [
        {"name": "main", "image": "v1", "ports": [{"containerPort": 80}, {"containerPort": 8080}]},
        {"name": "side"},
    ]
    assert patched["spec"]["tolerations"] == [{"key": "y"}]
    assert pod["spec"]["containers"][0]["ports"] == [{"containerPort": 80}]


def test_strategic_merge_directives():
    node = {
        "spec": {"podCIDRs": ["10.0.0.0/24", "10.0.1.0/24"], "taints": [{"key": "a"}]},
        "status": {
            "conditions": [{"type": "Ready", "status": "False"}, {"type": "DiskPressure", "status": "False"}],
            "addresses": [{"type": "InternalIP", "address": "1.1.1.1"}],
            "nodeInfo": {"kernelVersion": "6", "osImage": "debian"},
        },
    }
    patched = strategic_merge(
        node,
        {
            "spec": {
                "$deleteFromPrimitiveList/podCIDRs": ["10.0.1.0/24"],
                "$deleteFromPrimitiveList/x": ["y"],
            },
            "status": {
                "$setElementOrder/conditions": [{"type": "DiskPressure"}, {"type": "Ready"}],
                "conditions": [{"type": "Ready", "status": "True"}],
                "addresses": [{"type": "InternalIP", "$patch": "delete"}],
                "nodeInfo": {"$patch": "replace", "kernelVersion": "7"},
            },
        },
        "Node",
    )
    assert patched["spec"] == {"podCIDRs": ["10.0.0.0/24"], "taints": [{"key": "a"}]}
    assert patched["status"]["conditions"] == [
        {"type": "DiskPressure", "status": "False"},
        {"type": "Ready", "status": "True"},
    ]
    assert patched["status"]["addresses"] == []
    assert patched["status"]["nodeInfo"] == {"kernelVersion": "7"}


def test_strategic_merge_retain_keys_and_list_replace():
    patched = strategic_merge(
        {
            "spec": {
                "strategy": {"type": "A", "rolling": {"x": 1}},
                "containers": [{"name": "a"}, {"name": "b"}],
            }
        },
        {
            "spec": {
                "strategy": {"$retainKeys": ["type"], "type": "B"},
                "containers": [{"$patch": "replace"}, {"name": "c"}],
            }
        },
        "Pod",
    )
    assert patched == {"spec": {"strategy": {"type": "B"}, "containers": [{"name": "c"}]}}


def test_strategic_merge_needs_merge_keys():
    with pytest.raises(ApiError) as error:
        strategic_merge({"spec": {"containers": []}}, {"spec": {"containers": [{"image": "x"}]}}, "Pod")
    assert error.value.code == 400


@pytest.mark.parametrize(
    ("text", "labels", "matches"),
    [
        ("a=1", {"a": "1"}, True),
        ("a = 1 , b", {"a": "1"}, False),
        ("a=", {"a": ""}, True),
        ("a!=1", {}, True),
        ("a notin (1,2)", {"a": "3"}, True),
        ("a in (1, 2),!b", {"a": "2", "b": "x"}, False),
        ("example.com/tier in (front)", {"example.com/tier": "front"}, True),
    ],
)
def test_label_selector_matching(text, labels, matches):
    assert parse_label_selector(text).matches(labels) is matches


@pytest.mark.parametrize("text", ["a in", "a in ()", "a,", "a in (b", "=a", "a ~ b", "a=(b)"])
def test_bad_label_selectors(text):
    with pytest.raises(ApiError) as error:
        parse_label_selector(text)
    assert error.value.code == 400


@given(st.dictionaries(st.sampled_from("abc"), st.sampled_from(["1", "2"]), max_size=3))
def test_set_operators_agree_with_equality(labels):
    assert parse_label_selector("a in (1)").matches(labels) == parse_label_selector("a=1").matches(labels)
    assert parse_label_selector("a notin (1)").matches(labels) == parse_label_selector("a!=1").matches(labels)


def test_field_selectors_by_resource_type():
    pod = {"metadata": {"name": "web", "namespace": "shop"}, "spec": {"nodeName": "n1"}}
    assert parse_field_selector("spec.nodeName=n1,metadata.name==web", PODS).matches(pod)
    assert parse_field_selector("spec.hostNetwork=false", PODS).matches(pod)
    assert not parse_field_selector("metadata.namespace!=shop", PODS).matches(pod)
    with pytest.raises(ApiError, match="field label not supported"):
        parse_field_selector("spec.nodeName=n1", NODES)
    with pytest.raises(ApiError, match="invalid selector"):
        parse_field_selector("spec.nodeName", PODS)
