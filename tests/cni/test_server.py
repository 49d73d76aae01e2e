"""The CNI server's socket: root-only, replacing a stale one, gone after stop; and the
constructor's checks."""

import stat
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from agent.cniserver import CniServer, StartupGate
from pyantrea_testing.cniruntime import cni, network_config

pytestmark = pytest.mark.ovs


def test_the_socket_is_a_root_only_unix_socket(node):
    mode = node.socket.stat().st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600
    assert [p.name for p in node.socket.parent.iterdir()] == [node.socket.name], "no staging socket left"


def test_a_stale_socket_is_replaced_and_stop_removes_it(node):
    node.stop()
    assert not node.socket.exists()
    node.socket.write_text("left by a crashed agent")
    node.start()
    assert stat.S_ISSOCK(node.socket.stat().st_mode)
    assert cni("DEL", network_config(node.socket), container_id="gone").status == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"gateway": IPv4Address("10.0.0.1")}, "outside the pod subnet"),
        ({"mtu": 40}, "mtu 40"),
    ],
)
def test_the_constructor_refuses_bad_settings(node, changes, message):
    settings = {
        "socket_path": Path("/tmp/unused.sock"),
        "state_dir": Path("/tmp/unused"),
        "pod_cidr": IPv4Network("10.244.1.0/24"),
        "gateway": IPv4Address("10.244.1.1"),
        "mtu": 1450,
        "datapath": node.datapath,
        "netlink": None,
        "gate": StartupGate(opened=True),
        **changes,
    }
    with pytest.raises(ValueError, match=message):
        CniServer(**settings)
