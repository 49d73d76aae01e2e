"""The host interface name as Antrea forms it, and per-container serialization."""

import asyncio
import hashlib

import pytest

from agent.cniserver import host_interface_name
from agent.cniserver.locks import KeyedLocks


@pytest.mark.parametrize(
    ("namespace", "name", "prefix"),
    [("default", "web-frontend-7d9f8", "web-fron"), ("kube-system", "db", "db"), ("a", "x" * 253, "x" * 8)],
)
def test_host_interface_name(namespace, name, prefix):
    digest = hashlib.sha1(f"{namespace}/{name}".encode()).hexdigest()[:6]
    assert host_interface_name(namespace, name) == f"{prefix}-{digest}"
    assert len(host_interface_name(namespace, name)) <= 15


def test_same_pod_name_in_two_namespaces_gets_two_names():
    assert host_interface_name("a", "web") != host_interface_name("b", "web")


def test_calls_for_one_container_run_one_at_a_time_and_others_in_parallel():
    async def scenario():
        locks = KeyedLocks()
        events = []

        async def call(key, name):
            async with locks.hold(key):
                events.append(f"{name} in")
                await asyncio.sleep(0.01)
                events.append(f"{name} out")

        await asyncio.gather(call("c1", "a"), call("c1", "b"), call("c2", "x"))
        return locks, events

    locks, events = asyncio.run(scenario())
    assert events.index("a out") < events.index("b in")
    assert events.index("x in") < events.index("a out"), "another container does not wait"
    assert len(locks) == 0, "no lock outlives its last user"
