"""Fixtures for tests and benchmarks: private network namespaces and Open vSwitch instances.

Everything a fixture starts is stopped in its finalizer, by pid, even when the test fails.
`tests/conftest.py` and `bench/conftest.py` make these fixtures theirs by importing them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import netns
from lab.ovs import OvsInstance
from pyantrea_testing.names import unique_name


def require_root_and_ovs() -> None:
    """Fail the test unless it runs as root on a machine with Open vSwitch installed."""
    if os.geteuid() != 0:
        pytest.fail("this test needs root (network namespaces and Open vSwitch)")
    if shutil.which("ovs-vswitchd") is None:
        pytest.fail("Open vSwitch is not installed: run scripts/setup.sh")


@pytest.fixture
def namespace() -> Iterator[str]:
    """A fresh network namespace, deleted afterwards."""
    name = unique_name("pt")
    netns.create(name)
    try:
        yield name
    finally:
        netns.delete(name)


def _running_ovs(rundir: Path) -> Iterator[OvsInstance]:
    require_root_and_ovs()
    name = unique_name("po")
    netns.create(name)
    instance = OvsInstance(rundir, netns=name)
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()
        netns.delete(name)


@pytest.fixture
def ovs(tmp_path: Path) -> Iterator[OvsInstance]:
    """A running ovsdb-server + ovs-vswitchd in a namespace and run directory of their own."""
    yield from _running_ovs(tmp_path / "ovs")


@pytest.fixture(scope="module")
def module_ovs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OvsInstance]:
    """Like `ovs`, shared by the tests of one module (tests must not depend on each other's flows)."""
    yield from _running_ovs(tmp_path_factory.mktemp("ovs"))
