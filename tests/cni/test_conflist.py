"""pyantrea inside a network configuration list, with the standard plugins before and after it:
it appends to the previous plugin's result (prevResult), the next plugin passes its result on,
and CHECK and DEL run through the whole chain."""

import pytest

from pyantrea_testing.cniruntime import conflist_call
from tests.cni.inspect import snapshot

pytestmark = pytest.mark.ovs


@pytest.mark.parametrize("version", ["0.4.0", "1.0.0"])
def test_a_chain_of_loopback_pyantrea_and_tuning(node, sandboxes, version):
    before = snapshot(node)
    pod = sandboxes()
    conflist = {
        "cniVersion": version,
        "name": "pyantrea",
        "plugins": [
            {"type": "loopback"},
            {"type": "pyantrea", "cniSocket": str(node.socket), "ipam": {"type": "host-local"}},
            {"type": "tuning", "sysctl": {"net.ipv4.conf.eth0.accept_local": "1"}},
        ],
    }
    added = conflist_call("ADD", conflist, pod)
    assert added.status == 0, added.stdout + added.stderr
    result = added.output
    names = [interface["name"] for interface in result["interfaces"]]
    assert names[0] == "lo" and names[2] == "eth0", names
    ours = [ip for ip in result["ips"] if ip["address"].startswith("10.244.1.")]
    assert len(ours) == 1 and ours[0]["interface"] == 2, result["ips"]
    loopback = [ip for ip in result["ips"] if ip["address"].startswith("127.")]
    assert loopback and loopback[0]["interface"] == 0

    checked = conflist_call("CHECK", conflist, pod, prev_result=result)
    assert checked.status == 0, checked.stdout + checked.stderr

    for _ in range(2):
        deleted = conflist_call("DEL", conflist, pod, prev_result=result)
        assert deleted.status == 0, deleted.stdout + deleted.stderr
    assert snapshot(node) == before
