"""Fixtures of the end-to-end tests: labs of their own, always torn down (even on failure)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.e2e.lab import Lab, new_lab


@pytest.fixture
def make_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], Lab]]:
    """Make labs (not started) for one test; each is destroyed afterwards."""
    made: list[Lab] = []

    def make() -> Lab:
        made.append(new_lab(tmp_path_factory))
        return made[-1]

    try:
        yield make
    finally:
        for lab in made:
            lab.destroy()


@pytest.fixture(scope="module")
def lab3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One 3-node VXLAN lab shared by a module's tests (each test works in namespaces of its own)."""
    lab = new_lab(tmp_path_factory)
    try:
        yield lab.up(3, "vxlan")
    finally:
        lab.destroy()
