"""`value` records behave exactly as frozen slotted dataclasses."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from pyantrea_api.values import value


@value
class Point:
    x: int
    y: str


@value
class WithDefault:
    x: int
    y: int = 3


def test_a_value_is_a_frozen_slotted_dataclass():
    point = Point(1, "a")
    assert dataclasses.is_dataclass(point)
    assert Point.__slots__ == ("x", "y")
    assert point == Point(1, "a") != Point(2, "a")
    assert hash(point) == hash(Point(1, "a"))
    assert repr(point) == "Point(x=1, y='a')"
    assert Point(x=1, y="a") == point
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 2  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(point)) == point


def test_missing_arguments_fail_as_usual():
    with pytest.raises(TypeError):
        Point(1)  # type: ignore[call-arg]


def test_a_class_with_defaults_keeps_the_dataclass_constructor():
    assert WithDefault(1) == WithDefault(1, 3)
    assert WithDefault.__init__.__qualname__ == "WithDefault.__init__"
