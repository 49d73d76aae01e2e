"""Fixtures for the agent's tests: an OVSDB client on the test's own Open vSwitch; a lab node
with the API stand-in on its underlay, for the agent program as a process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from ipaddress import IPv4Interface
from pathlib import Path

import pytest

from agent.ovsdb import OvsdbClient
from lab import netns
from lab.apiserver import ApiServerSettings, ApiServerThread
from lab.nodes import NodeSet
from lab.ovs import OvsInstance
from tests.conftest import _require_root_and_ovs, unique_name

API_ADDRESS = IPv4Interface("192.168.77.254/24")
"""The API stand-in's address on the underlay, reachable from the nodes."""


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


@pytest.fixture
def node_set(tmp_path: Path) -> Iterator[NodeSet]:
    """One lab node; the underlay holds the API stand-in's address."""
    _require_root_and_ovs()
    with NodeSet(tmp_path, prefix=unique_name("ap"), count=1) as nodes:
        nodes.underlay.set_address(API_ADDRESS)
        yield nodes


@pytest.fixture
def apiserver(node_set: NodeSet) -> Iterator[ApiServerThread]:
    """The API stand-in on the underlay of `node_set`."""
    underlay = netns.netns_path(node_set.underlay.name)
    server = ApiServerThread(ApiServerSettings(host=str(API_ADDRESS.ip), bookmark_interval=1.0))
    netns.call_in(underlay, server.start)
    try:
        yield server
    finally:
        server.stop()
