"""Until the agent has realized its initial policies, ADD waits and then answers "try again
later" (11); DEL and CHECK do not wait."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from pyantrea_testing.cninode import NodeSettings
from tests.cni.inspect import snapshot

pytestmark = pytest.mark.ovs

CLOSED = NodeSettings(gate_open=False, gate_timeout=0.5)
SLOW = NodeSettings(gate_open=False, gate_timeout=60)


@pytest.mark.parametrize("node_settings", [CLOSED], indirect=True)
def test_add_before_the_gate_opens_is_try_again_later_and_touches_nothing(node, sandboxes):
    before = snapshot(node)
    pod = sandboxes()
    run = pod.add()
    assert run.error_code == 11, run.stdout
    assert "initial network policies" in run.output["msg"]
    assert snapshot(node) == before
    assert pod.delete().status == 0, "DEL does not wait for the gate"
    node.open_gate()
    assert pod.add().status == 0


@pytest.mark.parametrize("node_settings", [SLOW], indirect=True)
def test_add_waits_for_the_gate_and_then_proceeds(node, sandboxes):
    pod = sandboxes()
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(pod.add)
        time.sleep(0.5)
        assert not pending.done()
        node.open_gate()
        run = pending.result(timeout=60)
    assert run.status == 0, run.stdout
