"""Fixtures for the agent's tests: an OVSDB client on the test's own Open vSwitch."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from agent.ovsdb import OvsdbClient
from lab.ovs import OvsInstance


@pytest.fixture
def ovsdb(ovs: OvsInstance) -> Iterator[OvsdbClient]:
    """An `OvsdbClient` connected to the `ovs` fixture's ovsdb-server, closed afterwards.

    The client is not tied to an event loop (its worker answers through thread futures), so
    tests drive it with one `asyncio.run` per step.
    """
    client = asyncio.run(OvsdbClient.connect(ovs.paths.db_remote))
    try:
        yield client
    finally:
        asyncio.run(client.close())
