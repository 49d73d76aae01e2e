"""Declaring schemas: mistakes in a schema are caught when it is first read."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from pyantrea_config.agent import AgentConfig
from pyantrea_config.schema import Section, entries, leaves, setting


@dataclass(frozen=True, slots=True, kw_only=True)
class _PlainField:
    name: str = "x"


@dataclass(frozen=True, slots=True, kw_only=True)
class _UnknownKind:
    ratio: float = setting("ratio", 0.5, doc="A ratio.")


def test_a_field_must_be_a_setting_or_a_section() -> None:
    with pytest.raises(TypeError, match=r"_PlainField.name is neither a setting\(\) nor a section\(\)"):
        entries(_PlainField)


def test_an_annotation_needs_a_kind() -> None:
    with pytest.raises(TypeError, match="no configuration kind for the annotation <class 'float'>"):
        entries(_UnknownKind)


def test_entries_keep_declaration_order_and_sections() -> None:
    keys = [entry.key for entry in entries(AgentConfig)]
    assert keys[:3] == ["nodeName", "kubeconfig", "ovsBridge"]
    assert isinstance(entries(AgentConfig)[-1], Section)
    assert "flowExport.collectorAddress" in leaves(AgentConfig)


def test_every_key_is_documented_and_every_field_is_declared() -> None:
    for schema in (AgentConfig, entries(AgentConfig)[-1].schema):
        assert len(entries(schema)) == len(dataclasses.fields(schema))
    assert all(entry.doc.endswith(".") for entry in leaves(AgentConfig).values())
