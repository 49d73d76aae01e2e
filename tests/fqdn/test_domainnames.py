"""Domain-name patterns as the API defines them: exact names, and `*.` standing for one or more
whole labels; checked against an evaluation over label lists that shares no code with
`pyantrea_api.domainnames`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyantrea_api.domainnames import DomainNameError, matches, normalize, normalize_name

LABEL = st.sampled_from(["a", "b", "www", "blog", "kubernetes", "io", "svc", "x-1", "cluster"])
LABELS = st.lists(LABEL, min_size=1, max_size=5)


def expected(pattern_labels: list[str], wildcard: bool, name_labels: list[str]) -> bool:
    if not wildcard:
        return pattern_labels == name_labels
    n = len(pattern_labels)
    return len(name_labels) > n and name_labels[-n:] == pattern_labels


@given(LABELS.filter(lambda ls: len(ls) >= 2), st.booleans(), LABELS, st.booleans(), st.booleans())
def test_a_pattern_matches_as_the_api_says(pattern_labels, wildcard, name_labels, upper, final_dot):
    text = ("*." if wildcard else "") + ".".join(pattern_labels)
    text = text.upper() if upper else text
    pattern = normalize(text + ("." if final_dot else ""))
    name = normalize_name(".".join(name_labels).upper() + ("." if final_dot else ""))
    assert matches(pattern, name) == expected(pattern_labels, wildcard, name_labels)


@pytest.mark.parametrize(
    ("pattern", "name", "result"),
    [
        ("kubernetes.io", "kubernetes.io", True),
        ("kubernetes.io", "www.kubernetes.io", False),
        ("blog.kubernetes.io", "www.kubernetes.io", False),
        ("*.kubernetes.io", "www.kubernetes.io", True),
        ("*.kubernetes.io", "latest.blog.kubernetes.io", True),
        ("*.kubernetes.io", "kubernetes.io", False),
        ("*.kubernetes.io", "my-kubernetes.io", False),
        ("*.kubernetes.io", "wikipedia.org", False),
    ],
)
def test_the_api_reference_examples(pattern, name, result):
    assert matches(normalize(pattern), name) is result


@pytest.mark.parametrize("bad", ["*example.com", "www.*.example.com", "example", "-a.example.com", "*", ""])
def test_a_pattern_the_api_refuses_is_named(bad):
    with pytest.raises(DomainNameError, match=repr(bad).replace("*", r"\*").replace(".", r"\.")):
        normalize(bad)
